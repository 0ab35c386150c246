"""`showcase init` and `showcase facebook-token`: from nothing to a config and a page token.

The token exchange runs against the fake's oauth/access_token and me/accounts, whose answers
are shaped from real-api/facebook/oauth_long_lived_user_token.json and
me_accounts_page_tokens.json (tests/test_fake_truth.py holds them to it), and debug_token
(debug_token.json). https://developers.facebook.com/docs/facebook-login/guides/access-tokens/
get-long-lived documents the two calls and that the page token from a long-lived user token
does not expire.
"""

from __future__ import annotations

import io
import os
import pty
import select
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY

from aggregator import cli_setup
from aggregator.cli import main
from aggregator.config import load_config
from aggregator.fakeapi import graph as fake_graph

LOGIN = fake_graph.LOGIN_DEFAULTS
APP_ID, APP_SECRET = LOGIN["app_id"], LOGIN["app_secret"]
USER_TOKEN, LONG_LIVED = LOGIN["user_token"], LOGIN["long_lived_token"]
SECRETS = (APP_SECRET, USER_TOKEN, LONG_LIVED)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch):
    """The operator's own variables must not send `init`'s check to the real APIs."""
    for name in (
        "YOUTUBE_API_KEY", "FACEBOOK_ACCESS_TOKEN", "FACEBOOK_APP_SECRET", "FACEBOOK_APP_ID",
        "SHOWCASE_CONFIG",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_terminal(monkeypatch):
    monkeypatch.setattr(cli_setup, "stdin_is_terminal", lambda: False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def init(config: Path, *flags: str) -> int:
    return main(["--config", str(config), "init", *flags])


def full_flags(api_url: str = "") -> list[str]:
    flags = [
        "--channel", "@kreativessachsen", "--page", "kreativessachsen",
        "--hashtag", "flächenglühen", "--hashtag", "#flaechengluehen",
        "--website-url", api_url.rstrip("/") or "https://www.example.org",
        "--website-tag", "flaechengluehen",
        "--output", "public", "--base-url", "https://www.example.org/showcase",
    ]  # fmt: skip
    if api_url:
        flags += ["--youtube-endpoint", api_url, "--graph-url", api_url.rstrip("/")]
    return flags


# --- init --------------------------------------------------------------------------------------


def test_init_from_flags_writes_a_commented_config_that_loads(tmp_path, capsys, no_terminal):
    path = tmp_path / "site.toml"
    assert init(path, *full_flags()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"wrote {path}: YouTube @kreativessachsen, Facebook page ")
    assert "served at https://www.example.org/showcase/" in out[0]
    assert [line.split()[0] for line in out[2:5]] == [
        "YOUTUBE_API_KEY", "FACEBOOK_ACCESS_TOKEN", "FACEBOOK_APP_SECRET",
    ]  # fmt: skip
    assert "(not set)" in out[2] and "optional" in out[4]
    assert out[-1] == f"then run: showcase --config {path} check"

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# showcase.toml, written by `showcase init`")
    assert '# app_secret_env = "FACEBOOK_APP_SECRET"' in text  # commented: explained, not set
    config = load_config(path)
    assert config.base_url == "https://www.example.org/showcase/"
    assert 'base_url = "https://www.example.org/showcase/"' in text  # as it is used
    assert config.showcase.hashtags == ("flächenglühen", "flaechengluehen")
    assert config.showcase.title == "#flächenglühen"
    assert config.configured_sources() == ["youtube", "facebook", "website"]
    assert config.output_dir == tmp_path / "public"
    assert config.database_url == f"sqlite:///{tmp_path / 'showcase.db'}"


def test_init_leaves_out_the_sources_left_empty(tmp_path, capsys, no_terminal):
    path = tmp_path / "showcase.toml"
    flags = ["--page", "kreativessachsen", "--hashtag", "x", "--base-url", "https://e.org/s/"]
    assert init(path, *flags) == 0
    tables = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(tables) == {"storage", "output", "showcase", "facebook"}
    assert "YOUTUBE_API_KEY" not in capsys.readouterr().out


def test_init_never_overwrites(tmp_path, capsys, no_terminal):
    path = tmp_path / "showcase.toml"
    path.write_text("# mine\n", encoding="utf-8")
    assert init(path, *full_flags()) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and "never overwrites" in err
    assert path.read_text(encoding="utf-8") == "# mine\n"


def test_a_bad_answer_is_exit_2_naming_key_and_flag_and_writes_nothing(
    tmp_path, capsys, no_terminal
):
    path = tmp_path / "showcase.toml"
    flags = ["--channel", "kreativessachsen", "--hashtag", "x", "--base-url", "https://e.org/"]
    assert init(path, *flags) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "showcase: config: youtube.channel: 'kreativessachsen' is neither a channel id (UC…) "
        "nor an @handle (--channel); nothing written"
    )
    assert list(tmp_path.iterdir()) == []  # no config, no temporary file left behind


@pytest.mark.parametrize(
    ("flags", "missing"),
    [
        (["--channel", "@k"], "--hashtag, --base-url"),
        (["--website-url", "https://e.org", "--hashtag", "x", "--base-url", "https://e.org/"],
         "--website-tag"),
    ],
)  # fmt: skip
def test_without_a_terminal_a_missing_answer_names_its_flag(
    tmp_path, capsys, no_terminal, flags, missing
):
    path = tmp_path / "showcase.toml"
    assert init(path, *flags) == 2
    assert f"init: missing {missing}" in capsys.readouterr().err
    assert not path.exists()


def test_init_needs_a_source(tmp_path, capsys, no_terminal):
    assert init(tmp_path / "showcase.toml", "--hashtag", "x", "--base-url", "https://e.org/") == 2
    assert "--channel, --page and --website-url" in capsys.readouterr().err


def test_on_a_terminal_init_asks_for_what_the_flags_leave_out(tmp_path, monkeypatch, capsys):
    """A bad answer is asked again; the website's tag only when there is a website."""
    monkeypatch.setattr(cli_setup, "stdin_is_terminal", lambda: True)
    answers = iter(["kreativessachsen", "", "", "", "", "https://e.org/s", "@kreativessachsen"])
    asked: list[str] = []

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", fake_input)
    path = tmp_path / "showcase.toml"
    assert init(path, "--hashtag", "flächenglühen") == 0
    assert [prompt.split(",")[0].split(" (")[0] for prompt in asked] == [
        "YouTube channel", "Facebook page", "WordPress website", "Output folder [public]: ",
        "Public URL of that folder", "Public URL of that folder", "YouTube channel",
    ]  # fmt: skip
    assert "youtube.channel: 'kreativessachsen' is neither" in capsys.readouterr().err
    config = load_config(path)
    assert config.configured_sources() == ["youtube"]
    assert config.youtube is not None and config.youtube.channel == "@kreativessachsen"
    assert config.output_dir == tmp_path / "public"


def test_answers_that_end_early_write_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_setup, "stdin_is_terminal", lambda: True)
    answers = iter(["@kreativessachsen"])

    def fake_input(prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    assert init(tmp_path / "showcase.toml") == 2
    assert "init: the answers ended early; nothing written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_init_in_a_real_terminal(tmp_path):
    """The questions through a pseudo-terminal, as a person answers them."""
    answers = ["@kreativessachsen", "kreativessachsen", "flächenglühen, flaechengluehen", "",
               "web", "https://www.example.org/showcase/"]  # fmt: skip
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("YOUTUBE_API_KEY", "FACEBOOK_ACCESS_TOKEN", "SHOWCASE_CONFIG")
    }
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "init"],
        stdin=secondary, stdout=secondary, stderr=secondary, cwd=tmp_path, env=environment,
    )  # fmt: skip
    os.close(secondary)
    os.write(primary, "".join(f"{answer}\n" for answer in answers).encode())
    output = _read_until_exit(primary, process)
    assert process.returncode == 0, output
    assert "Hashtags, separated by commas" in output
    assert (
        "wrote showcase.toml: YouTube @kreativessachsen, Facebook page kreativessachsen" in output
    )
    config = load_config(tmp_path / "showcase.toml")
    assert config.showcase.hashtags == ("flächenglühen", "flaechengluehen")
    assert config.output_dir == tmp_path / "web"
    assert config.website is None


