"""The arguments of `db`; `cli_db` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse

from aggregator.cli_help import USAGE, add_command

COMMANDS = ("db",)


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "db",
        summary="the database itself: copy an installation into another database",
        description="`showcase db copy SOURCE_URL TARGET_URL` moves an installation over, "
        "for example from SQLite to PostgreSQL. `showcase db ACTION --help` tells more.",
        examples=[
            "showcase db copy sqlite:////var/lib/showcase/showcase.db "
            "postgresql://showcase@db.example.org/showcase",
        ],
        exits={0: "done", **USAGE},
    )
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION")
    copy = add_command(
        actions,
        common,
        "copy",
        summary="copy every row of one database into another, empty one",
        description="Brings both databases to the newest schema, then copies every table "
        "(in the order their references need) into the target in one transaction, and "
        "checks each table's row count. The target must be empty: a target that holds rows "
        "is refused and left as it was. Afterwards, point storage.database at the target. "
        "Stop the timer or cron line while it runs.",
        examples=[
            "showcase db copy sqlite:////var/lib/showcase/showcase.db "
            "postgresql+psycopg://showcase:PASSWORT@127.0.0.1/showcase",
        ],
        exits={
            0: "copied; one line says how many rows in how many tables",
            1: "the copy failed (the target is left without any of its rows)",
            2: "a bad URL, or a target that is not empty",
        },
    )
    copy.add_argument("source", metavar="SOURCE_URL", help="the database now in use")
    copy.add_argument("target", metavar="TARGET_URL", help="an empty database to copy into")
