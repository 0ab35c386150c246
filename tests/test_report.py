"""`showcase figures ...` and `showcase report` on a seeded database: the story of Kreatives
Sachsen's first 100 days ("Was ist seit dem 27.06.2017 passiert?"), in German formats."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from aggregator import episode_cache, episodes, store
from aggregator.cli import main
from aggregator.config import load_config
from aggregator.context import build_showcase, figure_views
from aggregator.models import Account, Figure, Item, SourceResult

NOW = datetime(2017, 10, 6, 8, 0, tzinfo=UTC)

CONFIG = """
[storage]
database = "sqlite:///showcase.db"
[output]
directory = "public"
[showcase]
title = "#flächenglühen"
hashtags = ["flächenglühen", "flaechengluehen"]
since = "2017-06-27"
stale_after = "26h"
[youtube]
channel = "@kreativessachsen"
[facebook]
page = "kreativessachsen"
"""

# What the seed's announcement after 100 days reported, entered by hand.
HAND_ENTERED = [
    ("agency.akteure", "3.000", "erreichte AkteurInnen"),
    ("agency.beratungsstellen", "13", "Beratungsstellen"),
    ("agency.veranstaltungen", "80", "Veranstaltungen"),
    ("agency.netzwerkinitiativen", "20", "Netzwerkinitiativen"),
    ("facebook_group.members", "450", "Gruppenmitglieder"),
]


def when(day: str, hour: int = 6) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def item(source, platform_id, title, day, kind="video", description=""):
    url = (
        f"https://www.youtube.com/watch?v={platform_id}"
        if source == "youtube"
        else f"https://www.facebook.com/kreativessachsen/videos/{platform_id}/"
    )
    return Item(source, platform_id, kind, title, description, url, when(day, 16))


YOUTUBE_ITEMS = [
    item("youtube", "before", "Vorab #flächenglühen", "2017-06-20"),
    item("youtube", "first", "Porträt: Anna [Leipzig] #flächenglühen", "2017-06-27"),
    item("youtube", "second", "Porträt: Ben <Chemnitz> #flaechengluehen", "2017-08-15"),
    item("youtube", "other", "Eröffnung Kreatives Sachsen", "2017-07-01"),
    item("youtube", "after", "Später #flächenglühen", "2017-10-06"),
]
FACEBOOK_ITEMS = [
    item(
        "facebook",
        "fb1",
        "",
        "2017-09-01",
        kind="post",
        description="Neu: #flächenglühen mit Clara",
    ),
]


def result(source, figures, items=(), complete=False):
    account = Account(source, f"{source}-account", "Kreatives Sachsen", f"https://{source}.example")
    return SourceResult(source, account, list(figures), list(items), complete=complete)


def seed(engine) -> None:
    fetches = [
        ("2017-06-01", [Figure("youtube.subscribers", 998), Figure("youtube.videos", 2)]),
        ("2017-08-01", [Figure("youtube.subscribers", 1200), Figure("youtube.videos", 4)]),
        ("2017-10-01", [Figure("youtube.subscribers", 1310), Figure("youtube.videos", 5)]),
        ("2017-10-06", [Figure("youtube.subscribers", 1320), Figure("youtube.videos", 6)]),
    ]
    for day, figures in fetches:
        with store.session_scope(engine) as session:
            store.save_result(session, result("youtube", figures, YOUTUBE_ITEMS), when(day))
    for day, followers in (("2017-07-10", 1000), ("2017-10-02", 1280)):
        with store.session_scope(engine) as session:
            figures = [Figure("facebook.followers", followers)]
            store.save_result(session, result("facebook", figures, FACEBOOK_ITEMS), when(day))


@pytest.fixture
def config_path(tmp_path) -> Path:
    path = tmp_path / "showcase.toml"
    path.write_text(CONFIG, encoding="utf-8")
    engine = store.open_database(load_config(path).database_url)
    seed(engine)
    engine.dispose()
    return path


@pytest.fixture
def run(config_path, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config_path), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def entered(run):
    for key, value, label in HAND_ENTERED:
        assert run("figures", "set", key, value, "--label", label, "--as-of", "05.10.2017")[0] == 0
    assert run("figures", "set", "agency.veranstaltungen", "0", "--as-of", "2017-06-27")[0] == 0
    return run


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_figures_list_shows_every_figure_in_german(entered):
    code, out, err = entered("figures", "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["key", "label", "value", "as", "of", "source"]
    by_key = {line.split()[0]: line for line in lines[1:]}
    assert list(by_key)[:3] == ["youtube.subscribers", "youtube.videos", "facebook.followers"]
    assert re.split(r"\s{2,}", by_key["agency.akteure"]) == [
        "agency.akteure",
        "erreichte AkteurInnen",
        "3.000",
        "05.10.2017",
        "von Hand",
    ]
    assert "erreichte AkteurInnen" in by_key["agency.akteure"]
    assert "2017-10-06 08:00 CEST" in by_key["youtube.subscribers"]  # a moment, with its zone
    assert "1.320" in by_key["youtube.subscribers"] and "YouTube" in by_key["youtube.subscribers"]


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (("figures", "set", "agency.akteure", "1,5"), "not a count"),
        (("figures", "set", "agency.akteure", "abc"), "not a count"),
        (("figures", "set", "agency.akteure", ""), "not a count"),
        (("figures", "set", "agency.akteure", "5", "--as-of", "31.02.2017"), "not a date"),
        (("figures", "set", "agency.akteure", "5", "--as-of", "2099-01-01"), "future"),
        (("figures", "set", "youtube.subscribers", "5"), "fetched figures"),
        (("figures", "unset", "agency.nothing"), "is not set"),
        (("report", "--since", "2017-13-01"), "not a date"),
        (("report", "--since", "27.06.2017", "--until", "gestern"), "not a date"),
        (("report", "--since", "2017-10-06", "--until", "2017-10-05"), "after"),
        (("report", "--since", "2017-06-27", "--format", "pdf"), "md, html, csv"),
    ],
)
def test_bad_values_and_dates_are_exit_2_with_one_line(run, args, word):
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert word in one_line(err)


def test_unset_takes_a_figure_off_and_export_keeps_its_history(entered, tmp_path):
    code, out, err = entered("figures", "unset", "agency.beratungsstellen")
    assert (code, err) == (0, "") and out == (
        "figures: agency.beratungsstellen unset; its history stays; rendered again\n"
    )
    assert "agency.beratungsstellen" not in entered("figures", "list")[1]
    output = tmp_path / "history.csv"
    assert entered("figures", "export", "--csv", "--output", str(output)) == (0, "", "")
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["key", "label", "source", "taken_at", "value"]
    subscribers = [row for row in rows if row["key"] == "youtube.subscribers"]
    assert [row["value"] for row in subscribers] == ["998", "1200", "1310", "1320"]
    assert subscribers[0] == {
        "key": "youtube.subscribers",
        "label": "YouTube-Abonnenten",
        "source": "youtube",
        "taken_at": "2017-06-01T06:00:00+00:00",
        "value": "998",
    }
    gone = [row for row in rows if row["key"] == "agency.beratungsstellen"]
    assert [(row["label"], row["source"], row["taken_at"], row["value"]) for row in gone] == [
        ("Beratungsstellen", "manual", "2017-10-05T12:00:00+00:00", "13")
    ]
    assert entered("figures", "export")[1] == output.read_text(encoding="utf-8")


def test_export_keeps_every_label_of_an_unset_figure_and_a_new_one_wins(entered):
    """Unset the events figure (two entries: 0 on 27.06., 80 on 05.10.), then set it again."""
    assert entered("figures", "unset", "agency.veranstaltungen")[0] == 0

    def labels() -> set[str]:
        rows = csv.DictReader(io.StringIO(entered("figures", "export")[1]))
        return {row["label"] for row in rows if row["key"] == "agency.veranstaltungen"}

    assert labels() == {"Veranstaltungen"}
    assert entered("figures", "set", "agency.veranstaltungen", "81", "--label", "Events")[0] == 0
    assert labels() == {"Events"}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        # Never fetched, yet: a day that has not come is no history.
        (
            ("facebook.likes", "5", "--as-of", "2099-01-01"),
            "--as-of 2099-01-01 lies in the future; only earlier days can be filled in",
        ),
        (
            ("youtube.subscribers", "900", "--as-of", "01.06.2017"),
            "figures backfill: youtube.subscribers was first fetched on 2017-06-01; only "
            "earlier days can be filled in (--as-of 2017-05-31 or before)",
        ),
        (
            ("youtube.subscribers", "900", "--as-of", "2017-08-01"),
            "figures backfill: youtube.subscribers was first fetched on 2017-06-01; only "
            "earlier days can be filled in (--as-of 2017-05-31 or before)",
        ),
    ],
)
def test_backfill_refuses_future_days_and_days_the_api_spoke_for(run, args, line):
    code, out, err = run("figures", "backfill", *args)
    assert (code, out) == (2, "")
    assert one_line(err).endswith(line)


def test_backfill_refuses_the_day_of_the_first_fetch_even_when_it_came_after_noon(run, config_path):
    """A backfilled value holds from noon UTC of its day; a first fetch later that day must
    still refuse the day, which the fetched value already speaks for."""
    engine = store.open_database(load_config(config_path).database_url)
    with store.session_scope(engine) as session:
        likes = result("facebook", [Figure("facebook.likes", 500)])
        store.save_result(session, likes, when("2017-07-10", 15))
    engine.dispose()
    code, _, err = run("figures", "backfill", "facebook.likes", "480", "--as-of", "10.07.2017")
    assert code == 2 and "first fetched on 2017-07-10" in one_line(err)
    assert run("figures", "backfill", "facebook.likes", "480", "--as-of", "09.07.2017")[0] == 0


def test_figure_views_carry_manual_change_since_and_history(entered, config_path):
    config = load_config(config_path)
    engine = store.open_database(config.database_url)
    with store.session_scope(engine) as session:
        views = {view.key: view for view in figure_views(session, config, NOW)}
    engine.dispose()
    subscribers = views["youtube.subscribers"]
    assert (subscribers.manual, subscribers.change_since) == (False, 1320 - 998)
    assert [value for _, value in subscribers.history] == [998, 1200, 1310, 1320]
    assert views["facebook.followers"].change_since is None  # first fetched after 27.06.
    events = views["agency.veranstaltungen"]
    assert (events.manual, events.stale, events.label, events.change_since) == (
        True,
        False,
        "Veranstaltungen",
        80,
    )
    assert views["agency.akteure"].change_since is None
    assert list(views)[-1] == "facebook_group.members"


def test_render_shows_hand_entered_figures_in_figures_json_and_history_json(entered, config_path):
    assert main(["--config", str(config_path), "render"]) == 0
    public = config_path.parent / "public"
    figures = {f["key"]: f for f in json.loads((public / "figures.json").read_text())["figures"]}
    assert figures["facebook_group.members"] == {
        "key": "facebook_group.members",
        "label": "Gruppenmitglieder",
        "value": 450,
        "as_of": "2017-10-05T12:00:00+00:00",
        "stale": False,
    }
    history = json.loads((public / "history.json").read_text())
    assert history["since"] == "2017-06-27"
    points = {f["key"]: f["points"] for f in history["figures"]}
    assert points["agency.veranstaltungen"] == [
        {"date": "2017-06-27", "value": 0},
        {"date": "2017-10-05", "value": 80},
    ]


REPORT = ("report", "--since", "27.06.2017", "--until", "2017-10-05")


def test_the_markdown_report_reads_like_the_hard_facts(entered):
    code, out, err = entered(*REPORT)
    assert code == 0 and err == ""
    assert out.startswith("# Was ist seit dem 27.06.2017 passiert?\n")
    assert "Zeitraum: 27.06.2017 bis 05.10.2017" in out
    for line in [
        "- **1.310** YouTube-Abonnenten (+312 seit 27.06.2017)",
        "- **5** YouTube-Videos (+3 seit 27.06.2017)",
        "- **1.280** Facebook-Follower (+280 seit 10.07.2017, Beginn der Erfassung)",
        "- **3.000** erreichte AkteurInnen (von Hand eingetragen, Stand 05.10.2017)",
        "- **13** Beratungsstellen (von Hand eingetragen, Stand 05.10.2017)",
        "- **80** Veranstaltungen (+80 seit 27.06.2017; von Hand eingetragen, Stand 05.10.2017)",
        "- **20** Netzwerkinitiativen (von Hand eingetragen, Stand 05.10.2017)",
        "- **450** Gruppenmitglieder (von Hand eingetragen, Stand 05.10.2017)",
        "## Neu in der Reihe #flächenglühen (3)",
        "- 27.06.2017 · [Porträt: Anna \\[Leipzig\\] #flächenglühen]"
        "(https://www.youtube.com/watch?v=first) · YouTube-Video",
        "- 15.08.2017 · [Porträt: Ben \\<Chemnitz\\> #flaechengluehen]"
        "(https://www.youtube.com/watch?v=second) · YouTube-Video",
        "- 01.09.2017 · [Neu: #flächenglühen mit Clara]"
        "(https://www.facebook.com/kreativessachsen/videos/fb1/) · Facebook-Beitrag",
        "| YouTube | 2 | 3 |",
        "| Facebook | 1 | 1 |",
    ]:
        assert line in out.splitlines(), line
    assert "Vorab" not in out and "Später" not in out


class Report(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.figures: dict[str, str] = {}
        self.links: list[str] = []
        self._key: str | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        self.tags.append(tag)
        if tag == "li" and "data-key" in found:
            self._key = found["data-key"]
            self.figures[self._key] = ""
        if tag == "a":
            self.links.append(found["href"])

    def handle_endtag(self, tag):
        if tag == "li":
            self._key = None

    def handle_data(self, data):
        self.text.append(data)
        if self._key:
            self.figures[self._key] += data


def test_the_html_report_is_a_standalone_escaped_page(entered, tmp_path):
    output = tmp_path / "bericht.html"
    assert entered(*REPORT, "--format", "html", "--output", str(output)) == (0, "", "")
    html = output.read_text(encoding="utf-8")
    page = Report()
    page.feed(html)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="de">' in html
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert "Was ist seit dem 27.06.2017 passiert?" in page.text
    assert page.figures["youtube.subscribers"] == "1.310 YouTube-Abonnenten (+312 seit 27.06.2017)"
    assert page.figures["agency.akteure"] == (
        "3.000 erreichte AkteurInnen (von Hand eingetragen, Stand 05.10.2017)"
    )
    assert "Porträt: Ben <Chemnitz> #flaechengluehen" in "".join(page.text)
    assert "&lt;Chemnitz&gt;" in html
    assert page.links == [
        "https://www.youtube.com/watch?v=first",
        "https://www.youtube.com/watch?v=second",
        "https://www.facebook.com/kreativessachsen/videos/fb1/",
    ]


def test_a_change_over_the_recorded_part_of_the_period_is_shown_in_every_format(entered):
    """Facebook was first fetched on 10.07.2017, inside the period (1.000 then, 1.280 on
    05.10.); the group's members were entered on 01.08. and 05.10. A member count entered
    only once (agency.akteure) has nothing to compare and stays as it was."""
    assert (
        entered("figures", "set", "facebook_group.members", "400", "--as-of", "01.08.2017")[0] == 0
    )
    partial = {
        "facebook.followers": "+280 seit 10.07.2017, Beginn der Erfassung",
        "facebook_group.members": "+50 seit 01.08.2017, Beginn der Erfassung",
    }
    out = entered(*REPORT)[1]
    assert f"- **1.280** Facebook-Follower ({partial['facebook.followers']})" in out
    assert (
        f"- **450** Gruppenmitglieder ({partial['facebook_group.members']}; "
        "von Hand eingetragen, Stand 05.10.2017)"
    ) in out
    assert "- **3.000** erreichte AkteurInnen (von Hand eingetragen, Stand 05.10.2017)" in out

    page = Report()
    page.feed(entered(*REPORT, "--format", "html")[1])
    assert (
        page.figures["facebook.followers"]
        == f"1.280 Facebook-Follower ({partial['facebook.followers']})"
    )
    assert partial["facebook_group.members"] in page.figures["facebook_group.members"]

    rows = csv.reader(io.StringIO(entered(*REPORT, "--format", "csv")[1]), delimiter=";")
    by_key = {row[1]: row for row in rows}
    assert by_key["facebook.followers"][3:5] == ["1.280", "+280"]
    assert by_key["facebook.followers"][8] == "Veränderung seit 10.07.2017, Beginn der Erfassung"
    assert by_key["facebook_group.members"][3:5] == ["450", "+50"]
    assert by_key["facebook_group.members"][8].startswith(
        "Veränderung seit 01.08.2017, Beginn der Erfassung; von Hand eingetragen"
    )
    assert by_key["agency.akteure"][4] == ""


def test_the_csv_report_is_for_a_german_spreadsheet(entered):
    code, out, _ = entered(*REPORT, "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out), delimiter=";"))
    assert rows[0] == [
        "Abschnitt",
        "Schlüssel",
        "Bezeichnung",
        "Wert",
        "Veränderung seit 27.06.2017",
        "Datum",
        "Quelle",
        "Link",
        "Hinweis",
    ]
    by_key = {row[1]: row for row in rows[1:]}
    assert by_key["youtube.subscribers"][:7] == [
        "Kennzahl",
        "youtube.subscribers",
        "YouTube-Abonnenten",
        "1.310",
        "+312",
        "05.10.2017",
        "YouTube",
    ]
    assert by_key["agency.akteure"][3:] == [
        "3.000",
        "",
        "05.10.2017",
        "von Hand",
        "",
        "von Hand eingetragen, Stand 05.10.2017",
    ]
    assert by_key["youtube:second"][5] == "15.08.2017"
    counts = [row for row in rows if row[0].startswith("Neue Einträge")]
    assert [(row[0], row[1], row[3]) for row in counts] == [
        ("Neue Einträge der Reihe", "youtube", "2"),
        ("Neue Einträge insgesamt", "youtube", "3"),
        ("Neue Einträge der Reihe", "facebook", "1"),
        ("Neue Einträge insgesamt", "facebook", "1"),
    ]


def test_the_report_until_today_uses_the_newest_values(entered):
    code, out, _ = entered("report", "--since", "2017-06-27")
    assert code == 0
    assert "- **1.320** YouTube-Abonnenten (+322 seit 27.06.2017)" in out.splitlines()


# --- episodes: one entry per story ---------------------------------------------------------------

ANNAS_STORY = {("youtube", "first"), ("facebook", "fb1")}


@pytest.fixture
def annas_story(monkeypatch):
    """Stands in for the grouping rule (its own part of the work, aggregator/episodes.py):
    YouTube's `first` and the Facebook post `fb1` tell one story, every other item its own."""

    def group(items, overrides=None):
        together = [item for item in items if (item.source, item.platform_id) in ANNAS_STORY]
        alone = [[item] for item in items if (item.source, item.platform_id) not in ANNAS_STORY]
        grouped = [together, *alone] if together else alone
        return sorted(grouped, key=lambda episode: min(item.published_at for item in episode))

    monkeypatch.setattr(episodes, "group", group)
    # The kept groupings are keyed by the rule's source, which a stand-in does not change.
    monkeypatch.setattr(episode_cache, "private_cache_folder", lambda _name: None)


