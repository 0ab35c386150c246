"""`--record DIR`: every request and response of a run as plain JSON files, secrets removed.

A user who meets a bug sends the folder; `showcase demo --replay DIR` (aggregator.fakeapi.replay)
serves it back to the same pipeline. The folder holds

- `recording.json`: the showcase version, when, which sources, and the settings a replay needs
  (hashtags, channel, page, site, the endpoints as configured), never a secret;
- `0001.json`, `0002.json`, ...: one exchange each, in the order the answers arrived:
  `{"request": {"method", "url", "headers"}, "response": {"status", "headers", "body"}}`.

A body is `{"json": ...}` when it is JSON, `{"text": ...}` when it is other text, `{"base64":
...}` otherwise; an image is recorded as `{"image": {"format", "width", "height"}, "size"}`
without its bytes (thumbnails are public and large; a replay draws one of the same size).

Secrets: API keys and tokens leave URLs (`key=`, `access_token=`, `appsecret_proof=`, ...),
headers (Authorization, cookies) and bodies (`access_token` fields, Graph's paging links) as
`REDACTED`, and every secret showcase knows of (aggregator.errors.register_secret) is replaced
wherever it appears.

Both HTTP libraries are captured where their connections are made: a response hook on each
`new_session()` (requests: Facebook, WordPress, thumbnails) and a wrapper around each
`new_http()` (httplib2: YouTube). Connections that fail without an answer leave no file.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from PIL import Image, UnidentifiedImageError

from aggregator import __version__
from aggregator.config import Config
from aggregator.errors import UsageError, redact
from aggregator.files import write_atomic

log = logging.getLogger(__name__)

FORMAT = 1
META_FILE = "recording.json"
REDACTED = "REDACTED"
# Query parameters and JSON fields that hold a secret, whatever their value looks like.
SECRET_PARAMS = frozenset(
    {"key", "access_token", "appsecret_proof", "client_secret", "input_token", "fb_exchange_token"}
)
SECRET_FIELDS = SECRET_PARAMS - {"key"} | {"refresh_token", "id_token", "password", "app_secret"}
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-goog-api-key", "x-api-key"}
)
# Dropped: cookies, and what describes the bytes on the wire rather than the decoded body kept.
DROPPED_HEADERS = frozenset(
    {
        "set-cookie",
        "content-encoding",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "status",  # httplib2 copies the status into its header dict
        "content-location",  # httplib2 adds the request URL
    }
)
# A streamed answer (a thumbnail) is read for its size only when it says it is this small.
MAX_STREAMED_BYTES = 8 * 1024 * 1024


class Recorder:
    """Writes each exchange into `directory` as the next numbered JSON file."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self._lock = threading.Lock()

    def record(
        self,
        method: str,
        url: str,
        request_headers: Mapping[str, str],
        status: int,
        response_headers: Mapping[str, str],
        body: dict[str, Any],
        seconds: float | None = None,
    ) -> Path:
        exchange: dict[str, Any] = {
            "request": {
                "method": method.upper(),
                "url": redact_url(url),
                "headers": redact_headers(request_headers),
            },
            "response": {
                "status": status,
                "headers": redact_headers(response_headers, drop=DROPPED_HEADERS),
                "body": body,
            },
        }
        if seconds is not None:
            exchange["response"]["seconds"] = round(seconds, 3)
        with self._lock:
            self.count += 1
            path = self.directory / f"{self.count:04d}.json"
            write_atomic(path, dump(exchange))
        return path

    # -- requests --------------------------------------------------------------------------------

    def requests_hook(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """A requests response hook (`session.hooks["response"]`); returns the response."""
        content_type = response.headers.get("Content-Type", "")
        if kwargs.get("stream") and not _small_enough(response.headers.get("Content-Length")):
            body = {"omitted": "streamed answer of unknown or large size", "size": None}
        else:
            body = encode_body(response.content, content_type)
        request = response.request
        elapsed = response.elapsed.total_seconds() if response.elapsed else None
        self.record(
            request.method or "GET",
            request.url or "",
            dict(request.headers),
            response.status_code,
            dict(response.headers),
            body,
            elapsed,
        )
        return response

    # -- httplib2 --------------------------------------------------------------------------------

    def capture_httplib2(self, http: Any) -> Any:
        """Wrap `http.request` (httplib2.Http) so that each answer is recorded."""
        send = http.request

        def request(
            uri: str, method: str = "GET", body: Any = None, headers: Any = None, *a: Any, **k: Any
        ) -> Any:
            started = time.monotonic()
            response, content = send(uri, method, body, headers, *a, **k)
            self.record(
                method,
                uri,
                dict(headers or {}),
                int(response.status),
                {str(name): str(value) for name, value in response.items()},
                encode_body(content, response.get("content-type", "")),
                time.monotonic() - started,
            )
            return response, content

        http.request = request
        return http


# --- the active recording ----------------------------------------------------------------------

_active: Recorder | None = None


def active_recorder() -> Recorder | None:
    """The recorder of the running `--record` command, or None."""
    return _active


@contextmanager
def recording(
    directory: Path | None, config: Config, sources: Sequence[str], command: str
) -> Iterator[Recorder | None]:
    """Record every exchange made inside the block into `directory` (nothing when None)."""
    global _active
    if directory is None:
        yield None
        return
    recorder = Recorder(_empty_folder(directory))
    meta = recording_meta(config, sources, command)
    write_atomic(directory / META_FILE, dump(meta))
    _active = recorder
    try:
        yield recorder
    finally:
        _active = None
        meta["exchanges"] = recorder.count
        write_atomic(directory / META_FILE, dump(meta))
        log.info("recorded %d exchanges into %s", recorder.count, directory)


def _empty_folder(directory: Path) -> Path:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"--record: {directory} exists and is not an empty folder")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def recording_meta(config: Config, sources: Sequence[str], command: str) -> dict[str, Any]:
    """What a replay needs to run the same pipeline: the showcase's settings and, for each
    recorded source, what identifies it and where it was asked (secrets' variable names only)."""
    tables: dict[str, Any] = {"showcase": _showcase_table(config)}
    if "youtube" in sources and config.youtube:
        yt = config.youtube
        tables["youtube"] = {"channel": yt.channel, "api_endpoint": yt.api_endpoint}
    if "facebook" in sources and config.facebook:
        fb = config.facebook
        tables["facebook"] = {
            "page": fb.page,
            "graph_url": fb.graph_url,
            "api_version": fb.api_version,
        }
    if "website" in sources and config.website:
        tables["website"] = {"url": config.website.url, "tag": config.website.tag}
    return {
        "format": FORMAT,
        "showcase_version": __version__,
        "command": command,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": [name for name in sources if name in tables],
        "config": tables,
    }


