"""Read showcase.toml once, check every key, resolve paths and secrets."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.credentials import environment_with_credentials
from aggregator.dates import DAY_EXAMPLES, parse_day_text
from aggregator.errors import ConfigError, register_secret

SOURCES = ("youtube", "facebook", "website")
# The platforms whose player a card can start, in the default order of preference.
VIDEO_PLATFORMS = ("youtube", "facebook")
_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What a key or token itself looks like, pasted where its variable's name belongs: a Google
# API key ("AIza" and 35 more), a Facebook access token ("EAA..."), a Facebook app secret (32
# hex digits), or a long random run of letters and digits (names are words joined by "_").
# https://cloud.google.com/docs/authentication/api-keys,
# https://developers.facebook.com/docs/facebook-login/guides/access-tokens
_SECRET_SHAPES = (
    re.compile(r"AIza[0-9A-Za-z_-]{20,}"),
    re.compile(r"EAA[0-9A-Za-z]{20,}"),
    re.compile(r"[0-9a-f]{32}"),
)
_RANDOM_RUN = re.compile(r"[A-Za-z0-9]{16,}")


@dataclass(frozen=True)
class YouTubeConfig:
    every: timedelta
    channel: str
    api_key_env: str
    api_endpoint: str
    api_key: str | None = field(default=None, repr=False)
    full_every: timedelta = timedelta(days=1)  # how often `schedule` reads the whole listing


@dataclass(frozen=True)
class FacebookConfig:
    every: timedelta
    page: str
    access_token_env: str
    graph_url: str
    api_version: str
    access_token: str | None = field(default=None, repr=False)
    full_every: timedelta = timedelta(days=1)  # how often `schedule` reads the whole listing
    # For apps with "Require App Secret": every call then carries an appsecret_proof.
    app_secret_env: str | None = None
    app_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WebsiteConfig:
    every: timedelta
    url: str
    tag: str


@dataclass(frozen=True)
class ShowcaseConfig:
    title: str
    hashtags: tuple[str, ...]
    locale: str = "de_DE"
    timezone: str = "Europe/Berlin"
    stale_after: timedelta = timedelta(hours=26)
    since: date | None = None
    intro: str = ""
    privacy_url: str | None = None  # the site's privacy notes; None: the page's own section
    # Whose video an episode's card plays, first choice first (an embeddable one beats one
    # its platform keeps to itself); platforms left out come after those named.
    player_order: tuple[str, ...] = VIDEO_PLATFORMS
    # A full run whose listing suddenly loses most items retires them anyway (see store).
    accept_shrink: bool = False


@dataclass(frozen=True)
class StaffConfig:
    """`[staff]`: its presence enables `serve --staff`."""

    session_hours: int = 8  # a login lasts this long


@dataclass(frozen=True)
class Config:
    path: Path | None
    database_url: str
    output_dir: Path
    showcase: ShowcaseConfig
    template_dirs: tuple[Path, ...] = ()
    base_url: str | None = None  # public URL of the output folder, ends with "/"
    # Run after each render (argv, no shell), e.g. rsync to the web host; None: nothing runs.
    publish_command: tuple[str, ...] | None = None
    youtube: YouTubeConfig | None = None
    facebook: FacebookConfig | None = None
    website: WebsiteConfig | None = None
    staff: StaffConfig | None = None  # None: no `[staff]` table, `serve --staff` refuses

    def configured_sources(self) -> list[str]:
        return [name for name in SOURCES if getattr(self, name) is not None]


def parse_duration(text: str, key: str = "duration") -> timedelta:
    """`90s`, `15m`, `3h`, `1d`, or a sum such as `1h30m`."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned or _DURATION.sub("", cleaned):
        raise ConfigError(f"{key}: {text!r} is not a duration such as 90s, 15m, 3h or 1d")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(cleaned))
    if seconds <= 0:
        raise ConfigError(f"{key}: a duration must be longer than zero")
    return timedelta(seconds=seconds)


def default_config_path() -> Path:
    return Path(os.environ.get("SHOWCASE_CONFIG") or "showcase.toml")


