"""Render a `Showcase` (see `view.py`) into the output directory.

Four files come out, each written atomically: `index.html` (standalone page), `fragment.html`
(the same showcase for embedding, styles scoped under `.showcase`), `figures.json` and
`feed.json` (JSON Feed 1.1). Everything is rendered to bytes first and written afterwards, so a
template error leaves the previous output untouched.

Templates (package folder `templates/`, overridable per site, Datasette-style):

- `base.html`: the page shell of `index.html` (blocks `title`, `head`, `content`).
- `index.html`: extends `base.html` and includes `fragment.html`.
- `fragment.html`: the showcase's one root element `<section class="showcase">`.
- `_figures.html`, `_item.html` (blocks `media`, `heading`, `meta`, `description`, `links`;
  besides `item` it sets `platform`, `link`, `thumb` and `playable` for those blocks),
  `_style.html` (the scoped stylesheet), `_script.html` (click-to-play, event delegation).

A site's template folders come first; a site template can extend the packaged one it replaces
with `{% extends "default:_item.html" %}`.

Every template gets the same context:

- `showcase`: the `Showcase` view model, items already in display order (pins first, then
  newest first) and never re-sorted here.
- `page`: `"index"` or `"fragment"`.
- `heading_level`: 1 in `index.html`, 2 in `fragment.html` (the host page has its own `<h1>`).
- `language`: the locale's language, e.g. `"de"`.

Filters: `count` (1.310), `local_date` (27.06.2017), `local_datetime` (26.11.2026, 06:00),
`duration` (3:12, 1:02:03), `iso` (ISO-8601 UTC), `iso_duration` (PT3M12S), `web_url` (the URL
when http(s), else None), `local_src` (the path when it points into the output directory, else
None: nothing may load from a third-party host). Globals: `source_label("youtube")` ->
"YouTube", `player_provider(embed_url)` -> (platform, company) named in the privacy notice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)

from .files import write_atomic
from .view import ItemView, Showcase

INDEX_FILE = "index.html"
FRAGMENT_FILE = "fragment.html"
FIGURES_FILE = "figures.json"
FEED_FILE = "feed.json"

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
DATE_PATTERN = "dd.MM.yyyy"
DATETIME_PATTERN = "dd.MM.yyyy, HH:mm"

SOURCE_LABELS = {"youtube": "YouTube", "facebook": "Facebook", "website": "Website"}

# Who receives the visitor's data once a player loads, by the embed URL's host.
PLAYER_PROVIDERS = {
    "youtube-nocookie.com": ("YouTube", "Google"),
    "youtube.com": ("YouTube", "Google"),
    "youtu.be": ("YouTube", "Google"),
    "facebook.com": ("Facebook", "Meta"),
    "fb.watch": ("Facebook", "Meta"),
    "vimeo.com": ("Vimeo", "Vimeo"),
}

_REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render_showcase(
    showcase: Showcase, output_dir: Path, template_dirs: Sequence[Path] = ()
) -> list[Path]:
    """Render all output files into `output_dir` (created if missing); return the paths written."""
    outputs = render_outputs(showcase, template_dirs)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in outputs.items():
        path = output_dir / name
        write_atomic(path, data)
        written.append(path)
    return written


def render_outputs(showcase: Showcase, template_dirs: Sequence[Path] = ()) -> dict[str, bytes]:
    """Every output file's name and content, without touching the disk."""
    env = make_environment(template_dirs, Formats.for_showcase(showcase))
    language = Locale.parse(showcase.locale).language
    pages = {INDEX_FILE: ("index", 1), FRAGMENT_FILE: ("fragment", 2)}
    outputs: dict[str, bytes] = {}
    for name, (page, heading_level) in pages.items():
        html = env.get_template(name).render(
            showcase=showcase, page=page, heading_level=heading_level, language=language
        )
        outputs[name] = html.encode("utf-8")
    outputs[FIGURES_FILE] = json_bytes(figures_document(showcase))
    outputs[FEED_FILE] = json_bytes(feed_document(showcase, language))
    return outputs


