"""Cards kept between renders: each card's HTML under a digest of everything it depends on.

A render of an unchanged showcase spends most of its time rendering the same cards again
(1,246 of them twice on bench's synthetic site). `CardKeys` is the one place where a card's
key is derived; `CardCache` keeps the HTML by key in a file, reading it leniently and writing
back only the cards of the last render, so it never grows beyond one showcase.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import time
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate
from pathlib import Path
from typing import Any

from aggregator.files import write_atomic

# Raised whenever what a key covers or the file's layout changes: older files are then ignored.
CACHE_FORMAT = 4
# A cache file not written for this long belongs to an output folder that is no longer
# rendered (a test's temporary folder, a site moved): it is removed at the next save.
UNUSED_DAYS = 30


def digest(*parts: bytes) -> bytes:
    """A digest of byte strings, each length-prefixed so that no two sequences collide."""
    hasher = hashlib.blake2b(digest_size=20)
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.digest()


def value_digest(value: Any) -> bytes:
    """A digest of a view model value. Pickle writes every field of the frozen dataclasses,
    their datetimes and time zones; equal bytes mean equal values. The reverse does not
    hold (pickle may refer back to an object it wrote already), which only costs a miss."""
    return digest(pickle.dumps(value, protocol=5))


class CardKeys:
    """The key of a card: a digest of the environment (template sources, the code and the
    library versions behind the filters, the locale and time zone), of the page's values the
    card template reads (`page`, `base`, `heading_level`, `privacy_href`, or whatever a site's
    template reads) and of the card's own values (the episode, with its lead, and `eager`)."""

    def __init__(
        self,
        environment: Iterable[bytes],
        shared: Mapping[str, Any],
        read: Iterable[str],
        per_card: Iterable[str],
        episodes: dict[int, str] | None = None,
    ) -> None:
        own = frozenset(per_card)
        names = sorted(set(read) - own)
        page_values = [
            name.encode() + (value_digest(shared[name]) if name in shared else b"-")
            for name in names
        ]
        self.base = digest(str(CACHE_FORMAT).encode(), *environment, *page_values).hex()
        # Shared by the pages of one render, whose cards show the same episodes.
        self.episodes: dict[int, str] = {} if episodes is None else episodes

    def key(self, episode: object, eager: bool) -> str:
        """The card's key; each episode is digested once per render (the view models live
        until the render ends, so their ids stay theirs)."""
        episode_digest = self.episodes.get(id(episode))
        if episode_digest is None:
            episode_digest = self.episodes[id(episode)] = value_digest(episode).hex()
        # Two digests of fixed length side by side: as unique as a digest of both, and cheaper.
        return f"{self.base}{episode_digest}{'e' if eager else 'l'}"


# What a template reads and names (`render.template_sources`), by a digest of its source.
TemplateNames = tuple[list[str], list[str]]


class CardCache:
    """Cards by key, loaded from `path` (None: kept in memory only), and what the card
    templates read, by their source, which spares parsing them. A missing, truncated or
    foreign file is an empty cache; `save` writes back only what was asked for since."""

    def __init__(
        self,
        path: Path | None = None,
        cards: Mapping[str, str] | None = None,
        templates: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.loaded = dict(cards or {})
        self.used: dict[str, str] = {}
        self.loaded_templates = dict(templates or {})
        self.used_templates: dict[str, TemplateNames] = {}

    @classmethod
    def load(cls, path: Path) -> CardCache:
        try:
            decoded = decode(path.read_bytes())
        except OSError:
            decoded = None
        return cls(path, *decoded) if decoded else cls(path)

    def get(self, key: str) -> str | None:
        html = self.loaded.get(key)
        if not isinstance(html, str):
            return None
        self.used[key] = html
        return html

    def put(self, key: str, html: str) -> None:
        self.used[key] = html

    def replace(self, key: str, html: str) -> None:
        """Hold `html`, equal to the card under `key`, in its place (the form the render
        prints, so that the card is in memory once)."""
        if key in self.loaded:
            self.loaded[key] = html
        self.used[key] = html

    def template_names(self, source_digest: str) -> TemplateNames | None:
        names = self.loaded_templates.get(source_digest)
        if not (isinstance(names, list) and len(names) == 2 and all(map(_strings, names))):
            return None
        self.used_templates[source_digest] = (names[0], names[1])
        return self.used_templates[source_digest]

    def put_template_names(self, source_digest: str, names: TemplateNames) -> None:
        self.used_templates[source_digest] = names

    def save(self) -> None:
        """Write what was used since loading, when it differs from what was loaded. A cache
        that cannot be written only costs the next render the cards, never this render."""
        templates = {key: list(names) for key, names in self.used_templates.items()}
        unchanged = self.used == self.loaded and templates == self.loaded_templates
        if self.path is None or unchanged:
            return
        with contextlib.suppress(OSError):
            # a lost cache is only a slower render: no fsync
            write_atomic(self.path, encode(self.used, templates), durable=False)
            remove_unused(self.path.parent)


def encode(cards: Mapping[str, str], templates: Mapping[str, Any]) -> Iterator[bytes]:
    """A cache file, piece by piece: one line of JSON (the format, the templates' names, each
    card's key and length in bytes), then the cards' HTML, UTF-8, back to back. Reading it
    takes a third of the time of parsing the same as JSON strings, which would be full of
    escaped quotes. Each card is encoded as it is written (and once before, for its length):
    the whole file is never in memory beside the cards (2.4 MB on bench's site)."""
    header = {
        "format": CACHE_FORMAT,
        "templates": templates,
        "cards": [[key, len(_utf8(html))] for key, html in cards.items()],
    }
    yield json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    for html in cards.values():
        yield _utf8(html)


def _utf8(html: str) -> bytes:
    return html.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> tuple[dict[str, str], dict[str, Any]] | None:
    """The cards and the templates' names of a cache file; None when it is not one whole.

    Each card is decoded on its own: one string of all of them would take the widest
    character's width throughout (a dash makes it two bytes a character), and slicing the
    cards out of it would copy them once more."""
    line, _, blob = data.partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:  # not JSON, not UTF-8
        return None
    if not isinstance(header, dict) or header.get("format") != CACHE_FORMAT:
        return None
    entries, templates = header.get("cards"), header.get("templates")
    if not isinstance(entries, list) or not isinstance(templates, dict):
        return None
    if not all(_entry(entry) for entry in entries):
        return None
    ends = list(accumulate(length for _, length in entries))
    if (ends[-1] if ends else 0) != len(blob):
        return None
    view = memoryview(blob)
    try:
        cards = {
            key: str(view[end - length : end], "utf-8", "surrogatepass")
            for (key, length), end in zip(entries, ends, strict=True)
        }
    except UnicodeDecodeError:  # a length that cuts a character
        return None
    return cards, templates


def _entry(entry: Any) -> bool:
    """[key, length in bytes]"""
    return (
        type(entry) is list
        and len(entry) == 2
        and type(entry[0]) is str
        and type(entry[1]) is int
        and entry[1] >= 0
    )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(entry, str) for entry in value)


def remove_unused(folder: Path, days: int = UNUSED_DAYS) -> None:
    """Remove the cache files of output folders not rendered for `days`."""
    oldest = time.time() - days * 86400
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < oldest:
                path.unlink()


def cache_file(folder: Path, output_dir: Path) -> Path:
    """The cache file of one output folder: its name is a digest of the folder's path."""
    name = digest(os.fsencode(Path(output_dir).resolve())).hex()
    return folder / f"{name}.json"
