"""The arguments of `pin`, `hide`, the other curation commands and `curation`; `cli_curation`
runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse

from aggregator.cli_help import DONE, add_command, add_no_render
from aggregator.config import SOURCES
from aggregator.curation_marks import CURATION

ACTIONS = CURATION
COMMANDS = (*ACTIONS, "curation")
_BAD_ITEM = {
    2: "not SOURCE:ID or an item's URL, an item unknown to the database (except for include), "
    "or a configuration error"
}


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for name, action in ACTIONS.items():
        parser = add_command(
            commands,
            common,
            name,
            summary=f"{action.help}, and render again",
            description=f"{action.help[0].upper()}{action.help[1:]}, say so in one line and "
            "render the outputs again. -v also says where the item stands. No lock, no keys.",
            examples=[
                f"showcase {name} youtube:A5bUqkYPIw8",
                f"showcase {name} https://www.youtube.com/watch?v=A5bUqkYPIw8",
                f"showcase -v {name} facebook:104857293361870_3133062603682029",
            ],
            exits={0: "done (also when the mark was already so)", **_BAD_ITEM},
        )
        add_no_render(parser)
        parser.add_argument(
            "item",
            metavar="ITEM",
            help=f"SOURCE:ID, SOURCE one of {', '.join(SOURCES)} and ID the platform's id (the "
            "page's data-id), e.g. youtube:A5bUqkYPIw8; or the item's URL as a browser shows it",
        )
    add_command(
        commands,
        common,
        "curation",
        summary="list the pinned, hidden and included items",
        description="One line per curated item: SOURCE:ID, when it was pinned, hidden or "
        "included (with the time zone), its place in the showcase at the next render or why "
        "it is not shown, and its title; then the audit log's last 10 changes (curation, "
        "episodes, figures, accounts; from the command line and the staff web interface): "
        "when, who, what, and the state before → after. Prints nothing when nothing is "
        "curated and nothing has changed.",
        examples=["showcase curation"],
        exits=DONE,
    )
