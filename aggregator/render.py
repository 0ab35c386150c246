"""Render a `Showcase` (see `view.py`) into the output directory.

Everything is rendered to bytes first and written afterwards as one generation, switched in
at once, so a template error leaves the previous output untouched and a reader never sees
files of two renders side by side. What comes out:

- `index.html`: the standalone page with every showcase episode (the contract's "full
  showcase page"), one card each. The first `GROUP_SIZE` cards show; each further group sits
  in a nested `<details>` whose summary reads "Weitere Videos", so paging needs no script and
  the images of closed groups are never loaded (they are lazy and not rendered).
- `fragment.html`: the same showcase for embedding: one root `<section class="showcase">`, its
  styles and script inside it, no ids. `embed.html`: the same in a page of its own for an
  iframe; it posts its height to the host page (`_embed_height.html`).
- `figures.json`, `feed.json` (JSON Feed 1.1), `feed.xml` (Atom 1.0), `history.json`. The
  feeds have one entry per episode, with every item's link.
- `badges/KEY.json` (a shields.io endpoint document) and `badges/KEY.svg` (the same badge,
  drawn here: nothing is asked of shields.io) for every figure.

Paths into the output folder (thumbnails, the privacy section) are relative in the pages, and
prefixed with `Showcase.base_url` (config `output.base_url`) in the fragment, embed.html and the
feeds when it is set: those are read from somewhere else.

Templates (package folder `templates/`, overridable per site, Datasette-style):

- `base.html`: the page shell (blocks `title`, `head`, `body`, `content`).
- `index.html` and `embed.html`: extend `base.html` and include `fragment.html`.
- `fragment.html`: the showcase's one root element.
- `_figures.html`, `_item.html`: one episode's card (blocks `media`, `heading`, `meta`,
  `description`, `links`; besides `episode` it sets `item`, the lead, and the lead's
  `platform`, `link`, `thumb` and `playable` for those blocks; every item of the episode is
  one element in `links`, carrying its `data-source` and `data-id`),
  `_privacy.html`, `_style.html` (the scoped stylesheet), `_script.html`
  (click-to-play, event delegation), `feed.xml` (one `_feed_entry.xml` per episode, through
  `entry(episode)`, kept like a card), `badge.svg`.

A site's template folders come first; a site template can extend the packaged one it replaces
with `{% extends "default:_item.html" %}`.

Every HTML template gets the same context:

- `showcase`: the `Showcase` view model, episodes already in display order (pins first, then
  newest first) and never re-sorted here.
- `page`: `"index"`, `"fragment"` or `"embed"`.
- `groups`: the episodes in groups of `GROUP_SIZE`; the first is shown, the others fold away.
- `heading_level`: 1 in the pages, 2 in the fragment and embed.html (the host has its `<h1>`).
- `language`: the locale's language, e.g. `"de"`.
- `base`: "" or the base URL to put before a path into the output folder.
- `privacy_href`: where each play button's "Datenschutz" link points.
- `card(episode, eager=False)`: the episode's `_item.html` (with `episode`, `item` its lead,
  and `eager`, true for the page's first card), rendered once per render and kept:
  fragment.html and embed.html share their cards, which see `page` "fragment" in both.
  A render keeps its cards for the next (`cards.CardCache`, in the user's cache folder), each
  under a digest of everything its HTML depends on (`cards.CardKeys`): the template sources
  and the names they read, the episode, the page's values, the code behind the filters.

Filters: `count` (1.310), `local_date` (27.06.2017), `local_datetime` (26.11.2026, 06:00),
`duration` (3:12, 1:02:03), `iso` (ISO-8601 UTC), `iso_duration` (PT3M12S), `web_url` (the URL
when http(s), else None), `local_src` (the path when it points into the output directory, else
None: nothing may load from a third-party host), `compact_css`, `compact_js`, `xml_text`.
Globals: `source_label("youtube")` -> "YouTube", `link_label(item)` -> "Auf YouTube ansehen",
"Interview lesen", "Beitrag auf Facebook", `player_provider(embed_url)` -> (platform,
company) named in the privacy notice, `variants_of(item, "image/webp")` -> the item's resized
thumbnails of that type.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import babel
import jinja2
from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    meta,
    select_autoescape,
)
from jinja2.bccache import Bucket
from markupsafe import Markup

from . import figures
from .cards import CardCache, CardKeys, TemplateNames, cache_file, digest
from .files import write_generation
from .history import HISTORY_FILE, history_json
from .user_cache import private_cache_folder
from .view import EpisodeView, FigureView, ItemView, Showcase, ThumbnailVariant

INDEX_FILE = "index.html"
FRAGMENT_FILE = "fragment.html"
EMBED_FILE = "embed.html"
ITEM_TEMPLATE = "_item.html"
ENTRY_TEMPLATE = "_feed_entry.xml"
FIGURES_FILE = "figures.json"
FEED_FILE = "feed.json"
ATOM_FILE = "feed.xml"
BADGES_DIR = "badges"
GROUP_SIZE = 24
DESCRIPTION_CHARS = 120  # the card shows three lines; the rest would only weigh
# YouTube allows 100 characters (https://developers.google.com/youtube/v3/docs/videos#snippet.title);
# WordPress and Facebook set no limit. A long word is kept whole (test_render), a megabyte is not.
TITLE_CHARS = 10_000
# The grid's card width, for the browser to pick a thumbnail from the srcset.
THUMBNAIL_SIZES = "(min-width:40em) 20em,100vw"

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


@functools.cache  # read once a process: the code it runs does not change under it either
def card_code() -> tuple[bytes, ...]:
    """The code behind the filters and globals a card uses, and the view models it reads."""
    names = ("render.py", "figures.py", "view.py")
    return tuple(Path(__file__).with_name(name).read_bytes() for name in names)


def group_episodes(
    episodes: Sequence[EpisodeView], size: int = GROUP_SIZE
) -> list[Sequence[EpisodeView]]:
    return [episodes[start : start + size] for start in range(0, len(episodes), size)]


def render_showcase(
    showcase: Showcase,
    output_dir: Path,
    template_dirs: Sequence[Path] = (),
    group_size: int = GROUP_SIZE,
) -> list[Path]:
    """Render all output files into `output_dir` (created if missing); return the paths written.

    They are written as one generation (see `files.write_generation`): a reader sees all of
    this render's files or all of the previous one's; badges of figures gone are gone."""
    output_dir = Path(output_dir)
    cards = card_cache(output_dir)
    outputs = render_outputs(showcase, template_dirs, group_size, cards)
    write_generation(output_dir, outputs)
    written = [output_dir / name for name in outputs]
    del outputs  # the pages' bytes (4 MB on bench's site) are not kept while the cards are saved
    cards.save()
    return written


def card_cache(output_dir: Path) -> CardCache:
    """The cards of the output folder's last render. They live in the user's cache
    ($XDG_CACHE_HOME/showcase/cards, like the template bytecode), not in the output folder's
    `.generations/`: there they would be published with it and swept with old generations.
    Without a private cache folder they are kept for this render only."""
    folder = private_cache_folder("cards")
    return CardCache.load(cache_file(folder, output_dir)) if folder else CardCache()


def render_outputs(
    showcase: Showcase,
    template_dirs: Sequence[Path] = (),
    group_size: int = GROUP_SIZE,
    cards: CardCache | None = None,
) -> dict[str, bytes]:
    """Every output file's name (relative to the output directory) and content; the cards
    come from `cards` when it holds them (see `CardRenderer`)."""
    formats = Formats.for_showcase(showcase)
    env = make_environment(template_dirs, formats)
    language = formats.locale.language
    groups = group_episodes(showcase.episodes, group_size)
    digests: dict[int, str] = {}  # each episode's, for every cache key of this render
    outputs = html_outputs(env, showcase, groups, language, cards, digests)
    outputs[FIGURES_FILE] = json_bytes(figures_document(showcase))
    outputs[FEED_FILE] = json_feed(showcase, language, cards, digests)
    outputs[ATOM_FILE] = atom_feed(env, showcase, language, cards, digests)
    outputs[HISTORY_FILE] = history_json(showcase)
    outputs.update(badge_outputs(env, showcase, formats))
    return outputs


def html_outputs(
    env: Environment,
    showcase: Showcase,
    groups: list[Sequence[EpisodeView]],
    language: str,
    cards: CardCache | None = None,
    digests: dict[int, str] | None = None,
) -> dict[str, bytes]:
    def render(
        template: str, page: str, heading_level: int, base: str, cards: CardRenderer
    ) -> bytes:
        context = page_context(showcase, page, groups, heading_level, language, base)
        return env.get_template(template).render(context, card=cards).encode("utf-8")

    outside = showcase.base_url or ""  # read from another page: absolute when known
    # fragment.html and embed.html hold the same cards: each is rendered once for both.
    fragment = page_context(showcase, "fragment", groups, 2, language, outside)
    index = page_context(showcase, "index", groups, 1, language, "")
    if cards is None:
        shared, own = CardRenderer(env, fragment), CardRenderer(env, index)
    else:
        shared, own = cached_renderers(env, cards, ITEM_TEMPLATE, [fragment, index], digests)
    return {
        INDEX_FILE: render(INDEX_FILE, "index", 1, "", own),
        FRAGMENT_FILE: render(FRAGMENT_FILE, "fragment", 2, outside, shared),
        EMBED_FILE: render(EMBED_FILE, "embed", 2, outside, shared),
    }


def cached_renderers(
    env: Environment,
    cards: CardCache,
    template: str,
    contexts: Sequence[dict[str, Any]],
    digests: dict[int, str] | None = None,
) -> list[CardRenderer]:
    """A `CardRenderer` of `template` for each context, taking its parts from `cards`; the
    template is read once for all of them and each episode digested once (`digests`)."""
    sources = template_sources(env, template, cards)
    if sources is None:  # what the template reads is unknown: no cache
        return [CardRenderer(env, context, template=template) for context in contexts]
    texts, read = sources
    digests = {} if digests is None else digests
    return [
        CardRenderer(env, context, cards, card_keys(texts, read, context, digests), template)
        for context in contexts
    ]


def atom_feed(
    env: Environment,
    showcase: Showcase,
    language: str,
    cards: CardCache | None = None,
    digests: dict[int, str] | None = None,
) -> bytes:
    """feed.xml; each episode's entry (`_feed_entry.xml`) is kept in `cards` like a card."""
    context = atom_context(showcase, language)
    if cards is None:
        entry = CardRenderer(env, context, template=ENTRY_TEMPLATE)
    else:
        (entry,) = cached_renderers(env, cards, ENTRY_TEMPLATE, [context], digests)
    return env.get_template(ATOM_FILE).render(context, entry=entry).encode()


