"""`showcase serve`: a local preview of the rendered output for staff.

Renders from the database first (as `render` does; `--no-render` skips that), then serves the
output directory with the standard library's HTTP server, on 127.0.0.1 unless `--host` says
otherwise, until Ctrl-C or SIGTERM, and exits 0. It prints one line, the preview's URL; the
access log shows only with `-v`. A preview, not a web server for the public: the output
directory is plain files that any web server serves.
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

from aggregator import jobs
from aggregator.cli_help import USAGE, add_command
from aggregator.config import Config
from aggregator.errors import UsageError

COMMANDS = ("serve",)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

log = logging.getLogger(__name__)


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    serve = add_command(
        commands,
        common,
        "serve",
        summary="local preview for staff: render, then serve the output directory on "
        f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/ until Ctrl-C",
        description="Render from the database (as `render` does), then serve the output "
        "directory on this machine and print its URL, until Ctrl-C or SIGTERM. A preview, "
        "not a web server for the public; -v logs each request.",
        examples=[
            "showcase serve",
            "showcase serve --port 0 --no-render",
            "showcase serve --host 0.0.0.0 --port 8080",
        ],
        exits={0: "stopped by Ctrl-C or SIGTERM", **USAGE},
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the address to listen on (default: {DEFAULT_HOST}, this machine only)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"default: {DEFAULT_PORT}; 0 picks a free one",
    )
    serve.add_argument(
        "--no-render",
        action="store_true",
        help="serve the output directory as it is, without rendering first",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"serve: --port {args.port} is not a port (0 to 65535)")
    if not args.no_render:
        jobs.render_only(config)
    directory = config.output_dir
    if not (directory / "index.html").is_file():
        raise UsageError(f"serve: nothing to serve: no index.html in {directory} (run render)")
    server = make_server(args.host, args.port, directory)
    print(f"Preview: {preview_url(server)} (serving {directory}; Ctrl-C stops)", flush=True)
    serve_until_stopped(server)
    return 0


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
