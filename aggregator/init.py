"""The files set-up writes: a commented showcase.toml (`showcase init`) and a secret's line in
an environment file (`showcase facebook-token --write`).

Neither ever replaces a file by surprise: the config is created only where none is
(O_EXCL), after the text has been loaded back with `load_config`, so a bad answer writes
nothing; the environment file is created with mode 0600 from its first byte.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from aggregator.config import Config, load_config
from aggregator.errors import ConfigError, UsageError

DEFAULT_OUTPUT = "public"
DEFAULT_DATABASE = "sqlite:///showcase.db"
# The config key a ConfigError names, and the flag of `showcase init` that sets it.
KEY_FLAGS = {
    "youtube.channel": "--channel",
    "youtube.api_endpoint": "--youtube-endpoint",
    "facebook.page": "--page",
    "facebook.graph_url": "--graph-url",
    "showcase.hashtags": "--hashtag",
    "showcase.title": "--title",
    "website.url": "--website-url",
    "website.tag": "--website-tag",
    "output.directory": "--output",
    "output.base_url": "--base-url",
    "storage.database": "--database",
}


@dataclass
class Answers:
    """What `showcase init` asks. An empty source (channel, page, website_url) is left out."""

    base_url: str
    hashtags: list[str]
    channel: str = ""
    page: str = ""
    website_url: str = ""
    website_tag: str = ""
    output: str = DEFAULT_OUTPUT
    database: str = DEFAULT_DATABASE
    title: str = ""
    youtube_endpoint: str = ""  # for tests and mirrors; empty: Google's
    graph_url: str = ""  # for tests and mirrors; empty: graph.facebook.com
    sources: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.sources = [
            name
            for name, given in (
                ("youtube", self.channel),
                ("facebook", self.page),
                ("website", self.website_url),
            )
            if given.strip()
        ]


class ConfigExists(UsageError):
    """There is a config already: init never overwrites one."""


def config_text(answers: Answers) -> str:
    """The commented TOML for the answers; every key it leaves out has its documented default."""
    hashtags = [tag.strip() for tag in answers.hashtags if tag.strip()]
    title = answers.title.strip() or ("#" + hashtags[0].removeprefix("#") if hashtags else "")
    parts = [
        _HEADER,
        "[storage]\n"
        "# Where fetched items and figures are kept: any SQLAlchemy URL; a relative SQLite path\n"
        "# is relative to this file's folder.\n"
        f"database = {_string(answers.database)}\n",
        "[output]\n"
        "# The folder the page is written to, and the public URL that folder is served at:\n"
        "# fragment.html's images and links are made absolute with it, so that the page embedding\n"
        "# it finds them.\n"
        f"directory = {_string(answers.output)}\n"
        f"base_url = {_string(_folder_url(answers.base_url))}\n",
        "[showcase]\n"
        f"title = {_string(title)}\n"
        "# The accepted spellings of the series' hashtag, with or without '#'.\n"
        f"hashtags = [{', '.join(_string(tag) for tag in hashtags)}]\n"
        '# locale = "de_DE"\n'
        '# stale_after = "26h"                       # a figure older than this is marked stale\n',
    ]
    if answers.channel.strip():
        parts.append(_youtube(answers))
    if answers.page.strip():
        parts.append(_facebook(answers))
    if answers.website_url.strip():
        parts.append(
            "[website]\n"
            "# A WordPress site's posts with this tag (its slug, as in /tag/SLUG/).\n"
            f"url = {_string(answers.website_url)}\n"
            f"tag = {_string(answers.website_tag)}\n"
            '# every = "6h"\n'
        )
    return "\n".join(parts)


_HEADER = """\
# showcase.toml, written by `showcase init`. Every key is described in config.example.toml
# and in the README ("Configuration"). Secrets never go into this file: the keys ending in
# _env name the environment variables that hold them.
"""


def _youtube(answers: Answers) -> str:
    text = (
        "[youtube]\n"
        "# The channel's @handle or its id (UC...).\n"
        f"channel = {_string(answers.channel)}\n"
        "# The API key is read from this environment variable.\n"
        'api_key_env = "YOUTUBE_API_KEY"\n'
        '# every = "3h"                              # how often `schedule` fetches it\n'
    )
    if answers.youtube_endpoint.strip():
        text += f"api_endpoint = {_string(answers.youtube_endpoint)}\n"
    return text


def _facebook(answers: Answers) -> str:
    text = (
        "[facebook]\n"
        "# The page's username (as in its address) or its id.\n"
        f"page = {_string(answers.page)}\n"
        "# The page token is read from this environment variable: `showcase facebook-token`\n"
        "# makes it.\n"
        'access_token_env = "FACEBOOK_ACCESS_TOKEN"\n'
        '# For apps with "Require App Secret" (App settings → Advanced): every call then carries\n'
        "# a proof made with the secret from this variable.\n"
        '# app_secret_env = "FACEBOOK_APP_SECRET"\n'
        '# every = "1h"\n'
    )
    if answers.graph_url.strip():
        text += f"graph_url = {_string(answers.graph_url)}\n"
    return text


def _folder_url(url: str) -> str:
    """A folder's URL ends in "/" (load_config adds it too; the file should say what is used)."""
    url = url.strip()
    return url.rstrip("/") + "/" if url.startswith(("https://", "http://")) else url