def page_context(
    showcase: Showcase,
    page: str,
    groups: list[Sequence[EpisodeView]],
    heading_level: int,
    language: str,
    base: str,
) -> dict[str, Any]:
    """What every HTML template gets (see the module's docstring), but `card`."""
    return {
        "showcase": showcase,
        "page": page,
        "groups": groups,
        "heading_level": heading_level,
        "language": language,
        "base": base,
        "privacy_href": privacy_href(showcase, page, base),
    }


# What a card's context adds to its page's (see `CardRenderer`).
CARD_VALUES = ("episode", "item", "eager")
# A card's template context lives in a reference cycle once the card defines a macro (the
# macro's closure holds the context that holds the macro): garbage that only the cycle
# collector frees, and a render pauses it (`cycles.collector_paused`). The young objects are
# collected every so many cards instead: 7 MB less at the end of bench's cold render.
CARDS_PER_COLLECTION = 250


class CardRenderer:
    """`card(episode, eager)` in the templates: the episode's `_item.html`, rendered once and
    kept, so that pages with the same card context (fragment.html and embed.html) share it
    (and `entry(episode)` in feed.xml: its `_feed_entry.xml`).
    With a `CardCache`, a card whose key (`cards.CardKeys`) it holds is taken from there."""

    def __init__(
        self,
        env: Environment,
        context: dict[str, Any],
        cache: CardCache | None = None,
        keys: CardKeys | None = None,
        template: str = ITEM_TEMPLATE,
    ) -> None:
        self.template = env.get_template(template)
        self.context = context
        self.rendered: dict[tuple[int, bool], Markup] = {}
        self.made = 0
        self.cache = cache
        self.keys = keys
        self.finalize = env.finalize

    def __call__(self, episode: EpisodeView, eager: bool = False) -> Markup:
        key = (id(episode), eager)  # the showcase holds every episode until the render ends
        card = self.rendered.get(key)
        if card is None:
            card = self.rendered[key] = self.cached(episode, eager)
        return card

    def cached(self, episode: EpisodeView, eager: bool) -> Markup:
        if self.cache is None or self.keys is None:
            return self.render(episode, eager)
        key = self.keys.key(episode, eager)
        html = self.cache.get(key)
        if html is None:  # kept as the pages print it: without control characters
            html = without_controls(self.render(episode, eager))
        finalize = self.finalize
        card = finalize.clean_markup(html) if isinstance(finalize, Finalize) else Markup(html)
        self.cache.replace(key, card)  # one copy of the card, in the cache and on the pages
        return card

    def render(self, episode: EpisodeView, eager: bool) -> Markup:
        context = self.context | {"episode": episode, "item": episode.lead, "eager": eager}
        self.made += 1
        if self.made % CARDS_PER_COLLECTION == 0:
            gc.collect(0)
        return Markup(self.template.render(context))


