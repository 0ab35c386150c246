"""The staff screens and the changes they post.

Every change goes through `aggregator.actions` (the command line's code path) with the actor
"web:<name>", then the outputs are rendered again (`jobs.render_output`), and the next page
says so: "Gespeichert, Seite neu erstellt 14:02". A `UsageError` is shown in its German words.
A change answers with a redirect (post/redirect/get), and the message waits for the next
page of that session.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from aggregator import actions, jobs, staff, store
from aggregator.config import Config, require_secrets
from aggregator.errors import ConfigError, LockedError, UsageError, redact
from aggregator.publish import PublishError
from aggregator.render import source_label
from aggregator.web import auth, preview, screens
from aggregator.web.pages import Pages

Clock = Callable[[], datetime]
Handler = Callable[[Request, "Visitor", FormData], Awaitable[Response]]

NEXT_PAGES = ("/", "/kennzahlen", "/quellen", "/vorschau", "/aenderungen")
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 200
CURATION_COMMANDS = ("hide", "unhide", "pin", "unpin", "include", "exclude")
BAD_FORM = "Das Formular war unvollständig. Bitte die Seite neu laden und es noch einmal versuchen."


@dataclass(frozen=True)
class Visitor:
    """A logged-in staff member, for one request."""

    name: str
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"web:{self.name}"


@dataclass(frozen=True)
class Flash:
    kind: str  # "ok" or "error"
    text: str


class StaffViews:
    def __init__(self, config: Config, engine: Engine, pages: Pages, clock: Clock) -> None:
        self.config = config
        self.engine = engine
        self.pages = pages
        self.clock = clock
        self.zone = ZoneInfo(config.showcase.timezone)
        self.flashes: dict[str, Flash] = {}  # by the session's CSRF token: one per session

    # -- who is asking ------------------------------------------------------------------------

    def visitor(self, request: Request) -> Visitor | None:
        token = request.cookies.get(auth.SESSION_COOKIE)
        if not token:
            return None
        with store.session_scope(self.engine) as session:
            found = staff.session_for(session, token, self.clock())
        return Visitor(found.name, found.csrf_token) if found else None

    def staff_page(self, show: Callable[[Request, Visitor], Response]) -> Callable[..., Any]:
        """A GET for staff only; anyone else is sent to the login page."""

        async def endpoint(request: Request) -> Response:
            who = await run_in_threadpool(self.visitor, request)
            if who is None:
                return RedirectResponse("/anmelden", status_code=303)
            return await run_in_threadpool(show, request, who)

        return endpoint

    def staff_post(self, handle: Handler) -> Callable[..., Any]:
        """A POST for staff only, with the session's CSRF token: else nothing is done."""

        async def endpoint(request: Request) -> Response:
            who = await run_in_threadpool(self.visitor, request)
            if who is None:
                return RedirectResponse("/anmelden", status_code=303)
            form = await read_form(request)
            if not auth.same_token(_text(form, auth.CSRF_FIELD), who.csrf_token):
                return self.pages.forbidden()
            return await handle(request, who, form)

        return endpoint

    # -- screens ------------------------------------------------------------------------------

    def take_flash(self, who: Visitor) -> Flash | None:
        return self.flashes.pop(who.csrf_token, None)

    def showcase_screen(self, request: Request, who: Visitor) -> Response:
        now = self.clock()
        with store.session_scope(self.engine) as session:
            cards = screens.cards(session, self.config, now)
            hidden = screens.hidden_items(session, self.config)
        return self.pages.render(
            "staff/showcase.html",
            who,
            self.take_flash(who),
            current="/",
            cards=cards,
            choices=screens.merge_choices(cards),
            hidden=hidden,
        )

    def figures_screen(self, request: Request, who: Visitor) -> Response:
        now = self.clock()
        with store.session_scope(self.engine) as session:
            figures = screens.figures(session, self.config, now)
        return self.pages.render(
            "staff/figures.html",
            who,
            self.take_flash(who),
            current="/kennzahlen",
            figures=figures,
            today=now.astimezone(self.zone).date().isoformat(),
        )

    def sources_screen(self, request: Request, who: Visitor) -> Response:
        return self.pages.render(
            "staff/sources.html",
            who,
            self.take_flash(who),
            current="/quellen",
            sources=screens.source_facts(self.config, self.clock()),
        )

    def changes_screen(self, request: Request, who: Visitor) -> Response:
        with store.session_scope(self.engine) as session:
            changes = actions.recent_changes(session, 100)
        return self.pages.render(
            "staff/changes.html", who, self.take_flash(who), current="/aenderungen", changes=changes
        )

    def preview_screen(self, request: Request, who: Visitor) -> Response:
        return self.pages.render(
            "staff/preview.html", who, self.take_flash(who), current="/vorschau"
        )

    def preview_host(self, request: Request, who: Visitor) -> Response:
        with store.session_scope(self.engine) as session:
            html = preview.host_page(session, self.config, self.clock(), self.pages.env)
        return HTMLResponse(html, headers={"Content-Security-Policy": preview.policy(html)})

    def output_file(self, request: Request, who: Visitor) -> Response:
        """A file of the output folder (thumbnails for the cards and the preview)."""
        root = self.config.output_dir.resolve()
        path = (root / request.path_params["path"]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return self.pages.not_found(who)
        return FileResponse(Path(path))

    # -- changes ------------------------------------------------------------------------------

    async def change(
        self, request: Request, who: Visitor, form: FormData, do: Callable[[Session], Any]
    ) -> Response:
        """Run `do` in one transaction, render again, and say how it went on the next page."""

        def work() -> Flash:
            try:
                with store.session_scope(self.engine) as session:
                    outcome = do(session)
            except UsageError as error:
                return Flash("error", german(error))
            return self.rendered(outcome)

        self.flashes[who.csrf_token] = await run_in_threadpool(work)
        return RedirectResponse(next_page(form), status_code=303)

    def rendered(self, outcome: Any) -> Flash:
        already = "" if getattr(outcome, "changed", True) else " (Es war schon so.)"
        try:
            jobs.render_output(self.engine, self.config, self.clock)
        except PublishError:
            return Flash(
                "error",
                f"Gespeichert und neu erstellt {self.clock_text()}, aber das Veröffentlichen "
                "ist gescheitert. Bitte die technische Betreuung fragen.",
            )
        return Flash("ok", f"Gespeichert, Seite neu erstellt {self.clock_text()}.{already}")

    def clock_text(self) -> str:
        return self.clock().astimezone(self.zone).strftime("%H:%M")

    async def curate(self, request: Request, who: Visitor, form: FormData) -> Response:
        command = _text(form, "command")
        texts = [str(value) for value in form.getlist("item") if str(value).strip()]
        if command not in CURATION_COMMANDS or not texts:
            return self.bad_form(who, form)

        def do(session: Session) -> Any:
            outcome = None
            for text in texts:
                item = actions.resolve_item(session, text, command)
                outcome = actions.curate(
                    session, self.config, command, item, who.actor, self.clock()
                )
            return outcome

        return await self.change(request, who, form, do)

    async def include(self, request: Request, who: Visitor, form: FormData) -> Response:
        text = _text(form, "url").strip()
        if not text:
            return self.bad_form(who, form, "Bitte die Adresse eines Beitrags einfügen.")

        def do(session: Session) -> Any:
            item = actions.resolve_item(session, text, "include")
            return actions.curate(session, self.config, "include", item, who.actor, self.clock())

        return await self.change(request, who, form, do)

    async def merge(self, request: Request, who: Visitor, form: FormData) -> Response:
        first, second = _text(form, "item"), _text(form, "other")
        if not first or not second:
            return self.bad_form(who, form, "Bitte eine Karte zum Zusammenführen wählen.")

        def do(session: Session) -> Any:
            one = actions.resolve_item(session, first, "episode merge")
            other = actions.resolve_item(session, second, "episode merge")
            return actions.merge_episode(session, self.config, one, other, who.actor, self.clock())

        return await self.change(request, who, form, do)

    async def split(self, request: Request, who: Visitor, form: FormData) -> Response:
        text = _text(form, "item")
        if not text:
            return self.bad_form(who, form)

        def do(session: Session) -> Any:
            item = actions.resolve_item(session, text, "episode split")
            return actions.split_episode(session, self.config, item, who.actor, self.clock())

        return await self.change(request, who, form, do)

    async def set_figure(self, request: Request, who: Visitor, form: FormData) -> Response:
        key, value = _text(form, "key").strip(), _text(form, "value").strip()
        label = _text(form, "label").strip() or None
        day_text = _text(form, "day").strip()
        if not key or not value:
            return self.bad_form(who, form, "Bitte Schlüssel und Wert der Kennzahl angeben.")
        try:
            day = date.fromisoformat(day_text) if day_text else None
        except ValueError:
            return self.bad_form(who, form, "Das Datum ist ungültig (Beispiel: 2026-11-30).")

        def do(session: Session) -> Any:
            return actions.set_figure(
                session, self.config, key, value, label, day, who.actor, self.clock()
            )

        return await self.change(request, who, form, do)

    async def unset_figure(self, request: Request, who: Visitor, form: FormData) -> Response:
        key = _text(form, "key").strip()
        if not key:
            return self.bad_form(who, form)

        def do(session: Session) -> Any:
            return actions.unset_figure(session, self.config, key, who.actor, self.clock())

        return await self.change(request, who, form, do)

    async def refresh(self, request: Request, who: Visitor, form: FormData) -> Response:
        """The quick update, under the same lock as `update`; a busy lock is said, not raised."""

        def work() -> Flash:
            try:
                require_secrets(self.config, jobs.fetchable_sources(self.config))
                outcomes = jobs.update(self.config, clock=self.clock, mode=jobs.QUICK)
            except ConfigError as error:
                return Flash(
                    "error",
                    "Die Aktualisierung ist auf dem Server nicht vollständig eingerichtet "
                    f"({redact(str(error))}). Bitte die technische Betreuung fragen.",
                )
            except LockedError:
                return Flash(
                    "error",
                    "Gerade läuft schon eine Aktualisierung. Bitte in ein paar Minuten noch "
                    "einmal versuchen.",
                )
            except PublishError:
                return Flash(
                    "error",
                    f"Aktualisiert und neu erstellt {self.clock_text()}, aber das "
                    "Veröffentlichen ist gescheitert. Bitte die technische Betreuung fragen.",
                )
            failed = [source_label(outcome.source) for outcome in outcomes if not outcome.ok]
            if failed:
                return Flash(
                    "error",
                    f"Aktualisiert, Seite neu erstellt {self.clock_text()}. Nicht erreicht: "
                    f"{', '.join(failed)} (Einzelheiten unten).",
                )
            return Flash("ok", f"Aktualisiert, Seite neu erstellt {self.clock_text()}.")

        self.flashes[who.csrf_token] = await run_in_threadpool(work)
        return RedirectResponse(next_page(form, "/quellen"), status_code=303)

    def bad_form(self, who: Visitor, form: FormData, text: str = BAD_FORM) -> Response:
        self.flashes[who.csrf_token] = Flash("error", text)
        return RedirectResponse(next_page(form), status_code=303)

    # -- logging in and out -------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        who = await run_in_threadpool(self.visitor, request)
        if who is not None:
            return RedirectResponse("/", status_code=303)
        return self.pages.login(auth.peer_of(request))

    async def login(self, request: Request) -> Response:
        peer = auth.peer_of(request)
        form = await read_form(request)
        login_token = request.cookies.get(auth.LOGIN_COOKIE)
        if not auth.same_token(_text(form, auth.CSRF_FIELD), login_token):
            return self.pages.forbidden()
        name, password = _text(form, "name").strip(), _text(form, "password")

        def check() -> tuple[str, int] | None:
            now = self.clock()
            with store.session_scope(self.engine) as session:
                if not staff.check_login(session, name, password, peer.address, now):
                    return None
            if self.config.staff is None:  # checked at start; a config is not reloaded
                return None
            hours = self.config.staff.session_hours
            with store.session_scope(self.engine) as session:
                token, _csrf = staff.open_session(session, name, now, hours)
            return token, hours

        try:
            opened = await run_in_threadpool(check)
        except staff.LoginThrottled as throttled:
            return self.pages.throttled(math.ceil(throttled.retry_after.total_seconds()))
        if opened is None:
            return self.pages.login(peer, failed=True, name=name)
        token, hours = opened
        response = RedirectResponse("/", status_code=303)
        auth.set_session_cookie(response, token, hours, peer)
        response.delete_cookie(auth.LOGIN_COOKIE, path="/")
        return response

    async def logout(self, request: Request, who: Visitor, form: FormData) -> Response:
        token = request.cookies.get(auth.SESSION_COOKIE)

        def close() -> None:
            with store.session_scope(self.engine) as session:
                staff.close_session(session, token or "")

        await run_in_threadpool(close)
        self.flashes.pop(who.csrf_token, None)
        response = RedirectResponse("/anmelden", status_code=303)
        auth.clear_session_cookie(response, auth.peer_of(request))
        return response


async def read_form(request: Request) -> FormData:
    """The fields of a urlencoded form, the only kind the staff pages send (Starlette's own
    form parser needs python-multipart, for uploads this interface never takes)."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPE):
        return FormData()
    body = (await request.body()).decode("utf-8", errors="replace")
    fields: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    )
    return FormData(fields)


def german(error: UsageError) -> str:
    """The error's German sentence; the English line only when it has none."""
    text = getattr(error, "german", None)
    return text or f"Das ging nicht: {error}"


def next_page(form: FormData, default: str = "/") -> str:
    """Where to go after a change: one of the staff pages, never an address from outside."""
    wanted = _text(form, "next")
    return wanted if wanted in NEXT_PAGES else default


def _text(form: FormData | Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
