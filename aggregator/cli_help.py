"""Help pages that read the same for every command: a description, examples, the exit codes.

A command module adds its parser with `add_command` instead of `commands.add_parser`:

    parser = add_command(
        commands, common, "report",
        summary="what happened in a period, in German",       # the line in `showcase --help`
        description="Every figure's value and change ...",    # the top of `showcase report --help`
        examples=["showcase report --since 27.06.2017"],
        exits={0: "the report written", **USAGE},
    )

`exits` maps each code the command can end with to what it means there; the contract's
meanings are below to reuse (`FETCHED`, `SOURCE_FAILED`, `USAGE`, `LOCKED`). A command left
without its subcommand (`showcase figures`) prints its help and exits 2, as `showcase` alone
does: `add_command` records the parser for that (`HELP_PARSER`).
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Mapping, Sequence

HELP_PARSER = "_help_parser"
WIDTH = 78

FETCHED = {0: "every requested source fetched (and, for update, the output rendered)"}
SOURCE_FAILED = {
    1: "at least one source failed: one line each on stderr; what could be fetched is "
    "stored and the output still rendered from the last good data"
}
USAGE = {2: "usage or configuration error: one line on stderr, nothing fetched or changed"}
LOCKED = {
    75: "another update or fetch holds the database's lock: nothing touched, nothing "
    "printed (unless --verbose); cron simply tries again next time"
}
DONE = {0: "done", **USAGE}
# shtab.FILE for the shells `completion` writes: an argument completed with file names gets
# it as `.complete`. Named here so that building the parser does not import shtab, which
# only `completion` needs (tests/test_startup.py checks that the two agree).
FILE_COMPLETION = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}


def add_command(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    name: str,
    *,
    summary: str,
    description: str = "",
    examples: Sequence[str] = (),
    exits: Mapping[int, str] = DONE,
) -> argparse.ArgumentParser:
    """A subcommand whose --help shows the description, the examples and the exit codes."""
    parser = commands.add_parser(
        name,
        parents=[common],
        help=summary,
        description=wrap(description or summary),
        epilog=epilog(examples, exits),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(**{HELP_PARSER: parser})
    return parser


def wrap(text: str) -> str:
    """Paragraphs (separated by a blank line) filled to the help's width."""
    paragraphs = [" ".join(part.split()) for part in text.strip().split("\n\n")]
    return "\n\n".join(textwrap.fill(part, WIDTH) for part in paragraphs if part)


def epilog(examples: Sequence[str], exits: Mapping[int, str]) -> str:
    sections = []
    if examples:
        sections.append("examples:\n" + "\n".join(f"  {line}" for line in examples))
    if exits:
        lines = []
        for code, meaning in sorted(exits.items()):
            filled = textwrap.wrap(meaning, WIDTH - 6)
            lines.append(f"  {code:<3} {filled[0]}")
            lines.extend(f"      {rest}" for rest in filled[1:])
        sections.append("exit codes:\n" + "\n".join(lines))
    return "\n\n".join(sections)


def add_no_render(parser: argparse.ArgumentParser) -> None:
    """`--no-render` for a command that changes what the page shows and renders after it."""
    parser.add_argument(
        "--no-render",
        action="store_true",
        help="change the database only; the next `render` or `update` shows the change",
    )


def rendering(args: argparse.Namespace) -> str:
    """How a change's line ends: whether the outputs were rendered again."""
    return "not rendered (--no-render)" if args.no_render else "rendered again"
