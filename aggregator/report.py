"""`showcase report`: "Was ist seit dem 27.06.2017 passiert?" for a period, in German.

`build_report` reads the store into a `Report` (plain view model); `render_report` turns it
into Markdown or standalone HTML (templates `report/report.md`, `report/report.html`, which a
site may override like the page's) or a CSV table for a German spreadsheet (`;`-separated,
counts `3.000`, dates `27.06.2017`).

The period runs from the start of `since` to the end of `until`, calendar days in the
configured time zone. Each figure is reported with its value on `until` and its change since
its value on `since` (see `figures.py` for "the value on a day"). A figure whose recording
began inside the period shows its change over the part that was recorded, "+89 seit
01.12.2026, Beginn der Erfassung": a fetched figure is confirmed at every fetch, so its first
value is a true start. A figure entered by hand only once in the period has no change to
show; it says since when it is known.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from jinja2 import Environment
from sqlalchemy.orm import Session

from aggregator import figures, store
from aggregator.config import SOURCES, Config
from aggregator.context import (
    figure_label,
    figure_order,
    showcase_episode_views,
    showcase_rows,
)
from aggregator.errors import UsageError
from aggregator.render import Formats, make_environment, source_label, web_url
from aggregator.view import EpisodeView, ItemView

FORMATS = ("md", "html", "csv")
_TEMPLATES = {"md": "report/report.md", "html": "report/report.html"}
_UNTITLED_LENGTH = 80
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_KIND_LABELS = {"video": "Video", "post": "Beitrag"}


@dataclass(frozen=True)
class ReportFigure:
    key: str
    source: str  # "youtube", "facebook", "manual"
    label: str
    value: int  # on `until`
    manual: bool
    as_of: datetime  # when that value was recorded or last fetched (hand-entered: its date)
    change: int | None  # since `change_since`; None when there is nothing to compare
    first_recorded: datetime | None  # when the figure was first recorded
    # `since`, or, when recording began inside the period, the day it began
    change_since: date | None = None

    def change_is_partial(self, since: date) -> bool:
        """The change covers only the recorded part of the period."""
        return self.change is not None and self.change_since != since


@dataclass(frozen=True)
class ReportItem:
    source: str
    platform_id: str
    kind: str  # "video" | "post"
    title: str
    published_at: datetime
    url: str


@dataclass(frozen=True)
class ReportEpisode:
    """One story of the series, however many platforms it was published on."""

    id: str  # as the card's data-episode, e.g. "youtube:ID"
    title: str
    published_at: datetime  # its earliest item's
    lead: ReportItem  # the item the page's card plays: the title links to it
    others: tuple[ReportItem, ...] = ()  # the episode's other items, as the card orders them


@dataclass(frozen=True)
class SourceCount:
    source: str
    series: int  # new items that belong to the showcase (hashtag or include, not hidden)
    total: int  # every new public item of the account


@dataclass(frozen=True)
class Report:
    title: str  # the series, e.g. "#flächenglühen"
    since: date
    until: date
    generated_at: datetime
    locale: str
    timezone: str
    figures: list[ReportFigure] = field(default_factory=list)
    # The series' new episodes (their earliest item in the period), oldest first.
    episodes: list[ReportEpisode] = field(default_factory=list)
    counts: list[SourceCount] = field(default_factory=list)


def build_report(
    session: Session, config: Config, since: date, until: date, now: datetime
) -> Report:
    if since > until:
        raise UsageError(f"--since {since.isoformat()} is after --until {until.isoformat()}")
    zone = ZoneInfo(config.showcase.timezone)
    start, end = figures.day_start(since, zone), figures.day_end(until, zone)
    series = [row for row in showcase_rows(session, config) if start <= row.published_at < end]
    every_new = [row for row in store.live_items(session) if start <= row.published_at < end]
    new_episodes = [
        episode
        for episode in showcase_episode_views(session, config, now)
        if start <= episode.published_at < end
    ]
    return Report(
        title=config.showcase.title,
        since=since,
        until=until,
        generated_at=now,
        locale=config.showcase.locale,
        timezone=config.showcase.timezone,
        figures=report_figures(session, since, until, zone),
        episodes=[report_episode(e) for e in sorted(new_episodes, key=_oldest_first)],
        counts=source_counts(config, series, every_new),
    )


def report_figures(
    session: Session, since: date, until: date, zone: ZoneInfo
) -> list[ReportFigure]:
    """The current figures (a figure unset with `figures unset` is no longer reported),
    each as it stood on `until`; one not yet recorded then is left out."""
    histories = store.figure_histories(session)
    end = figures.day_end(until, zone)
    found = []
    for row in store.current_figures(session):
        points = histories.get(row.key, [])
        on_until = figures.value_on(points, until, zone)
        if on_until is None:
            continue
        baseline, change_since = _baseline(points, on_until, row.manual, since, zone)
        found.append(
            ReportFigure(
                key=row.key,
                source=row.source,
                label=figure_label(row),
                value=on_until[1],
                manual=row.manual,
                as_of=_as_of(row, on_until, end),
                change=None if baseline is None else on_until[1] - baseline[1],
                first_recorded=points[0][0],
                change_since=change_since,
            )
        )
    return sorted(found, key=lambda figure: figure_order(figure.key))


def _baseline(
    points: Sequence[figures.Point],
    on_until: figures.Point,
    manual: bool,
    since: date,
    zone: ZoneInfo,
) -> tuple[figures.Point | None, date | None]:
    """What the change is measured from, and the day that is: the value on `since`; else,
    recording having begun inside the period, the first value (for a hand-entered figure
    only when a later entry gives something to compare)."""
    on_since = figures.value_on(points, since, zone)
    if on_since is not None:
        return on_since, since
    first = points[0]
    if manual and first[0] >= on_until[0]:
        return None, None
    return first, figures.local_day(first[0], zone)


def _as_of(row: store.FigureRow, on_until: figures.Point, end: datetime) -> datetime:
    """A hand-entered value is as of the date it was entered for. A fetched one was last
    confirmed at its last fetch, or, when that came after the period, held to the period's end
    (history records changes only)."""
    if row.manual:
        return on_until[0]
    return row.as_of if row.as_of < end else end - timedelta(seconds=1)


def _oldest_first(episode: EpisodeView) -> tuple[datetime, str]:
    """The showcase comes pins first; a report lists the period's episodes by date."""
    return episode.published_at, episode.id