def load_config(path: Path) -> Config:
    """Read and validate the file; raise ConfigError naming the first bad key."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
    return config_from_dict(data, base_dir=path.resolve().parent, path=path)


def config_from_dict(
    data: dict[str, Any],
    base_dir: Path,
    path: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    env = environment_with_credentials(os.environ) if environ is None else environ
    _check_keys(data, {"storage", "output", "showcase", "staff", *SOURCES}, "")
    storage = _table(data, "storage")
    output = _table(data, "output")
    _check_keys(storage, {"database"}, "storage")
    _check_keys(output, {"directory", "templates", "base_url", "publish_command"}, "output")
    return Config(
        path=path,
        database_url=_database_url(
            _str(storage, "database", "storage", "sqlite:///showcase.db"), base_dir
        ),
        output_dir=base_dir / _str(output, "directory", "output", "public"),
        showcase=_showcase(_table(data, "showcase")),
        template_dirs=_template_dirs(output, base_dir),
        base_url=_base_url(output.get("base_url")),
        publish_command=_publish_command(output.get("publish_command")),
        youtube=_youtube(data["youtube"], env) if "youtube" in data else None,
        facebook=_facebook(data["facebook"], env) if "facebook" in data else None,
        website=_website(data["website"]) if "website" in data else None,
        staff=_staff(data["staff"]) if "staff" in data else None,
    )


def require_secrets(config: Config, sources: Iterable[str]) -> None:
    """Fail before fetching when a source's key or token is not in the environment."""
    if "youtube" in sources and config.youtube and not config.youtube.api_key:
        raise ConfigError(
            f"youtube.api_key_env: environment variable {config.youtube.api_key_env} is not set"
        )
    if "facebook" in sources and config.facebook and not config.facebook.access_token:
        raise ConfigError(
            f"facebook.access_token_env: environment variable "
            f"{config.facebook.access_token_env} is not set"
        )
    facebook = config.facebook if "facebook" in sources else None
    if facebook and facebook.app_secret_env and not facebook.app_secret:
        raise ConfigError(
            f"facebook.app_secret_env: environment variable {facebook.app_secret_env} is not set"
        )


def _showcase(table: dict[str, Any]) -> ShowcaseConfig:
    allowed = {
        "title", "hashtags", "locale", "timezone", "stale_after", "since", "intro", "privacy_url",
        "player_order", "accept_shrink",
    }  # fmt: skip
    _check_keys(table, allowed, "showcase")
    hashtags = table.get("hashtags")
    if not isinstance(hashtags, list) or not hashtags:
        raise ConfigError("showcase.hashtags: a non-empty list of hashtags is required")
    cleaned = tuple(_hashtag(tag) for tag in hashtags)
    locale = _str(table, "locale", "showcase", "de_DE")
    from babel import Locale, UnknownLocaleError  # not at import: the parser needs SOURCES only

    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise ConfigError(f"showcase.locale: unknown locale {locale!r}") from None
    timezone = _str(table, "timezone", "showcase", "Europe/Berlin")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"showcase.timezone: unknown time zone {timezone!r}") from None
    return ShowcaseConfig(
        title=_str(table, "title", "showcase", "#flächenglühen"),
        hashtags=cleaned,
        locale=locale,
        timezone=timezone,
        stale_after=parse_duration(
            _str(table, "stale_after", "showcase", "26h"), "showcase.stale_after"
        ),
        since=_date(table.get("since"), "showcase.since"),
        intro=_str(table, "intro", "showcase", ""),
        privacy_url=_optional_url(table, "privacy_url", "showcase"),
        player_order=_player_order(table.get("player_order", list(VIDEO_PLATFORMS))),
        accept_shrink=_bool(table, "accept_shrink", "showcase", False),
    )


def _player_order(value: Any) -> tuple[str, ...]:
    key = "showcase.player_order"
    choices = ", ".join(repr(name) for name in VIDEO_PLATFORMS)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key}: a non-empty list of video platforms, such as [{choices}]")
    for name in value:
        if name not in VIDEO_PLATFORMS:
            raise ConfigError(f"{key}: {name!r} is not a video platform (choose from {choices})")
    if len(set(value)) != len(value):
        raise ConfigError(f"{key}: names a platform twice")
    return tuple(value)


