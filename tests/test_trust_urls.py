"""Hostile URLs and images from the APIs (issue 11, item 4): what the thumbnail copier fetches,
what it decodes, what becomes a file name, which paging links are followed, what becomes a link.

Every server here is on loopback. Internal addresses (10.x, 169.254.169.254) only ever appear as
answers of a replaced resolver, and `no_connections` makes any attempt to connect to one fail in
the test instead of leaving the machine.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import urllib3.util.connection
from PIL import Image

from aggregator import render, thumbnails
from aggregator.config import FacebookConfig
from aggregator.errors import SourceError
from aggregator.models import Usage
from aggregator.retry import RetryPolicy
from aggregator.sources import facebook, website
from aggregator.thumbnails import ImageHosts, ThumbnailError, ThumbnailWanted

TOKEN = "EAATrustToken0123456789abcdef"
Handler = Callable[[BaseHTTPRequestHandler], None]


def png(width: int = 640, height: int = 360) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def bomb_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """10,000 x 10,000 one-bit pixels: 100 million, 2.5 times the limit, a few KB compressed.
    Pillow's own guard (89 million) would only warn at this size: this one must be refused."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


# --- loopback servers ---------------------------------------------------------------------------


@dataclass
class Server:
    host: str
    port: int
    hits: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"


@contextmanager
def serving(handle: Handler, host: str = "127.0.0.1", port: int = 0) -> Iterator[Server]:
    """A threaded HTTP server on `host`; each GET is recorded in `hits`, then `handle` answers."""
    server = Server(host, 0)

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.hits.append(self.path)
            handle(self)

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer((host, port), Answer)
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def answer(body: bytes, status: int = 200, **headers: str) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            request.send_header(name.replace("_", "-"), value)
        request.end_headers()
        request.wfile.write(body)

    return handle


def redirect(location: str) -> Handler:
    return answer(b"", 302, Location=location)


# --- the copier's surroundings ------------------------------------------------------------------


def policy() -> RetryPolicy:
    return RetryPolicy(sleep=lambda s: None, timeout=5.0)


