"""What the browser tests and the page benchmark share: Debian's Chromium under Playwright, a
loopback file server, and two ways of seeing what would leave the machine.

- `Watch` intercepts every request of a browser context (pages and their iframes): a request
  to a loopback address goes on, any other is recorded and answered by a stub (player hosts)
  or aborted. Nothing ever reaches the internet.
- `ConnectionTrap` is where Chromium's host resolver sends every name but 127.0.0.1
  (`--host-resolver-rules`): any connection the browser opens to another host (a preconnect
  too, which no request interception sees) lands here and is recorded by its TLS server name.
  Chromium's own background connections (sign-in, Android clients) land here as well, which
  is why assertions look for the hosts that matter rather than for an empty list.

No browser is downloaded: Playwright drives the Chromium that `apt-get install chromium`
brings (`executable_path`). `playwright install` is never run.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
PLAYER_STUB = "<!doctype html><title>Player</title><p>player stub</p>"


def chromium_path() -> str | None:
    """$SHOWCASE_CHROMIUM, else Debian's chromium on the PATH."""
    for candidate in (
        os.environ.get("SHOWCASE_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK or url.startswith(("data:", "about:"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve `root` on 127.0.0.1; yield its base URL ("http://127.0.0.1:PORT/")."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def client_hello_host(data: bytes) -> str | None:
    """The server name (SNI) of a TLS ClientHello record, or None."""
    try:
        if data[0] != 0x16 or data[5] != 0x01:
            return None
        pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
        pos += 1 + data[pos]  # session id
        pos += 2 + int.from_bytes(data[pos : pos + 2], "big")  # cipher suites
        pos += 1 + data[pos]  # compression methods
        end = pos + 2 + int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            kind = int.from_bytes(data[pos : pos + 2], "big")
            size = int.from_bytes(data[pos + 2 : pos + 4], "big")
            if kind == 0:  # server_name: list length (2), name type (1), length (2), name
                length = int.from_bytes(data[pos + 7 : pos + 9], "big")
                return data[pos + 9 : pos + 9 + length].decode("ascii")
            pos += 4 + size
    except (IndexError, UnicodeDecodeError):
        return None
    return None


def _first_bytes(connection: Any) -> bytes:
    data = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
        if data[:1] == b"\x16" and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
            return data
        if data[:1] != b"\x16" and b"\r\n\r\n" in data:
            return data


def _host_of(data: bytes) -> str:
    if data[:1] == b"\x16":
        return client_hello_host(data) or "(TLS without server name)"
    for line in data.split(b"\r\n")[1:]:
        if line.lower().startswith(b"host:"):
            return line[5:].strip().decode("latin-1").split(":")[0]
    return "(unknown)"


class _TrapHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(3)
        try:
            data = _first_bytes(self.request)
        except OSError:
            data = b""
        self.server.hosts.append(_host_of(data) if data else "(no data)")  # type: ignore[attr-defined]


class ConnectionTrap(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TrapHandler)
        self.hosts: list[str] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def resolver_rule(self) -> str:
        return f"--host-resolver-rules=MAP * 127.0.0.1:{self.server_address[1]}, EXCLUDE 127.0.0.1"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@dataclass
class Watch:
    """Every request of one browser context that did not go to loopback, in order."""

    outside: list[str] = field(default_factory=list)
    inside: list[str] = field(default_factory=list)
    stubbed_hosts: tuple[str, ...] = ("www.youtube-nocookie.com", "www.facebook.com")

    def attach(self, context: Any) -> Watch:
        context.route("**/*", self._route)
        return self

    def _route(self, route: Any) -> None:
        url = route.request.url
        if is_loopback(url):
            self.inside.append(url)
            route.continue_()
            return
        self.outside.append(url)
        if urlsplit(url).hostname in self.stubbed_hosts:
            route.fulfill(status=200, content_type="text/html", body=PLAYER_STUB)
        else:
            route.abort()

    @property
    def outside_hosts(self) -> set[str]:
        return {urlsplit(url).hostname or url for url in self.outside}


@contextmanager
def chromium(executable: str, trap: ConnectionTrap | None = None) -> Iterator[Any]:
    """A Playwright-driven headless Chromium; the trap, when given, receives every
    connection to a host other than 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    args = [*CHROMIUM_ARGS, *([trap.resolver_rule] if trap else [])]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield browser
        finally:
            browser.close()


RESOURCE_HINTS_SCRIPT = """() => Array.from(document.querySelectorAll('link[rel]'))
  .filter(l => /(^|\\s)(preconnect|dns-prefetch|preload|prefetch|prerender|modulepreload)(\\s|$)/i
    .test(l.rel))
  .map(l => l.href)"""


def scroll_through(page: Any) -> None:
    """Scroll to the end and back, so every lazy image that would ever load has loaded."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + 800, 700):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(40)
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
