"""Which showcase items tell the same story: one episode, shown as one card.

The rule (README, "How items group into episodes"), evidence strongest first:

1. **link**: one item links another, at any distance in time: a Facebook post whose
   attachment or text points at the YouTube video, the Facebook video or the article; an
   article that embeds or links the video; a YouTube description that links the article or
   the Facebook video or post (`links` recognises the addresses).
2. **title**: the same normalised title (`normalised_title`), published within `WINDOW`.
3. **close title**: titles scoring at least `CLOSE_TITLE_SCORE` with rapidfuzz's
   `token_set_ratio` that name the same person (`person_names`), published within `WINDOW`.

An item that links several of the items of one source and kind (a round-up article embedding
three portraits' videos, a description linking two articles) is no evidence for any of them;
its other links still count. Evidence joins transitively (union-find), but a title never
joins two episodes when an item of one is more than `WINDOW` from an item of the other, so a
chain of titles cannot span more than the window. Titles never pair two items of the same
source, and a title never brings two items of the same source and kind into one episode (two
YouTube videos with the same title are two episodes); only a link or staff does. Staff's word comes
last: a `split` item is an episode of its own whatever the evidence, and `merged` pairs are
joined after the evidence. Candidates are taken in a fixed order (links, then exact titles,
then close titles by score, time apart and keys), so the input's order never matters.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from aggregator import links
from aggregator.lazy import LazyModule

# Imported when two titles are first compared: a render whose grouping comes from the cache
# (`episode_cache`) compares none.
fuzz = LazyModule("rapidfuzz.fuzz")

ItemKey = tuple[str, str]  # (source, platform_id), as store.ItemKey

# The contract's window ("Output"): titles join only items published within 7 days.
WINDOW = timedelta(days=7)
# rapidfuzz.fuzz.token_set_ratio of the normalised titles, 0-100. 60 keeps "Flächenglühen:
# Marie Kühn, Glasgestalterin aus Weißwasser" with "Marie Kühn bläst Glas in Weißwasser" (75);
# the person's name in both is the real gate (tests/test_episodes.py).
CLOSE_TITLE_SCORE = 60.0

LINK, TITLE, CLOSE_TITLE, STAFF = "link", "title", "close title", "staff"
EVIDENCE_ORDER = (LINK, TITLE, CLOSE_TITLE, STAFF)

# Capitalised words that are no part of a person's name: German articles, pronouns,
# prepositions and conjunctions (capitalised at a title's start), the series' and the
# publisher's words, and format words. They end a run of capitalised words.
_NOT_NAMES_TEXT = """
    der die das den dem des ein eine einer eines einem einen kein keine
    ich du er sie es wir ihr mein meine unser unsere dein deine sein seine ihre dieser diese
    dieses jeder jede alle
    im in am an auf aus bei mit von vom zum zur zu für über unter nach vor hinter neben
    zwischen durch gegen ohne um bis seit
    und oder aber doch denn wie was wer wo wann warum wieso wenn als auch nur noch schon
    jetzt heute hier da so
    flächenglühen flaechengluehen kreatives kreative kreativer sachsen sächsische sächsischer
    neu neue neues neuer folge teil episode staffel interview porträt portrait video trailer
    live premiere gespräch im
    the a an of and with from in on at by for
