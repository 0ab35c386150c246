"""Staff accounts, their sessions and the login throttle, for `serve --staff`.

Passwords are kept as Argon2id hashes (argon2-cffi's defaults, RFC 9106's recommended
settings); a session's cookie token is kept only as its SHA-256, so the database alone opens
no session. The throttle: once 5 logins have failed within 15 minutes for one account name,
or from one address, further attempts for that name or from that address are refused before
any password is checked, until the oldest of those failures is 15 minutes old. A successful
login clears only the failures of its own name from its own address: one valid account must
not wipe an address's failed guesses at other names, nor a guesser's failures elsewhere.
No web imports here: the web app and the command line both call these functions.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from aggregator import store
from aggregator.errors import ShowcaseError, UsageError

MAX_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against for an unknown name, so that it takes as long as a known one's check;
    made on the first login, not at import (a hash takes a noticeable time)."""
    return _hasher.hash(secrets.token_urlsafe(16))


class LoginThrottled(ShowcaseError):
    """Too many failed logins for this name or from this address; `retry_after` says how long
    until the next attempt is heard."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        minutes = max(1, -(-int(retry_after.total_seconds()) // 60))
        super().__init__(
            f"too many failed logins: try again in {minutes} minute{'s' if minutes > 1 else ''}"
        )


@dataclass(frozen=True)
class Account:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class StaffSession:
    name: str
    csrf_token: str
    expires_at: datetime


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(
            f"staff: {name!r} is not an account name (1 to 64 letters, digits, '.', '_' or '-')",
            german="Der Name darf nur Buchstaben, Ziffern, Punkt, Unterstrich und Bindestrich "
            "enthalten (höchstens 64 Zeichen).",
        )
    return name


def add_account(session: Session, name: str, password: str, now: datetime) -> bool:
    """True: a new account; False: an existing account's password replaced (its sessions
    end, so a changed password locks out whoever knew the old one)."""
    check_name(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(
            f"staff add: the password must have at least {MIN_PASSWORD_LENGTH} characters",
            german=f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein.",
        )
    new = store.save_staff_account(session, name, _hasher.hash(password), now)
    if not new:
        store.delete_staff_sessions(session, name=name)
    return new


def remove_account(session: Session, name: str) -> bool:
    """Remove the account and end its sessions; False when there was no such account."""
    return store.delete_staff_account(session, name)


def accounts(session: Session) -> list[Account]:
    return [Account(row.name, row.created_at) for row in store.staff_accounts(session)]


def check_login(session: Session, name: str, password: str, address: str, now: datetime) -> bool:
    """True when the name and password match an account. Raises LoginThrottled, before
    checking anything, while the name or the address has used up its failures."""
    since = now - THROTTLE_WINDOW
    store.forget_login_failures(session, since)
    _refuse_when_throttled(session, since, now, name=name)
    _refuse_when_throttled(session, since, now, address=address)
    account = store.staff_account(session, name)
    if _verify(account.password_hash if account else _dummy_hash(), password) and account:
        store.delete_login_failures(session, name=name, address=address)
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = _hasher.hash(password)
        return True
    store.add_login_failure(session, name[:64], address[:64], now)
    return False


def _refuse_when_throttled(session: Session, since: datetime, now: datetime, **match: str) -> None:
    failures = store.login_failures_since(session, since, **match)
    if len(failures) >= MAX_FAILURES:
        # Heard again once so many have aged out that fewer than MAX_FAILURES remain.
        freed_at = failures[-MAX_FAILURES] + THROTTLE_WINDOW
        raise LoginThrottled(max(freed_at - now, timedelta(seconds=1)))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def open_session(session: Session, name: str, now: datetime, hours: int) -> tuple[str, str]:
    """A new session for the account: (cookie token, CSRF token). Only the cookie token's
    SHA-256 is stored."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    store.delete_staff_sessions(session, expired_at=now)
    store.add_staff_session(session, _digest(token), name, csrf, now, now + timedelta(hours=hours))
    return token, csrf


def session_for(session: Session, token: str | None, now: datetime) -> StaffSession | None:
    """The session a cookie token opens; None when unknown, expired or its account removed."""
    if not token:
        return None
    row = store.staff_session(session, _digest(token))
    if row is None or row.expires_at <= now or store.staff_account(session, row.name) is None:
        return None
    return StaffSession(row.name, row.csrf_token, row.expires_at)


def close_session(session: Session, token: str) -> None:
    store.delete_staff_sessions(session, token_hash=_digest(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
