"""Serve a recording (`showcase fetch --record DIR`) back to the pipeline: `demo --replay DIR`.

Each origin the recording talked to (`https://graph.facebook.com`, `https://i.ytimg.com`, the
WordPress site, ...) gets its own server on 127.0.0.1, so paths never collide and each answer
comes from where it came from. A request is matched by method, path and query, secrets left out
(`key=`, `access_token=`, ... are REDACTED in the recording and vary in a replay); a request
asked several times gets the recorded answers in recorded order, the last one again after that.
A request the recording does not hold is answered 404 and listed in `unmatched`.

Recorded absolute URLs that the client follows must lead to the replay, not to the Internet:
a URL in a JSON body is rewritten to the replay server when the recording holds a request
for it (Graph's paging.next, thumbnails), so a post's permalink stays what the API said; in
headers (Link, Location) and in text bodies (HTML pages) every recorded origin is rewritten.
Whatever still leads outside goes to `outside`, a proxy address where nothing listens: a
replay never reaches the Internet (loopback bypasses every proxy, see sources/transport.py).
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from PIL import Image

from aggregator.fakeapi.server import serve_in_background, stop_serving
from aggregator.fakeapi.wire import Reply
from aggregator.recording import (
    SECRET_PARAMS,
    decode_body,
    load_exchanges,
    load_meta,
)

log = logging.getLogger(__name__)

# Where a replay's stray requests go: the discard port on loopback, where nothing listens.
NOWHERE = "http://127.0.0.1:9"
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
_NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")
_ENDPOINT_KEYS = (("youtube", "api_endpoint"), ("facebook", "graph_url"), ("website", "url"))
_PILLOW_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "GIF", "MPO": "JPEG"}

Key = tuple[str, str, tuple[tuple[str, str], ...]]


def request_key(method: str, url: str) -> Key:
    """What identifies a request in a recording: method, path, query without its secrets."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = sorted((name, value) for name, value in query if name.lower() not in SECRET_PARAMS)
    return method.upper(), parts.path or "/", tuple(kept)


