"""What each staff screen shows, built from the store as plain view models (no HTML here).

The cards are the ones visitors see (`context.showcase_episode_views`, in display order), each
with what staff can do to it; hidden items are listed apart, since no card shows them.
The status of the sources is `status.collect`'s, said in German; the technical line is the
stored one, which is redacted when written and redacted here once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from aggregator import status, store
from aggregator.config import Config
from aggregator.context import candidate_episodes, figure_views, showcase_episode_views
from aggregator.errors import redact
from aggregator.render import source_label
from aggregator.view import EpisodeView, FigureView

TITLE_CHARS = 70


def item_key(source: str, platform_id: str) -> str:
    """The form value naming an item: SOURCE:ID, as the command line takes it."""
    return f"{source}:{platform_id}"


@dataclass(frozen=True)
class Card:
    episode: EpisodeView
    place: int
    pinned_keys: tuple[str, ...]  # the items whose pin holds the card up (Lösen takes them off)

    @property
    def lead_key(self) -> str:
        return item_key(self.episode.lead.source, self.episode.lead.platform_id)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(item_key(item.source, item.platform_id) for item in self.episode.items)


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


@dataclass(frozen=True)
class HiddenItem:
    key: str
    source: str
    title: str
    hidden_at: datetime
    url: str | None


@dataclass(frozen=True)
class SourceFacts:
    source: str
    label: str
    healthy: bool
    last_success: datetime | None
    last_error_at: datetime | None
    problems: tuple[str, ...]  # in German
    technical: tuple[str, ...]  # the stored lines, redacted
    quota_units: int
    requests: int


def short(text: str, limit: int = TITLE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cards(session: Session, config: Config, now: datetime) -> list[Card]:
    marks = store.curation(session)
    found = []
    for place, episode in enumerate(showcase_episode_views(session, config, now), start=1):
        pinned = tuple(
            item_key(item.source, item.platform_id)
            for item in episode.items
            if (mark := marks.get((item.source, item.platform_id))) and mark.pinned_at
        )
        found.append(Card(episode, place, pinned))
    return found


def merge_choices(shown: list[Card]) -> list[Choice]:
    """Every card, by its lead item, for "Zusammenführen mit …"."""
    return [
        Choice(card.lead_key, f"{card.place}. {short(card.episode.title or card.lead_key, 50)}")
        for card in shown
    ]


def hidden_items(session: Session, config: Config) -> list[HiddenItem]:
    """Every hidden item, with the title of its row when the database has it."""
    titles = {
        (row.source, row.platform_id): row
        for episode in candidate_episodes(session, config)
        for row in episode
    }
    found = []
    for mark in store.curated_rows(session):
        if mark.hidden_at is None:
            continue
        row: store.StoredItem | store.ItemRow | None = titles.get((mark.source, mark.platform_id))
        if row is None:
            row = store.items_by_platform_id(session, mark.source, [mark.platform_id]).get(
                mark.platform_id
            )
        found.append(
            HiddenItem(
                key=item_key(mark.source, mark.platform_id),
                source=mark.source,
                title=short(row.title) if row is not None and row.title else "",
                hidden_at=mark.hidden_at,
                url=row.url if row is not None else None,
            )
        )
    return sorted(found, key=lambda item: item.hidden_at, reverse=True)


def figures(session: Session, config: Config, now: datetime) -> list[FigureView]:
    return figure_views(session, config, now)


# What a source's problem means, for people who never read a log line.
CAUSES_GERMAN = {
    "quota": "Das Tageskontingent der YouTube-API ist aufgebraucht; ab Mitternacht "
    "(Pazifikzeit, 9 Uhr bei uns) geht es weiter.",
    "token": "Der Zugangsschlüssel wurde abgelehnt (abgelaufen oder ungültig). Die technische "
    "Betreuung muss ihn erneuern.",
    "timeout": "Die Plattform hat nicht rechtzeitig geantwortet.",
    "connection": "Keine Verbindung zur Plattform.",
    "not found": "Kanal, Seite oder Schlagwort wurden auf der Plattform nicht gefunden.",
    "permission": "Der Zugang hat nicht die nötige Berechtigung.",
    "not JSON": "Die Plattform hat eine unverständliche Antwort geschickt.",
    "never fetched": "Diese Quelle wurde noch nie abgerufen.",
    "stale": "Die Daten sind älter als erlaubt: der letzte erfolgreiche Abruf liegt zu lange "
    "zurück.",
    "config": "Die Einstellungen dieser Quelle sind unvollständig.",
}


def cause_in_german(cause: str) -> str:
    if cause in CAUSES_GERMAN:
        return CAUSES_GERMAN[cause]
    if cause.startswith("http 5"):
        return f"Die Plattform hatte eine Störung ({cause.upper()})."
    if cause.startswith("http "):
        return f"Die Plattform hat die Anfrage abgelehnt ({cause.upper()})."
    return f"Beim Abruf ist ein Fehler aufgetreten ({cause})."


def source_facts(config: Config, now: datetime) -> list[SourceFacts]:
    """`showcase status` per source, offline (no token check), said in German."""
    collected = status.collect(config, now)
    facts = []
    for source in collected.sources:
        error = source.last_error
        technical = [redact(problem.message) for problem in source.problems if problem.message]
        if error is not None and error.message and not technical:
            technical.append(redact(error.message))  # an old error, shown for the record
        facts.append(
            SourceFacts(
                source=source.source,
                label=source_label(source.source),
                healthy=source.healthy,
                last_success=source.last_success.at if source.last_success else None,
                last_error_at=error.at if error else None,
                problems=tuple(cause_in_german(problem.cause) for problem in source.problems),
                technical=tuple(technical),
                quota_units=source.today.quota_units,
                requests=source.today.requests,
            )
        )
    return facts
