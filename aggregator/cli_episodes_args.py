"""The arguments of `episode`; `cli_episodes` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse

from aggregator.cli_help import USAGE, add_command, add_no_render
from aggregator.config import SOURCES

COMMANDS = ("episode",)
_ITEM_HELP = (
    f"SOURCE:ID ({', '.join(SOURCES)}; the page's data-source and data-id), or the item's URL "
    "as a browser shows it"
)
_BAD_ITEM = {
    2: "not SOURCE:ID or an item's URL, an item unknown to the database, the same item twice, "
    "or a configuration error"
}


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "episode",
        summary="staff's word on how items group into episodes (merge, split, list)",
        description="Items that tell the same story (the video on YouTube and on Facebook, "
        "the post announcing it, the interview on the website) are one episode, one card. "
        "The rule finds them by links and titles (README: How items group into episodes); "
        "`episode merge` and `episode split` correct it, and hold until changed.",
        examples=[
            "showcase episode merge youtube:A5bUqkYPIw8 website:1840",
            "showcase episode split facebook:104857293361870_3133062603682029",
            "showcase episode list",
        ],
        exits={0: "done", **_BAD_ITEM},
    )
    actions = parser.add_subparsers(dest="episode_command", metavar="ACTION")
    merge = add_command(
        actions,
        common,
        "merge",
        summary="make two items one episode, whatever the evidence",
        description="Join the two items' episodes into one, say so in one line and render "
        "again. A split of either item is taken back.",
        examples=[
            "showcase episode merge youtube:A5bUqkYPIw8 website:1840",
            "showcase episode merge https://youtu.be/A5bUqkYPIw8 facebook:3287244127826115",
        ],
        exits={0: "merged (also when they were merged already)", **_BAD_ITEM},
    )
    add_no_render(merge)
    merge.add_argument("first", metavar="ITEM", help=_ITEM_HELP)
    merge.add_argument("second", metavar="ITEM", help=_ITEM_HELP)
    split = add_command(
        actions,
        common,
        "split",
        summary="make an item an episode of its own, whatever the evidence",
        description="Take the item out of its episode (the others stay together if their own "
        "evidence holds them), say so in one line and render again. Merges naming the item "
        "are taken back; a later merge takes the split back.",
        examples=["showcase episode split facebook:104857293361870_3133062603682029"],
        exits={0: "split (also when it was split already)", **_BAD_ITEM},
    )
    add_no_render(split)
    split.add_argument("item", metavar="ITEM", help=_ITEM_HELP)
    add_command(
        actions,
        common,
        "list",
        summary="the episodes of more than one item, and staff's merges and splits",
        description="One line per episode of more than one item (its items, earliest first; "
        "what grouped them: link, title, close title, staff; its title), then one line per "
        "merge and split with its date. Says so when no episode has more than one item.",
        examples=["showcase episode list"],
        exits={0: "listed", **USAGE},
    )
