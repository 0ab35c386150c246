"""Who is asking, over what, and may they: the session cookie, the CSRF token, the address.

The session itself lives in the database (`staff.open_session`, `staff.session_for`): the
cookie carries a random token whose sha256 alone is stored. Every POST carries the session's
CSRF token in a form field; the login form, which comes before any session, carries one that
is also set in a short-lived cookie of its own (double submit).

Behind a reverse proxy the peer is the proxy: its `X-Forwarded-For` and `X-Forwarded-Proto`
are believed only when the peer is a loopback address (the set-up the README shows), never
from a client that could send them itself.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "showcase_staff"
LOGIN_COOKIE = "showcase_login"
CSRF_FIELD = "csrf"
LOGIN_FORM_SECONDS = 3600


@dataclass(frozen=True)
class Peer:
    address: str  # the client's address, for the login throttle
    https: bool  # whether the browser reached us over HTTPS (then the cookie is Secure)


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def peer_of(request: Request) -> Peer:
    """The client's address and scheme; a loopback proxy's forwarded headers are believed."""
    direct = request.client.host if request.client else "unknown"
    https = request.url.scheme == "https"
    if not is_loopback(direct):
        return Peer(direct, https)
    forwarded_for = request.headers.get("x-forwarded-for", "")
    # The proxy appends the address it saw: the last entry is the only one it vouches for.
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return Peer(hops[-1] if hops else direct, https or proto == "https")


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def set_session_cookie(response: Response, token: str, hours: int, peer: Peer) -> None:
    """The cookie lasts as long as the session the database keeps (`session_hours`)."""
    seconds = hours * 3600
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=seconds,
        expires=seconds,
        path="/",
        secure=peer.https,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, peer: Peer) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=peer.https, httponly=True, samesite="strict"
    )


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def set_login_cookie(response: Response, token: str, peer: Peer) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=LOGIN_FORM_SECONDS,
        path="/",
        secure=peer.https,
        httponly=True,
        samesite="strict",
    )
