"""The card cache: a card's HTML kept between renders, under a key covering all it depends on.

What can be seen of it: a second render renders no card, its bytes are those of a render
without the cache, any changed input renders its cards again, and the cache file holds only
the last render's cards and is ignored when it is missing, broken or not ours."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from test_render import (
    GOLDEN_DIR,
    GOLDEN_NAMES,
    golden_showcase,
    many_videos,
    with_items,
)

from aggregator import cards, render
from aggregator.cards import CardCache
from aggregator.render import render_outputs, render_showcase
from aggregator.view import Showcase


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """The ids of the episodes whose card was rendered (not taken from a cache)."""
    episodes: list[str] = []
    render_card = render.CardRenderer.render

    def counting(self, episode, eager):
        episodes.append(episode.id)
        return render_card(self, episode, eager)

    monkeypatch.setattr(render.CardRenderer, "render", counting)
    return episodes


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def card_files(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "showcase" / "cards").glob("*.json"))


def held_cards(path: Path) -> dict[str, str]:
    decoded = cards.decode(path.read_bytes())
    assert decoded is not None
    return decoded[0]


def test_a_second_render_renders_no_card_and_writes_the_same_bytes(tmp_path, cache_home, rendered):
    output = tmp_path / "public"
    render_showcase(golden_showcase(), output)
    first = {name: (output / name).read_bytes() for name in GOLDEN_NAMES}
    assert rendered  # each card once for index.html, once for fragment.html and embed.html
    rendered.clear()

    render_showcase(golden_showcase(), output)

    assert rendered == []
    assert {name: (output / name).read_bytes() for name in GOLDEN_NAMES} == first


def test_feed_json_items_come_from_the_cache(monkeypatch):
    showcase = replace(golden_showcase(), base_url="https://example.org/showcase/")
    cache = warm(showcase)
    made: list[str] = []
    feed_item = render.feed_item
    monkeypatch.setattr(
        render, "feed_item", lambda e, base: made.append(e.id) or feed_item(e, base)
    )

    feed = render_outputs(showcase, cards=cache)["feed.json"]

    assert made == [] and feed == render_outputs(showcase)["feed.json"]
    assert json.loads(feed)["items"][0]["image"].startswith("https://example.org/showcase/")


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_output_from_a_warm_cache_matches_golden(tmp_path, cache_home, name):
    render_showcase(golden_showcase(), tmp_path)
    render_showcase(golden_showcase(), tmp_path)  # every card from the cache

    assert (tmp_path / name).read_text(encoding="utf-8") == (GOLDEN_DIR / name).read_text(
        encoding="utf-8"
    )


def warm(showcase: Showcase, template_dirs: list[Path] | None = None) -> CardCache:
    """A cache holding the showcase's cards, as the next render would load it."""
    cache = CardCache()
    render_outputs(showcase, template_dirs or [], cards=cache)
    return CardCache(None, cache.used, cache.used_templates)


def changed_by_title(showcase: Showcase) -> Showcase:
    first = showcase.episodes[0]
    return replace(showcase, episodes=[replace(first, title="Neu"), *showcase.episodes[1:]])


def changed_by_thumbnail(showcase: Showcase) -> Showcase:
    first = showcase.episodes[0]
    assert first.picture is not None and first.picture.thumbnail
    picture = replace(first.picture, thumbnail=None, thumbnail_variants=())
    shown = replace(
        first, picture=picture, lead=picture if first.lead == first.picture else first.lead
    )
    return replace(showcase, episodes=[shown, *showcase.episodes[1:]])


