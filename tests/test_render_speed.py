"""What the render's shortcuts change that can be seen: each card rendered once for the pages
that share it, the template bytecode cached outside the output folder, unchanged files not
rewritten. How fast it is lives in bench/, never here."""

from __future__ import annotations

import errno
import gc
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import jinja2.runtime
import pytest
from conftest import write_config
from jinja2 import Environment
from test_render import golden_showcase

from aggregator import cli, cycles, files, jobs, render
from aggregator.render import render_outputs
from aggregator.thumbnail_files import ThumbnailFiles


def test_each_card_is_rendered_once_for_the_fragment_and_embed_html(tmp_path, monkeypatch):
    (tmp_path / "_item.html").write_text(
        '{% extends "default:_item.html" %}\n'
        "{% block links %}{{ rendered() }}{{ super() }}{% endblock %}\n",
        encoding="utf-8",
    )
    renders: list[int] = []
    make_environment = render.make_environment

    def counting_environment(template_dirs: Sequence[Path], formats: render.Formats) -> Environment:
        env = make_environment(template_dirs, formats)
        env.globals["rendered"] = lambda: renders.append(1) or ""
        return env

    monkeypatch.setattr(render, "make_environment", counting_environment)
    showcase = golden_showcase()

    outputs = render_outputs(showcase, [tmp_path])

    # index.html has cards of its own (its headings are a level higher, its links relative);
    # fragment.html and embed.html share theirs.
    assert len(renders) == 2 * len(showcase.episodes)
    fragment = outputs["fragment.html"].decode()
    assert all(card in outputs["embed.html"].decode() for card in fragment.split("<article")[1:])


# --- the template bytecode cache ---------------------------------------------------------------


def cached_templates(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "showcase" / "templates").glob("*.jinja"))


def test_compiled_templates_are_kept_in_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = render_outputs(golden_showcase())

    kept = cached_templates(tmp_path / "cache")
    assert len(kept) >= 5  # index, base, fragment, _item, _style, ...
    assert render_outputs(golden_showcase()) == first  # from the cache: the same bytes
    assert cached_templates(tmp_path / "cache") == kept


def test_a_site_template_still_overrides_a_cached_one(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    render_outputs(golden_showcase())  # the packaged _item.html compiled and cached
    site = tmp_path / "site"
    site.mkdir()
    item = site / "_item.html"
    item.write_text('<article class="site-item">eins</article>\n', encoding="utf-8")

    assert b'class="site-item">eins<' in render_outputs(golden_showcase(), [site])["index.html"]
    item.write_text('<article class="site-item">zwei</article>\n', encoding="utf-8")
    html = render_outputs(golden_showcase(), [site])["index.html"]
    assert b'class="site-item">zwei<' in html and b"eins" not in html
    assert b"showcase__item" in render_outputs(golden_showcase())["index.html"]


@pytest.mark.parametrize("unusable", ["a file", "open to others"])
def test_an_unusable_cache_folder_only_means_no_cache(tmp_path, monkeypatch, unusable):
    cache_home = tmp_path / "cache"
    if unusable == "a file":
        cache_home.write_text("", encoding="utf-8")
    else:
        (cache_home / "showcase" / "templates").mkdir(parents=True)
        (cache_home / "showcase" / "templates").chmod(0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))

    assert render_outputs(golden_showcase())["index.html"].startswith(b"<!doctype html>")
    assert render.template_cache() is None
    if unusable != "a file":
        assert cached_templates(cache_home) == []


def test_the_cache_is_never_in_the_output_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    render.render_showcase(golden_showcase(), tmp_path / "public")

    assert not [p for p in (tmp_path / "public").rglob("*") if p.suffix in (".jinja", ".cache")]


# --- files whose content is unchanged are not rewritten ---------------------------------------


def generation_of(output: Path) -> str:
    return os.readlink(output / files.GENERATIONS_DIR / files.CURRENT_LINK)


def mtimes(output: Path) -> dict[str, int]:
    names = ("index.html", "feed.json", "feed.xml", "history.json")
    paths = [output / name for name in names] + sorted((output / "badges").iterdir())
    return {str(path.relative_to(output)): path.stat().st_mtime_ns for path in paths}


def back_in_time(output: Path) -> None:
    """Every file of the current generation an hour older, so a rewrite cannot hide in the
    file system's timestamp granularity."""
    for path in (output / files.GENERATIONS_DIR / generation_of(output)).rglob("*"):
        if path.is_file():
            os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 3600 * 10**9))


def test_a_render_of_the_same_outputs_makes_no_new_generation(tmp_path):
    output = tmp_path / "public"
    render.render_showcase(golden_showcase(), output)
    back_in_time(output)
    before, generation = mtimes(output), generation_of(output)

    render.render_showcase(golden_showcase(), output)

    assert generation_of(output) == generation
    assert mtimes(output) == before
    assert sorted(p.name for p in (output / files.GENERATIONS_DIR).iterdir()) == sorted(
        [files.CURRENT_LINK, generation]
    )