def report_episode(episode: EpisodeView) -> ReportEpisode:
    """The episode as its card shows it: its title (else the first line of its text), its
    earliest date, its lead first and then its other items."""
    title = episode.title.strip() or _first_line(episode.description) or "(ohne Titel)"
    return ReportEpisode(
        id=episode.id,
        title=title,
        published_at=episode.published_at,
        lead=report_item(episode.lead),
        others=tuple(report_item(item) for item in episode.items if item is not episode.lead),
    )


def report_item(item: ItemView) -> ReportItem:
    return ReportItem(
        source=item.source,
        platform_id=item.platform_id,
        kind=item.kind,
        title=item.title.strip() or _first_line(item.description) or "(ohne Titel)",
        published_at=item.published_at,
        url=item.url,
    )


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= _UNTITLED_LENGTH else line[: _UNTITLED_LENGTH - 1] + "…"


def source_counts(
    config: Config, series: Sequence[store.StoredItem], every_new: Sequence[store.ItemRow]
) -> list[SourceCount]:
    """One row per configured source, and per source that brought anything in the period."""
    present = set(config.configured_sources()) | {row.source for row in every_new}
    ordered = [name for name in SOURCES if name in present] + sorted(present - set(SOURCES))
    return [
        SourceCount(
            source=name,
            series=sum(1 for row in series if row.source == name),
            total=sum(1 for row in every_new if row.source == name),
        )
        for name in ordered
    ]


def render_report(report: Report, output_format: str, template_dirs: Sequence[Path] = ()) -> str:
    if output_format not in FORMATS:
        raise UsageError(f"--format {output_format!r}: choose one of {', '.join(FORMATS)}")
    text = ReportText(Formats(Locale.parse(report.locale), ZoneInfo(report.timezone)), report)
    if output_format == "csv":
        return report_csv(report, text)
    env = report_environment(template_dirs, text)
    return env.get_template(_TEMPLATES[output_format]).render(
        report=report, language=Locale.parse(report.locale).language
    )


