"""Build the renderer's context (view models) from what the store holds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.orm import Session

from aggregator import store
from aggregator.config import Config
from aggregator.matching import item_matches, prepare_hashtags
from aggregator.view import FigureView, ItemView, Showcase

FIGURE_LABELS = {
    "youtube.subscribers": "YouTube-Abonnenten",
    "youtube.views": "YouTube-Aufrufe",
    "youtube.videos": "YouTube-Videos",
    "facebook.followers": "Facebook-Follower",
    "facebook.likes": "Facebook-„Gefällt mir“-Angaben",
}
_FIGURE_ORDER = {key: index for index, key in enumerate(FIGURE_LABELS)}


def build_showcase(session: Session, config: Config, now: datetime) -> Showcase:
    return Showcase(
        title=config.showcase.title,
        intro=config.showcase.intro,
        generated_at=now,
        locale=config.showcase.locale,
        timezone=config.showcase.timezone,
        figures=figure_views(session, config, now),
        items=showcase_items(session, config),
        since=config.showcase.since,
    )


def figure_views(session: Session, config: Config, now: datetime) -> list[FigureView]:
    last_runs = store.last_runs(session)
    views = []
    for row in store.current_figures(session):
        last_run = last_runs.get(row.source)
        failed = last_run is not None and last_run.outcome != "ok"
        too_old = now - row.as_of > config.showcase.stale_after
        views.append(
            FigureView(
                key=row.key,
                source=row.source,
                label=FIGURE_LABELS.get(row.key, row.key),
                value=row.value,
                as_of=row.as_of,
                stale=failed or too_old,
                rounded=row.rounded,
            )
        )
    return sorted(views, key=lambda view: (_FIGURE_ORDER.get(view.key, 99), view.key))


def showcase_items(session: Session, config: Config) -> list[ItemView]:
    return [item_view(row, config.output_dir) for row in showcase_rows(session, config)]


def showcase_rows(session: Session, config: Config) -> list[store.ItemRow]:
    """Public, live items that carry a configured hashtag, from every source the store holds.

    A source taken out of the config is no longer fetched, but what it brought stays shown
    until the database is cleared: `render` shows what the database holds."""
    hashtags = prepare_hashtags(config.showcase.hashtags)
    return [
        row
        for row in store.live_items(session)
        if item_matches([row.title, row.description], row.tags, hashtags)
    ]


def item_view(row: store.ItemRow, output_dir: Path) -> ItemView:
    thumbnail = row.thumbnail_file
    if thumbnail and not (output_dir / thumbnail).is_file():
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
    )


def embed_url(source: str, kind: str, platform_id: str, url: str) -> str | None:
    """The player inserted after a click: YouTube without cookies, Facebook's video plugin."""
    if kind != "video":
        return None
    if source == "youtube":
        return f"https://www.youtube-nocookie.com/embed/{quote(platform_id, safe='')}?autoplay=1"
    if source == "facebook":
        return (
            "https://www.facebook.com/plugins/video.php?href="
            f"{quote(url, safe='')}&show_text=false&autoplay=true"
        )
    return None
