"""Proxies: every source goes through the operator's proxy, loopback never does.

The variables are the ones curl documents (https://curl.se/docs/manpage.html#ENVIRONMENT:
`http_proxy`, `HTTPS_PROXY`, `NO_PROXY` with domains, IP ranges and ports) and requests follows
(https://requests.readthedocs.io/en/latest/user/advanced/#proxies). httplib2 uses a proxy only
through PySocks (httplib2/__init__.py: `ProxiesUnavailableError("Proxy support missing but proxy
use was requested!")`). A proxy's answer 407 is RFC 9110 §15.5.8.

Every request here is loopback, so routing is proven with a made-up host: the config names
`api.example.test` (RFC 2606, never resolves) and only the test proxy knows that it is the fake
server. A run that succeeds went through the proxy.
"""

from __future__ import annotations

import json

import httplib2
import pytest
import requests
from conftest import ACCESS_TOKEN, API_KEY, feed_members, write_config
from forwarding_proxy import ForwardingProxy

from aggregator.cli import main
from aggregator.sources.http import new_session
from aggregator.sources.transport import ProxySettings, httplib2_proxy_info, is_loopback
from aggregator.sources.youtube import new_http

TEST_HOST = "api.example.test"
PROXY_USER, PROXY_PASSWORD = "operator", "pr0xy-p@ss"  # the @ goes percent-encoded in the URL
PROXY_CREDENTIALS = "operator:pr0xy-p%40ss"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    for name in (*PROXY_VARIABLES, "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def set_proxy(monkeypatch, url: str) -> None:
    monkeypatch.setenv("http_proxy", url)
    monkeypatch.setenv("HTTPS_PROXY", url)  # either case is read


def configure_test_host(site) -> None:
    """The site's config, with every API named by the host only the proxy can reach."""
    write_config(site.folder, f"http://{TEST_HOST}:{site.server.port}/")


# --- the whole pipeline -------------------------------------------------------------------


def test_update_reaches_all_three_apis_through_the_proxy(site, monkeypatch, capsys):
    configure_test_host(site)
    with ForwardingProxy({TEST_HOST: "127.0.0.1"}, f"{PROXY_USER}:{PROXY_PASSWORD}") as proxy:
        set_proxy(monkeypatch, proxy.url_with(PROXY_CREDENTIALS))
        assert main(["--config", str(site.config), "update"]) == 0, capsys.readouterr().err
    port = site.server.port
    targets = [seen.target for seen in proxy.seen]
    # YouTube (httplib2 + PySocks) tunnels with CONNECT, even to an http:// endpoint: the
    # proxy sees host and port, never the key in the query.
    assert f"{TEST_HOST}:{port}" in targets
    # requests sends http:// targets as absolute URIs: Graph (token in a header) and WordPress.
    assert any(t.startswith(f"http://{TEST_HOST}:{port}/v25.0/") for t in targets)
    assert any(t.startswith(f"http://{TEST_HOST}:{port}/wp-json/wp/v2/") for t in targets)
    assert all(API_KEY not in t and ACCESS_TOKEN not in t for t in targets)
    assert all(proxy.authorised(seen.proxy_authorization) for seen in proxy.seen)
    # The fake's thumbnail URLs are on 127.0.0.1 while every endpoint is api.example.test:
    # loopback is no image host then (thumbnails.py), so they are neither fetched nor proxied.
    # The demo test below copies loopback thumbnails directly.
    assert site.server.stats.thumb_requests == 0
    assert not any("/thumbs/" in t or "127.0.0.1" in t for t in targets)
    feed = json.loads(site.read("feed.json"))
    assert {item["source"] for item in feed_members(feed)} == {
        "youtube",
        "facebook",
        "website",
    }
    assert capsys.readouterr().err == ""


def test_demo_with_a_proxy_set_and_no_no_proxy_never_uses_it(tmp_path, monkeypatch, capsys):
    """A proxy that forwards nothing: the demo (all on 127.0.0.1) must not even ask it."""
    with ForwardingProxy() as proxy:
        set_proxy(monkeypatch, proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert main(["demo", "--directory", str(tmp_path / "demo")]) == 0, capsys.readouterr()
    assert proxy.seen == []
    feed = json.loads((tmp_path / "demo" / "public" / "feed.json").read_text(encoding="utf-8"))
    assert feed["items"]
    assert any(tmp_path.glob("demo/public/thumbs/*.w320.webp"))


def test_an_unreachable_proxy_is_one_line_per_source_without_its_password(
    site, monkeypatch, capsys
):
    configure_test_host(site)
    with ForwardingProxy() as gone:
        closed = gone.url_with(PROXY_CREDENTIALS)  # nothing listens here once it is closed
    set_proxy(monkeypatch, closed)
    assert main(["--config", str(site.config), "fetch"]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 3, err
    port = closed.rsplit(":", 1)[1]
    for source in ("youtube", "facebook", "website"):
        line = next(line for line in lines if line.startswith(f"showcase: {source}: connection"))
        assert f"(through the proxy 127.0.0.1:{port})" in line
    assert "pr0xy" not in err and PROXY_USER not in err


def test_a_proxy_refusing_the_credentials_fails_the_source_without_showing_them(
    site, monkeypatch, capsys
):
    configure_test_host(site)
    with ForwardingProxy({TEST_HOST: "127.0.0.1"}, "operator:another") as proxy:
        set_proxy(monkeypatch, proxy.url_with(PROXY_CREDENTIALS))
        assert main(["--config", str(site.config), "fetch", "youtube", "website"]) == 1
    err = capsys.readouterr().err
    assert "youtube: " in err and "website: " in err
    assert "pr0xy" not in err and "%40" not in err
    assert proxy.seen


# --- https: the proxy sees a tunnel, not the request ----------------------------------------


def test_https_requests_are_tunnelled_so_the_proxy_sees_host_and_port_only(monkeypatch):
    """For https:// the proxy sees only `CONNECT host:port` (RFC 9110 §9.3.6); the fake speaks
    no TLS, so the handshake fails after the tunnel is made, which is all this test needs."""
    with ForwardingProxy({TEST_HOST: "127.0.0.1"}) as proxy, ForwardingProxy() as target:
        set_proxy(monkeypatch, proxy.url)
        port = target.url.rsplit(":", 1)[1]
        secret_url = f"https://{TEST_HOST}:{port}/v25.0/page?access_token={ACCESS_TOKEN}"
        with pytest.raises(requests.exceptions.SSLError):
            new_session().get(secret_url, timeout=5)
        with pytest.raises((OSError, httplib2.HttpLib2Error)):
            new_http(5).request(f"https://{TEST_HOST}:{port}/youtube/v3/videos?key={API_KEY}")
    assert [(seen.method, seen.target) for seen in proxy.seen] == [
        ("CONNECT", f"{TEST_HOST}:{port}"),
        ("CONNECT", f"{TEST_HOST}:{port}"),
    ]


# --- which requests take the proxy ---------------------------------------------------------


PROXY = "http://proxy.example.org:3128"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.5.6.7", "[::1]", "localhost", "LOCALHOST.", "demo.localhost",
     "[::ffff:127.0.0.1]"],
)  # fmt: skip
def test_loopback_never_goes_through_the_proxy(host):
    settings = ProxySettings.from_environment({"http_proxy": PROXY, "https_proxy": PROXY})
    assert settings.proxy_for(f"http://{host}:8080/youtube/v3/channels") is None
    assert settings.proxy_for(f"https://{host}/") is None
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "[2001:db8::1]", "localhost.example.org", "1.2.3.4"])
def test_other_hosts_do(host):
    settings = ProxySettings.from_environment({"https_proxy": PROXY})
    assert settings.proxy_for(f"https://{host}/") == PROXY
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("example.org", "https://www.example.org/", True),
        (".example.org", "https://example.org/", True),
        ("*.example.org", "https://a.b.example.org/", True),
        ("example.org", "https://badexample.org/", False),
        ("intranet, 10.0.0.0/8", "https://10.1.2.3/wp-json/", True),
        ("10.0.0.0/8", "https://11.1.2.3/", False),
        ("2001:db8::/32", "https://[2001:db8::5]/", True),
        ("www.example.org:8443", "https://www.example.org:8443/", True),
        ("www.example.org:8443", "https://www.example.org/", False),
        ("*", "https://graph.facebook.com/", True),
        ("", "https://graph.facebook.com/", False),
    ],
)
def test_no_proxy_as_curl_reads_it(no_proxy, url, bypassed):
    settings = ProxySettings.from_environment({"https_proxy": PROXY, "no_proxy": no_proxy})
    assert (settings.proxy_for(url) is None) is bypassed


