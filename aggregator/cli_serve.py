"""`showcase serve`: a local preview of the rendered output for staff; with `--staff`, the
staff web interface.

Renders from the database first (as `render` does; `--no-render` skips that), then serves the
output directory with the standard library's HTTP server, on 127.0.0.1 unless `--host` says
otherwise, until Ctrl-C or SIGTERM, and exits 0. It prints one line, the preview's URL; the
access log shows only with `-v`. A preview, not a web server for the public: the output
directory is plain files that any web server serves.

`--staff` serves `aggregator.web` with uvicorn instead, on the same address rules. It refuses
(exit 2) when the config has no `[staff]` table or the database no staff account: the
interface is off unless someone set it up on purpose. uvicorn's own reading of
`X-Forwarded-*` is off: the app believes them from a loopback proxy only (`web/auth.py`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import socketserver
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from aggregator import jobs, staff, store
from aggregator.config import Config
from aggregator.errors import UsageError

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, config: Config) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"serve: --port {args.port} is not a port (0 to 65535)")
    if args.staff:
        return run_staff(args, config)
    if not args.no_render:
        jobs.render_only(config)
    directory = config.output_dir
    if not (directory / "index.html").is_file():
        raise UsageError(f"serve: nothing to serve: no index.html in {directory} (run render)")
    server = make_server(args.host, args.port, directory)
    print(f"Preview: {preview_url(server)} (serving {directory}; Ctrl-C stops)", flush=True)
    serve_until_stopped(server)
    return 0


def run_staff(args: argparse.Namespace, config: Config) -> int:
    """The staff interface until Ctrl-C or SIGTERM; refused unless it was set up."""
    if config.staff is None:
        raise UsageError(
            "serve --staff: the staff interface is off: add a [staff] table to the config "
            "(session_hours = 8), then an account with `showcase staff add NAME`"
        )
    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            if not staff.accounts(session):
                raise UsageError(
                    "serve --staff: no staff account yet: add one with `showcase staff add NAME`"
                )
        if not args.no_render:
            jobs.render_output(engine, config)
        listening = bind_socket(args.host, args.port)
        from aggregator.web import create_app  # only `--staff` needs Starlette and uvicorn

        app = create_app(config, engine=engine)
        host, port = listening.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"Staff: http://{shown}:{port}/ (log in there; Ctrl-C stops)", flush=True)
        serve_app(app, listening)
    finally:
        engine.dispose()
    return 0


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise UsageError(f"serve: cannot listen on {host}:{port}: {error.strerror}") from None
    listening.listen(128)
    listening.set_inheritable(True)
    return listening


def serve_app(app: Any, listening: socket.socket) -> None:
    """uvicorn on the bound socket until SIGTERM or SIGINT, either of which ends it normally."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            proxy_headers=False,
            server_header=False,
            access_log=log.isEnabledFor(logging.INFO),
            log_config=None,
            lifespan="on",
        )
    )
    # uvicorn handles the signal, then raises it again for the handler it found: let that be
    # one that does nothing, so a SIGTERM ends with exit 0 like the preview's.
    numbers = (signal.SIGTERM, signal.SIGINT)
    previous = {number: signal.signal(number, lambda signum, frame: None) for number in numbers}
    try:
        server.run(sockets=[listening])
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        listening.close()


class PreviewHandler(SimpleHTTPRequestHandler):
    """Files from the output directory, never cached (a re-render shows on reload), with the
    access log at INFO (`-v`) instead of on stderr."""

    extensions_map = {  # noqa: RUF012 (the base class sets it as a plain dict too)
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".webp": "image/webp",
    }

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("serve: %s %s", self.address_string(), format % args)


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True  # an open connection never holds up the exit

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name, which can hang offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("serve: a request from %s failed", client_address[0], exc_info=True)


class PreviewServer6(PreviewServer):
    address_family = socket.AF_INET6


def make_server(host: str, port: int, directory: Path) -> PreviewServer:
    server_class = PreviewServer6 if ":" in host else PreviewServer
    handler = partial(PreviewHandler, directory=str(directory))
    try:
        return server_class((host, port), handler)
    except OSError as error:
        raise UsageError(f"serve: cannot listen on {host}:{port}: {error.strerror}") from None


def preview_url(server: PreviewServer) -> str:
    host = server.server_name  # set by server_bind: the address bound, the port chosen
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{server.server_port}/"


def serve_until_stopped(server: PreviewServer) -> None:
    """Serve until SIGTERM or SIGINT; either one ends the loop and returns normally."""

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return: it must not run on the thread
        # that serve_forever() runs on, which is where the signal arrives.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        server.server_close()