def _youtube(table: Any, env: dict[str, str] | os._Environ[str]) -> YouTubeConfig:
    table = _as_table(table, "youtube")
    _check_keys(table, {"every", "full_every", "channel", "api_key_env", "api_endpoint"}, "youtube")
    key_env = _env_name(table, "api_key_env", "youtube", "YOUTUBE_API_KEY", "the key")
    api_key = env.get(key_env) or None
    register_secret(api_key)
    return YouTubeConfig(
        every=parse_duration(_str(table, "every", "youtube", "3h"), "youtube.every"),
        channel=_required_str(table, "channel", "youtube", _channel_check),
        api_key_env=key_env,
        api_endpoint=_url(
            _str(table, "api_endpoint", "youtube", "https://youtube.googleapis.com/"),
            "youtube.api_endpoint",
        ),
        api_key=api_key,
        full_every=parse_duration(_str(table, "full_every", "youtube", "1d"), "youtube.full_every"),
    )


def _facebook(table: Any, env: dict[str, str] | os._Environ[str]) -> FacebookConfig:
    table = _as_table(table, "facebook")
    allowed = {
        "every",
        "full_every",
        "page",
        "access_token_env",
        "graph_url",
        "api_version",
        "app_secret_env",
    }
    _check_keys(table, allowed, "facebook")
    token_env = _env_name(
        table, "access_token_env", "facebook", "FACEBOOK_ACCESS_TOKEN", "the token"
    )
    token = env.get(token_env) or None
    register_secret(token)
    secret_env = _env_name(table, "app_secret_env", "facebook", "", "the app secret") or None
    secret = (env.get(secret_env) or None) if secret_env else None
    register_secret(secret)
    version = _str(table, "api_version", "facebook", "v25.0")
    if not re.fullmatch(r"v\d+\.\d+", version):
        raise ConfigError(f"facebook.api_version: {version!r} is not a version such as v25.0")
    return FacebookConfig(
        every=parse_duration(_str(table, "every", "facebook", "1h"), "facebook.every"),
        page=_required_str(table, "page", "facebook", _page_check),
        access_token_env=token_env,
        graph_url=_url(
            _str(table, "graph_url", "facebook", "https://graph.facebook.com"), "facebook.graph_url"
        ),
        api_version=version,
        access_token=token,
        full_every=parse_duration(
            _str(table, "full_every", "facebook", "1d"), "facebook.full_every"
        ),
        app_secret_env=secret_env,
        app_secret=secret,
    )


def _website(table: Any) -> WebsiteConfig:
    table = _as_table(table, "website")
    _check_keys(table, {"every", "url", "tag"}, "website")
    return WebsiteConfig(
        every=parse_duration(_str(table, "every", "website", "6h"), "website.every"),
        url=_url(_required_str(table, "url", "website"), "website.url"),
        tag=_required_str(table, "tag", "website"),
    )


SESSION_HOURS = range(1, 169)  # an hour to a week


def _staff(table: Any) -> StaffConfig:
    table = _as_table(table, "staff")
    _check_keys(table, {"session_hours"}, "staff")
    hours = table.get("session_hours", StaffConfig.session_hours)
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise ConfigError(f"staff.session_hours: must be a whole number, not {hours!r}")
    if hours not in SESSION_HOURS:
        raise ConfigError(
            f"staff.session_hours: {hours} is out of range ({SESSION_HOURS.start} to "
            f"{SESSION_HOURS.stop - 1} hours)"
        )
    return StaffConfig(session_hours=hours)


def _template_dirs(output: dict[str, Any], base_dir: Path) -> tuple[Path, ...]:
    if "templates" not in output:
        return ()
    folder = base_dir / _str(output, "templates", "output", "")
    if not folder.is_dir():
        raise ConfigError(f"output.templates: {folder} is not a folder")
    return (folder,)


def _database_url(url: str, base_dir: Path) -> str:
    plain = _plain_sqlite_url(url, base_dir)
    if plain is not None:
        return plain
    from sqlalchemy.engine import make_url  # not at import: the parser needs SOURCES only
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"storage.database: {url!r} is not an SQLAlchemy URL") from None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(base_dir / database)).render_as_string(hide_password=False)