def _read_until_exit(primary: int, process: subprocess.Popen[bytes]) -> str:
    chunks: list[bytes] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal is closed: the process has ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(primary)
    return b"".join(chunks).decode("utf-8", "replace")


def test_init_runs_check_when_the_variables_are_set(site, capsys, no_terminal):
    """make_site sets YOUTUBE_API_KEY and FACEBOOK_ACCESS_TOKEN; the config points at the fake."""
    path = site.folder / "new" / "showcase.toml"
    path.parent.mkdir()
    assert init(path, *full_flags(site.server.url)) == 0
    out = capsys.readouterr().out
    assert f"running: showcase --config {path} check" in out
    assert "✓ facebook: page kreativessachsen found: Kreatives Sachsen" in out
    assert out.rstrip().endswith("checks passed")
    assert API_KEY not in out and ACCESS_TOKEN not in out


# --- facebook-token ----------------------------------------------------------------------------


@pytest.fixture
def token_site(site, monkeypatch, no_terminal):
    """A site with the app secret in the environment and no page token yet."""
    monkeypatch.setenv("FACEBOOK_APP_SECRET", APP_SECRET)
    monkeypatch.delenv("FACEBOOK_ACCESS_TOKEN")
    return site


def facebook_token(site, *flags: str, stdin: str = f"{USER_TOKEN}\n") -> int:
    sys.stdin = io.StringIO(stdin)
    return main(["--config", str(site.config), "facebook-token", *flags])