"""
NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
# Lower-case words that may stand inside a name: "Anna von Berg".
NAME_PARTICLES = frozenset({"von", "van", "de", "der", "zu", "vom", "di", "da", "du", "del"})


class Groupable(Protocol):
    """What the rule reads of an item; store.ItemRow has it all."""

    @property
    def source(self) -> str: ...
    @property
    def platform_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def raw(self) -> Mapping[str, Any]: ...


T = TypeVar("T", bound=Groupable)


@dataclass(frozen=True)
class Overrides:
    """Staff's word on grouping (`showcase episode merge|split`), which beats the evidence.

    `merged`: pairs staff joined; their episodes become one. `split`: items staff took out of
    their episode; each is an episode of its own, whatever the evidence says.
    """

    merged: tuple[tuple[ItemKey, ItemKey], ...] = ()
    split: frozenset[ItemKey] = frozenset()


@dataclass(frozen=True)
class Join:
    """Two items the rule joined, and on what evidence (LINK, TITLE, CLOSE_TITLE, STAFF)."""

    first: ItemKey
    second: ItemKey
    evidence: str


def key_of(item: Groupable) -> ItemKey:
    return (item.source, item.platform_id)


def group(items: Sequence[T], overrides: Overrides = Overrides()) -> list[list[T]]:
    """The items' episodes. Each episode's items are earliest first (ties by source, then id);
    the episodes are in the order of their first item. Deterministic: the same items and
    overrides always give the same episodes, whatever order the items come in."""
    episodes, _ = _grouped(items, overrides)
    return episodes


def explain(items: Sequence[Groupable], overrides: Overrides = Overrides()) -> list[Join]:
    """Every join the rule made, in the order it made them: why an episode holds its items."""
    _, joins = _grouped(items, overrides)
    return joins


def episode_id(episode: Sequence[Groupable]) -> str:
    """A stable name for an episode (the card's data-episode): its earliest item's
    SOURCE:ID, which stays when later items join it."""
    first = min(episode, key=_chronological)
    return f"{first.source}:{first.platform_id}"


def _chronological(item: Groupable) -> tuple[datetime, str, str]:
    return (item.published_at, item.source, item.platform_id)


def _grouped(items: Sequence[T], overrides: Overrides) -> tuple[list[list[T]], list[Join]]:
    ordered = sorted(items, key=_chronological)
    forest = _Forest(ordered)
    free = [item for item in ordered if key_of(item) not in overrides.split]
    joins = [
        Join(first, second, LINK)
        for first, second in link_pairs(ordered)
        if not {first, second} & overrides.split and forest.union(first, second)
    ]
    for first, second, evidence in title_pairs(free):
        if forest.title_may_join(first, second):
            forest.union(first, second)
            joins.append(Join(first, second, evidence))
    for first, second in sorted(tuple(sorted(pair)) for pair in overrides.merged):
        if first in forest and second in forest and forest.union(first, second):
            joins.append(Join(first, second, STAFF))
    return forest.episodes(ordered), joins


# --- links --------------------------------------------------------------------------------


def link_pairs(items: Sequence[Groupable]) -> list[tuple[ItemKey, ItemKey]]:
    """Pairs (sorted, each pair's keys sorted) where one item links or embeds the other,
    unambiguously: an item linking several of the items of one source and kind (a round-up
    article embedding three portraits' videos) is no evidence for any of them."""
    named_by: dict[links.Reference, set[ItemKey]] = {}
    for item in items:
        for reference in identities(item):
            named_by.setdefault(reference, set()).add(key_of(item))
    kind_of = {key_of(item): (item.source, item.kind) for item in items}
    pairs = set()
    for item in items:
        linked = {
            other
            for reference in mentions(item)
            for other in named_by.get(reference, ())
            if other != key_of(item)
        }
        for other in unambiguous(linked, kind_of):
            pairs.add(tuple(sorted((key_of(item), other))))
    return sorted(pairs)  # type: ignore[arg-type]


def unambiguous(linked: set[ItemKey], kind_of: dict[ItemKey, tuple[str, str]]) -> set[ItemKey]:
    """The linked items that are the only one of their source and kind among them."""
    counts = Counter(kind_of[key] for key in linked)
    return {key for key in linked if counts[kind_of[key]] == 1}


def identities(item: Groupable) -> set[links.Reference]:
    """The references that name this item: its id on its platform and its addresses."""
    found = set(links.references(item.url)) if item.url else set()
    if item.source == "youtube":
        found.add(("youtube", item.platform_id))
    elif item.source == "facebook" and item.kind == "video":
        found.add(("facebook", item.platform_id))
    elif item.source == "facebook":  # Graph's post id is PAGEID_POSTID; addresses carry POSTID
        found.add(("facebook-post", item.platform_id.rpartition("_")[2]))
    elif item.source == "website":
        found |= _article_addresses(item)
    return found


def _article_addresses(item: Groupable) -> set[links.Reference]:
    """A WordPress post's permalink, its guid (often ?p=ID) and SITE/?p=ID, which WordPress
    redirects to the permalink (https://developer.wordpress.org/rest-api/reference/posts/)."""
    found: set[links.Reference] = set()
    guid = item.raw.get("guid")
    for address in (item.raw.get("link"), guid.get("rendered") if isinstance(guid, dict) else None):
        if isinstance(address, str) and address:
            found |= links.references(address)
    parts = urlsplit(item.url)
    if parts.netloc and item.platform_id.isdigit():
        found.add(("page", links.page_key(f"{parts.netloc}/?p={item.platform_id}")))
    return found


def mentions(item: Groupable) -> set[links.Reference]:
    """What the item links or embeds: addresses in its text, HTML and Facebook attachments."""
    found: set[links.Reference] = set()
    for url in _linked_urls(item):
        found |= links.references(url)
    for attachment in _attachments(item.raw):
        target = attachment.get("target")
        target_id = target.get("id") if isinstance(target, dict) else None
        if isinstance(target_id, str | int) and not isinstance(target_id, bool):
            found.add(("facebook", str(target_id)))  # Graph names the attached video by id
    return found


def _linked_urls(item: Groupable) -> Iterator[str]:
    for text in _texts(item):
        yield from links.urls_in(text)
    for attachment in _attachments(item.raw):
        target = attachment.get("target")
        candidates = [attachment.get("url"), attachment.get("unshimmed_url")]
        candidates.append(target.get("url") if isinstance(target, dict) else None)
        yield from (url for url in candidates if isinstance(url, str) and url)


def _texts(item: Groupable) -> Iterator[str]:
    """The item's description and the raw payload's texts that may carry links: a Facebook
    post's message, a WordPress post's excerpt and the addresses in its content, a YouTube
    snippet's description."""
    raw = item.raw
    yield item.description
    for value in (raw.get("message"), raw.get("description")):
        if isinstance(value, str):
            yield value
    for field in ("content", "excerpt"):
        rendered = raw.get(field)
        if isinstance(rendered, dict) and _is_text(rendered.get("rendered")):
            yield rendered["rendered"]
    content_links = raw.get("content_links")
    if isinstance(content_links, list):
        yield " ".join(link for link in content_links if _is_text(link))
    snippet = raw.get("snippet")
    if isinstance(snippet, dict) and _is_text(snippet.get("description")):
        yield snippet["description"]
    for attachment in _attachments(raw):
        if _is_text(attachment.get("description")):
            yield attachment["description"]


def _attachments(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A Graph post's `attachments.data`, with their `subattachments.data` (an album or a
    carousel), e.g. facebook/page_feed_rich_fields_p1_cursor.json."""
    found: list[dict[str, Any]] = []
    pending = [raw.get("attachments")]
    while pending:
        container = pending.pop()
        entries = container.get("data") if isinstance(container, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                found.append(entry)
                pending.append(entry.get("subattachments"))
    return found


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


# --- titles -------------------------------------------------------------------------------

_HASHTAG = re.compile(r"#\w+")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


def normalised_title(title: str) -> str:
    """Unicode NFKC, case-folded, without hashtags, emoji, symbols and punctuation, spaces
    collapsed: "Flächenglühen: Marie Kühn 🔥 #kunst" -> "flächenglühen marie kühn"."""
    text = _HASHTAG.sub(" ", unicodedata.normalize("NFKC", title)).casefold()
    kept = "".join(char if unicodedata.category(char)[0] in "LN" else " " for char in text)
    return " ".join(kept.split())


def person_names(title: str) -> frozenset[str]:
    """The people a title names, case-folded: each run of two or more capitalised words
    (not in NOT_NAMES; "von", "zu"... may stand between them) ends with a name, taken as its
    last two capitalised words. Punctuation and lower-case words end a run, so "Flächenglühen:
    Die Keramikerin aus Görlitz – Anna Berg" names "anna berg" and "Glasgestalterin Marie
    Kühn" names "marie kühn"."""
    text = _HASHTAG.sub(" ", unicodedata.normalize("NFKC", title))
    names: set[str] = set()
    for segment in re.split(r"[^\w\s'’-]|\d|_", text):
        names.update(_names_in_segment(_WORD.findall(segment)))
    return frozenset(names)


def _names_in_segment(words: list[str]) -> Iterator[str]:
    run: list[str] = []
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        inside_a_name = run and word in NAME_PARTICLES and _capitalised(following)
        if _capitalised(word) or inside_a_name:
            run.append(word)
        else:
            yield from _name_of_run(run)
            run = []
    yield from _name_of_run(run)


def _name_of_run(run: list[str]) -> Iterable[str]:
    capitals = [index for index, word in enumerate(run) if _capitalised(word)]
    if len(capitals) < 2:
        return ()
    return (" ".join(run[capitals[-2] :]).casefold(),)


def _capitalised(word: str) -> bool:
    """A capitalised word that may be part of a name: "Kühn", "Marie-Luise"; not "DDR"."""
    return (
        len(word) > 1
        and word[0].isupper()
        and any(char.islower() for char in word)
        and word.casefold() not in NOT_NAMES
    )


@dataclass(frozen=True)
class _Titled:
    key: ItemKey
    published_at: datetime
    title: str
    names: frozenset[str]


def title_pairs(items: Sequence[Groupable]) -> list[tuple[ItemKey, ItemKey, str]]:
    """Pairs of items of different sources published within WINDOW with the same normalised
    title (TITLE) or a close one naming the same person (CLOSE_TITLE), strongest first: exact
    titles, then close ones by score, then by time apart, then by keys."""
    titled = sorted(
        (
            _Titled(key_of(item), item.published_at, normalised, person_names(item.title))
            for item in items
            if (normalised := normalised_title(item.title))
        ),
        key=lambda entry: (entry.published_at, entry.key),
    )
    ranked = []
    for index, first in enumerate(titled):
        for second in titled[index + 1 :]:
            if second.published_at - first.published_at > WINDOW:
                break
            found = _title_evidence(first, second)
            if found is not None:
                evidence, score = found
                gap = second.published_at - first.published_at
                pair = tuple(sorted((first.key, second.key)))
                ranked.append(((evidence != TITLE, -score, gap, pair), (*pair, evidence)))
    return [pair for _, pair in sorted(ranked)]  # type: ignore[misc]


def _title_evidence(first: _Titled, second: _Titled) -> tuple[str, float] | None:
    if first.key[0] == second.key[0]:
        return None
    if first.title == second.title:
        return TITLE, 100.0
    if not first.names & second.names:
        return None
    score = fuzz.token_set_ratio(first.title, second.title)
    return (CLOSE_TITLE, score) if score >= CLOSE_TITLE_SCORE else None


# --- union-find ---------------------------------------------------------------------------


class _Forest:
    """Union-find over item keys; each root knows its episode's (source, kind) pairs and its
    earliest and latest publication."""

    def __init__(self, items: Sequence[Groupable]) -> None:
        self.parent: dict[ItemKey, ItemKey] = {key_of(item): key_of(item) for item in items}
        self.kinds: dict[ItemKey, set[tuple[str, str]]] = {
            key_of(item): {(item.source, item.kind)} for item in items
        }
        self.span: dict[ItemKey, tuple[datetime, datetime]] = {
            key_of(item): (item.published_at, item.published_at) for item in items
        }

    def __contains__(self, key: object) -> bool:
        return key in self.parent

    def root(self, key: ItemKey) -> ItemKey:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def together(self, first: ItemKey, second: ItemKey) -> bool:
        return self.root(first) == self.root(second)

    def title_may_join(self, first: ItemKey, second: ItemKey) -> bool:
        """Whether a title may join the two episodes: they are two, joining puts no two items
        of one source and kind together, and no item of one is more than WINDOW from an
        item of the other (so a chain of titles never spans more than the window)."""
        return not (
            self.together(first, second)
            or self.would_double(first, second)
            or self.too_far_apart(first, second)
        )

    def would_double(self, first: ItemKey, second: ItemKey) -> bool:
        """Whether joining would put two items of one source and kind in one episode."""
        return bool(self.kinds[self.root(first)] & self.kinds[self.root(second)])

    def too_far_apart(self, first: ItemKey, second: ItemKey) -> bool:
        """Whether an item of one episode and an item of the other are more than WINDOW
        apart."""
        (earliest, latest), (other_earliest, other_latest) = (
            self.span[self.root(first)],
            self.span[self.root(second)],
        )
        return max(latest - other_earliest, other_latest - earliest) > WINDOW

    def union(self, first: ItemKey, second: ItemKey) -> bool:
        """Join the two episodes; False when they were one already. The smaller key stays
        root, so the result does not depend on the order of unions."""
        roots = sorted((self.root(first), self.root(second)))
        if roots[0] == roots[1]:
            return False
        self.parent[roots[1]] = roots[0]
        self.kinds[roots[0]] |= self.kinds.pop(roots[1])
        (earliest, latest), (other_earliest, other_latest) = (
            self.span[roots[0]],
            self.span.pop(roots[1]),
        )
        self.span[roots[0]] = (min(earliest, other_earliest), max(latest, other_latest))
        return True

    def episodes(self, ordered: Sequence[T]) -> list[list[T]]:
        grouped: dict[ItemKey, list[T]] = {}
        for item in ordered:
            grouped.setdefault(self.root(key_of(item)), []).append(item)
        return list(grouped.values())
