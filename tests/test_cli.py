"""The whole command line against the fake YouTube and Graph APIs: exit codes, stderr, outputs."""

from __future__ import annotations

import json
import logging
import os
import pty
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from conftest import ACCESS_TOKEN, API_KEY, feed_members

from aggregator import jobs
from aggregator.cli import RedactingFormatter, main
from aggregator.config import load_config
from aggregator.fakeapi import World, graph_error, youtube_error
from aggregator.retry import RetryPolicy

DEMO_SHOWN_YOUTUBE = {
    "A5bUqkYPIw8", "uhkCunQ240C", "6nJA4duDBfQ", "lUcVe1V0LF3", "MNkIbjpxGhV",
    "3gWTn2L1xgu", "IM0bsMKVqEx", "25oi2fvtPNZ", "85CkrDbgXvI", "Wq7rTgL2pXe",
    "Hk4mPz7RtQw", "c9VbN2xLs8E",
}  # fmt: skip
DEMO_HIDDEN_YOUTUBE = {"UXjwhkkFGsm", "MQ3PfAVe5Bj", "LESt7HrQi1s", "3r29g4PuQb6", "SlDgea4EHHm",
                       "OkxdN1rG2TG"}  # fmt: skip


class Items(HTMLParser):
    """Collects (data-source, data-id) of every showcase item element."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if "data-source" in found and "data-id" in found:
            self.items.append((found["data-source"], found["data-id"]))


def shown(site, name="index.html") -> list[tuple[str, str]]:
    parser = Items()
    parser.feed(site.read(name))
    return parser.items


def shown_ids(site, source) -> set[str]:
    return {item_id for item_source, item_id in shown(site) if item_source == source}


def figures(site) -> dict[str, dict]:
    return {f["key"]: f for f in json.loads(site.read("figures.json"))["figures"]}


def run(site, *args) -> int:
    return main(["--config", str(site.config), *args])


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.databases
def test_update_fetches_matches_and_renders_quietly(site, capsys):
    assert run(site, "update") == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE
    assert shown_ids(site, "youtube") & DEMO_HIDDEN_YOUTUBE == set()
    assert len(shown_ids(site, "facebook")) > 0
    assert shown(site, "fragment.html") == shown(site)
    values = {key: f["value"] for key, f in figures(site).items()}
    assert values == {
        "youtube.subscribers": 412,
        "youtube.views": 58231,
        "youtube.videos": 16,
        "facebook.followers": 1310,
        "facebook.likes": 1280,
    }
    assert not any(f["stale"] for f in figures(site).values())
    assert "1.310" in site.read("index.html")
    feed = json.loads(site.read("feed.json"))
    assert {i["id"] for i in feed_members(feed) if i["source"] == "youtube"} == DEMO_SHOWN_YOUTUBE
    files = sorted(p.name for p in (site.output / "thumbs").iterdir())
    originals = [name for name in files if name.count(".") == 1]  # not the .w320.webp sizes
    assert len(originals) == len(shown(site))
    assert len(files) >= 3 * len(originals)


def test_update_respects_the_api_economy(site):
    assert run(site, "update") == 0
    uploads = len(site.world.playlist_video_ids(next(iter(site.world.youtube_channels.values()))))
    assert site.server.stats.youtube_units <= 1 + 2 * -(-uploads // 50)
    page = next(iter(site.world.facebook_pages.values()))
    bound = 1 + -(-len(page["videos"]) // 100) + -(-len(page["posts"]) // 100)
    assert site.server.stats.graph_requests <= bound


def test_a_change_between_two_runs(site):
    assert run(site, "update") == 0
    world = site.world
    channel_id = next(iter(world.youtube_channels))
    world.set_youtube_privacy("A5bUqkYPIw8", "private")
    world.delete_youtube_video("uhkCunQ240C")
    new_video = json.loads(json.dumps(world.youtube_videos["6nJA4duDBfQ"]))
    new_video["id"] = "NEWvideo001"
    new_video["snippet"]["title"] = "Neu: Die Weberin aus Crimmitschau #Flächenglühen"
    new_video["snippet"]["publishedAt"] = "2026-11-20T09:00:00Z"
    world.add_youtube_video(channel_id, new_video)
    world.youtube_channels[channel_id]["statistics"]["subscriberCount"] = "450"
    page = next(iter(world.facebook_pages.values()))
    page["followers_count"] = 1400

    assert run(site, "update") == 0
    youtube = shown_ids(site, "youtube")
    assert "A5bUqkYPIw8" not in youtube
    assert "uhkCunQ240C" not in youtube
    assert "NEWvideo001" in youtube
    assert shown(site)[0] == ("youtube", "NEWvideo001")
    assert figures(site)["youtube.subscribers"]["value"] == 450
    assert figures(site)["facebook.followers"]["value"] == 1400
    with sqlite3.connect(site.folder / "showcase.db") as db:
        history = db.execute(
            "select value from figure_history where key = 'youtube.subscribers' order by id"
        ).fetchall()
        retired = db.execute(
            "select platform_id from items where retired_at is not null"
        ).fetchall()
    assert history == [(412,), (450,)]
    assert retired == [("uhkCunQ240C",)]


@pytest.mark.parametrize(
    ("route", "injection", "cause"),
    [
        ("youtube.channels", {"body": youtube_error(403, "quotaExceeded")}, "youtube: quota"),
        ("youtube.channels", {"body": youtube_error(400, "keyInvalid")}, "youtube: key"),
        ("youtube.playlistItems", {"status": 503, "times": 10}, "youtube: http 503"),
        ("youtube.videos", {"status": 200, "body": "<html>Wartung</html>",
                            "content_type": "text/html"}, "youtube: not JSON"),
        ("youtube.channels", {"status": 200, "delay": 3, "times": 10}, "youtube: timeout"),
        ("graph.page", {"body": graph_error(190, 463)}, "facebook: token"),
        ("graph.page", {"body": graph_error(4), "times": 10}, "facebook: rate limit"),
        ("graph.page", {"status": 500, "times": 10}, "facebook: http 500"),
        ("graph.page", {"status": 200, "body": "<!DOCTYPE html><p>Sorry",
                        "content_type": "text/html"}, "facebook: not JSON"),
        ("graph.page", {"status": 200, "delay": 3, "times": 10}, "facebook: timeout"),
    ],
)  # fmt: skip
def test_each_failure_is_one_line_exit_1_and_keeps_the_last_good_data(
    site, capsys, route, injection, cause
):
    assert run(site, "update") == 0
    before_youtube = shown_ids(site, "youtube")
    before_facebook = shown_ids(site, "facebook")
    capsys.readouterr()

    site.server.inject(route, **injection)
    assert run(site, "update") == 1
    line = one_line(capsys.readouterr().err)
    assert cause in line
    assert API_KEY not in line and ACCESS_TOKEN not in line
    assert shown_ids(site, "youtube") == before_youtube
    assert shown_ids(site, "facebook") == before_facebook
    failed_source = cause.split(":")[0]
    for key, figure in figures(site).items():
        assert figure["stale"] == key.startswith(failed_source), key


@pytest.mark.databases
def test_partial_listing_stores_what_came_and_retires_nothing(make_site, capsys):
    site = make_site(World.synthetic(youtube_uploads=120, facebook_videos=5, facebook_posts=5))
    assert run(site, "update") == 0
    before = shown_ids(site, "youtube")
    channel_id = next(iter(site.world.youtube_channels))
    for video_id in list(site.world.youtube_channels[channel_id]["uploads"][:60]):
        site.world.delete_youtube_video(video_id)
    site.server.inject("youtube.playlistItems", status=500, skip=1, times=10)
    assert run(site, "update") == 1
    assert "youtube: http 500" in one_line(capsys.readouterr().err)
    assert shown_ids(site, "youtube") == before


@pytest.mark.databases
def test_a_source_that_failed_before_shows_its_last_figures_marked_stale(site, capsys):
    assert run(site, "update") == 0
    site.server.inject("youtube.channels", body=youtube_error(403, "quotaExceeded"))
    assert run(site, "update") == 1
    assert figures(site)["youtube.subscribers"]["value"] == 412
    assert figures(site)["youtube.subscribers"]["stale"] is True
    assert run(site, "update") == 0
    assert figures(site)["youtube.subscribers"]["stale"] is False


@pytest.mark.databases
def test_first_run_failing_still_renders_a_page(site, capsys):
    site.server.inject("youtube.channels", body=youtube_error(403, "quotaExceeded"))
    site.server.inject("graph.page", body=graph_error(190, 463))
    assert run(site, "update") == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert (site.output / "index.html").is_file()
    assert json.loads(site.read("figures.json"))["figures"] == []


def test_secrets_never_reach_outputs_logs_or_database(site, capsys):
    assert run(site, "--progress", "update") == 0
    site.server.inject("youtube.channels", body=youtube_error(400, "keyInvalid"))
    site.server.inject("graph.page", body=graph_error(190, 463))
    assert run(site, "--verbose", "update") == 1
    captured = capsys.readouterr()
    for secret in (API_KEY, ACCESS_TOKEN):
        assert secret not in captured.out + captured.err
        for path in site.folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_progress_says_each_step_without_tracebacks(site, capsys):
    assert run(site, "--progress", "update") == 0
    err = capsys.readouterr().err
    assert re.search(r"youtube: ok; \d+ new.*\d+ quota units", err)
    assert re.search(r"facebook: ok; .*\d+ requests", err)
    site.server.inject("graph.page", status=200, body="<!DOCTYPE html><p>Sorry",
                       content_type="text/html")  # fmt: skip
    assert run(site, "--progress", "update") == 1
    err = capsys.readouterr().err
    assert "facebook: not JSON" in err and "youtube: ok" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_v_is_verbose_with_tracebacks(site, capsys, flag):
    """`-v` means --verbose, as in most command lines; progress has its own flag."""
    site.server.inject("graph.page", status=200, body="<!DOCTYPE html><p>Sorry",
                       content_type="text/html")  # fmt: skip
    assert run(site, flag, "update") == 1
    err = capsys.readouterr().err
    assert "showcase: facebook: not JSON" in err
    assert "Traceback" in err
    assert re.search(r"youtube: ok; \d+ new", err)


@pytest.mark.databases
def test_fetch_only_named_sources_and_render_separately(site, capsys):
    assert run(site, "fetch", "youtube") == 0
    assert not (site.output / "index.html").exists()
    assert site.server.stats.graph_requests == 0
    assert run(site, "render") == 0
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE
    assert shown_ids(site, "facebook") == set()
    assert capsys.readouterr().err == ""


def test_render_needs_no_secrets(site, monkeypatch, capsys):
    assert run(site, "update") == 0
    monkeypatch.delenv("YOUTUBE_API_KEY")
    assert run(site, "render") == 0
    assert run(site, "update") == 2
    assert "YOUTUBE_API_KEY" in one_line(capsys.readouterr().err)


def test_usage_errors_exit_2(site, capsys):
    assert run(site, "fetch", "twitter") == 2
    assert "unknown source" in one_line(capsys.readouterr().err)
    without_website = re.sub(r"\[website\][^\[]*", "", site.config.read_text(encoding="utf-8"))
    site.config.write_text(without_website, encoding="utf-8")
    assert run(site, "fetch", "website") == 2
    assert "website: not configured" in one_line(capsys.readouterr().err)


def test_config_errors_exit_2_naming_the_key(site, capsys):
    site.config.write_text(site.config.read_text() + "\n[storage2]\n")
    assert run(site, "update") == 2
    assert "storage2" in one_line(capsys.readouterr().err)
    site.config.write_text('[showcase]\nhashtags = ["x"]\nstale_after = "soon"\n')
    assert run(site, "render") == 2
    assert "showcase.stale_after" in one_line(capsys.readouterr().err)
    assert main(["--config", str(site.folder / "nope.toml"), "update"]) == 2


@pytest.mark.databases
def test_a_second_run_on_the_same_database_exits_75(site, capsys):
    config = load_config(site.config)
    with jobs.database_lock(config):
        assert run(site, "update") == 75
        assert run(site, "fetch", "--progress") == 75
        assert capsys.readouterr() == ("", "")  # cron mails nothing for a lock held
        assert run(site, "--verbose", "update") == 75
        assert "another update or fetch is running" in one_line(capsys.readouterr().err)
    assert site.server.stats.youtube_units == 0
    assert run(site, "update") == 0


def test_console_script_and_module_entry_point(site):
    env_cmd = [sys.executable, "-m", "aggregator", "--config", str(site.config), "update"]
    done = subprocess.run(env_cmd, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    site.server.inject("graph.page", body=graph_error(190, 463))
    done = subprocess.run(env_cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert one_line(done.stderr).startswith("showcase: facebook: token")


def test_demo_prints_the_page_path(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "demo", "--directory", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    index = tmp_path / "demo" / "public" / "index.html"
    assert done.stdout.strip() == str(index)
    assert index.is_file() and done.stderr == ""
    assert 'data-source="youtube"' in index.read_text(encoding="utf-8")
    rerender = subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(tmp_path / "demo" / "showcase.toml"),
         "render"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert rerender.returncode == 0, rerender.stderr
    assert 'data-source="youtube"' in index.read_text(encoding="utf-8")
    assert "Interviews auf unserer Website" in index.read_text(encoding="utf-8")


def test_update_gives_up_within_its_time_budget(site, monkeypatch, capsys):
    """Every request hangs: the run stops when its budget is spent, not after every retry."""
    monkeypatch.setattr(
        jobs, "default_policy", lambda: RetryPolicy(sleep=time.sleep, timeout=1.0, budget=3.0)
    )
    site.server.inject("youtube.channels", status=200, delay=60, times=100)
    site.server.inject("graph.page", status=200, delay=60, times=100)
    started = time.monotonic()
    assert run(site, "update") == 1
    elapsed = time.monotonic() - started
    assert elapsed < 3.0 + 1.0 + 1.5
    err = capsys.readouterr().err
    assert "youtube: timeout" in err and "facebook: timeout" in err
    assert (site.output / "index.html").is_file()


def test_the_default_budget_ends_update_within_two_minutes():
    # No request outlives the deadline (request_timeout is clamped to what is left, at least
    # 1 s), which leaves more than ten seconds for rendering.
    policy = RetryPolicy().start()
    assert policy.budget + 1.0 < 110
    assert policy.request_timeout() <= policy.remaining()


def test_backfill_gives_a_fetched_figure_its_change_since(site, capsys):
    site.config.write_text(
        site.config.read_text().replace(
            'stale_after = "26h"', 'stale_after = "26h"\nsince = "2017-06-27"'
        )
    )
    assert run(site, "update") == 0
    assert (
        run(site, "figures", "backfill", "youtube.subscribers", "300", "--as-of", "27.06.2017") == 0
    )
    assert run(site, "render") == 0
    assert figures(site)["youtube.subscribers"]["value"] == 412
    assert "+112 seit 27.06.2017" in site.read("index.html")
    assert capsys.readouterr().err == ""

    assert (
        run(site, "figures", "backfill", "youtube.subscribers", "300", "--as-of", "2099-01-01") == 2
    )
    assert "only earlier days" in one_line(capsys.readouterr().err)
    assert run(site, "figures", "backfill", "agency.events", "80", "--as-of", "2017-06-27") == 2
    assert "figures set" in one_line(capsys.readouterr().err)
    assert run(site, "figures", "backfill", "youtube.views", "1,5", "--as-of", "2017-06-27") == 2


def module_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "aggregator", *args]


def test_showcase_alone_prints_the_help_and_exits_2(capsys):
    """A missing command is a usage error (the contract's exit 2), with the help on stdout;
    `--help` is the way to exit 0."""
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("usage: showcase") and err == ""
    for command in ("update", "fetch", "render", "demo", "status", "figures", "completion"):
        assert re.search(rf"^    {command}\b", out, re.M), command
    assert "exit codes:" in out
    assert main(["figures"]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("usage: showcase figures") and err == ""
    assert re.search(r"^    export\b", out, re.M)
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: showcase")


def test_a_missing_config_says_where_it_looked_and_how_to_choose(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHOWCASE_CONFIG", raising=False)
    assert main(["render"]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"no config file at {tmp_path / 'showcase.toml'} (the default" in line
    for way in ("--config FILE", "SHOWCASE_CONFIG=FILE", "showcase init"):
        assert way in line
    monkeypatch.setenv("SHOWCASE_CONFIG", "etc/showcase.toml")
    assert main(["status"]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{tmp_path / 'etc' / 'showcase.toml'} (from $SHOWCASE_CONFIG)" in line
    assert main(["--config", "other.toml", "update"]) == 2
    assert f"{tmp_path / 'other.toml'} (given with --config)" in one_line(capsys.readouterr().err)


def test_completion_scripts_need_no_config_and_complete(tmp_path):
    done = subprocess.run(
        module_command("completion", "bash"), capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""
    script = tmp_path / "showcase.bash"
    script.write_text(done.stdout, encoding="utf-8")
    completing = (
        f"source {script}\n"
        "complete -p showcase\n"
        'COMP_WORDS=(showcase fig); COMP_CWORD=1; _shtab_showcase; echo "${COMPREPLY[*]}"\n'
        'COMP_WORDS=(showcase figures ex); COMP_CWORD=2; _shtab_showcase; echo "${COMPREPLY[*]}"\n'
        "COMP_WORDS=(showcase update --pro); COMP_CWORD=2; _shtab_showcase; "
        'echo "${COMPREPLY[*]}"\n'
    )
    shell = subprocess.run(["bash", "-c", completing], capture_output=True, text=True, timeout=30)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.splitlines()[1:] == ["figures", "export", "--progress"]
    zsh = subprocess.run(
        module_command("completion", "zsh"), capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef showcase")


def closed_early(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader has gone, as `| head -1` leaves it once it has its
    line: every write fails with EPIPE."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    return subprocess.CompletedProcess(command, process.wait(timeout=60), "", err)


def test_output_cut_short_by_its_reader_ends_quietly(site, tmp_path):
    done = closed_early(module_command("completion", "bash"), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    config = ["--config", str(site.config)]
    assert run(site, "update") == 0
    done = closed_early(module_command(*config, "report", "--since", "2017-06-27"))
    assert (done.returncode, done.stderr) == (0, "")
    done = closed_early(module_command(*config, "figures", "list"))
    assert (done.returncode, done.stderr) == (0, "")


ZONED = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} (CET|CEST)"


def test_times_are_shown_in_the_configured_zone_with_its_name(site, capsys):
    assert run(site, "update") == 0
    assert run(site, "hide", "youtube:A5bUqkYPIw8") == 0
    capsys.readouterr()
    local_now = datetime.now(ZoneInfo("Europe/Berlin"))

    assert run(site, "status") in (0, 1)
    youtube = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("youtube")
    )
    moment = re.search(ZONED, youtube)
    assert moment is not None, youtube
    shown = datetime.strptime(moment.group(0)[:16], "%Y-%m-%d %H:%M")
    assert abs(shown - local_now.replace(tzinfo=None, second=0, microsecond=0)) < timedelta(
        minutes=2
    )
    assert moment.group(1) == local_now.tzname()

    assert run(site, "figures", "list") == 0
    subscribers = next(
        line for line in capsys.readouterr().out.splitlines() if "youtube.subscribers" in line
    )
    assert re.search(ZONED, subscribers), subscribers
    assert run(site, "curation") == 0
    assert re.search(ZONED, capsys.readouterr().out.splitlines()[1])

    site.config.write_text(
        site.config.read_text().replace("[showcase]", '[showcase]\ntimezone = "UTC"')
    )
    assert run(site, "status") in (0, 1)
    assert re.search(r"\d{2}:\d{2} UTC ", capsys.readouterr().out)


def test_scheduler_lines_carry_the_zone():
    formatter = RedactingFormatter("%(asctime)s %(message)s", ZoneInfo("Europe/Berlin"))
    record = logging.LogRecord("aggregator", logging.INFO, __file__, 1, "youtube: ok", None, None)
    record.created = datetime(2026, 11, 26, 9, 0, 3, tzinfo=UTC).timestamp()
    assert formatter.format(record) == "2026-11-26 10:00:03 CET youtube: ok"
    record.created = datetime(2026, 7, 1, 9, 0, 3, tzinfo=UTC).timestamp()
    assert formatter.format(record) == "2026-07-01 11:00:03 CEST youtube: ok"


def on_a_terminal(command: list[str], env: dict[str, str] | None = None, journal: bool = False):
    """Run with stderr a pseudo-terminal (stdout a pipe); return the exit code and what
    the terminal received. `journal`: JOURNAL_STREAM names that terminal, as systemd names
    the journal's socket (systemd.exec(5), "JOURNAL_STREAM")."""
    main_end, terminal_end = pty.openpty()
    environment = dict(os.environ if env is None else env)
    if journal:
        status = os.fstat(terminal_end)
        environment["JOURNAL_STREAM"] = f"{status.st_dev}:{status.st_ino}"
    else:
        environment["JOURNAL_STREAM"] = "8:12345"  # inherited from elsewhere: not this stream
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=terminal_end, env=environment
    )
    os.close(terminal_end)
    received = bytearray()
    while True:
        try:
            chunk = os.read(main_end, 4096)
        except OSError:  # EIO: the terminal's last writer has gone
            break
        if not chunk:
            break
        received += chunk
    os.close(main_end)
    assert process.stdout is not None
    process.stdout.read()
    return process.wait(timeout=60), received.decode()


def test_a_terminal_shows_progress_and_the_journal_none(make_site):
    site = make_site(World.synthetic(youtube_uploads=120, facebook_videos=5, facebook_posts=5))
    update = module_command("--config", str(site.config), "update")
    code, terminal = on_a_terminal(update)
    assert code == 0
    wanted = len(list((site.output / "thumbs").glob("*.w320.jpg")))
    assert wanted > 0
    assert f"Vorschaubilder {wanted}/{wanted}" in terminal
    assert re.search(r"YouTube: Seite \d+", terminal)
    assert "\r\x1b[K" in terminal and terminal.endswith("\r\x1b[K")  # wiped: nothing stays
    for path in (site.output / "thumbs").iterdir():
        path.unlink()  # the next run copies every thumbnail again
    code, terminal = on_a_terminal(update, journal=True)
    assert (code, terminal) == (0, "")
