"""The arguments of `serve`; `cli_serve` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse

from aggregator.cli_help import add_command

COMMANDS = ("serve",)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    serve = add_command(
        commands,
        common,
        "serve",
        summary="local preview for staff: render, then serve the output directory on "
        f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/ until Ctrl-C; --staff: the staff web interface",
        description="Render from the database (as `render` does), then serve the output "
        "directory on this machine and print its URL, until Ctrl-C or SIGTERM. A preview, "
        "not a web server for the public; -v logs each request.\n\n"
        "With --staff: the staff web interface instead (log in; hide, pin, merge, enter "
        "figures, update now; every change renders again). Needs a [staff] table in the "
        "config and an account (showcase staff add NAME). Reach it from the office through "
        "a reverse proxy with TLS (see the README), never by --host alone.",
        examples=[
            "showcase serve",
            "showcase serve --port 0 --no-render",
            "showcase serve --host 0.0.0.0 --port 8080",
            "showcase serve --staff --port 8001",
        ],
        exits={
            0: "stopped by Ctrl-C or SIGTERM",
            2: "usage or configuration error: one line on stderr, nothing served (with "
            "--staff also: no [staff] table in the config, or no staff account yet)",
        },
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the address to listen on (default: {DEFAULT_HOST}, this machine only)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"default: {DEFAULT_PORT}; 0 picks a free one",
    )
    serve.add_argument(
        "--staff",
        action="store_true",
        help="the staff web interface (login required) instead of the read-only preview",
    )
    serve.add_argument(
        "--no-render",
        action="store_true",
        help="serve the output directory as it is, without rendering first",
    )