def _plain_sqlite_url(url: str, base_dir: Path) -> str | None:
    """`sqlite:///PATH` (no options) as `_database_url` makes it, without importing SQLAlchemy
    (`render` and `status` never need it on SQLite): the path unquoted and quoted again the
    way SQLAlchemy's URL does. None for every other URL."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    database = unquote(url[len(prefix) :])
    if not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return prefix + quote(str(base_dir / database), safe=" +/")


def _check_keys(table: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:
            name = f"{prefix}.{key}" if prefix else key
            raise ConfigError(f"{name}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    return _as_table(data.get(name, {}), name)


def _as_table(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: must be a table ([{name}])")
    return value


def _str(table: dict[str, Any], key: str, prefix: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{prefix}.{key}: must be a string, not {type(value).__name__}")
    return value


def _bool(table: dict[str, Any], key: str, prefix: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{prefix}.{key}: must be true or false, not {value!r}")
    return value


def _required_str(
    table: dict[str, Any],
    key: str,
    prefix: str,
    check: Callable[[str], str | None] | None = None,
) -> str:
    if key not in table:
        raise ConfigError(f"{prefix}.{key}: required")
    value = _str(table, key, prefix, "").strip()
    problem = "must not be empty" if not value else (check(value) if check else None)
    if problem:
        raise ConfigError(f"{prefix}.{key}: {problem}")
    return value


def _env_name(table: dict[str, Any], key: str, prefix: str, default: str, what: str) -> str:
    """The name of the environment variable holding a secret. A value that is the secret
    itself is refused without repeating it: the error line goes to logs and cron mail."""
    value = _str(table, key, prefix, default).strip()
    if not value and not default:
        return value
    if looks_like_a_secret(value):
        register_secret(value)
        raise ConfigError(
            f"{prefix}.{key}: this looks like {what} itself; put {what} in an environment "
            "variable and name the variable here"
        )
    if not _ENV_NAME.fullmatch(value):
        raise ConfigError(
            f"{prefix}.{key}: not an environment variable name (letters, digits and _, "
            f"not starting with a digit, without $), such as {default or 'FACEBOOK_APP_SECRET'}"
        )
    return value


def looks_like_a_secret(value: str) -> bool:
    """True for a key or token pasted in place of its variable's name."""
    if any(shape.fullmatch(value) for shape in _SECRET_SHAPES):
        return True
    return any(_is_random(run) for run in _RANDOM_RUN.findall(value))


def _is_random(run: str) -> bool:
    """Letters and digits mixed, as no word is: `k8Fj2Lx9qP0a...`, not `KREATIVESSACHSEN`."""
    digits = sum(char.isdigit() for char in run)
    return 2 <= digits < len(run)


def _channel_check(value: str) -> str | None:
    if value.startswith("@") or re.fullmatch(r"UC[\w-]{22}", value):
        return None
    return f"{value!r} is neither a channel id (UC…) nor an @handle"


def _page_check(value: str) -> str | None:
    return None if re.fullmatch(r"[\w.-]+", value) else f"{value!r} is not a page id or username"


def _hashtag(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError("showcase.hashtags: every hashtag must be a string")
    tag = value.strip().removeprefix("#")
    if not tag or re.search(r"[\s#]", tag):
        raise ConfigError(f"showcase.hashtags: {value!r} is not a hashtag")
    return tag


def _date(value: Any, key: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):  # TOML's own date: since = 2017-06-27
        return value
    day = parse_day_text(value) if isinstance(value, str) else None
    if day is None:
        raise ConfigError(f"{key}: {value!r} is not a date such as {DAY_EXAMPLES}")
    return day


def _optional_url(table: dict[str, Any], key: str, prefix: str) -> str | None:
    if key not in table:
        return None
    return _url(_str(table, key, prefix, ""), f"{prefix}.{key}")


def _base_url(value: Any) -> str | None:
    """The output folder's public URL, always ending in "/" so file names can be appended."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"output.base_url: must be a string, not {type(value).__name__}")
    return _url(value, "output.base_url").rstrip("/") + "/"


def _publish_command(value: Any) -> tuple[str, ...] | None:
    """A command line split as a POSIX shell splits words, or a list of its words; it runs
    without a shell (pipes, `&&` or `$VARIABLES` need an explicit `sh -c '...'`)."""
    if value is None:
        return None
    key = "output.publish_command"
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as error:
            raise ConfigError(f"{key}: cannot be split into words: {error}") from None
    elif isinstance(value, list) and all(isinstance(word, str) for word in value):
        words = value
    else:
        raise ConfigError(f"{key}: must be a string or a list of strings")
    if not words or not words[0].strip():
        raise ConfigError(f"{key}: must not be empty")
    return tuple(words)


def _url(value: str, key: str) -> str:
    if not re.match(r"https?://[^/\s]+", value):
        raise ConfigError(f"{key}: {value!r} is not an http(s) URL")
    return value