def test_unchanged_files_keep_their_mtime_and_a_changed_one_switches_the_generation(tmp_path):
    output = tmp_path / "public"
    showcase = golden_showcase()
    render.render_showcase(showcase, output)
    back_in_time(output)
    before, generation = mtimes(output), generation_of(output)

    later = replace(showcase, generated_at=showcase.generated_at + timedelta(hours=1))
    render.render_showcase(later, output)

    assert generation_of(output) != generation  # the whole generation switched
    after = mtimes(output)
    assert after["index.html"] > before["index.html"]  # "Stand der Seite" changed
    kept = [name for name in after if name == "feed.json" or name.startswith("badges/")]
    assert len(kept) > 1 and {name: after[name] for name in kept} == {
        name: before[name] for name in kept
    }
    outputs = render.render_outputs(later)
    assert {name: (output / name).read_bytes() for name in outputs} == outputs
    assert sorted(p.name for p in (output / files.GENERATIONS_DIR).iterdir()) == sorted(
        [files.CURRENT_LINK, generation_of(output)]
    )


def test_unchanged_files_are_copied_where_hard_links_fail(tmp_path, monkeypatch):
    output = tmp_path / "public"
    showcase = golden_showcase()
    render.render_showcase(showcase, output)

    def no_links(source: Path, target: Path) -> None:
        raise OSError(errno.EPERM, "no hard links here")

    monkeypatch.setattr(files.os, "link", no_links)
    later = replace(showcase, generated_at=showcase.generated_at + timedelta(hours=1))
    render.render_showcase(later, output)

    outputs = render.render_outputs(later)
    assert {name: (output / name).read_bytes() for name in outputs} == outputs


def test_thumbnail_files_answer_as_the_folder_does(tmp_path):
    """A render lists thumbs/ once instead of asking about each copy: the listing must say
    what a stat call would."""
    thumbs = tmp_path / "thumbs"
    thumbs.mkdir()
    (thumbs / "youtube-a.jpg").write_bytes(b"x")
    (thumbs / "youtube-a.w320.webp").mkdir()  # a folder by a file's name is no file
    (tmp_path / "elsewhere.jpg").write_bytes(b"x")
    files = ThumbnailFiles(tmp_path)
    asked = ["thumbs/youtube-a.jpg", "thumbs/youtube-a.w320.webp", "thumbs/missing.jpg"]
    asked += ["elsewhere.jpg", "thumbs/sub/youtube-a.jpg"]
    assert [files.exists(path) for path in asked] == [(tmp_path / p).is_file() for p in asked]
    assert [files.exists(path) for path in asked] == [True, False, False, True, False]
    assert not ThumbnailFiles(tmp_path / "no-such-folder").exists("thumbs/youtube-a.jpg")


def test_the_cycle_collector_is_paused_while_a_render_builds_and_writes(
    config, engine, monkeypatch
):
    seen: list[bool] = []
    build, write = jobs.build_showcase, jobs.render_showcase

    def watched(function):
        def call(*args, **kwargs):
            seen.append(gc.isenabled())
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(jobs, "build_showcase", watched(build))
    monkeypatch.setattr(jobs, "render_showcase", watched(write))

    jobs.render_output(engine, config)

    assert seen == [False, False]
    assert gc.isenabled()


def test_the_render_command_imports_and_renders_with_the_collector_paused(tmp_path, monkeypatch):
    seen: list[bool] = []
    monkeypatch.setattr(jobs, "render_only", lambda config: seen.append(gc.isenabled()))

    assert cli.main(["--config", str(write_config(tmp_path, "http://127.0.0.1:9/")), "render"]) == 0

    assert seen == [False]
    assert gc.isenabled()


def test_a_paused_collector_is_left_as_it_was_found():
    with pytest.raises(KeyError), cycles.collector_paused():
        raise KeyError("a render that fails")
    assert gc.isenabled()

    gc.disable()
    try:
        with cycles.collector_paused():
            pass
        assert not gc.isenabled()  # off stays off
    finally:
        gc.enable()


def card_contexts() -> int:
    """Jinja contexts of cards still in memory (each holds the `episode` it was made for)."""
    return sum(
        1
        for thing in gc.get_objects()
        if isinstance(thing, jinja2.runtime.Context) and "episode" in thing.parent
    )


@pytest.mark.parametrize("every", [2, 10**9])
def test_card_contexts_caught_in_cycles_are_collected_during_a_paused_render(monkeypatch, every):
    # _item.html defines a macro: its closure holds the card's context, which holds it.
    monkeypatch.setattr(render, "CARDS_PER_COLLECTION", every)
    showcase = golden_showcase()
    gc.collect()
    with cycles.collector_paused():
        render_outputs(showcase)
        left = card_contexts()
    gc.collect()
    cards = len(showcase.episodes)
    assert cards >= 4
    if every == 2:
        assert left < every
    else:  # without the collections every card's context would stay until the render ends
        assert left >= cards


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(
    cycles._malloc_trim() is None or not Path("/proc/self/status").exists(),
    reason="malloc_trim is glibc's, RSS is read from /proc",
)
def test_freed_heap_pages_are_given_back_before_the_render():
    # 60 MB in 1 kB blocks (the C heap's, not Python's small-object arenas), one in a hundred
    # kept: the heap cannot shrink from its top, only malloc_trim hands the pages back.
    blocks = [os.urandom(1024) for _ in range(60_000)]
    kept = blocks[::100]
    del blocks
    before = resident_mb()
    cycles.give_back_memory()
    after = resident_mb()
    assert len(kept) == 600
    assert before - after > 20
