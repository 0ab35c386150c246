"""The README's set-up, walked as a new user would, with no edit in between: `init` writes the
config, `facebook-token` turns the Graph API Explorer's short-lived user token into the page
token, `check` passes with the real(-shaped) credentials, `install systemd` lays out the host,
and the unit's command, run as an unprivileged uid the way systemd runs it, fetches and renders
a fragment whose links are absolute.

Every command is the installed `showcase` in a child process; the APIs are the fake's (the
token exchange shaped from real-api/facebook/oauth_long_lived_user_token.json and
me_accounts_page_tokens.json, see tests/test_fake_truth.py).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import API_KEY
from test_install import (  # noqa: F401 (program and root: fixtures, see getfixturevalue)
    DEBIAN_PATH,
    assert_no_secret_in,
    database_items,
    program,
    require_root,
    root,
    run_unit,
)

from aggregator.fakeapi import FakeApiServer, World
from aggregator.fakeapi.graph import LOGIN_DEFAULTS

PAGE_TOKEN = "EAAWalkPageToken0123456789abcdef"
BASE_URL = "https://www.example.org/showcase/"


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(World.demo(), api_key=API_KEY, access_token=PAGE_TOKEN) as fake:
        yield fake


class Links(HTMLParser):
    """Every src, srcset and href of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)
            elif name == "srcset" and value:
                self.urls += [part.strip().split(" ")[0] for part in value.split(",")]


def showcase(command: str, *args: str, env: dict[str, str], stdin: str = "") -> tuple[str, str]:
    done = subprocess.run(
        [command, *args], input=stdin, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"showcase {args[2] if len(args) > 2 else args}: {done.stderr}"
    return done.stdout, done.stderr


def test_from_init_to_a_rendered_fragment_run_by_the_timer(tmp_path, server, request):
    require_root()
    binary, host = request.getfixturevalue("program"), request.getfixturevalue("root")
    steps: dict[str, float] = {}
    folder = tmp_path / "site"
    folder.mkdir()
    config = folder / "showcase.toml"
    api = server.url
    env = {"PATH": DEBIAN_PATH, "HOME": str(tmp_path), "LANG": "C.UTF-8"}

    started = time.monotonic()
    out, _ = showcase(
        binary, "--config", str(config), "init",
        "--channel", "@kreativessachsen", "--page", "kreativessachsen",
        "--hashtag", "flächenglühen", "--hashtag", "flaechengluehen",
        "--website-url", api.rstrip("/"), "--website-tag", "flaechengluehen",
        "--output", "public", "--base-url", BASE_URL,
        "--youtube-endpoint", api, "--graph-url", api.rstrip("/"),
        env=env,
    )  # fmt: skip
    steps["init"] = time.monotonic() - started
    assert config.is_file() and "YOUTUBE_API_KEY" in out and "FACEBOOK_ACCESS_TOKEN" in out

    started = time.monotonic()
    token, told = showcase(
        binary, "--config", str(config), "facebook-token",
        "--app-id", LOGIN_DEFAULTS["app_id"], "--user-token", "-",
        env={**env, "FACEBOOK_APP_SECRET": LOGIN_DEFAULTS["app_secret"]},
        stdin=LOGIN_DEFAULTS["user_token"] + "\n",
    )  # fmt: skip
    steps["facebook-token"] = time.monotonic() - started
    assert token.strip() == PAGE_TOKEN
    assert PAGE_TOKEN not in told

    secrets = {"YOUTUBE_API_KEY": API_KEY, "FACEBOOK_ACCESS_TOKEN": token.strip()}
    started = time.monotonic()
    checked, _ = showcase(binary, "--config", str(config), "check", env={**env, **secrets})
    steps["check"] = time.monotonic() - started
    assert checked.strip().splitlines()[-1].startswith("all ")

    started = time.monotonic()
    installing = [
        "--config", str(config), "install", "systemd", "--root", str(host),
        "--user", "nobody", "--group", "nogroup",
    ]  # fmt: skip
    showcase(binary, *installing, env={**env, **secrets})
    steps["install"] = time.monotonic() - started

    done, steps["first run of the unit"] = run_unit(host)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert database_items(host) > 0
    output = host / "var/www/showcase"
    links = Links()
    links.feed((output / "fragment.html").read_text(encoding="utf-8"))
    local = [url for url in links.urls if "/thumbs/" in url or "datenschutz" in url.lower()]
    assert local, "the fragment links no thumbnail"
    assert all(url.startswith(BASE_URL) for url in local), local
    assert_no_secret_in(output)
    assert_no_secret_in(host / "var/lib/showcase")
    print("walk: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items()))
    assert os.environ.get("FACEBOOK_ACCESS_TOKEN") != PAGE_TOKEN  # nothing leaked into the test


def test_a_walk_needs_no_manual_edit_of_the_config(tmp_path, server, request):
    """`init` alone gives a config that `check` accepts once the variables are set."""
    require_root()
    binary = request.getfixturevalue("program")
    config = tmp_path / "showcase.toml"
    env = {"PATH": DEBIAN_PATH, "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    showcase(
        binary, "--config", str(config), "init", "--channel", "@kreativessachsen",
        "--hashtag", "flächenglühen", "--output", "public", "--base-url", BASE_URL,
        "--youtube-endpoint", server.url, env=env,
    )  # fmt: skip
    checked, _ = showcase(
        binary, "--config", str(config), "check", env={**env, "YOUTUBE_API_KEY": API_KEY}
    )
    assert "✗" not in checked
    assert Path(config).read_text(encoding="utf-8").count("[facebook]") == 0
