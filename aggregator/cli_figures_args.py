"""The arguments of `figures` and `report`; `cli_figures` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aggregator.cli_help import FILE_COMPLETION, USAGE, add_command, add_no_render

# `context.FIGURE_LABELS`' keys and `report.FORMATS`, named here without importing the store
# and the renderer (tests/test_startup.py checks that they agree).
FETCHED_FIGURES = (
    "youtube.subscribers",
    "youtube.views",
    "youtube.videos",
    "facebook.followers",
    "facebook.likes",
)
REPORT_FORMATS = ("md", "html", "csv")
COMMANDS = ("figures", "report")


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    _add_figures_parser(commands, common)
    report = add_command(
        commands,
        common,
        "report",
        summary="what happened in a period, in German: figures and their change, the new videos",
        description="What happened between --since and --until (both days included, in "
        "showcase.timezone), in German: every figure's value at the end with its change, the "
        "series' videos and posts of the period, and per source the new items. Markdown, a "
        "standalone HTML page, or a CSV table for a German spreadsheet.",
        examples=[
            "showcase report --since 2017-06-27 --until 2017-10-05 > bericht.md",
            "showcase report --since 27.06.2017 --format html --output bericht.html",
            "showcase report --since 27.06.2017 --format csv --output bericht.csv",
        ],
        exits={0: "the report written", 2: "a bad date or format, or a configuration error"},
    )
    report.add_argument("--since", required=True, metavar="DATE", help="2017-06-27 or 27.06.2017")
    report.add_argument("--until", metavar="DATE", help="last day of the period (default: today)")
    report.add_argument(
        "--format", default="md", metavar="|".join(REPORT_FORMATS), help="default: md"
    )
    output = report.add_argument(
        "--output", type=Path, metavar="FILE", help="write here, not to stdout"
    )
    output.complete = FILE_COMPLETION  # type: ignore[attr-defined]


_BAD_VALUE = {2: "a bad key, value or date (one line on stderr), or a configuration error"}


def _add_figures_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    parser = add_command(
        commands,
        common,
        "figures",
        summary="figures entered by hand (set, list, unset) and the history export",
        description="Figures no API serves, entered by hand (say, the Facebook group's "
        "members), beside the fetched ones; what a fetched figure was before showcase began; "
        "and the whole history of every figure as CSV. `showcase figures ACTION --help` "
        "tells more.",
        examples=[
            "showcase figures set facebook_group.members 450 --label Gruppenmitglieder",
            "showcase figures list",
            "showcase figures export --csv --output figures-history.csv",
        ],
        exits={0: "done", **_BAD_VALUE},
    )
    actions = parser.add_subparsers(dest="figures_command", metavar="ACTION")
    entered = add_command(
        actions,
        common,
        "set",
        summary="enter a figure no API serves, e.g. group members",
        description="Set a figure of your own (its key outside youtube.*, facebook.*, "
        "website.*) to a whole number as of a day; it shows on the page, in figures.json and "
        "in the report, marked as entered by hand. Setting it again for the same day "
        "corrects it; for an earlier day, it only fills in history.",
        examples=[
            'showcase figures set facebook_group.members 450 --label "Gruppenmitglieder"',
            "showcase figures set agency.akteure 3.000 --as-of 05.10.2017",
        ],
        exits={0: "set", **_BAD_VALUE},
    )
    add_no_render(entered)
    entered.add_argument("key", metavar="KEY", help="e.g. facebook_group.members")
    entered.add_argument("value", metavar="VALUE", help="a whole number: 450, 3000 or 3.000")
    entered.add_argument("--label", help="shown before the value, e.g. 'Gruppenmitglieder'")
    entered.add_argument("--as-of", metavar="DATE", help="the day it holds for (default: today)")
    backfill = add_command(
        actions,
        common,
        "backfill",
        summary="what a fetched figure was before showcase fetched it, for its change since a date",
        description="Record what a fetched figure was on a day before showcase first fetched "
        "it (say, from a report published then): history only, which gives the page its "
        '"+312 seit 27.06.2017".',
        examples=["showcase figures backfill youtube.subscribers 998 --as-of 2017-06-27"],
        exits={0: "recorded", **_BAD_VALUE},
    )
    backfill.add_argument("key", metavar="KEY", help=", ".join(FETCHED_FIGURES))
    backfill.add_argument("value", metavar="VALUE", help="a whole number: 998 or 1.310")
    backfill.add_argument("--as-of", metavar="DATE", required=True, help="the day it held for")
    add_command(
        actions,
        common,
        "list",
        summary="every figure, fetched and entered by hand",
        description="Every figure: key, label, value, as of (a fetched one's time with its "
        "zone, a hand-entered one's day) and where it came from.",
        examples=["showcase figures list"],
        exits={0: "listed", **USAGE},
    )
    unset = add_command(
        actions,
        common,
        "unset",
        summary="take a hand-entered figure off (its history stays)",
        description="Take a hand-entered figure off the page and the report; its history "
        "stays, and is in the export.",
        examples=["showcase figures unset agency.akteure"],
        exits={0: "taken off", 2: "no such figure set by hand, or a configuration error"},
    )
    add_no_render(unset)
    unset.add_argument("key", metavar="KEY")
    export = add_command(
        actions,
        common,
        "export",
        summary="the whole figure history as CSV",
        description="Every recorded value of every figure as CSV: key,label,source,taken_at,"
        "value (ISO-8601 UTC, plain integers).",
        examples=[
            "showcase figures export --csv > figures-history.csv",
            "showcase figures export --csv --output figures-history.csv",
        ],
        exits={0: "written", **USAGE},
    )
    export.add_argument("--csv", action="store_true", help="CSV (the only format, the default)")
    output = export.add_argument(
        "--output", type=Path, metavar="FILE", help="write here, not to stdout"
    )
    output.complete = FILE_COMPLETION  # type: ignore[attr-defined]
