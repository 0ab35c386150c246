"""A small forwarding HTTP proxy on loopback for the tests: it sees every request.

It answers absolute-URI requests (`GET http://host:port/path`, what requests sends for http://
targets) and CONNECT tunnels (what requests sends for https://, and what httplib2 with PySocks
sends for every target). `hosts` maps made-up names to the address that serves them, so that
`api.example.test` (RFC 2606: never resolves) is reachable only through the proxy. With
`credentials` set it demands them (HTTP 407, RFC 9110 §11.7.1) as a corporate proxy does.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade",
}  # fmt: skip


@dataclass
class Seen:
    method: str
    target: str  # the absolute URI, or host:port for CONNECT
    proxy_authorization: str | None
    headers: dict[str, str] = field(default_factory=dict)


class ForwardingProxy:
    def __init__(self, hosts: dict[str, str] | None = None, credentials: str | None = None):
        self.hosts = {name.lower(): address for name, address in (hosts or {}).items()}
        self.credentials = credentials
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url_with(self, credentials: str) -> str:
        return f"http://{credentials}@127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ForwardingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def note(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def address_of(self, host: str, port: int) -> tuple[str, int] | None:
        address = self.hosts.get(host.lower())
        return (address, port) if address else None

    def authorised(self, header: str | None) -> bool:
        if self.credentials is None:
            return True
        expected = "basic " + base64.b64encode(self.credentials.encode()).decode()
        return (header or "").lower() == expected.lower()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    @property
    def proxy(self) -> ForwardingProxy:
        return self.server.proxy  # type: ignore[attr-defined,no-any-return]

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        if not self._admitted(host, int(port or 443)):
            return
        address = self.proxy.address_of(host, int(port or 443))
        assert address is not None
        try:
            upstream = socket.create_connection(address, timeout=10)
        except OSError:
            self._refuse(502, "upstream unreachable")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        _pipe(self.connection, upstream)
        self.close_connection = True

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if not parts.scheme or not parts.hostname:
            self._refuse(400, "not a proxy request")
            return
        port = parts.port or 80
        if not self._admitted(parts.hostname, port):
            return
        address = self.proxy.address_of(parts.hostname, port)
        assert address is not None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        path = parts.path + ("?" + parts.query if parts.query else "")
        upstream = http.client.HTTPConnection(*address, timeout=10)
        try:
            upstream.request("GET", path or "/", headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
        except OSError:
            self._refuse(502, "upstream unreachable")
            return
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _admitted(self, host: str, port: int) -> bool:
        authorization = self.headers.get("Proxy-Authorization")
        self.proxy.note(Seen(self.command, self.path, authorization, dict(self.headers.items())))
        if not self.proxy.authorised(authorization):
            self._refuse(407, "proxy authentication required")
            return False
        if self.proxy.address_of(host, port) is None:
            self._refuse(403, "this proxy forwards only its test hosts")
            return False
        return True

    def _refuse(self, status: int, why: str) -> None:
        body = why.encode()
        self.send_response(status)
        if status == 407:
            self.send_header("Proxy-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until one side closes."""
    sockets = [client, upstream]
    try:
        while True:
            readable, _, broken = select.select(sockets, [], sockets, 10)
            if broken or not readable:
                return
            for source in readable:
                data = source.recv(64 * 1024)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)
    except OSError:
        return
    finally:
        upstream.close()