def card_keys(
    templates: list[bytes],
    read: set[str],
    context: dict[str, Any],
    episodes: dict[int, str] | None = None,
) -> CardKeys:
    """How the cards of one page are keyed (`cards.CardKeys`): by the card templates' sources
    and the values they read, the code behind the filters and the showcase's locale."""
    showcase: Showcase = context["showcase"]  # its locale and time zone make the filters
    environment = [
        *templates,
        *card_code(),
        f"{jinja2.__version__} {babel.__version__}".encode(),
        f"{showcase.locale} {showcase.timezone}".encode(),
    ]
    return CardKeys(environment, context, read, CARD_VALUES, episodes)


def template_sources(
    env: Environment, name: str, cards: CardCache
) -> tuple[list[bytes], set[str]] | None:
    """The sources of template `name` and of every template it extends, includes or imports,
    and the names of the variables they read from their context; None when one of those
    templates is named only at render time. What a source reads is kept in `cards`."""
    assert env.loader is not None  # make_environment gives it one
    sources: dict[str, bytes] = {}
    read: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in sources:
            continue
        source = env.loader.get_source(env, current)[0]
        sources[current] = f"{current}\n{source}".encode()
        source_digest = digest(sources[current]).hex()
        names = cards.template_names(source_digest)
        if names is None:
            names = template_names(env, source)
            cards.put_template_names(source_digest, names)
        if DYNAMIC in names[1]:
            return None
        read.update(names[0])
        pending.extend(names[1])
    return [sources[key] for key in sorted(sources)], read


