"""What the render's shortcuts change that can be seen: each card rendered once for the pages
that share it, the template bytecode cached outside the output folder, unchanged files not
rewritten. How fast it is lives in bench/, never here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from jinja2 import Environment
from test_render import golden_showcase

from aggregator import render
from aggregator.render import render_outputs


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
