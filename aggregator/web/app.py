"""`create_app(config)`: the staff web interface as a Starlette application.

Routes (German paths, as staff see them in the address bar):

- `GET /anmelden`: the login form; `POST /anmelden` checks it (throttled: 429, Retry-After);
  `POST /abmelden` ends the session.
- `GET /`: the cards as visitors see them, with their actions; hidden items; include by URL.
- `GET /kennzahlen`: the figures with their history; the form for a hand-entered one.
- `GET /quellen`: each source's status and "Jetzt aktualisieren".
- `GET /vorschau`, `/vorschau/seite`: the fragment in a sample host page, phone and desktop.
- `GET /aenderungen`: the audit log. `GET /ausgabe/PATH`: a file of the output folder.
- `POST /kuratieren`, `/aufnehmen`, `/zusammenfuehren`, `/trennen`, `/kennzahl`,
  `/kennzahl/entfernen`, `/aktualisieren`: the changes.

Everything but the login form and the stylesheet needs a session; every POST needs its CSRF
token. The app opens the database once (migrating it, as every command does) and closes it on
shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator import jobs
from aggregator.config import Config
from aggregator.web.headers import SecurityHeaders
from aggregator.web.pages import Pages
from aggregator.web.views import StaffViews

MAX_FORM_BYTES = 64 * 1024  # a form here is a few fields; nothing bigger is read


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: Config,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Starlette:
    """The staff interface for `config`; `engine` defaults to the configured database."""
    engine = engine or jobs.open_database(config)
    views = StaffViews(config, engine, Pages(config), clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        engine.dispose()

    async def stylesheet(request: Request) -> Response:
        return views.pages.css()

    async def not_found(request: Request, exc: Exception) -> Response:
        return views.pages.not_found()

    routes = [
        Route("/anmelden", views.login_form, methods=["GET"]),
        Route("/anmelden", views.login, methods=["POST"]),
        Route("/abmelden", views.staff_post(views.logout), methods=["POST"]),
        Route("/staff.css", stylesheet, methods=["GET"]),
        Route("/", views.staff_page(views.showcase_screen), methods=["GET"]),
        Route("/kennzahlen", views.staff_page(views.figures_screen), methods=["GET"]),
        Route("/quellen", views.staff_page(views.sources_screen), methods=["GET"]),
        Route("/vorschau", views.staff_page(views.preview_screen), methods=["GET"]),
        Route("/vorschau/seite", views.staff_page(views.preview_host), methods=["GET"]),
        Route("/aenderungen", views.staff_page(views.changes_screen), methods=["GET"]),
        Route("/ausgabe/{path:path}", views.staff_page(views.output_file), methods=["GET"]),
        *[
            Route(path, views.staff_post(handler), methods=["POST"])
            for path, handler in {
                "/kuratieren": views.curate,
                "/aufnehmen": views.include,
                "/zusammenfuehren": views.merge,
                "/trennen": views.split,
                "/kennzahl": views.set_figure,
                "/kennzahl/entfernen": views.unset_figure,
                "/aktualisieren": views.refresh,
            }.items()
        ],
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={404: not_found},
        lifespan=lifespan,
        max_body_size=MAX_FORM_BYTES,
    )
    app.state.views = views
    return app
