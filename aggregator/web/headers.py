"""Security headers on every answer of the staff interface.

Staff pages may not be framed by anyone (`frame-ancestors 'none'`, `X-Frame-Options: DENY`),
run no inline script and are never cached. The preview of the fragment sets its own policy
(framed by the staff pages only, the fragment's inline script and style allowed by hash):
a response that already carries a `Content-Security-Policy` keeps it.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STAFF_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Where the fragment's click-to-play may load a player from (render.PLAYER_PROVIDERS).
PLAYER_ORIGINS = "https://www.youtube-nocookie.com https://www.facebook.com"
COMMON = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def preview_policy(html: str) -> str:
    """The policy for a page holding the fragment: its inline <script> and <style> by hash."""
    scripts, styles = inline_blocks(html)
    script_sources = " ".join(map(source_hash, scripts)) or "'none'"
    style_sources = " ".join(["'self'", *map(source_hash, styles)])
    return (
        f"default-src 'none'; script-src {script_sources}; "
        f"style-src {style_sources}; img-src 'self' data:; "
        f"frame-src {PLAYER_ORIGINS}; form-action 'none'; frame-ancestors 'self'; "
        "base-uri 'none'"
    )


def source_hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
    return f"'sha256-{digest}'"


class _InlineBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._inside: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self.scripts.append("")
            self._inside = self.scripts
        elif tag == "style":
            self.styles.append("")
            self._inside = self.styles

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside is not None:
            self._inside[-1] += data


def inline_blocks(html: str) -> tuple[list[str], list[str]]:
    """The text of every inline <script> and <style>, exactly as the browser hashes it."""
    parser = _InlineBlocks()
    parser.feed(html)
    parser.close()
    return parser.scripts, parser.styles


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = STAFF_POLICY
                    headers["x-frame-options"] = "DENY"
            await send(message)

        await self.app(scope, receive, send_with_headers)
