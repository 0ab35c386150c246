"""The grouping kept between runs: the same episodes as the rule, without running it again
when nothing it reads changed, and run again whenever anything did."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_episodes import VIDEO, article, fb_post, fb_video, keys, youtube

from aggregator import episode_cache, episodes
from aggregator.episodes import Overrides
from aggregator.episodes import group as rule
from aggregator.models import RawJson


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def ruled(monkeypatch) -> list[int]:
    """One entry per run of the rule itself."""
    runs: list[int] = []
    rule = episodes.group

    def counting(items, overrides):
        runs.append(1)
        return rule(items, overrides)

    monkeypatch.setattr(episodes, "group", counting)
    return runs


def items():
    return [
        youtube(title="Marie Kühn bläst Glas in Weißwasser"),
        fb_video(title="Marie Kühn bläst Glas in Weißwasser", day=1),  # the same title
        fb_post(message=f"Neue Folge https://youtu.be/{VIDEO}", day=3),  # a link
        article(title="Interview mit Anna Berg", day=20),
        youtube("B5bUqkYPIw8", title="Anna Berg töpfert in Görlitz", day=60),
    ]


def test_the_second_grouping_of_the_same_items_does_not_run_the_rule(tmp_path, ruled):
    first = episode_cache.group(items(), Overrides(), tmp_path)
    assert ruled == [1]

    again = episode_cache.group(list(reversed(items())), Overrides(), tmp_path)

    assert ruled == [1]
    assert keys(again) == keys(first) == keys(rule(items()))


def changed_title(entries):
    entries[1] = replace(entries[1], title="Ganz etwas anderes")
    return entries, Overrides()


def changed_link(entries):
    entries[2] = replace(entries[2], description="Neue Folge", raw={"message": "Neue Folge"})
    return entries, Overrides()


def changed_raw(entries):
    link = '<a href="https://youtu.be/B5bUqkYPIw8">Video</a>'  # only in the article's raw
    entries[3] = replace(entries[3], raw={**entries[3].raw, "content": {"rendered": link}})
    return entries, Overrides()


def changed_date(entries):
    entries[1] = replace(entries[1], published_at=entries[1].published_at.replace(year=2027))
    return entries, Overrides()


def item_gone(entries):
    return entries[1:], Overrides()


def staff_split(entries):
    return entries, Overrides(split=frozenset({("facebook", entries[1].platform_id)}))


def staff_merged(entries):
    return entries, Overrides(merged=((("youtube", VIDEO), ("youtube", "B5bUqkYPIw8")),))


@pytest.mark.parametrize(
    "change",
    [changed_title, changed_link, changed_raw, changed_date, item_gone, staff_split, staff_merged],
)
def test_any_change_of_what_the_rule_reads_runs_it_again(tmp_path, ruled, change):
    episode_cache.group(items(), Overrides(), tmp_path)
    changed, overrides = change(items())

    grouped = episode_cache.group(changed, overrides, tmp_path)

    assert ruled == [1, 1]
    assert keys(grouped) == keys(rule(changed, overrides))
    assert keys(grouped) != keys(rule(items()))


def test_another_rapidfuzz_runs_the_rule_again(tmp_path, ruled, monkeypatch):
    episode_cache.group(items(), Overrides(), tmp_path)
    monkeypatch.setattr(episode_cache, "rapidfuzz_version", lambda: "another")

    episode_cache.group(items(), Overrides(), tmp_path)

    assert ruled == [1, 1]


def test_rapidfuzz_is_known_by_its_version_without_importing_it(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "rapidfuzz"
    fake.mkdir()
    (fake / "__init__.py").write_text('__version__ = "1.0"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "rapidfuzz", raising=False)
    first = episode_cache.rapidfuzz_version()
    (fake / "__init__.py").write_text('__version__ = "2.0"\n')

    assert episode_cache.rapidfuzz_version() != first
    assert "rapidfuzz" not in sys.modules


def stored_file(cache_home: Path) -> Path:
    (path,) = (cache_home / "showcase" / "episodes").glob("*.json")
    return path


@pytest.mark.parametrize(
    "episodes_stored",
    [
        "not a list",
        [],
        [[["youtube", VIDEO]]],  # items missing
        [[["youtube", "nichtda00000"]]],
        [[[1, 2]], [3]],
        "twice",
    ],
)
def test_a_stored_grouping_that_is_not_each_item_once_is_not_used(
    tmp_path, cache_home, ruled, episodes_stored
):
    episode_cache.group(items(), Overrides(), tmp_path)
    path = stored_file(cache_home)
    document = json.loads(path.read_text())
    if episodes_stored == "twice":
        episodes_stored = document["episodes"] + document["episodes"][:1]
    path.write_text(json.dumps({"inputs": document["inputs"], "episodes": episodes_stored}))

    grouped = episode_cache.group(items(), Overrides(), tmp_path)

    assert ruled == [1, 1] and keys(grouped) == keys(rule(items()))


@pytest.mark.parametrize("content", [b"", b'{"inputs": "', b"\xff", b"[]"])
def test_a_broken_cache_file_is_ignored(tmp_path, cache_home, ruled, content):
    episode_cache.group(items(), Overrides(), tmp_path)
    stored_file(cache_home).write_bytes(content)

    assert keys(episode_cache.group(items(), Overrides(), tmp_path)) == keys(rule(items()))
    assert ruled == [1, 1]


def test_a_raw_payload_that_is_no_json_document_is_grouped_without_the_cache(tmp_path, ruled):
    entries = [*items(), replace(fb_post("1_2"), raw={"when": object()})]

    episode_cache.group(entries, Overrides(), tmp_path)
    grouped = episode_cache.group(entries, Overrides(), tmp_path)

    assert ruled == [1, 1] and keys(grouped) == keys(rule(entries))


def test_each_output_folder_keeps_its_own_grouping(tmp_path, ruled):
    episode_cache.group(items(), Overrides(), tmp_path / "eins")
    episode_cache.group(items()[:2], Overrides(), tmp_path / "zwei")

    episode_cache.group(items(), Overrides(), tmp_path / "eins")
    episode_cache.group(items()[:2], Overrides(), tmp_path / "zwei")

    assert ruled == [1, 1]


def test_a_cache_folder_others_may_write_to_is_never_read(tmp_path, cache_home, ruled):
    episode_cache.group(items(), Overrides(), tmp_path)
    path = stored_file(cache_home)
    document = json.loads(path.read_text())
    document["episodes"] = [[key for episode in document["episodes"] for key in episode]]
    path.write_text(json.dumps(document))  # every item in one episode
    path.parent.chmod(0o777)

    grouped = episode_cache.group(items(), Overrides(), tmp_path)

    assert keys(grouped) == keys(rule(items()))


def as_text(entries):
    """The items as `reads` hands them out of SQLite: each payload JSON text (RawJson)."""
    return [replace(entry, raw=RawJson.of(entry.raw)) for entry in entries]


@pytest.fixture
def decodings(monkeypatch) -> list[str]:
    """One entry per payload decoded."""
    seen: list[str] = []
    decoded = RawJson.decoded

    def counting(self):
        seen.append(self.text)
        return decoded(self)

    monkeypatch.setattr(RawJson, "decoded", counting)
    return seen


def test_a_kept_grouping_decodes_no_payload(tmp_path, ruled, decodings):
    episode_cache.group(as_text(items()), Overrides(), tmp_path)
    decodings.clear()

    grouped = episode_cache.group(as_text(items()), Overrides(), tmp_path)

    assert ruled == [1] and decodings == []
    assert keys(grouped) == keys(rule(items()))


def test_the_rule_reads_each_payload_as_text_decoded_once(tmp_path, ruled, decodings):
    entries = as_text(items())

    grouped = episode_cache.group(entries, Overrides(), tmp_path)

    assert sorted(decodings) == sorted(entry.raw.text for entry in entries)
    assert keys(grouped) == keys(rule(items()))
    assert all(item in entries for episode in grouped for item in episode)  # the items given


def test_a_payload_changed_in_its_text_runs_the_rule_again(tmp_path, ruled):
    episode_cache.group(as_text(items()), Overrides(), tmp_path)
    changed = as_text(items())
    changed[2] = replace(changed[2], raw=RawJson('{"message": "Neue Folge"}'))

    grouped = episode_cache.group(changed, Overrides(), tmp_path)

    assert ruled == [1, 1]
    assert keys(grouped) == keys(rule([replace(e, raw=e.raw.decoded()) for e in changed]))
