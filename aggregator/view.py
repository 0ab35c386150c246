"""The context handed to the renderer: plain view models, built from the store by `context.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class FigureView:
    key: str  # "youtube.subscribers", "facebook.followers", ...
    source: str  # "youtube", "facebook", "manual"
    label: str  # German label, e.g. "YouTube-Abonnenten"
    value: int
    as_of: datetime | None  # last successful fetch, UTC aware
    stale: bool
    rounded: bool = False  # YouTube rounds subscriber counts
    manual: bool = False  # entered by hand with `showcase figures set` ("von Hand eingetragen")
    since: date | None = None  # the configured `showcase.since`
    change_since: int | None = None  # value now minus the value at `since`, when known
    history: tuple[tuple[datetime, int], ...] = ()  # (taken_at, value), oldest first: sparkline


@dataclass(frozen=True)
class ThumbnailVariant:
    """A resized copy of an item's thumbnail, cropped to 16:9, for <picture>/srcset."""

    path: str  # relative to the output directory, e.g. "thumbs/youtube-ID-320.webp"
    width: int
    height: int
    mime: str  # "image/webp" | "image/jpeg"


@dataclass(frozen=True)
class ItemView:
    source: str  # "youtube" | "facebook" | "website"
    platform_id: str
    kind: str  # "video" | "post"
    title: str
    description: str
    url: str  # the item on its platform
    published_at: datetime  # UTC aware
    duration_seconds: int | None = None
    views: int | None = None
    thumbnail: str | None = (
        None  # path relative to the output directory, e.g. "thumbs/youtube-ID.jpg"
    )
    embeddable: bool = True
    embed_url: str | None = None  # player URL inserted only after a click
    thumbnail_variants: tuple[ThumbnailVariant, ...] = ()  # smallest first, those on disk
    # A premiere or stream that has not ended: "upcoming" (shown as announced, without length)
    # or "live"; None for an ordinary video, which both become once they have ended.
    live_status: str | None = None
    # When an upcoming one starts; None when unknown or when that time is long past (it is then
    # shown as announced without a date that would mislead).
    scheduled_start_at: datetime | None = None

    @property
    def has_own_title(self) -> bool:
        """A Facebook post has no title: the one it carries is its message's first sentence
        (`sources.facebook.post_title`), good for a card of its own, never for a card that
        has a video or an article."""
        return bool(self.title) and not (self.source == "facebook" and self.kind == "post")

    @property
    def playable(self) -> bool:
        """A video whose player may be inserted here after a click."""
        return self.kind == "video" and self.embeddable and self.embed_url is not None


@dataclass(frozen=True)
class EpisodeView:
    """One story across platforms, shown as one card (`context.episode_view` builds it)."""

    id: str  # episodes.episode_id: "youtube:ID" of its earliest item; the card's data-episode
    items: tuple[ItemView, ...]  # the card's links in order: videos, articles, posts
    lead: ItemView  # the item whose button, meta and description the card shows
    title: str  # the lead video's, else an article's; a post's only when nothing else has one
    published_at: datetime  # the earliest item's date
    description: str  # the lead's, else the article's excerpt
    picture: ItemView | None = None  # whose thumbnail the card shows: the lead's when it has one


@dataclass(frozen=True)
class Showcase:
    title: str
    intro: str
    generated_at: datetime  # UTC aware
    locale: str  # "de_DE"
    timezone: str  # "Europe/Berlin"
    figures: list[FigureView] = field(default_factory=list)
    episodes: list[EpisodeView] = field(default_factory=list)  # pins, then newest
    since: date | None = None
    home_url: str | None = None  # where feed.json's home_page_url points, when known
    base_url: str | None = None  # public URL of the output folder ("https://…/showcase/")
    privacy_url: str | None = None  # the site's privacy notes; None: the page's own section

    @property
    def items(self) -> list[ItemView]:
        """Every item shown, episode by episode."""
        return [item for episode in self.episodes for item in episode.items]
