"""`showcase serve`: render, serve the output directory on loopback, stop cleanly on a signal."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from email.message import Message

import pytest
from test_cli import one_line, run

STARTUP_SECONDS = 30
STOP_SECONDS = 5


class Server:
    """`showcase serve` as a child process, with its first line of output read."""

    def __init__(self, site, *args: str) -> None:
        command = [sys.executable, "-m", "aggregator", "--config", str(site.config), *args]
        self.process = subprocess.Popen(
            [*command, "serve", "--port", "0"] if "serve" not in args else command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.line = self._first_line()
        self.url = next(word for word in self.line.split() if word.startswith("http://"))

    def _first_line(self) -> str:
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.process.stdout.readline()))
        reader.start()
        reader.join(STARTUP_SECONDS)
        if not found or not found[0]:
            self.process.kill()
            _, err = self.process.communicate()
            pytest.fail(f"serve printed no URL: {err}")
        return found[0].rstrip("\n")

    def get(self, path: str = "") -> tuple[int, Message, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, b""

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        try:
            out, err = self.process.communicate(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, out, err


@pytest.fixture
def served(site):
    assert run(site, "update") == 0
    servers: list[Server] = []

    def start(*args: str) -> Server:
        servers.append(Server(site, *args))
        return servers[-1]

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate()


def test_serve_renders_then_serves_the_output_until_sigterm(site, served):
    (site.output / "index.html").unlink()
    server = served()
    assert server.line.startswith("Preview: http://127.0.0.1:")
    status, headers, body = server.get()
    assert status == 200
    assert body == (site.output / "index.html").read_bytes()  # rendered again before serving
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    assert server.get("feed.json")[0] == 200
    assert server.get("fragment.html")[2] == (site.output / "fragment.html").read_bytes()
    assert server.get("nothing-here.html")[0] == 404
    returncode, out, err = server.stop()
    assert (returncode, out, err) == (0, "", "")  # quiet: no access log without -v


def test_ctrl_c_stops_it_too_and_v_shows_the_access_log(served):
    server = served("-v", "serve", "--port", "0", "--no-render")
    assert server.get()[0] == 200
    returncode, _, err = server.stop(signal.SIGINT)
    assert returncode == 0
    assert '"GET / HTTP/1.1" 200' in err
    assert "Traceback" not in err


def test_no_render_serves_the_output_as_it_is(site, served):
    (site.output / "index.html").write_text("<p>as it was</p>", encoding="utf-8")
    server = served("serve", "--port", "0", "--no-render")
    assert server.get()[2] == b"<p>as it was</p>"
    assert server.stop()[0] == 0


def test_nothing_to_serve_exits_2(site, capsys):
    assert run(site, "serve", "--no-render", "--port", "0") == 2
    assert "nothing to serve" in one_line(capsys.readouterr().err)


def test_a_bad_or_busy_port_exits_2(site, capsys):
    assert run(site, "serve", "--port", "70000") == 2
    assert "--port 70000" in one_line(capsys.readouterr().err)
    assert run(site, "render") == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run(site, "serve", "--no-render", "--port", str(port)) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in one_line(capsys.readouterr().err)