def test_facebook_token_prints_the_page_token_that_the_pipeline_uses(
    token_site, capsys, monkeypatch
):
    site = token_site
    assert facebook_token(site, "--verbose", "--app-id", APP_ID) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{ACCESS_TOKEN}\n"  # alone: export X=$(showcase facebook-token ...)
    lines = captured.err.splitlines()  # --verbose: every request too, secrets redacted
    assert lines[-1] == (
        "facebook: page token of Kreatives Sachsen (104857293361870): does not expire "
        "(debug_token: expires_at 0); data access does not expire; permissions: "
        "pages_show_list, pages_read_engagement, pages_read_user_content"
    )
    assert "GET 127.0.0.1:" in lines[0] and "/v25.0/oauth/access_token" in lines[0]
    for secret in (*SECRETS, ACCESS_TOKEN):
        assert secret not in captured.err
    routes = [route for route, _ in site.server.stats.requests]
    assert routes == ["graph.oauth", "graph.accounts", "graph.page"]  # debug_token: a node path
    assert site.server.stats.requests[0][1] == (
        f"/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id={APP_ID}"
    )

    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", captured.out.strip())
    assert main(["--config", str(site.config), "check"]) == 0


def test_the_page_can_be_named_by_id_and_the_config_left_out(token_site, capsys, monkeypatch):
    site = token_site
    (site.folder / "elsewhere").mkdir()
    monkeypatch.chdir(site.folder / "elsewhere")  # no showcase.toml here
    sys.stdin = io.StringIO(USER_TOKEN)
    flags = ["--page", "104857293361870", "--graph-url", site.server.base_url, "--app-id", APP_ID]
    assert main(["facebook-token", *flags]) == 0
    assert capsys.readouterr().out == f"{ACCESS_TOKEN}\n"


def test_the_user_token_is_asked_for_without_echo_on_a_terminal(token_site, capsys, monkeypatch):
    monkeypatch.setattr(cli_setup, "stdin_is_terminal", lambda: True)
    prompts: list[str] = []
    monkeypatch.setattr(cli_setup.getpass, "getpass", lambda p: prompts.append(p) or USER_TOKEN)
    assert facebook_token(token_site, "--app-id", APP_ID, stdin="") == 0
    assert prompts == ["Short-lived user token from the Graph API Explorer: "]
    assert capsys.readouterr().out == f"{ACCESS_TOKEN}\n"


def test_write_creates_the_file_readable_by_its_owner_only(token_site, capsys, tmp_path):
    target = tmp_path / "credentials" / "env"
    target.parent.mkdir()
    previous = os.umask(0)  # even then: never readable by others, not for a moment
    try:
        code = facebook_token(token_site, "--app-id", APP_ID, "--write", str(target))
    finally:
        os.umask(previous)
    assert code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == f"FACEBOOK_ACCESS_TOKEN={ACCESS_TOKEN}\n"
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1] == (
        f"wrote FACEBOOK_ACCESS_TOKEN to {target} (readable by its owner only)"
    )
    assert ACCESS_TOKEN not in captured.err


def test_write_never_overwrites_unless_forced(token_site, capsys, tmp_path):
    site = token_site
    target = tmp_path / "env"
    target.write_text("YOUTUBE_API_KEY=k\nFACEBOOK_ACCESS_TOKEN=old\n")
    target.chmod(0o640)
    assert facebook_token(site, "--app-id", APP_ID, "--write", str(target)) == 2
    assert "--force replaces its FACEBOOK_ACCESS_TOKEN line" in capsys.readouterr().err
    assert site.server.stats.graph_requests == 0  # refused before asking Graph

    assert facebook_token(site, "--app-id", APP_ID, "--write", str(target), "--force") == 0
    assert target.read_text() == f"YOUTUBE_API_KEY=k\nFACEBOOK_ACCESS_TOKEN={ACCESS_TOKEN}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the group that reads it keeps it