def packaged_templates() -> BaseLoader:
    """The default templates: inside the installed wheel, else the source checkout's folder."""
    if resources.files("aggregator").joinpath("templates").is_dir():
        return PackageLoader("aggregator", "templates")
    return FileSystemLoader(_REPO_TEMPLATES)


def make_environment(template_dirs: Sequence[Path], formats: Formats) -> Environment:
    defaults = packaged_templates()
    site = [FileSystemLoader([str(d) for d in template_dirs])] if template_dirs else []
    env = Environment(
        loader=ChoiceLoader([*site, defaults, PrefixLoader({"default": defaults}, delimiter=":")]),
        autoescape=select_autoescape(("html", "htm", "xml"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        count=formats.count,
        local_date=formats.local_date,
        local_datetime=formats.local_datetime,
        duration=format_duration,
        iso=iso_utc,
        iso_duration=iso_duration,
        web_url=web_url,
        local_src=local_src,
    )
    env.globals.update(source_label=source_label, player_provider=player_provider)
    return env


@dataclass(frozen=True)
class Formats:
    """Locale- and timezone-bound formatting, exposed to templates as filters."""

    locale: Locale
    timezone: ZoneInfo

    @classmethod
    def for_showcase(cls, showcase: Showcase) -> Formats:
        return cls(Locale.parse(showcase.locale), ZoneInfo(showcase.timezone))

    def count(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def local_date(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = as_utc(value).astimezone(self.timezone).date()
        return format_date(value, DATE_PATTERN, locale=self.locale)

    def local_datetime(self, value: datetime) -> str:
        local = as_utc(value).astimezone(self.timezone)
        return format_datetime(local, DATETIME_PATTERN, locale=self.locale)


def format_duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def iso_duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return f"PT{parts}{secs}S" if secs or not parts else f"PT{parts}"


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="seconds")


def web_url(url: str | None) -> str | None:
    """Only http(s) links reach an href: a `javascript:` URL from an API must never be clickable."""
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


def local_src(path: str | None) -> str | None:
    """Only paths inside the output directory may load: an absolute URL would leak the visit."""
    if not path:
        return None
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith(("/", "\\")):
        return None
    return path


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source.capitalize())


def player_provider(embed_url: str) -> tuple[str, str]:
    """(platform, company) that the privacy notice names for a player at `embed_url`."""
    host = (urlsplit(embed_url).hostname or "").lower()
    for domain, provider in PLAYER_PROVIDERS.items():
        if host == domain or host.endswith("." + domain):
            return provider
    return host, host


def figures_document(showcase: Showcase) -> dict[str, Any]:
    return {
        "generated_at": iso_utc(showcase.generated_at),
        "figures": [
            {
                "key": figure.key,
                "label": figure.label,
                "value": figure.value,
                "as_of": iso_utc(figure.as_of) if figure.as_of else None,
                "stale": figure.stale,
            }
            for figure in showcase.figures
        ],
    }


def feed_document(showcase: Showcase, language: str) -> dict[str, Any]:
    """JSON Feed 1.1. `image` is the thumbnail's path relative to the feed (the output
    directory): the renderer does not know the public URL the folder is served under."""
    feed: dict[str, Any] = {"version": JSON_FEED_VERSION, "title": showcase.title}
    if showcase.home_url:
        feed["home_page_url"] = showcase.home_url
    if showcase.intro:
        feed["description"] = showcase.intro
    feed["language"] = language
    feed["items"] = [feed_item(item) for item in showcase.items]
    return feed


def feed_item(item: ItemView) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": f"{item.source}:{item.platform_id}"}
    if web_url(item.url):
        entry["url"] = item.url
    if item.title:
        entry["title"] = item.title
    entry["content_text"] = item.description
    entry["date_published"] = iso_utc(item.published_at)
    thumbnail = local_src(item.thumbnail)
    if thumbnail:
        entry["image"] = thumbnail
    entry["_showcase"] = {"source": item.source, "id": item.platform_id}
    return entry


def json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