@dataclass(frozen=True)
class ReportText:
    """The report's plain-text phrases, shared by the templates and the CSV."""

    formats: Formats
    report: Report

    def heading(self) -> str:
        return f"Was ist seit dem {self.formats.local_date(self.report.since)} passiert?"

    def period(self) -> str:
        since = self.formats.local_date(self.report.since)
        return f"Zeitraum: {since} bis {self.formats.local_date(self.report.until)}"

    def change(self, figure: ReportFigure) -> str:
        if figure.change is None:
            return ""
        return figures.signed_count(figure.change, self.formats.locale)

    def figure_notes(self, figure: ReportFigure, with_change: bool = True) -> list[str]:
        """`+312 seit 27.06.2017`, `+89 seit 01.12.2026, Beginn der Erfassung`, `erfasst seit
        01.12.2026`, `von Hand eingetragen, Stand …`. Without the change (the CSV has a column
        for it), a partial change still says where it starts."""
        notes = []
        if figure.change_since is not None and figure.change_is_partial(self.report.since):
            start = self.formats.local_date(figure.change_since)
            change = self.change(figure) if with_change else "Veränderung"
            notes.append(f"{change} seit {start}, Beginn der Erfassung")
        elif figure.change is not None and with_change:
            notes.append(f"{self.change(figure)} seit {self.formats.local_date(self.report.since)}")
        elif figure.change is None and figure.first_recorded is not None:
            first = self.formats.local_date(figure.first_recorded)
            if not figure.manual or first != self.formats.local_date(figure.as_of):
                notes.append(f"erfasst seit {first}")
        if figure.manual:
            notes.append(f"von Hand eingetragen, Stand {self.formats.local_date(figure.as_of)}")
        return notes

    def kind(self, item: ReportItem) -> str:
        return f"{source_label(item.source)}-{_KIND_LABELS.get(item.kind, item.kind)}"

    def kinds(self, episode: ReportEpisode) -> str:
        return ", ".join(self.kind(item) for item in (episode.lead, *episode.others))


def report_environment(template_dirs: Sequence[Path], text: ReportText) -> Environment:
    """The page's environment and filters; Markdown templates are not HTML-escaped but get
    the `md` filter, which escapes what Markdown would read as markup."""
    env = make_environment(template_dirs, text.formats)
    env.autoescape = lambda name: not (name or "").endswith(".md")
    env.filters.update(md=markdown_text, md_url=markdown_url)
    env.globals.update(text=text)
    return env


def markdown_text(value: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def markdown_url(url: str) -> str | None:
    """An http(s) link's target, with what would end a Markdown link percent-encoded."""
    safe = web_url(url)
    if safe is None:
        return None
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        safe = safe.replace(char, code)
    return safe


def report_csv(report: Report, text: ReportText) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(report_rows(report, text))
    return out.getvalue()


def report_rows(report: Report, text: ReportText) -> Iterator[list[str]]:
    """One table: the figures, the series' new episodes (one row each, every link in its
    cell, separated by spaces), the new items per source."""
    count, day = text.formats.count, text.formats.local_date
    yield [
        "Abschnitt",
        "Schlüssel",
        "Bezeichnung",
        "Wert",
        f"Veränderung seit {day(report.since)}",
        "Datum",
        "Quelle",
        "Link",
        "Hinweis",
    ]
    for figure in report.figures:
        source = "von Hand" if figure.manual else source_label(figure.source)
        notes = "; ".join(text.figure_notes(figure, with_change=False))
        value, change, as_of = count(figure.value), text.change(figure), day(figure.as_of)
        yield ["Kennzahl", figure.key, figure.label, value, change, as_of, source, "", notes]
    for episode in report.episodes:
        items = (episode.lead, *episode.others)
        sources = ", ".join(dict.fromkeys(source_label(item.source) for item in items))
        links = " ".join(link for link in (web_url(item.url) for item in items) if link)
        published = day(episode.published_at)
        yield [
            "Neu in der Reihe",
            episode.id,
            episode.title,
            "",
            "",
            published,
            sources,
            links,
            text.kinds(episode),
        ]
    for counted in report.counts:
        label = source_label(counted.source)
        for section, number in (("der Reihe", counted.series), ("insgesamt", counted.total)):
            row = [f"Neue Einträge {section}", counted.source, label, count(number)]
            yield [*row, "", "", label, "", ""]