def _showcase_table(config: Config) -> dict[str, Any]:
    showcase = config.showcase
    table: dict[str, Any] = {
        "title": showcase.title,
        "hashtags": list(showcase.hashtags),
        "locale": showcase.locale,
        "timezone": showcase.timezone,
        "stale_after": _duration(showcase.stale_after),
        "intro": showcase.intro,
    }
    if showcase.since is not None:
        table["since"] = showcase.since.isoformat()
    return table


def _duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


# --- reading a recording -------------------------------------------------------------------------


def load_meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"--replay: {directory} holds no recording ({META_FILE} missing)"
        ) from None
    except (OSError, ValueError) as error:
        raise UsageError(f"--replay: {path} cannot be read: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UsageError(f"--replay: {path} is not a showcase recording of format {FORMAT}")
    return meta


def load_exchanges(directory: Path) -> list[dict[str, Any]]:
    """The exchanges in recorded order."""
    exchanges = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]*.json")):
        try:
            exchange = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UsageError(f"--replay: {path} cannot be read: {error}") from None
        if not isinstance(exchange, dict) or not isinstance(exchange.get("request"), dict):
            raise UsageError(f"--replay: {path} is not an exchange")
        exchanges.append(exchange)
    return exchanges


# --- redaction ----------------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """The URL with secret parameters and any user:password taken out."""
    parts = urlsplit(url)
    if parts.password is not None or parts.username is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{REDACTED}@{host}")
    return redact(urlunsplit(parts))


def redact_headers(
    headers: Mapping[str, str], drop: frozenset[str] = frozenset()
) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in drop or lower.startswith("-"):  # httplib2's "-content-encoding"
            continue
        if lower in SECRET_HEADERS:
            scheme = str(value).split(" ", 1)[0] if " " in str(value) else ""
            kept[name] = f"{scheme} {REDACTED}".strip()
        else:
            kept[name] = redact(str(value))
    return kept


def redact_json(value: Any) -> Any:
    """Secret fields and every string in a decoded JSON document, redacted."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if key.lower() in SECRET_FIELDS and isinstance(item, str)
            else redact_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


# --- bodies ---------------------------------------------------------------------------------------


def encode_body(content: bytes | str | None, content_type: str) -> dict[str, Any]:
    """A body as JSON can hold it, secrets removed (see the module's docstring)."""
    if content is None:
        return {"text": ""}
    if isinstance(content, str):
        content = content.encode("utf-8")
    if content_type.lower().startswith("image/"):
        return _image_body(content)
    text = _text(content, content_type)
    if text is None:
        return {"base64": base64.b64encode(content).decode("ascii")}
    decoded = _json_document(text)
    if decoded is not None:
        return {"json": redact_json(decoded)}
    return {"text": redact(text)}


def decode_body(body: Mapping[str, Any]) -> bytes | None:
    """The bytes of a recorded body; None for an image or an omitted body (no bytes kept)."""
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False).encode("utf-8")
    if "text" in body:
        return str(body["text"]).encode("utf-8")
    if "base64" in body:
        return base64.b64decode(body["base64"])
    return None


def _image_body(content: bytes) -> dict[str, Any]:
    try:
        with Image.open(io.BytesIO(content)) as image:
            shape = {"format": image.format, "width": image.width, "height": image.height}
    except (UnidentifiedImageError, OSError, ValueError):
        return {"omitted": "not a readable image", "size": len(content)}
    return {"image": shape, "size": len(content)}


def _text(content: bytes, content_type: str) -> str | None:
    charset = "utf-8"
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"'")
    try:
        return content.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return None


def _json_document(text: str) -> Any:
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _small_enough(content_length: str | None) -> bool:
    try:
        return content_length is not None and int(content_length) <= MAX_STREAMED_BYTES
    except ValueError:
        return False


def dump(document: Any) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
