"""The arguments of `install`; `cli_install` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aggregator.cli_help import USAGE, add_command

COMMANDS = ("install",)
# `install`'s own, repeated so that every command line need not import it (test_startup
# checks that they agree).
KINDS = ("systemd", "cron")
DEFAULT_USER = "showcase"
DEFAULT_GROUP = "showcase"
DEFAULT_OUTPUT = Path("/var/www/showcase")


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "install",
        summary="as root: install the config (--config) for systemd or cron, with a system "
        "user, a group for staff, the database, the output folder and the secrets from the "
        "environment; keeps what an earlier install left",
        description="Lays the host out for the systemd timer or a cron line: /etc/showcase "
        "(the config, and the secrets as systemd credentials or a 0640 env file), "
        "/var/lib/showcase (the database, shared with the staff group), the output folder, the "
        "units or /etc/cron.d/showcase. Prints one line per thing done and the steps left, "
        "never a secret. Run again, it keeps the config and the secrets and repairs the modes.",
        examples=[
            "sudo -E showcase --config showcase.toml install systemd",
            "sudo -E showcase --config showcase.toml install cron --output /srv/www/showcase",
            "showcase --config showcase.toml install systemd --root /tmp/try",
        ],
        exits={0: "installed; the steps left are printed", **USAGE},
    )
    parser.add_argument("kind", choices=KINDS, help="systemd units (a timer) or a cron line")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        metavar="DIR",
        help="install under DIR instead of / (to try it: no account is created, and the "
        "installed files point inside DIR)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"the folder the web server serves (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--user", default=DEFAULT_USER, help=f"the service's user (default: {DEFAULT_USER})"
    )
    parser.add_argument(
        "--group",
        default=DEFAULT_GROUP,
        help=f"the service's and the staff's group (default: {DEFAULT_GROUP})",
    )