DYNAMIC = ""  # in `template_names`: a template named only at render time


def template_names(env: Environment, source: str) -> TemplateNames:
    """The variables a template reads from its context and the templates it names."""
    tree = env.parse(source)
    named = [name or DYNAMIC for name in meta.find_referenced_templates(tree)]
    return sorted(meta.find_undeclared_variables(tree)), named


def privacy_href(showcase: Showcase, page: str, base: str) -> str:
    """The site's privacy notes when configured, else the page's own section (the fragment
    has no ids, which could clash in the host page: it links to the full page's section)."""
    if showcase.privacy_url:
        return showcase.privacy_url
    return "#datenschutz" if page == "index" else f"{base}{INDEX_FILE}#datenschutz"


def packaged_templates() -> BaseLoader:
    """The default templates: inside the installed wheel, else the source checkout's folder.
    The wheel's folder is looked for beside this module, which spares importing
    importlib.resources; PackageLoader also reads them from a zipped package."""
    if Path(__file__).with_name("templates").is_dir() or not _REPO_TEMPLATES.is_dir():
        return PackageLoader("aggregator", "templates")
    return FileSystemLoader(_REPO_TEMPLATES)


def make_environment(template_dirs: Sequence[Path], formats: Formats) -> Environment:
    defaults = packaged_templates()
    site = [FileSystemLoader([str(d) for d in template_dirs])] if template_dirs else []
    env = Environment(
        loader=ChoiceLoader([*site, defaults, PrefixLoader({"default": defaults}, delimiter=":")]),
        autoescape=select_autoescape(
            ("html", "htm", "xml", "svg"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=Finalize(),
        bytecode_cache=template_cache(),
    )
    env.filters.update(
        count=formats.count,
        local_date=formats.local_date,
        local_datetime=formats.local_datetime,
        local_iso_date=formats.local_iso_date,
        duration=format_duration,
        iso=iso_utc,
        iso_duration=iso_duration,
        web_url=web_url,
        local_src=local_src,
        compact_css=compact_css,
        compact_js=compact_js,
        xml_text=xml_text,
    )
    env.globals.update(
        source_label=source_label,
        link_label=link_label,
        player_provider=player_provider,
        variants_of=variants_of,
        entry_id=entry_id,
        DESCRIPTION_CHARS=DESCRIPTION_CHARS,
        TITLE_CHARS=TITLE_CHARS,
        thumbnail_sizes=THUMBNAIL_SIZES,
    )
    figures.install(env, formats.locale)  # filter signed_count, global sparkline_points
    return env


class QuietBytecodeCache(FileSystemBytecodeCache):
    """Jinja's compiled templates kept between runs; a cache that cannot be written (a full
    disk, a folder gone) only costs the next run the compiling, never the render."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def template_cache() -> QuietBytecodeCache | None:
    """The bytecode cache, or None (no cache) when the folder cannot be made or is not safe
    (`private_folder`): a service user without a home simply compiles each time. Jinja keys
    each entry by the template's name and file name and checks its source's checksum, so a
    site's template never gets the packaged one's code, nor an edited template its old code."""
    folder = private_cache_folder("templates")
    return QuietBytecodeCache(str(folder), "%s.jinja") if folder else None


@dataclass(frozen=True)
class Formats:
    """Locale- and timezone-bound formatting, exposed to templates as filters."""

    locale: Locale
    timezone: ZoneInfo
    # Babel takes tens of microseconds a call, and a page repeats its dates and counts.
    _counts: dict[tuple[type, int], str] = field(default_factory=dict, compare=False, repr=False)
    _dates: dict[date, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_showcase(cls, showcase: Showcase) -> Formats:
        return cls(Locale.parse(showcase.locale), ZoneInfo(showcase.timezone))

    def count(self, value: int) -> str:
        key = (type(value), value)
        text = self._counts.get(key)
        if text is None:
            text = self._counts[key] = format_decimal(value, locale=self.locale)
        return text

    def local_date(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = as_utc(value).astimezone(self.timezone).date()
        text = self._dates.get(value)
        if text is None:
            text = self._dates[value] = format_date(value, DATE_PATTERN, locale=self.locale)
        return text

    def local_iso_date(self, value: datetime) -> str:
        """The local calendar date as `<time datetime>` wants it: 2017-06-27."""
        return as_utc(value).astimezone(self.timezone).date().isoformat()

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


@functools.lru_cache(maxsize=8192)  # a page asks for each item's links once per card context
def web_url(url: str | None) -> str | None:
    """Only http(s) links reach an href: a `javascript:` URL from an API must never be clickable.
    A URL holding a control character is refused too: `finalize` would drop the character after
    this check, and "\x7fjavascript:" would become a scheme."""
    if url and not _CONTROLS.search(url) and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


@functools.lru_cache(maxsize=8192)
def local_src(path: str | None) -> str | None:
    """Only paths inside the output directory may load: an absolute URL would leak the visit."""
    if not path or _CONTROLS.search(path):
        return None  # see web_url
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith(("/", "\\")):
        return None
    return path


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source.capitalize())


def link_label(item: ItemView) -> str:
    """What the card's link to an item on its platform says."""
    if item.source == "website":
        return "Interview lesen"
    if item.kind == "post":
        return f"Beitrag auf {source_label(item.source)}"
    return f"Auf {source_label(item.source)} ansehen"


def variants_of(item: ItemView, mime: str) -> list[ThumbnailVariant]:
    """The item's resized thumbnails of one type, smallest first."""
    return [variant for variant in item.thumbnail_variants if variant.mime == mime]


@functools.lru_cache(maxsize=1024)
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
    """JSON Feed 1.1, one item per episode. `image` is the thumbnail's path relative to the
    feed (the output directory), or its absolute URL when the base URL is configured."""
    feed: dict[str, Any] = {"version": JSON_FEED_VERSION, "title": showcase.title}
    if showcase.home_url:
        feed["home_page_url"] = showcase.home_url
    if showcase.base_url:
        feed["feed_url"] = showcase.base_url + FEED_FILE
    if showcase.intro:
        feed["description"] = showcase.intro
    feed["language"] = language
    feed["items"] = [feed_item(episode, showcase.base_url or "") for episode in showcase.episodes]
    return feed


def json_feed(
    showcase: Showcase,
    language: str,
    cards: CardCache | None = None,
    digests: dict[int, str] | None = None,
) -> bytes:
    """feed.json as `json_bytes` writes `feed_document`, each episode's item kept in `cards`
    as its indented JSON text (the json module indents in Python: 20 ms a render)."""
    without_items = json_bytes(feed_document(replace(showcase, episodes=[]), language))
    head, tail = without_items[: -len(_NO_ITEMS)], without_items[-len(_NO_ITEMS) :]
    if cards is None or not showcase.episodes or tail != _NO_ITEMS:
        return json_bytes(feed_document(showcase, language))
    base = showcase.base_url or ""
    keys = CardKeys(
        [FEED_FILE.encode(), *card_code()], {"base": base}, ["base"], CARD_VALUES, digests
    )
    entries = []
    for episode in showcase.episodes:
        key = keys.key(episode, eager=False)
        text = cards.get(key)
        if text is None:
            item = json.dumps(feed_item(episode, base), ensure_ascii=False, indent=2)
            text = "\n".join("    " + line for line in item.split("\n"))  # at the items' depth
            cards.put(key, text)
        entries.append(text)
    return head + ("[\n" + ",\n".join(entries) + "\n  ]\n}\n").encode("utf-8")


_NO_ITEMS = b"[]\n}\n"  # how feed.json ends without items: `items` is its last member


def feed_item(episode: EpisodeView, base: str = "") -> dict[str, Any]:
    """The episode as a JSON Feed item: its lead's link, and under `_showcase` the lead's
    source and id (as for a card of one item), the episode's id and every item's link."""
    lead = episode.lead
    entry: dict[str, Any] = {"id": episode.id}
    if web_url(lead.url):
        entry["url"] = lead.url
    if episode.title:
        entry["title"] = episode.title
    entry["content_text"] = episode.description
    entry["date_published"] = iso_utc(episode.published_at)
    thumbnail = local_src(episode.picture.thumbnail) if episode.picture else None
    if thumbnail:
        entry["image"] = base + thumbnail
    entry["_showcase"] = {
        "source": lead.source,
        "id": lead.platform_id,
        "episode": episode.id,
        "items": [
            {"source": item.source, "id": item.platform_id, "url": web_url(item.url)}
            for item in episode.items
        ],
    }
    return entry


def atom_context(showcase: Showcase, language: str) -> dict[str, Any]:
    """What `feed.xml` needs besides the showcase: a stable feed id and its links."""
    base = showcase.base_url or ""
    alternate = f"{base}{INDEX_FILE}" if base else showcase.home_url
    feed_id = f"{base}{ATOM_FILE}" if base else showcase.home_url
    return {
        "showcase": showcase,
        "language": language,
        "base": base,
        "feed_id": feed_id or f"urn:showcase:{quote(showcase.title, safe='')}",
        "alternate_url": alternate,
        "self_url": f"{base}{ATOM_FILE}" if base else None,
    }


def entry_id(episode: EpisodeView) -> str:
    """The Atom entry's id: the episode's, "urn:showcase:youtube:ID"."""
    source, _, platform_id = episode.id.partition(":")
    return f"urn:showcase:{source}:{quote(platform_id, safe='')}"


# --- badges ------------------------------------------------------------------------------------

BADGE_COLORS = {"youtube": "c4302b", "facebook": "1877f2"}
BADGE_DEFAULT_COLOR = "c2410c"
BADGE_STALE_COLOR = "9f9f9f"
BADGE_CACHE_SECONDS = 3600
_BADGE_PADDING = 6  # px each side of a text


def badge_outputs(env: Environment, showcase: Showcase, formats: Formats) -> dict[str, bytes]:
    """`badges/KEY.json` (shields.io endpoint) and `badges/KEY.svg` for every figure."""
    outputs = {}
    for figure in showcase.figures:
        document = badge_document(figure, formats)
        name = f"{BADGES_DIR}/{badge_stem(figure.key)}"
        outputs[f"{name}.json"] = json_bytes(document)
        svg = env.get_template("badge.svg").render(badge=BadgeLayout.of(document))
        outputs[f"{name}.svg"] = svg.encode("utf-8")
    return outputs


def badge_stem(key: str) -> str:
    """A figure key as a file name: `youtube.subscribers`; a hand-entered key is cleaned."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", key).lstrip(".") or "figure"


def badge_document(figure: FigureView, formats: Formats) -> dict[str, Any]:
    """A shields.io endpoint document: https://shields.io/badges/endpoint-badge."""
    message = formats.count(figure.value) + (" veraltet" if figure.stale else "")
    color = BADGE_COLORS.get(figure.source, BADGE_DEFAULT_COLOR)
    return {
        "schemaVersion": 1,
        "label": figure.label,
        "message": message,
        "color": BADGE_STALE_COLOR if figure.stale else color,
        "cacheSeconds": BADGE_CACHE_SECONDS,
    }


@dataclass(frozen=True)
class BadgeLayout:
    """Sizes of a flat two-part badge, estimated from Verdana 11 px widths (as shields.io
    draws them); `textLength` in the SVG makes any fallback font fit the estimate."""

    label: str
    message: str
    color: str
    label_width: int
    message_width: int
    label_text: float
    message_text: float

    @classmethod
    def of(cls, document: dict[str, Any]) -> BadgeLayout:
        label_text = text_width(document["label"])
        message_text = text_width(document["message"])
        return cls(
            label=document["label"],
            message=document["message"],
            color=document["color"],
            label_width=math.ceil(label_text) + 2 * _BADGE_PADDING,
            message_width=math.ceil(message_text) + 2 * _BADGE_PADDING,
            label_text=round(label_text, 1),
            message_text=round(message_text, 1),
        )

    @property
    def width(self) -> int:
        return self.label_width + self.message_width


_NARROW = dict.fromkeys("ijl.,:;'|!", 3.3) | dict.fromkeys("frt()-/ ", 4.5)
_WIDE = dict.fromkeys("mwMW", 10.0) | dict.fromkeys("ABCDEGHKNOPQRUVXY", 7.8)
_CHAR_WIDTHS = _NARROW | _WIDE | dict.fromkeys("0123456789abcdeghknopqsuvxyz", 6.8)


def text_width(text: str) -> float:
    """Estimated width in px of `text` in Verdana 11 px; accents count as their base letter."""
    total = 0.0
    for char in text:
        base = unicodedata.normalize("NFD", char)[0]
        wide = unicodedata.east_asian_width(char) in ("W", "F")
        total += 11.0 if wide else _CHAR_WIDTHS.get(base, 7.2)
    return total


# --- compacting our own inline CSS and JS ------------------------------------------------------


def compact_css(css: str) -> str:
    """Our stylesheet without comments, indentation and optional spaces: it is sent with every
    embedded fragment. Only safe for CSS without strings holding `{`, `;` or comments."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = "".join(line.strip() for line in css.splitlines())
    css = re.sub(r"\s*([{};,>])\s*", r"\1", css)
    css = re.sub(r"([{;][-a-z]+):\s+", r"\1:", css)  # "color: red" -> "color:red"
    css = re.sub(r"(?<=[:\s,(])0\.(?=\d)", ".", css)  # 0.5em -> .5em
    return css.replace(";}", "}")


def compact_js(js: str) -> str:
    """Our script without whole-line comments and indentation; line breaks stay (ASI)."""
    lines = (line.strip() for line in js.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Control characters other than tab and line breaks: parse errors in HTML (a NUL becomes
# U+FFFD), invalid in XML 1.0 (C0) or discouraged (DEL, C1), and an API's text has no use for them.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


class Finalize:
    """The environment's `finalize`: `without_controls` for every value a template prints,
    but the cached cards, cleaned once when they were made (`CardRenderer`): a page prints
    a thousand of them, a kilobyte each, and scanning them again took a third of its time."""

    def __init__(self) -> None:
        # By id, and held, so that no other object can have the id while the environment lives.
        self.clean: dict[int, Markup] = {}

    def __call__(self, value: Any) -> Any:
        return value if id(value) in self.clean else without_controls(value)

    def clean_markup(self, html: str) -> Markup:
        """`html`, known to hold no control character, as Markup printed without a scan."""
        markup = html if type(html) is Markup else Markup(html)
        self.clean[id(markup)] = markup
        return markup


def without_controls(value: Any) -> Any:
    """Every value a template prints, control characters dropped (the environment's
    `finalize`): escaping leaves them alone, and they come from the APIs' text as it was sent."""
    if not isinstance(value, str) or _CONTROLS.search(value) is None:
        return value
    cleaned = _CONTROLS.sub("", value)
    return Markup(cleaned) if isinstance(value, Markup) else cleaned


def xml_text(text: str) -> str:
    """Text an XML 1.0 document may hold: control characters from an API are dropped."""
    return _XML_INVALID.sub("", text)


def json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