def origin_of(url: str) -> str:
    """scheme://host[:port], lower case, the default port left out."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    port = f":{parts.port}" if parts.port is not None and parts.port != default else ""
    return f"{scheme}://{host}{port}"


@dataclass
class _Recorded:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class ReplayServer:
    """A recording served from loopback, one server per recorded origin.

    with ReplayServer(Path("recording")) as replay:
        replay.config_dict()      # the recorded settings, endpoints pointing at the replay
        replay.unmatched          # requests the recording had no answer for
    """

    def __init__(self, directory: Path):
        self.meta = load_meta(directory)
        self.unmatched: list[str] = []
        self._answers: dict[tuple[str, Key], list[_Recorded]] = {}
        self._served: dict[tuple[str, Key], int] = {}
        self._requested: set[tuple[str, Key]] = set()
        self._lock = threading.Lock()
        origins = {origin_of(url) for url in self._configured_urls()}
        for exchange in load_exchanges(directory):
            request, response = exchange["request"], exchange.get("response") or {}
            url, method = str(request.get("url", "")), str(request.get("method", "GET"))
            origin = origin_of(url)
            origins.add(origin)
            self._requested.add((origin, request_key("GET", url)))
            recorded = _Recorded(
                int(response.get("status", 200)),
                dict(response.get("headers") or {}),
                dict(response.get("body") or {}),
            )
            self._answers.setdefault((origin, request_key(method, url)), []).append(recorded)
        self._servers = {origin: _OriginServer(self, origin) for origin in sorted(origins)}

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> ReplayServer:
        for server in self._servers.values():
            server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for server in self._servers.values():
            server.stop()

    # -- where things are ---------------------------------------------------------------------

    def local_origin(self, origin: str) -> str:
        return self._servers[origin].url

    def local_url(self, url: str) -> str:
        """A recorded URL on a recorded origin, as the replay serves it."""
        origin = origin_of(url)
        if origin not in self._servers:
            return url
        parts = urlsplit(url)
        rest = url[len(f"{parts.scheme}://{parts.netloc}") :]
        return self.local_origin(origin) + rest

    def rewrite_all(self, text: str) -> str:
        """Every recorded origin in `text`, plain or with JSON's escaped slashes, replaced."""
        for origin in sorted(self._servers, key=len, reverse=True):
            local = self.local_origin(origin)
            text = text.replace(origin, local)
            text = text.replace(origin.replace("/", "\\/"), local.replace("/", "\\/"))
        return text

    def config_dict(self) -> dict[str, Any]:
        """The recorded settings as a config, each source's endpoint on the replay."""
        tables = dict(self.meta.get("config") or {})
        config: dict[str, Any] = {
            "storage": {"database": "sqlite:///showcase.db"},
            "output": {"directory": "public"},
            "showcase": dict(tables.get("showcase") or {}),
        }
        for name, key in (
            ("youtube", "api_endpoint"),
            ("facebook", "graph_url"),
            ("website", "url"),
        ):
            if name in tables:
                table = dict(tables[name])
                table[key] = self.local_url(str(table[key]))
                config[name] = table
        return config

    def _configured_urls(self) -> list[str]:
        tables = self.meta.get("config") or {}
        return [
            str(tables[name][key])
            for name, key in _ENDPOINT_KEYS
            if key in (tables.get(name) or {})
        ]

    # -- answering ----------------------------------------------------------------------------

    def answer(self, origin: str, method: str, raw_path: str) -> Reply:
        key = request_key(method, raw_path)
        with self._lock:
            answers = self._answers.get((origin, key))
            if not answers:
                self.unmatched.append(f"{method} {origin}{raw_path}")
                log.warning("replay: no recorded answer for %s %s%s", method, origin, raw_path)
                return Reply(404, b"no recorded answer", "text/plain; charset=utf-8")
            served = self._served.get((origin, key), 0)
            self._served[(origin, key)] = served + 1
            recorded = answers[min(served, len(answers) - 1)]
        return self._reply(recorded)

    def _reply(self, recorded: _Recorded) -> Reply:
        headers = {name: self.rewrite_all(value) for name, value in recorded.headers.items()}
        content_type = next(
            (headers.pop(name) for name in list(headers) if name.lower() == "content-type"),
            "application/octet-stream",
        )
        return Reply(recorded.status, self._body(recorded.body), content_type, headers)

    def _body(self, body: Mapping[str, Any]) -> bytes:
        if "json" in body:
            return decode_body({"json": self._rewrite_followed(body["json"])}) or b""
        if "text" in body:
            return self.rewrite_all(str(body["text"])).encode("utf-8")
        if "image" in body:
            return _draw(body["image"])
        return decode_body(body) or b""

    def _rewrite_followed(self, value: Any) -> Any:
        """URLs the client asked for during the recording, pointed at the replay."""
        if isinstance(value, dict):
            return {key: self._rewrite_followed(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._rewrite_followed(item) for item in value]
        if isinstance(value, str) and self._was_requested(value):
            return self.local_url(value)
        return value

    def _was_requested(self, text: str) -> bool:
        if not text.startswith(("http://", "https://")):
            return False
        return (origin_of(text), request_key("GET", text)) in self._requested

    # -- no way out ---------------------------------------------------------------------------

    @contextmanager
    def isolated(self, outside: str = NOWHERE) -> Iterator[None]:
        """Inside the block, every request not to loopback goes to the proxy `outside`."""
        saved = {name: os.environ.get(name) for name in _PROXY_VARIABLES + _NO_PROXY_VARIABLES}
        try:
            for name in _PROXY_VARIABLES:
                os.environ[name] = outside
            for name in _NO_PROXY_VARIABLES:
                os.environ.pop(name, None)
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class _OriginServer:
    """One recorded origin on an ephemeral loopback port."""

    def __init__(self, replay: ReplayServer, origin: str):
        self.replay = replay
        self.origin = origin
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the replay is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> None:
        self._httpd, self._thread = serve_in_background(self, f"replay:{self.origin}")

    def stop(self) -> None:
        if self._httpd is not None:
            stop_serving(self._httpd, self._thread)
        self._httpd = self._thread = None

    def handle(self, raw_path: str, headers: Mapping[str, str] | Message) -> Reply:
        return self.replay.answer(self.origin, "GET", raw_path)


def _draw(shape: Mapping[str, Any]) -> bytes:
    """An image of the recorded format and size: the recording keeps no image bytes."""
    width, height = int(shape.get("width") or 1), int(shape.get("height") or 1)
    image_format = _PILLOW_FORMATS.get(str(shape.get("format") or "JPEG").upper(), "JPEG")
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 120, 120)).save(out, image_format)
    return out.getvalue()
