"""`showcase check` against the fake APIs: one line per check, the fix in words, exit 0/1.

The fake's debug_token answer has the fields of real-api/facebook/debug_token.json; the error
bodies are those tests/test_fakeapi.py holds to their recordings and documentation.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY

from aggregator.cli import main
from aggregator.fakeapi import World

APP_SECRET = "f00dfeedf00dfeedf00dfeedf00dfeed"


def check(site, capsys) -> tuple[int, list[str]]:
    code = main(["--config", str(site.config), "check"])
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    for secret in (API_KEY, ACCESS_TOKEN, APP_SECRET):
        assert secret not in captured.out + captured.err
    return code, lines


def failed(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("✗")]


def test_everything_in_order(site, capsys):
    code, lines = check(site, capsys)
    assert code == 0, lines
    assert failed(lines) == []
    assert lines[-1] == f"all {len(lines) - 1} checks passed"
    text = "\n".join(lines)
    assert "✓ youtube: API key accepted for the YouTube Data API v3" in text
    assert "✓ youtube: channel @kreativessachsen found: Kreatives Sachsen" in text
    assert "✓ facebook: page token of this page, never expires" in text
    assert "✓ facebook: videos readable" in text and "✓ facebook: posts readable" in text
    assert "✓ website: tag 'flaechengluehen' found" in text
    # Cheap: 2 quota units, 4 Graph requests, 1 WordPress request.
    assert site.server.stats.youtube_units == 2
    assert site.server.stats.graph_requests == 4
    assert site.server.stats.wordpress_requests == 1


def test_a_site_with_plain_permalinks_passes_too(make_site, capsys):
    world = World.demo()
    world.wordpress_site = {"permalinks": "plain"}
    site = make_site(world)
    code, lines = check(site, capsys)
    assert code == 0, lines
    assert f"✓ website: WordPress REST API answers at {site.server.url}index.php?rest_route=/" in (
        lines
    )


def test_a_wrong_key_names_the_variable_to_fix(site, capsys, monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", "AIzaWrongKeyWrongKeyWrong")
    code, lines = check(site, capsys)
    assert code == 1
    (line,) = [line for line in failed(lines) if "youtube" in line]
    assert line.startswith("✗ youtube: API key rejected")
    assert "YOUTUBE_API_KEY" in line and "AIzaWrongKey" not in line
    assert lines[-1] == f"1 of {len(lines) - 1} checks failed"


def test_an_unknown_channel_says_how_to_name_it(make_site, capsys):
    site = make_site()
    text = site.config.read_text().replace('"@kreativessachsen"', '"@gibtsnichtkanal"')
    site.config.write_text(text)
    code, lines = check(site, capsys)
    assert code == 1
    assert "✓ youtube: API key accepted for the YouTube Data API v3" in lines
    (line,) = failed(lines)
    assert line.startswith("✗ youtube: channel @gibtsnichtkanal not found → set youtube.channel")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ({"type": "USER"}, "✗ facebook: a USER token → use the page token that GET /me/accounts"),
        ({"profile_id": "999"}, "✗ facebook: a page token of page 999, not of page"),
        ({"scopes": ["pages_show_list"]}, "✗ facebook: token lacks pages_read_engagement, pages_"),
    ],
)
def test_the_wrong_kind_of_token(make_site, capsys, token, expected):
    world = World.demo()
    world.facebook_token = token
    code, lines = check(make_site(world), capsys)
    assert code == 1
    (line,) = failed(lines)
    assert line.startswith(expected)


def test_data_access_about_to_expire(make_site, capsys):
    world = World.demo()
    world.facebook_token = {"data_access_expires_at": int(time.time()) + 10 * 86400}
    code, lines = check(make_site(world), capsys)
    assert code == 1
    (line,) = failed(lines)
    assert line.startswith("✗ facebook: data access expires on ")
    assert "renew data access" in line


def test_an_app_that_requires_the_secret_proof(make_site, capsys, monkeypatch):
    world = World.demo()
    world.facebook_app_secret = APP_SECRET
    site = make_site(world)
    code, lines = check(site, capsys)
    assert code == 1
    (line,) = failed(lines)
    assert line.startswith("✗ facebook: the app requires an app secret proof → set facebook.")
    site.config.write_text(
        site.config.read_text().replace(
            "[facebook]\n", '[facebook]\napp_secret_env = "FACEBOOK_APP_SECRET"\n'
        )
    )
    monkeypatch.setenv("FACEBOOK_APP_SECRET", APP_SECRET)
    code, lines = check(site, capsys)
    assert code == 0, lines
    assert "✓ facebook: app secret proof accepted" in lines


def test_an_unknown_tag(make_site, capsys):
    site = make_site()
    site.config.write_text(site.config.read_text().replace('tag = "flaechengluehen"', 'tag = "x"'))
    code, lines = check(site, capsys)
    assert code == 1
    (line,) = failed(lines)
    assert line.startswith("✗ website: no tag 'x' → set website.tag to the tag's slug")


def test_nobody_answering_says_check_the_network_or_proxy(make_site, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site = make_site()
    text = site.config.read_text().replace(f":{site.server.port}", f":{port}")
    site.config.write_text(text)
    code, lines = check(site, capsys)
    assert code == 1
    assert len(failed(lines)) == 3
    assert all("cannot be reached: check the network, or the proxy" in x for x in failed(lines))


def test_the_proxy_each_source_takes_is_named_without_its_password():
    from aggregator.checks import proxy_check
    from aggregator.config import config_from_dict

    data = {
        "showcase": {"hashtags": ["x"]},
        "youtube": {"channel": "@k"},
        "facebook": {"page": "p"},
        "website": {"url": "https://intranet.example.org", "tag": "t"},
    }
    config = config_from_dict(data, base_dir=Path("."), environ={})
    environ = {
        "https_proxy": "http://user:pa55word@proxy.example:3128",
        "no_proxy": ".example.org",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy"):
            patch.delenv(name, raising=False)
        for name, value in environ.items():
            patch.setenv(name, value)
        line = proxy_check(config).line()
    assert line == "✓ proxy: youtube, facebook through proxy.example:3128; website directly"
    assert "pa55word" not in line


def test_a_proxy_set_for_loopback_apis_is_not_used(site, capsys, monkeypatch):
    monkeypatch.setenv("https_proxy", "http://user:pa55word@proxy.example:3128")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    code, lines = check(site, capsys)
    assert code == 0
    # The fake is on loopback, which never goes through a proxy, even without no_proxy.
    assert lines[0] == "✓ proxy: none in use: requests go straight to the APIs"
    assert "pa55word" not in "\n".join(lines)
