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


def every_command(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(("figures", "set"), its parser) for every command and subcommand."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.append(((*path, name), child))
                found.extend(every_command(child, (*path, name)))
    return found


def test_every_commands_help_has_a_description_examples_and_exit_codes():
    commands = every_command(build_parser())
    assert len(commands) > 20
    for path, parser in commands:
        name = " ".join(path)
        text = parser.format_help()
        description = text.split("\n\n")[1]
        assert not description.startswith(("positional arguments", "options")), name
        examples = re.search(r"^examples:\n((?:  .+\n?)+)", text, re.M)
        assert examples, f"{name}: no examples"
        for line in examples.group(1).splitlines():
            assert re.search(rf"showcase .*\b{path[-1]}\b", line), f"{name}: {line}"
        codes = re.search(r"^exit codes:\n((?:  .+\n?)+)", text, re.M)
        assert codes, f"{name}: no exit codes"
        assert re.search(r"^  2 ", codes.group(1), re.M), f"{name}: exit 2 not named"


def test_the_commands_intro_names_the_flags_and_completion():
    intro = README.split("## Commands", 1)[1].split("\n### ", 1)[0]
    for text in ("`-v`", "`--verbose`", "`--progress`", "showcase completion bash",
                 "showcase completion zsh", "`showcase` alone", "CET"):  # fmt: skip
        assert text in intro, text


def test_readme_shows_the_two_commands():
    assert "pip install . && .venv/bin/showcase demo" in README
    assert "pip install '.[test]' && .venv/bin/pytest" in README
    assert (
        ".venv-ci/bin/pip install --quiet '.[test]' && .venv-ci/bin/pytest"
        in (ROOT / ".ci" / "run").read_text()
    )
