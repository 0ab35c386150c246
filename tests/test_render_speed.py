"""What the render's shortcuts change that can be seen: each card rendered once for the pages
that share it, the template bytecode cached outside the output folder, unchanged files not
rewritten. How fast it is lives in bench/, never here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
