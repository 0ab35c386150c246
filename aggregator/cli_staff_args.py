"""The arguments of `staff`; `cli_staff` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse

from aggregator.cli_help import USAGE, add_command

COMMANDS = ("staff",)


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "staff",
        summary="the staff accounts of `serve --staff` (add, remove, list)",
        description="Who may log in to the staff web interface (`showcase serve --staff`, "
        "enabled by the config's [staff] table). Passwords are stored as Argon2id hashes "
        "only. `showcase staff ACTION --help` tells more.",
        examples=[
            "showcase staff add anna",
            "showcase staff list",
            "showcase staff remove anna",
        ],
        exits={
            0: "done",
            2: "a bad name or password, an unknown account, or a configuration error",
        },
    )
    actions_parser = parser.add_subparsers(dest="staff_command", metavar="ACTION")
    add = add_command(
        actions_parser,
        common,
        "add",
        summary="add an account, or change its password",
        description="Add an account that can log in to `serve --staff`, or give an existing "
        "one a new password (its open sessions end). On a terminal it asks for the password "
        "twice, without echo; otherwise it reads one line from standard input. At least 12 "
        "characters.",
        examples=[
            "showcase staff add anna",
            "pwgen -s 20 1 | tee /dev/stderr | showcase staff add anna",
        ],
        exits={
            0: "added, or the password changed",
            2: "a bad name (letters, digits, '.', '_', '-'), a password shorter than 12 "
            "characters, two passwords that differ, or a configuration error",
        },
    )
    add.add_argument("name", metavar="NAME", help="the login name: letters, digits, . _ -")
    remove = add_command(
        actions_parser,
        common,
        "remove",
        summary="remove an account and end its sessions",
        description="Remove the account; whoever is logged in with it is logged out at once.",
        examples=["showcase staff remove anna"],
        exits={
            0: "removed",
            2: "no such account (the known ones are named), or a configuration error",
        },
    )
    remove.add_argument("name", metavar="NAME")
    add_command(
        actions_parser,
        common,
        "list",
        summary="the accounts, with when each was created",
        description="One line per account: its name and when it was created (in "
        "showcase.timezone). Never a password or a hash.",
        examples=["showcase staff list"],
        exits={0: "listed", **USAGE},
    )
