"""`init` and `facebook-token`: the set-up commands, which run before there is a config.

Both work on a terminal (they ask) and without one (flags, environment variables and standard
input only: a missing answer is exit 2 naming its flag), so a script can run them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator import cli_check, init, jobs
from aggregator.cli_setup_args import GRAPH_URL
from aggregator.config import Config, FacebookConfig, default_config_path, load_config
from aggregator.errors import ConfigError, SourceError, UsageError, redact, register_secret
from aggregator.sources import facebook_token
from aggregator.sources.facebook import TokenInfo

EXIT_OK = 0
EXIT_FAILED = 1
# Graph permissions a page token needs (as `check` says): the page, its videos and its posts.
PAGE_PERMISSIONS = ("pages_read_engagement", "pages_read_user_content")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
APP_SETTINGS = "developers.facebook.com → your app → App settings → Basic"
MAX_ASKS = 3  # a bad answer on a terminal is asked again this often


def run_without_config(args: argparse.Namespace) -> int:
    if args.command == "init":
        return run_init(args)
    return run_facebook_token(args)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


# --- init --------------------------------------------------------------------------------------


# What a terminal is asked, in this order, for each answer the flags leave out.
QUESTIONS = {
    "channel": "YouTube channel, @handle or UC… id (empty: no YouTube)",
    "page": "Facebook page, username or id (empty: no Facebook)",
    "hashtags": "Hashtags, separated by commas (e.g. flächenglühen, flaechengluehen)",
    "website_url": "WordPress website, https://… (empty: none)",
    "website_tag": "The series' tag on the website (its slug)",
    "output": f"Output folder [{init.DEFAULT_OUTPUT}]",
    "base_url": "Public URL of that folder (e.g. https://www.example.org/showcase/)",
}
FLAGS = {
    "channel": "--channel",
    "page": "--page",
    "hashtags": "--hashtag",
    "website_url": "--website-url",
    "website_tag": "--website-tag",
    "output": "--output",
    "base_url": "--base-url",
}
# The config key a ConfigError names -> the question that sets it, to ask it again.
FIELD_OF_KEY = {
    "youtube.channel": "channel",
    "facebook.page": "page",
    "showcase.hashtags": "hashtags",
    "website.url": "website_url",
    "website.tag": "website_tag",
    "output.directory": "output",
    "output.base_url": "base_url",
}


def run_init(args: argparse.Namespace) -> int:
    path = getattr(args, "config", None) or default_config_path()
    if path.exists():
        raise init.ConfigExists(init.existing_message(path))
    interactive = stdin_is_terminal()
    given = _given_answers(args)
    asked: set[str] = set()
    if interactive:
        for name in QUESTIONS:
            if name not in given and _needed(name, given):
                given[name] = _ask(name)
                asked.add(name)
    config = _write_with_retries(path, given, asked, interactive)
    print(f"wrote {path}: {_summary(config, path)}")
    return _after_writing(args, path, config)


def _given_answers(args: argparse.Namespace) -> dict[str, str]:
    names = (
        "channel", "page", "website_url", "website_tag", "output", "base_url", "database",
        "title", "youtube_endpoint", "graph_url",
    )  # fmt: skip
    given = {name: value for name in names if (value := getattr(args, name)) is not None}
    if args.hashtag:
        given["hashtags"] = ",".join(args.hashtag)
    return given


def _needed(name: str, given: dict[str, str]) -> bool:
    return name != "website_tag" or bool(given.get("website_url", "").strip())


REQUIRED = frozenset({"hashtags", "base_url", "website_tag"})


def _ask(name: str) -> str:
    """One answer; a required one is asked again when left empty."""
    for _ in range(MAX_ASKS):
        try:
            answer = input(f"{QUESTIONS[name]}: ").strip()
        except EOFError:  # Ctrl-D
            raise UsageError("init: the answers ended early; nothing written") from None
        if answer or name not in REQUIRED:
            return answer
    return ""


def _write_with_retries(
    path: Path, given: dict[str, str], asked: set[str], interactive: bool
) -> Config:
    for attempt in range(MAX_ASKS):
        answers = _answers(given)
        try:
            return init.write_config(path, answers)
        except ConfigError as error:
            field = FIELD_OF_KEY.get(init.key_of(error))
            if field not in asked or attempt == MAX_ASKS - 1:
                raise
            print(f"  {str(error).removesuffix('; nothing written')}", file=sys.stderr)
            given[field] = _ask(field)
    raise AssertionError("unreachable")


def _answers(given: dict[str, str]) -> init.Answers:
    hashtags = [tag.strip() for tag in given.get("hashtags", "").split(",") if tag.strip()]
    missing = [
        FLAGS[name]
        for name, present in (
            ("hashtags", bool(hashtags)),
            ("base_url", bool(given.get("base_url", "").strip())),
            ("website_tag", bool(given.get("website_tag", "").strip())),
        )
        if not present and _needed(name, given)
    ]
    if missing:
        raise UsageError(f"init: missing {', '.join(missing)} (asked for only on a terminal)")
    return init.Answers(
        base_url=given["base_url"],
        hashtags=hashtags,
        channel=given.get("channel", ""),
        page=given.get("page", ""),
        website_url=given.get("website_url", ""),
        website_tag=given.get("website_tag", ""),
        output=given.get("output") or init.DEFAULT_OUTPUT,
        database=given.get("database") or init.DEFAULT_DATABASE,
        title=given.get("title", ""),
        youtube_endpoint=given.get("youtube_endpoint", ""),
        graph_url=given.get("graph_url", ""),
    )


def _summary(config: Config, path: Path) -> str:
    sources = []
    if config.youtube:
        sources.append(f"YouTube {config.youtube.channel}")
    if config.facebook:
        sources.append(f"Facebook page {config.facebook.page}")
    if config.website:
        sources.append(f"website {config.website.url} (tag {config.website.tag})")
    hashtags = ", ".join(f"#{tag}" for tag in config.showcase.hashtags)
    output = os.path.relpath(config.output_dir, path.resolve().parent)
    return (
        f"{', '.join(sources)}; hashtags {hashtags}; the page goes to {output}/, served at "
        f"{config.base_url}"
    )


def _after_writing(args: argparse.Namespace, path: Path, config: Config) -> int:
    variables = _variables(config)
    print("set these environment variables where showcase runs (never in the file):")
    width = max(len(name) for name, _, _ in variables)
    for name, what, _ in variables:
        state = "set" if os.environ.get(name) else "not set"
        print(f"  {name.ljust(width)}  ({state}) {what}")
    config_flag = "" if path == default_config_path() else f" --config {path}"
    if any(required and not os.environ.get(name) for name, _, required in variables):
        print(f"then run: showcase{config_flag} check")
        return EXIT_OK
    print(f"running: showcase{config_flag} check")
    return cli_check.run(args, config)


def _variables(config: Config) -> list[tuple[str, str, bool]]:
    """(name, what it holds, whether check needs it) for each configured source."""
    found = []
    if config.youtube:
        found.append(
            (
                config.youtube.api_key_env,
                'the YouTube Data API key (README: "A YouTube Data API key")',
                True,
            )
        )
    if config.facebook:
        found.append(
            (
                config.facebook.access_token_env,
                "the page token: showcase facebook-token --app-id APP_ID",
                True,
            )
        )
        found.append(
            (
                config.facebook.app_secret_env or "FACEBOOK_APP_SECRET",
                "optional: the app secret, for facebook-token (and for every request once "
                "facebook.app_secret_env is set)",
                bool(config.facebook.app_secret_env),
            )
        )
    return found


# --- facebook-token ----------------------------------------------------------------------------


def run_facebook_token(args: argparse.Namespace) -> int:
    config = _optional_config(args)
    settings = _facebook_settings(args, config)
    if args.write is not None and os.path.lexists(args.write) and not args.force:
        raise UsageError(
            f"facebook-token: {args.write} exists; --force replaces its "
            f"{settings.access_token_env} line"
        )
    app_id = _app_id(args)
    app_secret = _app_secret(args, config)
    user_token = _user_token(args.user_token)
    try:
        result = facebook_token.page_token(
            settings, app_id, app_secret, user_token, jobs.default_policy().start()
        )
    except SourceError as error:
        _say(f"showcase: {error.line()}")
        return EXIT_FAILED
    if not result.info.valid:
        problem = result.info.problem or "no reason given"
        _say(f"showcase: facebook: token: debug_token says the page token is not valid: {problem}")
        return EXIT_FAILED
    for line in token_report(result, datetime.now(UTC)):
        _say(line)
    if args.write is None:
        print(result.token)
        return EXIT_OK
    init.write_secret_line(args.write, settings.access_token_env, result.token, force=args.force)
    _say(f"wrote {settings.access_token_env} to {args.write} (readable by its owner only)")
    return EXIT_OK


def _optional_config(args: argparse.Namespace) -> Config | None:
    """The config when there is one: --config must exist, ./showcase.toml may be missing."""
    explicit = getattr(args, "config", None)
    path = explicit or default_config_path()
    if explicit is None and not path.exists():
        return None
    return load_config(path)


def _facebook_settings(args: argparse.Namespace, config: Config | None) -> FacebookConfig:
    base = config.facebook if config is not None and config.facebook is not None else None
    page = (args.page or (base.page if base else "")).strip()
    if not page:
        raise UsageError(
            "facebook-token: which page? give --page (its username or id) or set facebook.page"
        )
    graph_url = args.graph_url or (base.graph_url if base else GRAPH_URL)
    if not re.match(r"https?://[^/\s]+", graph_url):
        raise UsageError(f"facebook-token: --graph-url {graph_url!r} is not an http(s) URL")
    if base is None:
        base = FacebookConfig(
            every=timedelta(hours=1),
            page=page,
            access_token_env="FACEBOOK_ACCESS_TOKEN",
            graph_url=graph_url,
            api_version="v25.0",
        )
    return replace(base, page=page, graph_url=graph_url, access_token=None, app_secret=None)


def _app_id(args: argparse.Namespace) -> str:
    app_id = (args.app_id or os.environ.get("FACEBOOK_APP_ID") or "").strip()
    if not app_id:
        raise UsageError(f"facebook-token: give --app-id (the app's id: {APP_SETTINGS})")
    if not app_id.isdigit():
        raise UsageError(f"facebook-token: --app-id must be the app's numeric id ({APP_SETTINGS})")
    return app_id


def _app_secret(args: argparse.Namespace, config: Config | None) -> str:
    configured = config.facebook.app_secret_env if config and config.facebook else None
    name = args.app_secret_env or configured or "FACEBOOK_APP_SECRET"
    if not ENV_NAME.fullmatch(name):
        # It may be the secret itself, put where its variable's name belongs: never echo it.
        raise UsageError(
            "facebook-token: --app-secret-env takes the name of an environment variable (such "
            "as FACEBOOK_APP_SECRET), not the secret"
        )
    secret = os.environ.get(name, "").strip()
    if not secret:
        raise UsageError(
            f"facebook-token: environment variable {name} is not set: export {name}=... with "
            f"the app secret ({APP_SETTINGS}); it is never taken as an argument, which ps shows"
        )
    register_secret(secret)
    return secret


def _user_token(given: str | None, read_line: Callable[[], str] | None = None) -> str:
    read_line = read_line or sys.stdin.readline
    if given == "-":
        token = read_line()
    elif given:
        token = given
    elif stdin_is_terminal():
        try:
            token = getpass.getpass("Short-lived user token from the Graph API Explorer: ")
        except EOFError:  # Ctrl-D
            token = ""
    else:
        token = read_line()
    token = token.strip()
    if not token:
        raise UsageError(
            "facebook-token: no user token: paste it when asked, pipe it on standard input, or "
            "give --user-token"
        )
    register_secret(token)
    return token


def token_report(result: facebook_token.PageToken, now: datetime) -> list[str]:
    """The page, the token's lifetime and permissions: one line, and one per warning."""
    info = result.info
    lifetime = (
        "does not expire (debug_token: expires_at 0)"
        if info.expires_at is None
        else f"expires on {info.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    scopes = ", ".join(info.scopes) or "none"
    lines = [
        f"facebook: page token of {result.page.label()}: {lifetime}; {_data_access(info)}; "
        f"permissions: {scopes}"
    ]
    missing = [scope for scope in PAGE_PERMISSIONS if scope not in info.scopes]
    if missing:
        lines.append(
            f"facebook: warning: the token lacks {', '.join(missing)}: in the Graph API "
            "Explorer, add it to the user token's permissions and run facebook-token again"
        )
    if info.expires_at is not None:
        lines.append(
            "facebook: warning: a page token that expires comes from a short-lived user token: "
            "check --app-id and the app secret, and run facebook-token again"
        )
    return lines


def _data_access(info: TokenInfo) -> str:
    until = info.data_access_expires_at
    return "data access does not expire" if until is None else f"data access until {until:%Y-%m-%d}"


def _say(line: str) -> None:
    print(redact(line), file=sys.stderr)
