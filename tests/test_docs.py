"""Every command has help text and a section in the README; the README's commands are real."""

import argparse
import re
from pathlib import Path

from aggregator.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_help_and_a_readme_section():
    commands = subcommands()
    helps = {
        choice.dest: choice.help
        for choice in build_parser()._subparsers._group_actions[0]._choices_actions
    }
    assert {"update", "fetch", "render", "demo"} <= set(commands)
    for name in commands:
        assert helps.get(name), f"{name} has no help text"
        # A section may document several commands: "### pin, hide, unhide, include".
        heading = rf"^### (?:[\w-]+, )*{name}\b"
        assert re.search(heading, README, re.M), f"README lacks a '### {name}' section"


def test_readme_shows_the_two_commands():
    assert "pip install . && .venv/bin/showcase demo" in README
    assert "pip install '.[test]' && .venv/bin/pytest" in README
    assert (
        ".venv-ci/bin/pip install --quiet '.[test]' && .venv-ci/bin/pytest"
        in (ROOT / ".ci" / "run").read_text()
    )