def copy(
    tmp_path: Path, url: str, hosts: ImageHosts, platform_id: str = "abcDEF12345"
) -> dict[int, str]:
    wanted = [ThumbnailWanted(1, "youtube", platform_id, url)]
    return thumbnails.download_thumbnails(wanted, tmp_path, policy(), hosts)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("thumbnail ")]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host name -> the addresses it resolves to; a name not listed does not resolve."""
    names: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[thumbnails.Address]:
        if host in names:
            return [ipaddress.ip_address(a) for a in names[host]]
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            raise OSError(f"{host}: no such name in this test") from None

    monkeypatch.setattr(thumbnails, "resolve", resolve)
    return names


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every connection urllib3 would open is recorded and refused: nothing leaves the test."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> None:
        attempts.append(address)
        raise OSError("this test opens no connection")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    return attempts


@pytest.fixture(autouse=True)
def info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aggregator")


# --- schemes and addresses ----------------------------------------------------------------------


@pytest.mark.fault(
    "thumbnail URL with a file: or data: scheme",
    "not fetched; one log line, the item keeps no thumbnail",
    "0 (the run goes on)",
    "everything; the page shows a placeholder",
)
@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "data:image/png;base64,iVBORw0KGgo=", "ftp://i.ytimg.com/x.jpg"]
)
def test_a_thumbnail_url_of_another_scheme_is_never_fetched(tmp_path, caplog, url):
    assert copy(tmp_path, url, ImageHosts()) == {}
    assert len(refusals(caplog)) == 1 and "not an http(s) URL" in refusals(caplog)[0]
    assert not (tmp_path / "thumbs").exists()


@pytest.mark.fault(
    "thumbnail URL on a host that is neither a platform's image host nor a configured endpoint",
    "not fetched; one log line",
    "0 (the run goes on)",
    "everything; the page shows a placeholder",
)
def test_a_thumbnail_on_another_host_is_never_fetched(tmp_path, caplog, no_connections):
    assert copy(tmp_path, "https://attacker.example/x.jpg", ImageHosts()) == {}
    assert no_connections == []
    assert "attacker.example is not an image host" in refusals(caplog)[0]


@pytest.mark.fault(
    "image host name resolving to a private, link-local or mixed public+private address",
    "refused before connecting (every address is checked); one log line",
    "0 (the run goes on)",
    "everything; the page shows a placeholder",
)
@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], ["169.254.169.254"], ["192.168.0.7"], ["93.184.216.34", "10.0.0.1"]],
    ids=["private", "link-local metadata", "home network", "rebinding: public and private"],
)
def test_an_image_host_resolving_inside_is_refused_before_connecting(
    tmp_path, caplog, resolver, no_connections, addresses
):
    resolver["i.ytimg.com"] = addresses
    assert copy(tmp_path, "https://i.ytimg.com/vi/abc/hqdefault.jpg", ImageHosts()) == {}
    assert no_connections == []
    (line,) = refusals(caplog)
    assert "non-public address" in line


@pytest.mark.fault(
    "thumbnail URL naming an internal address literally (169.254.169.254, 127.0.0.1)",
    "refused before any request; one log line",
    "0 (the run goes on)",
    "everything",
)
@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/x.png"]
)
def test_an_internal_address_literal_is_refused(tmp_path, caplog, no_connections, url):
    hosts = ImageHosts(domains=(*thumbnails.PLATFORM_IMAGE_DOMAINS, "169.254.169.254", "127.0.0.1"))
    assert copy(tmp_path, url, hosts) == {}
    assert no_connections == []
    assert "non-public address" in refusals(caplog)[0]


def test_loopback_is_fetched_when_the_configured_endpoint_is_loopback(tmp_path):
    """The fake API (aggregator/fakeapi) serves its thumbnails where it serves the API."""
    with serving(answer(png(), content_type="image/png")) as fake:
        hosts = thumbnails.image_hosts([fake.url()])
        assert copy(tmp_path, fake.url("/thumbs/a.png"), hosts) == {
            1: "thumbs/youtube-abcDEF12345.png"
        }
    assert (tmp_path / "thumbs/youtube-abcDEF12345.w320.webp").is_file()


@pytest.mark.fault(
    "image host answers with a redirect to 127.0.0.1 (the configured endpoint is elsewhere)",
    "the redirect is not followed: each hop is checked like the first; one log line",
    "0 (the run goes on)",
    "everything",
)
@pytest.mark.parametrize(
    ("target_host", "target_port"),
    [("127.0.0.1", "inside"), ("static.xx.fbcdn.net", "inside"), ("cdn.other.example", "same")],
)
def test_a_redirect_into_loopback_is_not_followed(
    tmp_path, caplog, resolver, target_host, target_port
):
    """127.0.0.2 stands for the configured endpoint's (intranet) address, the only internal
    address allowed; the redirect leads to 127.0.0.1 by address or by a name resolving there,
    or to a host that is no image host (though it resolves to the allowed address)."""
    resolver["static.xx.fbcdn.net"] = ["127.0.0.1"]
    resolver["cdn.other.example"] = ["127.0.0.2"]
    resolver["i.ytimg.com"] = ["127.0.0.2"]
    hosts = ImageHosts(endpoint_hosts=("127.0.0.2",))
    with serving(answer(png())) as inside:
        target = f"http://{target_host}:{{port}}/secret.png"
        location: list[str] = []
        with serving(lambda r: redirect(location[0])(r), host="127.0.0.2") as endpoint:
            port = inside.port if target_port == "inside" else endpoint.port
            location.append(target.format(port=port))
            stored = copy(tmp_path, f"http://i.ytimg.com:{endpoint.port}/vi/a.jpg", hosts)
    assert endpoint.hits == ["/vi/a.jpg"]
    assert stored == {}
    assert inside.hits == []
    assert len(refusals(caplog)) == 1


def test_redirects_are_bounded(tmp_path, caplog):
    with serving(redirect("/again")) as loop:
        assert copy(tmp_path, loop.url("/start"), thumbnails.image_hosts([loop.url()])) == {}
    assert len(loop.hits) == thumbnails.MAX_REDIRECTS + 1
    assert "redirects" in refusals(caplog)[0]


@pytest.mark.fault(
    "image host name resolving to an allowed address, then to 127.0.0.1 (DNS rebinding)",
    "the connection goes to the address that was checked, never to a second lookup's",
    "0",
    "everything",
)
def test_the_connection_goes_to_the_checked_address(tmp_path, monkeypatch):
    """The name resolves to 127.0.0.2 (allowed: the endpoint's address) once, to 127.0.0.1
    on every later lookup, as a rebinding DNS server answers; both listen on the same port."""
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[thumbnails.Address]:
        if host != "i.ytimg.com":
            return [ipaddress.ip_address(host)]
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.2" if len(lookups) == 1 else "127.0.0.1")]

    real_getaddrinfo = socket.getaddrinfo

    def second_lookup(host: str, *args: object, **kwargs: object) -> object:
        return real_getaddrinfo("127.0.0.1" if host == "i.ytimg.com" else host, *args, **kwargs)

    monkeypatch.setattr(thumbnails, "resolve", rebinding)
    monkeypatch.setattr(socket, "getaddrinfo", second_lookup)
    with serving(answer(png()), host="127.0.0.2") as allowed, contextlib.ExitStack() as stack:
        inside = stack.enter_context(serving(answer(png()), port=allowed.port))
        hosts = ImageHosts(endpoint_hosts=("127.0.0.2",))
        url = f"http://i.ytimg.com:{allowed.port}/vi/a.jpg"
        assert copy(tmp_path, url, hosts) == {1: "thumbs/youtube-abcDEF12345.png"}
    assert allowed.hits == ["/vi/a.jpg"]
    assert inside.hits == []
    assert lookups == ["i.ytimg.com"]


# --- sizes --------------------------------------------------------------------------------------


def endless(sent: list[int]) -> Handler:
    """An image that never ends: 64 KB chunks (no Content-Length) until the client hangs up."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/png")
        request.end_headers()
        chunk = png()[:64] + b"\0" * (64 * 1024 - 64)
        try:
            for _ in range(1024):  # 64 MB at most
                request.wfile.write(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass

    return handle


@pytest.mark.fault(
    "thumbnail answer larger than the byte limit (no Content-Length, endless)",
    "reading stops at the limit; one log line, the item keeps no thumbnail",
    "0 (the run goes on)",
    "everything",
)
def test_an_endless_image_is_read_no_further_than_the_limit(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(thumbnails, "MAX_BYTES", 256 * 1024)
    sent = [0]
    with serving(endless(sent)) as host:
        assert copy(tmp_path, host.url("/big.png"), thumbnails.image_hosts([host.url()])) == {}
    assert "larger than" in refusals(caplog)[0]
    assert sent[0] < 32 * 1024 * 1024  # what the sockets' buffers took, not the 64 MB


def test_a_declared_oversized_length_is_not_read(tmp_path, caplog):
    def declares_100_mb(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", str(100 * 1024 * 1024))
        request.end_headers()
        request.wfile.write(png())  # and then hangs up

    with serving(declares_100_mb) as host:
        assert copy(tmp_path, host.url("/a.png"), thumbnails.image_hosts([host.url()])) == {}
    assert "larger than" in refusals(caplog)[0]


@pytest.mark.fault(
    "decompression bomb: a PNG of a few KB declaring 100 million pixels",
    "refused from its header before decoding; one log line; the next item is still copied",
    "0 (the run goes on)",
    "everything; the other thumbnails",
)
def test_a_decompression_bomb_is_refused_and_the_next_image_is_copied(tmp_path, caplog):
    bomb, good = bomb_png(), png()
    assert len(bomb) < thumbnails.MAX_BYTES  # only the pixel limit can catch it
    images = {"/bomb.png": bomb, "/good.png": good}

    def handle(request: BaseHTTPRequestHandler) -> None:
        answer(images[request.path])(request)

    with serving(handle) as host:
        wanted = [
            ThumbnailWanted(1, "youtube", "bomb0000001", host.url("/bomb.png")),
            ThumbnailWanted(2, "youtube", "good0000001", host.url("/good.png")),
        ]
        hosts = thumbnails.image_hosts([host.url()])
        stored = thumbnails.download_thumbnails(wanted, tmp_path, policy(), hosts)
    assert stored == {2: "thumbs/youtube-good0000001.png"}
    (line,) = refusals(caplog)
    assert "bomb0000001" in line and "more than 40,000,000 pixels" in line
    assert not list((tmp_path / "thumbs").glob("youtube-bomb*"))


def test_a_bomb_already_on_disk_gets_no_variants(tmp_path, caplog):
    (tmp_path / "thumbs").mkdir()
    (tmp_path / "thumbs/youtube-bomb.png").write_bytes(bomb_png())
    assert thumbnails.make_variants(tmp_path, "thumbs/youtube-bomb.png") is False
    assert sorted(p.name for p in (tmp_path / "thumbs").iterdir()) == ["youtube-bomb.png"]


def test_pillows_bomb_warning_is_an_error_only_inside_our_decoding(tmp_path):
    """Pillow warns (DecompressionBombWarning) above Image.MAX_IMAGE_PIXELS and only raises
    at twice that: https://pillow.readthedocs.io/en/stable/reference/Image.html#PIL.Image.open
    48 million pixels: above our limit, below twice it and below Pillow's default."""
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(8000, 6000))
    before = Image.MAX_IMAGE_PIXELS
    with (
        pytest.raises(ThumbnailError, match="DecompressionBombWarning"),
        thumbnails.decoding_guard(),
        Image.open(path),
    ):
        pass
    assert before == Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Image.open(path) as image:  # outside, Pillow's default stands: not even a warning
            assert image.size == (8000, 6000)


# --- ids as file names --------------------------------------------------------------------------


@pytest.mark.fault(
    "platform id with '/', '..', NUL, or 300 characters",
    "no file is written for it (refused before the download); one log line",
    "0 (the run goes on)",
    "everything; no file outside thumbs/",
)
@pytest.mark.parametrize(
    "platform_id", ["../../index", "a/b", "..", "abc\0def", "x" * 300, "", "a.b", "ä"]
)
def test_a_hostile_id_never_becomes_a_file_name(tmp_path, caplog, platform_id):
    with serving(answer(png())) as host:
        hosts = thumbnails.image_hosts([host.url()])
        assert copy(tmp_path / "out", host.url("/a.png"), hosts, platform_id) == {}
    assert host.hits == []
    assert not (tmp_path / "out").exists()
    (line,) = refusals(caplog)
    assert "not a safe file name" in line and "\0" not in line


def test_ids_the_platforms_use_are_file_names():
    assert thumbnails.thumbnail_stem("youtube", "dQw4w9WgXcQ") == "youtube-dQw4w9WgXcQ"
    assert thumbnails.thumbnail_stem("facebook", "123_456") == "facebook-123_456"
    assert thumbnails.thumbnail_stem("website", "1841") == "website-1841"


# --- paging links -------------------------------------------------------------------------------


def graph_settings(graph_url: str) -> FacebookConfig:
    return FacebookConfig(
        every=timedelta(hours=1),
        page="kreativessachsen",
        access_token_env="FACEBOOK_ACCESS_TOKEN",
        graph_url=graph_url,
        api_version="v25.0",
        access_token=TOKEN,
    )


def json_answer(payload: str) -> Handler:
    return answer(payload.encode(), content_type="application/json")


@pytest.mark.fault(
    "Facebook paging.next pointing to another host",
    "not followed, the token never sent there; the listing ends as partial with one line",
    "0",
    "everything; a partial listing retires nothing",
)
def test_a_paging_link_to_another_host_is_not_followed(caplog):
    """Graph pages along `paging.next` (https://developers.facebook.com/docs/graph-api/results);
    shapes as in the recorded page_videos_p1_cursor_next.json."""
    with serving(json_answer('{"data": []}'), host="127.0.0.2") as elsewhere:
        next_url = elsewhere.url(f"/v25.0/1/videos?access_token={TOKEN}&after=X")
        page = f'{{"data": [], "paging": {{"next": "{next_url}"}}}}'

        def graph(request: BaseHTTPRequestHandler) -> None:
            if request.path.startswith("/v25.0/kreativessachsen?"):
                json_answer('{"id": "1", "name": "KS"}')(request)
            else:
                json_answer(page if "/videos" in request.path else '{"data": []}')(request)

        with serving(graph) as endpoint:
            result = facebook.fetch(
                graph_settings(endpoint.url()), policy(), Usage(), requests.Session()
            )
    assert elsewhere.hits == []
    assert result.complete is False and result.error is not None
    assert "paging.next leads to 127.0.0.2" in str(result.error)
    lines = [r.getMessage() for r in caplog.records if "leads to" in r.getMessage()]
    assert len(lines) == 1 and TOKEN not in lines[0]


@pytest.mark.fault(
    "WordPress answer whose Link header advertises an API root on another host",
    "not followed; one log line; the site's own plain-permalink root is tried instead",
    "1 when the tag cannot be found (a source failure)",
    "everything",
)
def test_a_wordpress_link_to_another_host_is_not_followed(caplog):
    """Discovery via `Link: <...>; rel="https://api.w.org/"`:
    https://developer.wordpress.org/rest-api/using-the-rest-api/discovery/"""
    with serving(json_answer("[]"), host="127.0.0.2") as elsewhere:
        link = f'<{elsewhere.url("/wp-json/")}>; rel="https://api.w.org/"'
        with serving(answer(b"<html></html>", 404, content_type="text/html", Link=link)) as site:
            client = website.WordPressClient(site.url(""), policy(), Usage(), requests.Session())
            with pytest.raises(SourceError):
                client.tag_id("flaechengluehen")
    assert elsewhere.hits == []
    assert any("?rest_route=" in hit for hit in site.hits)
    lines = [r.getMessage() for r in caplog.records if "not followed" in r.getMessage()]
    assert lines == ["website: the API root advertised is on 127.0.0.2: not followed"]


def test_a_link_to_the_same_site_with_or_without_www_is_followed():
    assert website.same_site("https://www.example.org/wp-json/", "https://example.org")
    assert not website.same_site("https://example.org.evil/wp-json/", "https://example.org")


# --- links on the page --------------------------------------------------------------------------


@pytest.mark.fault(
    "permalink with a javascript:, data: or disguised scheme",
    "never an href on the page (the item is shown without a link)",
    "0",
    "everything",
)
@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "\x00javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
    ],
)
def test_a_permalink_that_is_not_http_never_becomes_a_link(url):
    assert render.web_url(url) is None