def _string(value: str) -> str:
    """A TOML basic string: JSON's escapes (\\", \\\\, \\n, \\uXXXX) are TOML's too."""
    return json.dumps(value.strip(), ensure_ascii=False)


def write_config(path: Path, answers: Answers) -> Config:
    """Validate the answers by loading their TOML with `load_config`, then create `path`.

    Raises ConfigExists when `path` exists (before and while writing: O_EXCL), ConfigError
    naming the key and the flag that sets it when an answer is unusable; nothing is written
    then.
    """
    if path.exists():
        raise ConfigExists(existing_message(path))
    folder = path.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"init: the folder {folder} does not exist")
    if not answers.sources:
        raise UsageError(
            "init: no source: give at least one of --channel, --page and --website-url"
        )
    text = config_text(answers)
    config = _load_text(text, folder)
    try:
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ConfigExists(existing_message(path)) from None
    return replace(config, path=path)


def existing_message(path: Path) -> str:
    return (
        f"init: {path} exists already, and init never overwrites a config: edit it, or choose "
        "another file with --config"
    )


def _load_text(text: str, folder: Path) -> Config:
    handle, name = tempfile.mkstemp(prefix=".showcase-init-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temporary:
            temporary.write(text)
        return load_config(Path(name))
    except ConfigError as error:
        raise ConfigError(with_flag(str(error)) + "; nothing written") from None
    finally:
        os.unlink(name)


def with_flag(message: str) -> str:
    """A ConfigError's message with the flag of `init` that sets the key it names."""
    key = message.partition(":")[0]
    flag = KEY_FLAGS.get(key)
    return f"{message} ({flag})" if flag else message


def key_of(error: ConfigError) -> str:
    return str(error).partition(":")[0]


def write_secret_line(path: Path, name: str, value: str, *, force: bool = False) -> None:
    """Put `NAME=value` into an environment file (systemd's EnvironmentFile, `set -a; . FILE`).

    A new file is created with mode 0600 (O_EXCL: never through a file or link someone put
    there). An existing one is refused unless `force`: then its line for NAME is replaced,
    its other lines, owner and group kept, and it is never readable by others.
    """
    line = f"{name}={value}\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if not force:
            raise UsageError(
                f"facebook-token: {path} exists; --force replaces its {name} line"
            ) from None
        _replace_line(path, name, line)
        return
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(line)


def _replace_line(path: Path, name: str, line: str) -> None:
    status = path.stat()
    kept = [
        old
        for old in path.read_text(encoding="utf-8").splitlines(keepends=True)
        if not old.removeprefix("export ").startswith(f"{name}=")
    ]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.resolve().parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as new:
            new.write("".join(kept) + line)
        with contextlib.suppress(PermissionError):  # not root: the file stays ours
            os.chown(temporary, status.st_uid, status.st_gid)
        os.chmod(temporary, (status.st_mode & 0o660) | 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