def test_the_report_lists_an_episode_once_with_every_link(entered, annas_story):
    out = entered(*REPORT)[1].splitlines()

    assert "## Neu in der Reihe #flächenglühen (2)" in out
    assert (
        "- 27.06.2017 · [Porträt: Anna \\[Leipzig\\] #flächenglühen]"
        "(https://www.youtube.com/watch?v=first) · YouTube-Video"
        " · [Facebook-Beitrag](https://www.facebook.com/kreativessachsen/videos/fb1/)"
    ) in out
    assert not [line for line in out if line.startswith("- 01.09.2017")]
    assert "| Facebook | 1 | 1 |" in out  # new items per source still count items

    page = Report()
    page.feed(entered(*REPORT, "--format", "html")[1])
    assert page.links == [
        "https://www.youtube.com/watch?v=first",
        "https://www.facebook.com/kreativessachsen/videos/fb1/",
        "https://www.youtube.com/watch?v=second",
    ]
    rows = csv.reader(io.StringIO(entered(*REPORT, "--format", "csv")[1]), delimiter=";")
    by_key = {row[1]: row for row in rows}
    assert "facebook:fb1" not in by_key
    assert by_key["youtube:first"][5:] == [
        "27.06.2017",
        "YouTube, Facebook",
        "https://www.youtube.com/watch?v=first "
        "https://www.facebook.com/kreativessachsen/videos/fb1/",
        "YouTube-Video, Facebook-Beitrag",
    ]