def test_each_scheme_has_its_variable_and_lower_case_wins():
    settings = ProxySettings.from_environment(
        {"HTTPS_PROXY": "http://upper:1", "https_proxy": "lower:3128", "NO_PROXY": "example.org"}
    )
    assert settings.proxy_for("https://graph.facebook.com/") == "http://lower:3128"
    assert settings.proxy_for("http://graph.facebook.com/") is None  # no http_proxy set
    assert settings.proxy_for("https://www.example.org/") is None


def test_requests_sessions_take_the_proxy_per_request(monkeypatch):
    """requests alone would send 127.0.0.1 through the proxy (its no_proxy has no loopback
    rule on Linux); the session asks showcase's rule for each URL."""
    monkeypatch.setenv("https_proxy", PROXY)
    monkeypatch.setenv("no_proxy", "intranet.example.org")
    session = new_session()

    def chosen(url):
        return session.merge_environment_settings(url, {}, None, None, None)["proxies"]

    assert chosen("https://graph.facebook.com/v25.0/x") == {"https": PROXY}
    assert chosen("https://127.0.0.1:8443/") == {}
    assert chosen("https://www.intranet.example.org/") == {}
    assert (
        requests.Session().merge_environment_settings(
            "https://127.0.0.1:8443/", {}, None, None, None
        )["proxies"]["https"]
        == PROXY
    )


