"""Staff pages from Jinja templates (`templates/staff/`), in the renderer's environment.

The environment is `render.make_environment`'s: autoescape on, StrictUndefined, and the same
filters (`count`, `local_date`, `local_datetime`, ...) in the configured locale and zone, so a
hostile title is as inert here as on the page. Every page gets `who` (the staff member or
None), `csrf` (their session's token), `flash` (the message of their last change), `current`
(the path of the screen, for the navigation) and `title` (the showcase's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel import Locale
from jinja2 import Environment
from starlette.responses import HTMLResponse, Response

from aggregator.config import Config
from aggregator.render import Formats, make_environment
from aggregator.web import auth

if TYPE_CHECKING:
    from aggregator.web.views import Flash, Visitor

NAVIGATION = (
    ("/", "Showcase"),
    ("/kennzahlen", "Kennzahlen"),
    ("/quellen", "Quellen"),
    ("/vorschau", "Vorschau"),
    ("/aenderungen", "Änderungen"),
)
STYLESHEET = "staff/staff.css"


def staff_environment(config: Config) -> Environment:
    formats = Formats(Locale.parse(config.showcase.locale), ZoneInfo(config.showcase.timezone))
    return make_environment((), formats)  # site templates never replace the staff screens


class Pages:
    def __init__(self, config: Config, env: Environment | None = None) -> None:
        self.config = config
        self.env = env or staff_environment(config)
        self.stylesheet = self.env.loader.get_source(self.env, STYLESHEET)[0]  # type: ignore[union-attr]

    def html(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("who", None)
        context.setdefault("csrf", "")
        context.setdefault("flash", None)
        context.setdefault("current", "")
        page = self.env.get_template(template).render(
            title=self.config.showcase.title, navigation=NAVIGATION, **context
        )
        return HTMLResponse(page, status_code=status_code)

    def render(
        self, template: str, who: Visitor, flash: Flash | None, **context: Any
    ) -> HTMLResponse:
        return self.html(template, who=who, csrf=who.csrf_token, flash=flash, **context)

    def login(self, peer: auth.Peer, failed: bool = False, name: str = "") -> Response:
        token = auth.new_login_token()
        response = self.html(
            "staff/login.html", 401 if failed else 200, login_token=token, failed=failed, name=name
        )
        auth.set_login_cookie(response, token, peer)
        return response

    def forbidden(self) -> Response:
        return self.html(
            "staff/message.html",
            403,
            heading="Nicht erlaubt",
            text="Das Formular ist abgelaufen oder kam nicht von dieser Seite. Nichts wurde "
            "geändert. Bitte die Seite neu laden und es noch einmal versuchen.",
        )

    def throttled(self, retry_after_seconds: int) -> Response:
        minutes = max(1, -(-retry_after_seconds // 60))
        response = self.html(
            "staff/message.html",
            429,
            heading="Zu viele Fehlversuche",
            text="Zu viele fehlgeschlagene Anmeldungen für diesen Namen oder von dieser "
            f"Adresse. Bitte in {minutes} Minuten noch einmal versuchen.",
        )
        response.headers["Retry-After"] = str(retry_after_seconds)
        return response

    def not_found(self, who: Visitor | None = None) -> Response:
        return self.html(
            "staff/message.html",
            404,
            who=who,
            csrf=who.csrf_token if who else "",
            heading="Nicht gefunden",
            text="Diese Seite gibt es nicht.",
        )

    def css(self) -> Response:
        return Response(self.stylesheet, media_type="text/css")
