"""The arguments of `init` and `facebook-token`; `cli_setup` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aggregator.cli_help import add_command

COMMANDS: tuple[str, ...] = ()  # none of them takes the config as the others do
COMMANDS_WITHOUT_CONFIG = ("init", "facebook-token")
GRAPH_URL = "https://graph.facebook.com"
# `init`'s own, repeated so that every command line need not import it (test_startup).
DEFAULT_OUTPUT = "public"
DEFAULT_DATABASE = "sqlite:///showcase.db"
INIT_EXAMPLES = [
    "showcase init",
    "showcase init --channel @kreativessachsen --page kreativessachsen --hashtag flächenglühen",
    "showcase init --website-url https://www.example.org --website-tag flaechengluehen "
    "--output public --base-url https://www.example.org/showcase/ < /dev/null",
]
INIT_EXITS = {
    0: "written (and `check` passed, when it ran)",
    1: "written, but `check` failed",
    2: "nothing written: a bad or missing answer (named with its flag), or the config exists",
}
TOKEN_EXAMPLES = [
    "showcase facebook-token --app-id 1234567890   # with $FACEBOOK_APP_SECRET set; asks for "
    "the user token",
    "export FACEBOOK_ACCESS_TOKEN=$(showcase facebook-token --app-id 1234567890)",
    "showcase facebook-token --app-id 1234567890 --write showcase.env --force < token.txt",
]
TOKEN_EXITS = {
    0: "the page token printed (or written)",
    1: "Graph refused, or the page is not among the user's",
    2: "a missing or unusable argument",
}


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    _add_init(commands, common)
    _add_facebook_token(commands, common)


def _add_init(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "init",
        summary="write a commented showcase.toml from answers or flags (never overwrites), say "
        "which environment variables to set, then run check",
        description="Write a commented config (to --config, else ./showcase.toml) from answers "
        "or flags, say which environment variables to set, and run `showcase check` when they "
        "are. On a terminal it asks for whatever the flags leave out; otherwise a missing "
        "answer is exit 2 naming its flag.",
        examples=INIT_EXAMPLES,
        exits=INIT_EXITS,
    )
    parser.add_argument("--channel", help="the YouTube channel: @handle or id (UC...)")
    parser.add_argument("--page", help="the Facebook page: username or id")
    parser.add_argument(
        "--hashtag",
        action="append",
        help="an accepted spelling of the series' hashtag (repeat for more)",
    )
    parser.add_argument("--website-url", help="the WordPress website, https://...")
    parser.add_argument("--website-tag", help="the slug of the series' tag on the website")
    parser.add_argument("--output", help=f"the output folder (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--base-url", help="the public URL the output folder is served at")
    parser.add_argument("--database", help=f"an SQLAlchemy URL (default: {DEFAULT_DATABASE})")
    parser.add_argument("--title", help="the page's title (default: '#' and the first hashtag)")
    parser.add_argument("--youtube-endpoint", help="another YouTube API endpoint (tests, mirrors)")
    parser.add_argument("--graph-url", help="another Graph API address (tests, mirrors)")


def _add_facebook_token(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    parser = add_command(
        commands,
        common,
        "facebook-token",
        summary="exchange a short-lived user token (Graph API Explorer) for the page's token, "
        "which does not expire; prints it, or writes it with --write FILE (mode 0600)",
        description="Exchange a short-lived user token from the Graph API Explorer for a "
        "long-lived one, find the configured page among the pages it manages, and print that "
        "page's token (which does not expire) on standard output; its page, expiry and "
        "permissions go to standard error. The user token is read, in this order, from "
        "--user-token (`-`: standard input), a prompt that does not echo (on a terminal), or "
        "the first line of standard input. The app secret only ever comes from the "
        "environment.",
        examples=TOKEN_EXAMPLES,
        exits=TOKEN_EXITS,
    )
    parser.add_argument("--app-id", help="the app's id (default: $FACEBOOK_APP_ID)")
    parser.add_argument(
        "--user-token",
        metavar="TOKEN",
        help="the short-lived user token, `-` to read it from standard input (left out: asked "
        "for without echo on a terminal, else read from standard input)",
    )
    parser.add_argument(
        "--app-secret-env",
        metavar="NAME",
        help="the environment variable holding the app secret (default: facebook.app_secret_env, "
        "else FACEBOOK_APP_SECRET)",
    )
    parser.add_argument("--page", help="the page's username or id (default: facebook.page)")
    parser.add_argument(
        "--graph-url", help=f"the Graph API address (default: facebook.graph_url, else {GRAPH_URL})"
    )
    parser.add_argument(
        "--write",
        type=Path,
        metavar="FILE",
        help="write NAME=TOKEN into FILE (mode 0600) instead of printing the token",
    )
    parser.add_argument(
        "--force", action="store_true", help="with --write: replace the token's line of FILE"
    )