class Cards(HTMLParser):
    """Each card's data-episode and the (data-source, data-id) of the items inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, list[tuple[str, str]]] = {}
        self._card: str | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "article" and "data-episode" in found:
            self._card = found["data-episode"]
            self.cards[self._card] = []
        elif self._card and "data-source" in found and "data-id" in found:
            self.cards[self._card].append((found["data-source"], found["data-id"]))

    def handle_endtag(self, tag):
        if tag == "article":
            self._card = None


def test_the_page_shows_an_episode_from_the_store_as_one_card(run, config_path, annas_story):
    config = load_config(config_path)
    engine = store.open_database(config.database_url)
    with store.session_scope(engine) as session:
        (card,) = [e for e in build_showcase(session, config, NOW).episodes if len(e.items) > 1]
    engine.dispose()
    assert card.id == "youtube:first"
    assert (card.lead.source, card.lead.platform_id) == ("youtube", "first")
    assert card.title == "Porträt: Anna [Leipzig] #flächenglühen"  # the video's, not the post's
    assert [(item.source, item.platform_id) for item in card.items] == [
        ("youtube", "first"),
        ("facebook", "fb1"),
    ]

    assert run("render")[0] == 0
    page = Cards()
    page.feed((config.output_dir / "index.html").read_text(encoding="utf-8"))
    assert page.cards["youtube:first"] == [("youtube", "first"), ("facebook", "fb1")]
    assert page.cards["youtube:second"] == [("youtube", "second")]
    assert len(page.cards) == 4  # before, first with fb1, second, after ("other": no hashtag)
