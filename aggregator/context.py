"""Build the renderer's context (view models) from what the store holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aggregator import episode_cache, episodes, figures, reads
from aggregator.config import VIDEO_PLATFORMS, Config
from aggregator.matching import HashtagRule
from aggregator.rows import (
    ItemKey,
    StoredCuration,
    StoredFigure,
    StoredItem,
    StoredRun,
    run_succeeded,
)
from aggregator.thumbnail_files import ThumbnailFiles, thumbnail_variants
from aggregator.view import EpisodeView, FigureView, ItemView, Showcase

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aggregator.store import FigureRow

# Every function reads through `reads` (plain SQL): `render` hands a read-only SQLite
# `reads.Reader`, the commands that write hand their SQLAlchemy Session.
Database: TypeAlias = "reads.Reader | Session"

FIGURE_LABELS = {
    "youtube.subscribers": "YouTube-Abonnenten",
    "youtube.views": "YouTube-Aufrufe",
    "youtube.videos": "YouTube-Videos",
    "facebook.followers": "Facebook-Follower",
    "facebook.likes": "Facebook-„Gefällt mir“-Angaben",
}
_FIGURE_ORDER = {key: index for index, key in enumerate(FIGURE_LABELS)}


def build_showcase(database: Database, config: Config, now: datetime) -> Showcase:
    return Showcase(
        title=config.showcase.title,
        intro=config.showcase.intro,
        generated_at=now,
        locale=config.showcase.locale,
        timezone=config.showcase.timezone,
        figures=figure_views(database, config, now),
        episodes=showcase_episode_views(database, config, now),
        since=config.showcase.since,
        base_url=config.base_url,
        privacy_url=config.showcase.privacy_url,
    )


def figure_views(database: Database, config: Config, now: datetime) -> list[FigureView]:
    """Fetched and hand-entered figures, each with its change since `showcase.since` and its
    daily history from then on (see `figures.py` for the rules)."""
    last_runs = reads.last_runs(database)
    histories = reads.figure_histories(database)
    since = config.showcase.since
    zone = ZoneInfo(config.showcase.timezone)
    views = []
    for row in reads.current_figures(database):
        points = histories.get(row.key, [])
        views.append(
            FigureView(
                key=row.key,
                source=row.source,
                label=figure_label(row),
                value=row.value,
                as_of=row.as_of,
                stale=not row.manual and _is_stale(row, last_runs, config, now),
                rounded=row.rounded,
                manual=row.manual,
                since=since,
                change_since=figures.change_since(points, row.value, since, zone),
                history=figures.points_since(points, since, zone, (row.as_of, row.value)),
            )
        )
    return sorted(views, key=lambda view: figure_order(view.key))


def figure_label(row: StoredFigure | FigureRow) -> str:
    if row.manual and row.label:
        return row.label
    return FIGURE_LABELS.get(row.key, row.key)


def figure_order(key: str) -> tuple[int, str]:
    """Fetched figures in the contract's order, then hand-entered ones by key."""
    return _FIGURE_ORDER.get(key, len(_FIGURE_ORDER)), key


def _is_stale(
    row: StoredFigure, last_runs: dict[str, StoredRun], config: Config, now: datetime
) -> bool:
    """A fetched figure is stale when its source's last run failed or it is too old. A
    hand-entered figure never is: it holds for the date it was entered for, shown beside it."""
    last_run = last_runs.get(row.source)
    failed = last_run is not None and not run_succeeded(last_run)
    return failed or now - row.as_of > config.showcase.stale_after


def showcase_items(
    database: Database, config: Config, now: datetime | None = None
) -> list[ItemView]:
    files = ThumbnailFiles(config.output_dir)
    return [item_view(row, files, now) for row in showcase_rows(database, config)]


def showcase_episode_views(
    database: Database, config: Config, now: datetime | None = None
) -> list[EpisodeView]:
    """The showcase's cards, in display order (see `showcase_episodes`)."""
    files = ThumbnailFiles(config.output_dir)
    return [
        episode_view(
            [item_view(row, files, now) for row in episode],
            episodes.episode_id(episode),
            config.showcase.player_order,
        )
        for episode in showcase_episodes(database, config)
    ]


def episode_view(
    items: Sequence[ItemView], episode_id: str, player_order: Sequence[str] = VIDEO_PLATFORMS
) -> EpisodeView:
    """One card for an episode's items: the lead (the video that plays), the title, the
    earliest date, the description and the items in the order of the card's links."""
    ordered = sorted(items, key=lambda item: card_order(item, player_order))
    lead = lead_item(ordered)
    titled = [item for item in (lead, *ordered) if item.has_own_title]
    fallback = [item for item in ordered if item.title]  # only posts: their derived titles
    articles = [item for item in ordered if item.source == "website"]
    described = [item for item in (lead, *articles, *ordered) if item.description]
    pictured = [item for item in (lead, *ordered) if item.thumbnail]
    return EpisodeView(
        id=episode_id,
        items=tuple(ordered),
        lead=lead,
        title=(titled or fallback)[0].title if titled or fallback else "",
        published_at=min(item.published_at for item in ordered),
        description=described[0].description if described else "",
        picture=pictured[0] if pictured else None,
    )


def card_order(item: ItemView, player_order: Sequence[str]) -> tuple[int, int, datetime, str]:
    """Videos first, by the configured preference of their platform, then articles (the
    website), then posts; each by date."""
    if item.kind == "video":
        rank = player_order.index(item.source) if item.source in player_order else len(player_order)
        return (0, rank, item.published_at, item.platform_id)
    return (1 if item.source == "website" else 2, 0, item.published_at, item.platform_id)