def test_a_request_does_not_read_the_proxy_variables_again(monkeypatch, tmp_path):
    """The proxy rule reads the variables once per session; requests' own reading for every
    request (a sixth of a thumbnail's download) is skipped, its answer unused. Its CA
    bundle variables still apply, and a verify or cert given to the request wins."""
    import requests.sessions

    def read_again(*args, **kwargs):
        raise AssertionError("the proxy variables read again for a request")

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", read_again)
    monkeypatch.setenv("https_proxy", PROXY)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    session = new_session()
    merged = session.merge_environment_settings("https://graph.facebook.com/", {}, None, None, None)
    assert merged == {"proxies": {"https": PROXY}, "stream": False, "verify": True, "cert": None}
    bundle = tmp_path / "ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    merged = session.merge_environment_settings("https://x.fbcdn.net/", {}, True, None, "c.pem")
    assert (merged["verify"], merged["stream"], merged["cert"]) == (str(bundle), True, "c.pem")
    merged = session.merge_environment_settings("https://x.fbcdn.net/", {}, None, False, None)
    assert merged["verify"] is False


def test_httplib2_gets_the_proxy_with_its_credentials_decoded(monkeypatch):
    """httplib2's own proxy_info_from_url passes the password percent-encoded (a proxy then
    answers 407); showcase decodes it, and applies the loopback and no_proxy rule."""
    monkeypatch.setenv("https_proxy", f"http://{PROXY_CREDENTIALS}@proxy.example.org:3128")
    monkeypatch.setenv("no_proxy", "example.org")
    info = httplib2_proxy_info()("https")
    assert (info.proxy_host, info.proxy_port) == ("proxy.example.org", 3128)
    assert (info.proxy_user, info.proxy_pass) == (PROXY_USER, PROXY_PASSWORD)
    assert info.applies_to("youtube.googleapis.com")
    assert not info.applies_to("127.0.0.1") and not info.applies_to("www.example.org")
    assert httplib2_proxy_info()("http") is None  # no http_proxy: no proxy, no PySocks needed
    assert httplib2.proxy_info_from_environment("https").proxy_pass == "pr0xy-p%40ss"
    assert PROXY_PASSWORD not in repr(info)
