"""What the requests-based sources share: one GET, and reading the answer's edges.

Failures become `SourceError`s that name the host and path only: requests' own exceptions
carry the whole URL, query (and whatever token it holds) included, and the proxy's URL with its
password.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests

from aggregator import PROJECT_URL, __version__
from aggregator.errors import SourceError
from aggregator.recording import active_recorder
from aggregator.sources.transport import (
    DeadlineExceeded,
    ProxySession,
    proxy_note,
    within_deadline,
)

# Some hosts and security plugins answer 403 to requests' default "python-requests/x.y".
USER_AGENT = f"showcase/{__version__} (+{PROJECT_URL})"


def new_session() -> requests.Session:
    """A requests Session for one source's run: showcase's own User-Agent, the operator's proxy
    (never for loopback), and under `--record` every exchange written down."""
    session = ProxySession()
    session.headers["User-Agent"] = USER_AGENT
    recorder = active_recorder()
    if recorder is not None:
        session.hooks["response"].append(recorder.requests_hook)
    return session


def http_get(
    session: requests.Session,
    url: str,
    source: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """One GET. A timeout or a broken connection is a retryable SourceError; any answer,
    error statuses included, is returned for the source to classify. `timeout` bounds the
    whole exchange, body included, not only each read of the socket."""
    send = partial(session.get, url, headers=dict(headers or {}), timeout=timeout)
    return _send(send, session, url, source, timeout)


def http_head(
    session: requests.Session, url: str, source: str, timeout: float
) -> requests.Response:
    """One HEAD, redirects followed (requests follows none for HEAD unless told), failing
    as http_get does."""
    send = partial(session.head, url, timeout=timeout, allow_redirects=True)
    return _send(send, session, url, source, timeout)


def _send(
    request: Callable[[], requests.Response],
    session: requests.Session,
    url: str,
    source: str,
    timeout: float,
) -> requests.Response:
    try:
        return within_deadline(request, timeout)
    except (requests.Timeout, DeadlineExceeded):
        detail = f"{where(url)}: no whole answer within {timeout:g}s"
        raise SourceError(source, "timeout", detail, retryable=True) from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
        detail = f"{where(url)}: {type(error).__name__}{_through_proxy(session, url)}"
        raise SourceError(source, "connection", detail, retryable=True) from None
    except requests.RequestException as error:
        detail = f"{where(url)}: {type(error).__name__}"
        raise SourceError(source, "connection", detail) from None


def _through_proxy(session: requests.Session, url: str) -> str:
    settings = session.proxy_settings if isinstance(session, ProxySession) else None
    return proxy_note(url, settings)


def where(url: str) -> str:
    """Host and path of a request, for messages: the query and any user:password left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    return f"GET {host}{parts.path}"


def is_web_url(value: Any) -> bool:
    """An absolute http(s) URL, as an answer's picture or link must be to be used."""
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-case name, whatever case the server wrote it in."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = header(headers, "retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare enough to fall back on the policy's backoff


def json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nested deeper than Python's json can follow (RFC 8259 section 9
        # lets a parser set that limit); as unreadable as any other answer that is not JSON.
        return None