CHANGES = {
    "title": changed_by_title,
    "thumbnail": changed_by_thumbnail,
    "locale": lambda showcase: replace(showcase, locale="en_US"),
    "time zone": lambda showcase: replace(showcase, timezone="America/New_York"),
    "base_url": lambda showcase: replace(showcase, base_url="https://example.org/anders/"),
    "privacy_url": lambda showcase: replace(showcase, privacy_url="https://example.org/ds"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_changed_input_renders_its_cards_again(change, rendered):
    showcase = golden_showcase()
    cache = warm(showcase)
    changed = CHANGES[change](showcase)
    rendered.clear()

    outputs = render_outputs(changed, cards=cache)

    assert rendered  # not one of the old cards served
    assert outputs == render_outputs(changed)


def test_an_unchanged_card_is_kept_while_a_changed_one_is_rendered(rendered):
    showcase = golden_showcase()
    cache = warm(showcase)
    rendered.clear()

    render_outputs(changed_by_title(showcase), cards=cache)

    assert set(rendered) == {showcase.episodes[0].id}


def test_a_changed_template_renders_the_cards_again(tmp_path, rendered):
    (tmp_path / "_item.html").write_text('<article data-episode="{{ episode.id }}">eins</article>')
    cache = warm(golden_showcase(), [tmp_path])
    (tmp_path / "_item.html").write_text('<article data-episode="{{ episode.id }}">zwei</article>')
    rendered.clear()

    html = render_outputs(golden_showcase(), [tmp_path], cards=cache)["index.html"]

    assert rendered and b">zwei<" in html and b">eins<" not in html


def test_a_site_template_reading_the_whole_showcase_is_keyed_by_it(tmp_path, rendered):
    (tmp_path / "_item.html").write_text(
        '{% extends "default:_item.html" %}'
        "{% block links %}{{ showcase.generated_at }}{{ super() }}{% endblock %}"
    )
    showcase = golden_showcase()
    cache = warm(showcase, [tmp_path])
    later = replace(showcase, generated_at=showcase.generated_at.replace(year=2030))
    rendered.clear()

    outputs = render_outputs(later, [tmp_path], cards=cache)

    assert rendered and outputs == render_outputs(later, [tmp_path])


def test_the_packaged_card_template_reads_what_its_key_covers():
    env = render.make_environment([], render.Formats.for_showcase(golden_showcase()))
    sources = render.template_sources(env, render.ITEM_TEMPLATE, CardCache())

    assert sources is not None
    _, read = sources
    context = render.page_context(golden_showcase(), "index", [], 1, "de", "")
    assert read & set(context) == {"base", "heading_level", "privacy_href"}
    assert {"episode", "eager"} <= read


def test_a_card_template_naming_a_template_at_render_time_is_not_cached(tmp_path, rendered):
    (tmp_path / "_item.html").write_text('{% include episode.lead.source ~ ".html" %}')
    (tmp_path / "youtube.html").write_text("<article>{{ episode.id }}</article>")
    (tmp_path / "facebook.html").write_text("<article>fb</article>")
    (tmp_path / "website.html").write_text("<article>web</article>")
    cache = warm(golden_showcase(), [tmp_path])
    rendered.clear()

    render_outputs(golden_showcase(), [tmp_path], cards=cache)

    # every card rendered again (index.html's and the fragment's); feed.xml's entries kept
    assert len(rendered) == 2 * len(golden_showcase().episodes)


def test_only_the_last_renders_cards_are_kept(tmp_path, cache_home):
    output = tmp_path / "public"
    render_showcase(with_items(golden_showcase(), many_videos(30)), output)
    (path,) = card_files(cache_home)
    assert len(held_cards(path)) == 4 * 30  # index, fragment, feed.xml, feed.json

    render_showcase(with_items(golden_showcase(), many_videos(3)), output)

    assert len(held_cards(path)) == 4 * 3


FORMAT = f'"format":{cards.CACHE_FORMAT}'.encode()
BROKEN = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "header cut": lambda data: data[:50],
    "not UTF-8": lambda data: b"\xff\xfe",
    "a list": lambda data: b"[]\n",
    "another format": lambda data: data.replace(FORMAT, b'"format":1', 1),
    "wrong shapes": lambda data: b"{" + FORMAT + b',"cards":{},"templates":[]}\n',
    "negative length": lambda data: b"{" + FORMAT + b',"templates":{},"cards":[["k",-1]]}\nx',
    "a character cut": lambda data: (
        b"{" + FORMAT + b',"templates":{},"cards":[["a",1],["b",1]]}\n' + "ä".encode()
    ),
    "more than it says": lambda data: data + b"x",
}


@pytest.mark.parametrize("broken", BROKEN)
def test_a_broken_or_foreign_cache_file_is_ignored(tmp_path, cache_home, broken, rendered):
    output = tmp_path / "public"
    render_showcase(golden_showcase(), output)
    (path,) = card_files(cache_home)
    path.write_bytes(BROKEN[broken](path.read_bytes()))
    rendered.clear()

    render_showcase(golden_showcase(), output)

    assert rendered  # rendered again, and the cache mended
    assert held_cards(path)
    assert (output / "index.html").read_bytes() == (GOLDEN_DIR / "index.html").read_bytes()


def cached_card_path(tmp_path: Path, cache_home: Path) -> Path:
    render_showcase(golden_showcase(), tmp_path / "public")
    (path,) = card_files(cache_home)
    return path


def test_a_cache_folder_others_may_write_to_is_never_read(tmp_path, cache_home):
    path = cached_card_path(tmp_path, cache_home)
    planted = {key: "<script>planted</script>" for key in held_cards(path)}
    path.write_bytes(b"".join(cards.encode(planted, {})))
    path.parent.chmod(0o777)

    render_showcase(golden_showcase(), tmp_path / "public")

    assert b"planted" not in (tmp_path / "public" / "index.html").read_bytes()


def test_a_cache_that_cannot_be_written_only_costs_the_next_render(tmp_path, cache_home):
    path = cached_card_path(tmp_path, cache_home)
    path.unlink()
    path.mkdir()  # the file's place taken: writing it fails

    render_showcase(replace(golden_showcase(), title="Neu"), tmp_path / "public")

    assert b"Neu" in (tmp_path / "public" / "index.html").read_bytes()


def test_cache_files_of_folders_not_rendered_for_a_month_are_removed(tmp_path, cache_home):
    path = cached_card_path(tmp_path, cache_home)
    old = path.with_name("0" * 40 + ".json")
    old.write_text("{}")
    month_ago = old.stat().st_mtime - (cards.UNUSED_DAYS + 1) * 86400
    os.utime(old, (month_ago, month_ago))

    render_showcase(changed_by_title(golden_showcase()), tmp_path / "public")  # a save

    assert card_files(cache_home) == [path]


def test_a_cache_file_holds_any_text_as_it_was():
    held = {"a": "Glühen 🔥\n</article>", "b": "", "c": "\ud800 allein", "d": '"\\'}
    templates = {"digest": [["episode"], []]}

    assert cards.decode(b"".join(cards.encode(held, templates))) == (held, templates)


def test_a_cached_card_is_printed_without_control_characters_as_a_fresh_one(tmp_path):
    # Values lose theirs as the card prints them; a template's own text is cleaned by the page.
    (tmp_path / "_item.html").write_text(
        '<article data-episode="{{ episode.id }}">Glut\x01 und\x7f {{ episode.title }}</article>'
    )
    first = golden_showcase().episodes[0]
    dirty = replace(first, title="Fläche\x0b mit\x9f")
    showcase = replace(golden_showcase(), episodes=[dirty, *golden_showcase().episodes[1:]])
    cache = warm(showcase, [tmp_path])

    outputs = render_outputs(showcase, [tmp_path], cards=cache)

    assert outputs == render_outputs(showcase, [tmp_path])
    assert "Glut und Fläche mit".encode() in outputs["index.html"]
    assert not any(control in outputs["fragment.html"] for control in (b"\x01", b"\x7f", b"\x0b"))