def test_a_page_the_user_does_not_manage_names_those_they_do(token_site, capsys):
    site = token_site
    site.world.facebook_pages["200000000000001"] = {
        "id": "200000000000001", "name": "Andere Seite", "username": "andereseite",
    }  # fmt: skip
    site.world.facebook_login = {"pages": ["200000000000001"]}
    assert facebook_token(site, "--app-id", APP_ID) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    line = captured.err.strip()
    assert "\n" not in line
    assert line.startswith(
        "showcase: facebook: not found: page kreativessachsen is not among the pages"
    )
    assert "Andere Seite (200000000000001)" in line


def test_an_expired_user_token_is_one_line_with_the_fix(token_site, capsys):
    """error_190_463_session_expired.json (transcribed): Graph's answer to an expired token."""
    site = token_site
    site.world.facebook_login = {"user_token_expired": True}
    assert facebook_token(site, "--app-id", APP_ID) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert lines[0].startswith(
        "showcase: facebook: token: the user token has expired or is not valid: "
    )
    assert "Graph API Explorer" in lines[0] and "Session has expired" in lines[0]
    assert site.server.stats.by_route == {"graph.oauth": 1}  # not retried
    for secret in SECRETS:
        assert secret not in captured.err


@pytest.mark.parametrize(
    ("app_id", "secret", "cause", "graph_said"),
    [
        # facebook-archive/php-graph-sdk#538: code 1 "Error validating client secret."
        (APP_ID, "not-the-secret", "app secret", "Error validating client secret."),
        # diowa/icare#5: code 101 "Error validating application. Invalid application ID."
        ("999", APP_SECRET, "app id", "Invalid application ID."),
    ],
)
def test_a_wrong_app_id_or_secret_is_named_never_echoed_never_retried(
    token_site, capsys, monkeypatch, app_id, secret, cause, graph_said
):
    site = token_site
    monkeypatch.setenv("FACEBOOK_APP_SECRET", secret)
    assert facebook_token(site, "--app-id", app_id) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"showcase: facebook: {cause}: ") and graph_said in err
    assert secret not in err and USER_TOKEN not in err
    assert site.server.stats.by_route == {"graph.oauth": 1}


def test_an_app_that_requires_the_secret_proof_works(token_site, capsys):
    """With "Require App Secret", me/accounts and debug_token need appsecret_proof."""
    site = token_site
    site.world.facebook_app_secret = APP_SECRET
    assert facebook_token(site, "--app-id", APP_ID) == 0
    assert capsys.readouterr().out == f"{ACCESS_TOKEN}\n"


def test_a_token_lacking_a_permission_is_printed_with_a_warning(token_site, capsys):
    site = token_site
    site.world.facebook_token = {"scopes": ["pages_show_list", "pages_read_engagement"]}
    assert facebook_token(site, "--app-id", APP_ID) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("facebook: warning: the token lacks pages_read_user_content")


@pytest.mark.parametrize(
    ("setup", "flags", "message"),
    [
        ("unset", [], "environment variable FACEBOOK_APP_SECRET is not set"),
        ("", ["--app-secret-env", "a1b2c3d4e5f6a7b8-c9d0"],
         "--app-secret-env takes the name of an environment variable"),
        ("", ["--app-id", "my app"], "--app-id must be the app's numeric id"),
        ("", ["--user-token", "-"], "no user token"),
    ],
)  # fmt: skip
def test_usage_errors_are_exit_2_before_any_request(
    token_site, capsys, monkeypatch, setup, flags, message
):
    site = token_site
    if setup == "unset":
        monkeypatch.delenv("FACEBOOK_APP_SECRET")
    stdin = "" if "--user-token" in flags else USER_TOKEN
    assert facebook_token(site, "--app-id", APP_ID, *flags, stdin=stdin) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "a1b2c3d4e5f6a7b8" not in err  # a secret put where a name belongs is not echoed
    assert site.server.stats.graph_requests == 0


def test_a_page_token_that_expires_is_printed_with_a_warning(token_site, capsys):
    """A page token made from a short-lived user token expires (debug_token's expires_at)."""
    site = token_site
    site.world.facebook_token = {"expires_at": int(time.time()) + 3600}
    assert facebook_token(site, "--app-id", APP_ID) == 0
    err = capsys.readouterr().err.splitlines()
    assert " UTC; data access does not expire;" in err[0] and "expires on " in err[0]
    assert err[1].startswith("facebook: warning: a page token that expires")


def test_a_page_token_debug_token_calls_invalid_is_not_printed(token_site, capsys):
    site = token_site
    site.world.facebook_token = {
        "is_valid": False,
        "error": {"code": 190, "message": "The session has been invalidated"},
    }
    assert facebook_token(site, "--app-id", APP_ID) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "showcase: facebook: token: debug_token says the page token is not valid: "
        "The session has been invalidated"
    )