def lead_item(ordered: Sequence[ItemView]) -> ItemView:
    """The first video that can be played here; else the first video (its button opens it on
    its platform); else the first item: an article before a post."""
    videos = [item for item in ordered if item.kind == "video"]
    playable = [item for item in videos if item.playable]
    return (playable or videos or list(ordered))[0]


def showcase_rows(database: Database, config: Config) -> list[StoredItem]:
    """The showcase's items in display order, episode by episode (see `showcase_episodes`)."""
    return [row for episode in showcase_episodes(database, config) for row in episode]


def showcase_episodes(database: Database, config: Config) -> list[list[StoredItem]]:
    """The showcase's episodes in display order: pinned ones first (most recently pinned
    first), then the rest by their first item, newest first.

    An item belongs when it is public and live and carries a configured hashtag or was
    included by staff (`showcase include`). Items that belong are grouped into episodes
    (`episodes.group`, with staff's `episode merge|split`). Pin and hide act on the whole
    episode: a pin on any of its items pins it, a hide on any of its items hides it (and wins
    over a pin and an include). An include never shows a private, deleted or retired item.
    A source taken out of the config is no longer fetched, but what it brought stays shown
    until the database is cleared: `render` shows what the database holds."""
    curation = reads.curation(database)
    grouped = candidate_episodes(database, config)
    shown = [episode for episode in grouped if not _any_hidden(episode, curation)]
    return display_order(shown, curation)


def candidate_episodes(database: Database, config: Config) -> list[list[StoredItem]]:
    """The episodes of every item that may be shown (public, live, with the hashtag or
    included), hidden ones too, earliest first: what `showcase_episodes` orders and filters."""
    rows = reads.items_by_ids(database, candidate_ids(database, config))
    return episode_cache.group(rows, reads.episode_overrides(database), config.output_dir)


def candidate_ids(database: Database, config: Config) -> list[int]:
    """The public, live items that carry a configured hashtag or were included (hidden or
    not). The rule's verdicts are stored at save (`store.mark_hashtags`); only items without
    one under the configured hashtags (written by an older version, or before the hashtags
    changed) have their plain texts read and decided here. Only the candidates are then loaded
    whole (grouping reads the links in their `raw`)."""
    rule = HashtagRule.of(config.showcase.hashtags)
    marked, undecided = reads.hashtag_verdicts(database, rule.key)
    ids = set(marked)
    ids.update(reads.included_item_ids(database))
    ids.update(
        text.id for text in undecided if rule.matches(text.title, text.description, text.tags)
    )
    return sorted(ids)


def _any_hidden(episode: Sequence[StoredItem], curation: Mapping[ItemKey, StoredCuration]) -> bool:
    marks = (curation.get((row.source, row.platform_id)) for row in episode)
    return any(mark is not None and mark.hidden_at is not None for mark in marks)


def display_order(
    grouped: Sequence[list[StoredItem]],
    curation: Mapping[ItemKey, StoredCuration],
) -> list[list[StoredItem]]:
    """Pinned episodes first, most recently pinned first; the others newest first, by the
    date of their first item (the date their card shows)."""

    def pinned_at(episode: Sequence[StoredItem]) -> datetime | None:
        marks = (curation.get((row.source, row.platform_id)) for row in episode)
        pins = [mark.pinned_at for mark in marks if mark is not None and mark.pinned_at]
        return max(pins) if pins else None

    def first(episode: Sequence[StoredItem]) -> tuple[datetime, str]:
        return (min(row.published_at for row in episode), episodes.episode_id(episode))

    pinned = [episode for episode in grouped if pinned_at(episode) is not None]
    pinned.sort(key=lambda episode: (pinned_at(episode), first(episode)), reverse=True)
    rest = [episode for episode in grouped if pinned_at(episode) is None]
    rest.sort(key=first, reverse=True)
    return pinned + rest


def item_view(row: StoredItem, files: ThumbnailFiles, now: datetime | None = None) -> ItemView:
    """The item as a card shows it; its thumbnail and copies only when they are in the output
    folder (`files` lists them once for many items)."""
    thumbnail = row.thumbnail_file
    if thumbnail and not files.exists(thumbnail):
        thumbnail = None
    return ItemView(
        source=row.source,
        platform_id=row.platform_id,
        kind=row.kind,
        title=row.title,
        description=row.description,
        url=row.url,
        published_at=row.published_at,
        duration_seconds=row.duration_seconds,
        views=row.views,
        thumbnail=thumbnail,
        embeddable=row.embeddable,
        embed_url=embed_url(row.source, row.kind, row.platform_id, row.url)
        if row.embeddable
        else None,
        thumbnail_variants=thumbnail_variants(files.output_dir, thumbnail, files.exists)
        if thumbnail
        else (),
        live_status=row.live_status,
        scheduled_start_at=announced_start(row.scheduled_start_at, now),
    )


# A premiere starts on time and a stream a little late; one that has not started a day after
# its announced time has been called off or moved without YouTube saying so.
ANNOUNCEMENT_GRACE = timedelta(hours=24)


def announced_start(scheduled: datetime | None, now: datetime | None) -> datetime | None:
    """The announced start, unless it passed more than ANNOUNCEMENT_GRACE ago."""
    if scheduled is None or now is None or scheduled + ANNOUNCEMENT_GRACE >= now:
        return scheduled
    return None


def embed_url(source: str, kind: str, platform_id: str, url: str) -> str | None:
    """The player inserted after a click: YouTube without cookies, Facebook's video plugin."""
    if kind != "video":
        return None
    if source == "youtube":
        return f"https://www.youtube-nocookie.com/embed/{quote(platform_id, safe='')}?autoplay=1"
    if source == "facebook":
        return (
            f"https://www.facebook.com/plugins/video.php?href={quote(url, safe='')}&autoplay=true"
        )
    return None
