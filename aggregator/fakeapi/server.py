"""The HTTP side: a ThreadingHTTPServer on 127.0.0.1 that routes to the fake APIs."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from aggregator.errors import redact
from aggregator.fakeapi import graph, wordpress, youtube
from aggregator.fakeapi.bodies import graph_error, graph_status, youtube_error
from aggregator.fakeapi.thumbs import render_thumbnail
from aggregator.fakeapi.wire import ApiRequest, Reply, graph_json, youtube_json
from aggregator.fakeapi.world import World

log = logging.getLogger(__name__)

ROUTES = (
    "youtube.channels",
    "youtube.playlistItems",
    "youtube.videos",
    "graph.page",
    "graph.videos",
    "graph.posts",
    "graph.oauth",
    "graph.accounts",
    "wordpress.tags",
    "wordpress.posts",
    "wordpress.media",
    "wordpress.page",
    "thumbs",
)
_SECRET_PARAMS = {
    "key",
    "access_token",
    "appsecret_proof",
    "client_secret",
    "input_token",
    "fb_exchange_token",
}
_VERSION = re.compile(r"v\d+\.\d+")
_THUMB = re.compile(r"/thumbs/(?P<name>[\w.-]+)\.jpg")
_GRAPH_EDGE_ROUTES = {
    "videos": "graph.videos",
    "posts": "graph.posts",
    "feed": "graph.posts",
    "published_posts": "graph.posts",
}


@dataclass
class ServerStats:
    """What the server was asked. `requests` holds (route, path) with keys and tokens removed."""

    youtube_units: int = 0
    youtube_requests: int = 0
    graph_requests: int = 0
    wordpress_requests: int = 0
    thumb_requests: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    by_route: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.youtube_units = self.youtube_requests = self.graph_requests = 0
        self.wordpress_requests = self.thumb_requests = 0
        self.requests.clear()
        self.by_route.clear()


@dataclass
class Injection:
    """A canned answer for the next `times` requests on `route` once `skip` have gone through."""

    route: str
    status: int
    body: bytes | None  # None with status 200: the normal answer, after `delay`
    content_type: str
    times: int
    skip: int
    delay: float
    headers: dict[str, str]
    served: int = 0

    @property
    def remaining(self) -> int:
        return self.times - self.served


class FakeApiServer:
    """YouTube Data API v3 and Graph API look-alikes serving a World, on an ephemeral port.

        with FakeApiServer(World.demo(), api_key="k", access_token="t") as server:
            server.url  # "http://127.0.0.1:PORT/": youtube api_endpoint and facebook graph_url

    Quota: every YouTube list call the API answers (including its own 4xx errors such as
    playlistNotFound) costs 1 unit and takes 1 from world.youtube_quota_left. Calls refused
    for a bad key or an exhausted quota, and injected answers, cost nothing.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        api_key: str = "test-key",
        access_token: str = "test-token",
        port: int = 0,
    ):
        self.world = world if world is not None else World.demo()
        self.api_key = api_key
        self.access_token = access_token
        self.stats = ServerStats()
        self.app_usage: dict[str, int] | None = None  # x-app-usage override; None: computed
        self._port = port
        self._lock = threading.Lock()
        self._injections: dict[str, list[Injection]] = {}
        self._stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeApiServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd, self._thread = serve_in_background(self, "fakeapi", self._port)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on an injected delay
        stop_serving(self._httpd, self._thread)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake API server is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """ "http://127.0.0.1:PORT/", for both youtube.api_endpoint and facebook.graph_url."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- failure injection --------------------------------------------------------------------

    def inject(
        self,
        route: str,
        *,
        status: int | None = None,
        body: dict[str, Any] | str | bytes | None = None,
        content_type: str = "application/json",
        times: int = 1,
        skip: int = 0,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> Injection:
        """Answer the next `times` requests on `route`, after `skip` normal ones, with this.

        status None: the status a canned error body implies (youtube_error: its code,
        graph_error: what Graph sends with that code), else 500. body None: the API's own
        error body for `status`; with status=200 the normal answer, only `delay`ed.
        """
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; routes: {', '.join(ROUTES)}")
        status = status if status is not None else _implied_status(route, body)
        if isinstance(body, dict):
            raw: bytes | None = json.dumps(body, ensure_ascii=False).encode("utf-8")
            if content_type == "application/json":
                content_type = "application/json; charset=UTF-8"
        elif isinstance(body, str):
            raw = body.encode("utf-8")
        elif body is None and status != 200:
            raw, content_type = _default_error(route, status)
        else:
            raw = body
        injection = Injection(route, status, raw, content_type, times, skip, delay, headers or {})
        with self._lock:
            self._injections.setdefault(route, []).append(injection)
        return injection

    def clear_injections(self) -> None:
        with self._lock:
            self._injections.clear()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats.reset()

    def _take_injection(self, route: str) -> Injection | None:
        with self._lock:
            queue = self._injections.get(route, [])
            while queue and queue[0].remaining <= 0:
                queue.pop(0)
            if not queue:
                return None
            injection = queue[0]
            if injection.skip > 0:
                injection.skip -= 1
                return None
            injection.served += 1
            return injection

    # -- requests -----------------------------------------------------------------------------

    def handle(self, raw_path: str, headers: Mapping[str, str] | Message) -> Reply:
        """Answer one GET: record it, apply an injection, else serve the route."""
        parts = urlsplit(raw_path)
        path = re.sub("/{2,}", "/", unquote(parts.path))
        params = parse_qs(parts.query, keep_blank_values=True)
        request = ApiRequest(path, params, headers, self.base_url)
        route = classify(path, params, self.world)
        self._record(route, parts.path, parts.query)
        injection = self._take_injection(route)
        if injection is not None:
            if injection.delay:
                self._stopping.wait(injection.delay)
            if injection.body is not None or injection.status != 200:
                return self._injected_reply(route, injection)
        reply = self._serve(route, request)
        if injection is not None:
            reply.headers.update(injection.headers)
        return reply

    def _record(self, route: str, path: str, query: str) -> None:
        kept = [pair for pair in query.split("&") if pair and _param(pair) not in _SECRET_PARAMS]
        clean = redact(path + ("?" + "&".join(kept) if kept else ""))
        with self._lock:
            self.stats.requests.append((route, clean))
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            if route.startswith("youtube."):
                self.stats.youtube_requests += 1
            elif route.startswith("graph."):
                self.stats.graph_requests += 1
            elif route.startswith("wordpress."):
                self.stats.wordpress_requests += 1
            elif route == "thumbs":
                self.stats.thumb_requests += 1

    def _injected_reply(self, route: str, injection: Injection) -> Reply:
        headers = self._graph_headers(None) if route.startswith("graph.") else {}
        headers.update(injection.headers)
        return Reply(injection.status, injection.body or b"", injection.content_type, headers)

    def _serve(self, route: str, request: ApiRequest) -> Reply:
        if route.startswith("youtube."):
            return self._serve_youtube(route.removeprefix("youtube."), request)
        if route.startswith("graph."):
            return self._serve_graph(request)
        if route.startswith("wordpress."):
            return self._serve_wordpress(route.removeprefix("wordpress."), request)
        if route == "thumbs":
            return self._serve_thumbnail(request)
        return Reply(404, b"Not Found", "text/plain; charset=utf-8")

    def _serve_wordpress(self, resource: str, request: ApiRequest) -> Reply:
        refused = wordpress.refusal(request, self.world)
        if refused is not None:
            return refused
        if resource == "page":
            return wordpress.serve_page(request, self.world)
        status, body, headers = wordpress.serve(resource, request, self.world)
        return Reply(status, wordpress.wordpress_json(body, self.base_url), headers=headers)

    def _serve_youtube(self, resource: str, request: ApiRequest) -> Reply:
        pretty = request.one("prettyPrint") not in ("false", "0")
        headers = {"Vary": "Origin, X-Origin, Referer", "Cache-Control": "private"}

        def reply(status: int, body: dict[str, Any]) -> Reply:
            return Reply(status, youtube_json(body, self.base_url, pretty), headers=headers)

        problem = youtube.key_problem(request, self.api_key)
        if problem is not None:
            return reply(400, problem)
        if resource in youtube.RESOURCES and not self._charge_quota():
            return reply(403, youtube_error(403, "quotaExceeded"))

        def answer() -> tuple[int, bytes]:
            status, body = youtube.serve(resource, request, self.world)
            return status, youtube_json(body, self.base_url, pretty)

        status, raw = self.world.kept(("youtube", self.base_url, *_asked(request)), answer)
        return Reply(status, raw, headers=headers)

    def _charge_quota(self) -> bool:
        with self._lock:
            left = self.world.youtube_quota_left
            if left is not None and left <= 0:
                return False
            if left is not None:
                self.world.youtube_quota_left = left - 1
            self.stats.youtube_units += 1
            return True

    def _serve_graph(self, request: ApiRequest) -> Reply:
        version, segments = graph_path(request.path)
        headers = self._graph_headers(version)
        if graph.is_login_path(segments):
            login = graph.serve_login(
                segments, version or graph.DEFAULT_VERSION, request, self.world, self.access_token
            )
            return Reply(login[0], graph_json(login[1], self.base_url), headers=headers)
        problem = graph.token_problem(request, self.access_token)
        if problem is not None:
            headers.update(problem.headers)
            return Reply(problem.status, graph_json(problem.body, self.base_url), headers=headers)
        token = graph.request_token(request) or ""
        version = version or graph.DEFAULT_VERSION

        def answer() -> tuple[int, bytes]:
            status, body = graph.serve(segments, version, request, self.world, token)
            return status, graph_json(body, self.base_url)

        status, raw = self.world.kept(("graph", self.base_url, token, *_asked(request)), answer)
        return Reply(status, raw, headers=headers)

    def _graph_headers(self, version: str | None) -> dict[str, str]:
        calls = self.stats.graph_requests
        usage = self.app_usage or {
            "call_count": min(100, calls // 10),
            "total_cputime": min(100, calls // 25),
            "total_time": min(100, calls // 20),
        }
        trace = hashlib.sha1(f"{calls}".encode()).hexdigest()[:11]
        return {
            "x-app-usage": json.dumps(usage, separators=(",", ":")),
            "facebook-api-version": version or graph.DEFAULT_VERSION,
            "x-fb-trace-id": trace,
            "x-fb-request-id": "A" + trace.upper(),
            "Cache-Control": "private, no-cache, no-store, must-revalidate",
            "Pragma": "no-cache",
            "Expires": "Sat, 01 Jan 2000 00:00:00 GMT",
        }

    def _image(self, name: str) -> bytes:
        return self.world.kept(("image", name), lambda: render_thumbnail(name))

    def prepare_images(self) -> int:
        """For a fixed world (`World.fix`): generate every image its resources point at now, as
        an image host has them before anyone asks; return how many."""
        if not self.world.fixed:
            raise RuntimeError("only a fixed world's images are kept (World.fix)")
        names = set(_THUMB.findall(json.dumps(self.world.to_dict())))
        for name in names:
            self._image(name)
        return len(names)

    def _serve_thumbnail(self, request: ApiRequest) -> Reply:
        match = _THUMB.fullmatch(request.path)
        if not match:
            return Reply(404, b"Not Found", "text/plain; charset=utf-8")
        image = self._image(match["name"])
        etag = '"' + hashlib.sha1(image).hexdigest()[:20] + '"'
        headers = {
            "Cache-Control": "public, max-age=86400",
            "ETag": etag,
            "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT",
        }
        if request.headers.get("If-None-Match") == etag:
            return Reply(304, b"", "image/jpeg", headers)
        return Reply(200, image, "image/jpeg", headers)


def classify(
    path: str, params: dict[str, list[str]] | None = None, world: World | None = None
) -> str:
    """The route a request belongs to: one of ROUTES, or "youtube.other", "graph.other",
    "wordpress.other". WordPress reads /wp-json/... (pretty permalinks) and
    /?rest_route=/wp/v2/...; "wordpress.page" is a page of the site: the home page, or
    /wp-json/ on a site with plain permalinks."""
    if path.startswith("/thumbs/"):
        return "thumbs"
    resource = wordpress.rest_resource(path, params or {}, world or World())
    if resource is not None:
        return f"wordpress.{resource}" if resource else "wordpress.other"
    if path in wordpress.FRONT_PAGES or path == "/wp-json" or path.startswith("/wp-json/"):
        return "wordpress.page"
    if path.startswith("/youtube/v3/"):
        resource = path.removeprefix("/youtube/v3/").strip("/")
        return f"youtube.{resource}" if resource in youtube.RESOURCES else "youtube.other"
    _, segments = graph_path(path)
    if graph.is_login_path(segments):
        return "graph.oauth" if segments[0] == "oauth" else "graph.accounts"
    if len(segments) == 1:
        return "graph.page"
    if len(segments) == 2 and segments[1] in _GRAPH_EDGE_ROUTES:
        return _GRAPH_EDGE_ROUTES[segments[1]]
    return "graph.other"


def graph_path(path: str) -> tuple[str | None, list[str]]:
    """ "/v25.0/page/videos" -> ("v25.0", ["page", "videos"]); the version may be left out."""
    segments = [segment for segment in path.split("/") if segment]
    if segments and _VERSION.fullmatch(segments[0]):
        return segments[0], segments[1:]
    return None, segments


def _asked(request: ApiRequest) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """What an answer depends on besides the world and the token: the path and the query."""
    query = tuple(sorted((name, tuple(values)) for name, values in request.params.items()))
    return request.path, query


def _param(pair: str) -> str:
    return unquote(pair.partition("=")[0]).lower()


def _implied_status(route: str, body: object) -> int:
    if route.startswith("wordpress.") and isinstance(body, dict):
        status = (body.get("data") or {}).get("status")
        return status if isinstance(status, int) else 500
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        if route.startswith("graph."):
            return graph_status(body)
        code = body["error"].get("code")
        if isinstance(code, int):
            return code
    return 500


def _default_error(route: str, status: int) -> tuple[bytes, str]:
    json_type = "application/json; charset=UTF-8"
    if route.startswith("youtube."):
        return youtube_json(youtube_error(status), ""), json_type
    if route.startswith("graph."):
        code = 2 if status >= 500 else 4 if status in (403, 429) else 190 if status == 401 else 100
        return graph_json(graph_error(code), ""), json_type
    if route.startswith("wordpress."):
        return wordpress.wordpress_json(wordpress.error_body(status), ""), json_type
    return f"{status} error".encode(), "text/plain; charset=utf-8"


class Answers(Protocol):
    """What the HTTP side asks for each request: FakeApiServer, or a replay (replay.py)."""

    def handle(self, raw_path: str, headers: Mapping[str, str] | Message) -> Reply: ...


def serve_in_background(
    answers: Answers, label: str, port: int = 0
) -> tuple[_HttpServer, threading.Thread]:
    """An HTTP server on 127.0.0.1:`port` (0: any free one) whose requests `answers` answers,
    served by a daemon thread named after `label` and the port."""
    httpd = _HttpServer(("127.0.0.1", port), _Handler)
    httpd.fake = answers
    thread = threading.Thread(
        target=httpd.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"{label}:{httpd.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return httpd, thread


def stop_serving(httpd: ThreadingHTTPServer, thread: threading.Thread | None) -> None:
    httpd.shutdown()
    httpd.server_close()
    if thread is not None:
        thread.join(timeout=5)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: Answers

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("fake API connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeApi/1.0"
    timeout = 30
    # Headers and body leave in one write: separate small writes meet Nagle's algorithm and
    # delayed ACKs on keep-alive connections, 40 ms per request.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        try:
            reply = self.server.fake.handle(self.path, self.headers)
        except Exception as error:  # a bug in the fake must show up as a 500, not a hang
            log.exception("fake API failed on %s", redact(self.path))
            reply = Reply(500, f"fake API bug: {error!r}".encode(), "text/plain; charset=utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(reply.body)
        except OSError:  # the client gave up (timeout) before the answer was written
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake API: " + format, *(redact(str(arg)) for arg in args))
