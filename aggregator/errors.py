"""Errors the operator can act on, and the redaction that keeps secrets out of them."""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?i)\b(key|access_token|appsecret_proof|client_secret|input_token|fb_exchange_token)"
    r"=[^&\s\"'<>]+"
)
_BEARER = re.compile(r"(?i)\b(Bearer|OAuth)\s+[A-Za-z0-9._~+/=-]{8,}")

_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` removes it wherever it shows up."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Remove API keys and tokens from a message, a URL or a log line."""
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=REDACTED", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} REDACTED", text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, "REDACTED")
    return text


class RedactingFilter(logging.Filter):
    """Takes secrets out of a logger's records, such as urllib3's request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def redact_records_of(*logger_names: str) -> None:
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class ShowcaseError(Exception):
    """Base of the errors this package raises on purpose."""


class ConfigError(ShowcaseError):
    """The configuration is unusable; the message names the key. Exit code 2."""


class UsageError(ShowcaseError):
    """A command's argument is unusable (a bad date, a value that is not a number). Exit code 2.

    `str()` is the command line's English line; `german`, when given, is one German sentence
    saying the same to staff in the web interface."""

    def __init__(self, message: str, german: str | None = None) -> None:
        super().__init__(message)
        self.german = german


class DatabaseError(ShowcaseError):
    """The database cannot be opened, read or upgraded; the message names it and the cause.
    Exit code 2: nothing was fetched, the operator must act."""


class NewerSchemaError(DatabaseError):
    """The database was made by a newer showcase: refused, never downgraded, left untouched."""


class LockedError(ShowcaseError):
    """Another update or fetch holds the database's lock. Exit code 75."""


class SourceError(ShowcaseError):
    """A source could not be fetched.

    `cause` is a short machine word the operator can grep for: "quota", "token",
    "http 503", "timeout", "not JSON", "connection", "permission", "not found", ...
    """

    def __init__(
        self,
        source: str,
        cause: str,
        detail: str = "",
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        self.source = source
        self.cause = cause
        self.detail = redact(detail)
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.source}: {self.cause}"
        if self.detail:
            text += f": {self.detail}"
        return redact(text)
