"""The page access token, from the one thing that needs a browser: a short-lived user token.

https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived:
`GET /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token`
turns the user token of the Graph API Explorer (about an hour) into a long-lived one (60 days);
`GET /me/accounts` with that lists the pages the user manages, each with a page token that
does not expire. Graph's `debug_token` then says what the page token is: its expiry (0:
never), the end of its data access and its permissions.

Three requests (one more per 100 managed pages). The app secret and the user tokens travel
only in the query of the exchange (as Graph documents it: `client_secret` and
`fb_exchange_token` are redacted from every message) or in the Authorization header, and are
registered as secrets; every later call carries the appsecret_proof, so apps with "Require
App Secret" work too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import requests

from aggregator.config import FacebookConfig
from aggregator.errors import SourceError, register_secret
from aggregator.models import Usage
from aggregator.retry import RetryPolicy
from aggregator.sources.facebook import (
    SOURCE,
    GraphClient,
    TokenInfo,
    check_token,
    next_page_url,
    parse_response,
)
from aggregator.sources.http import http_get, json_or_none, new_session, where

log = logging.getLogger(__name__)
ACCOUNT_FIELDS = "id,name,username,access_token,tasks"
ACCOUNTS_LIMIT = 100
EXPLORER = "https://developers.facebook.com/tools/explorer/"
NEW_USER_TOKEN = (
    f"get a new user token in the Graph API Explorer ({EXPLORER}; it lasts about an hour) "
    "and run facebook-token again at once"
)
# Graph's answers to a wrong app id (code 101) or app secret (code 1) on oauth/access_token.
APP_ID_CODE = 101
APP_SECRET_CODE = 1


@dataclass(frozen=True)
class ManagedPage:
    """A page the user manages, as /me/accounts lists it."""

    id: str
    name: str
    username: str = ""
    tasks: tuple[str, ...] = ()
    access_token: str = field(default="", repr=False)

    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id

    def matches(self, wanted: str) -> bool:
        """By id, or by username in any case (facebook.page takes either)."""
        wanted = wanted.strip().removeprefix("@")
        return wanted == self.id or (
            bool(self.username) and wanted.casefold() == self.username.casefold()
        )


@dataclass(frozen=True)
class PageToken:
    page: ManagedPage
    info: TokenInfo  # what debug_token says of the page token

    @property
    def token(self) -> str:
        return self.page.access_token


class PageNotManaged(SourceError):
    """The user manages no page by that id or name; `managed` are the pages they do manage."""

    def __init__(self, wanted: str, managed: list[ManagedPage]):
        self.managed = managed
        names = ", ".join(page.label() for page in managed) or "none"
        detail = (
            f"page {wanted} is not among the pages this user manages ({names}); log in to the "
            "Graph API Explorer as an admin of the page, or set facebook.page (or --page) to "
            "one of these"
        )
        super().__init__(SOURCE, "not found", detail)


def page_token(
    settings: FacebookConfig,
    app_id: str,
    app_secret: str,
    user_token: str,
    policy: RetryPolicy,
    usage: Usage | None = None,
    session: requests.Session | None = None,
) -> PageToken:
    """The whole exchange for the page `settings.page`: long-lived user token, the managed
    pages, the chosen page's token and what debug_token says of it."""
    for secret in (app_secret, user_token):
        register_secret(secret)
    usage = usage or Usage()
    scope = nullcontext(session) if session is not None else new_session()
    with scope as http:
        long_lived = exchange_user_token(
            settings, app_id, app_secret, user_token, policy, usage, http
        )
        pages = list(managed_pages(settings, long_lived, app_secret, policy, usage, http))
        page = choose_page(pages, settings.page)
        token_settings = replace(settings, access_token=page.access_token, app_secret=app_secret)
        info = check_token(token_settings, policy, usage, http)
    return PageToken(page, info)


def exchange_user_token(
    settings: FacebookConfig,
    app_id: str,
    app_secret: str,
    user_token: str,
    policy: RetryPolicy,
    usage: Usage,
    session: requests.Session,
) -> str:
    """The long-lived user token for a short-lived one (oauth_long_lived_user_token.json)."""
    query = urlencode(
        {
            "grant_type": "fb_exchange_token",
            "client_id": app_id,
            "client_secret": app_secret,
            "fb_exchange_token": user_token,
        }
    )
    url = f"{_base_url(settings)}/oauth/access_token?{query}"

    def once() -> dict[str, Any]:
        usage.requests += 1
        log.debug("%s", where(url))
        response = http_get(session, url, SOURCE, policy.request_timeout(), _ACCEPT)
        return parse_exchange(response.status_code, response.content, response.headers, url)

    answer = policy.call(SOURCE, once)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise SourceError(SOURCE, "unexpected response", f"{where(url)}: no access_token")
    register_secret(token)
    return token


_ACCEPT = {"Accept": "application/json"}


def parse_exchange(
    status: int, body: bytes, headers: Mapping[str, str], url: str
) -> dict[str, Any]:
    """oauth/access_token's answer, its errors with the fix: they are never worth a retry."""
    payload = json_or_none(body)
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return parse_response(status, body, headers, url)
    code = error.get("code")
    message = _text(error.get("message")) or "no message"
    said = f"Graph said: {message} (code {code}, {where(url)})"
    if code == APP_ID_CODE:
        fix = "check --app-id: the app's id, from developers.facebook.com → your app"
        raise SourceError(SOURCE, "app id", f"{fix}; {said}")
    if code == APP_SECRET_CODE and "secret" in message.lower():
        fix = "the app secret is not this app's: copy it from App settings → Basic"
        raise SourceError(SOURCE, "app secret", f"{fix}; {said}")
    try:
        return parse_response(status, body, headers, url)
    except SourceError as failure:
        if failure.cause == "token":
            fix = f"the user token has expired or is not valid: {NEW_USER_TOKEN}"
            raise SourceError(SOURCE, "token", f"{fix}; {said}") from None
        raise


def managed_pages(
    settings: FacebookConfig,
    user_token: str,
    app_secret: str,
    policy: RetryPolicy,
    usage: Usage,
    session: requests.Session,
) -> Iterator[ManagedPage]:
    """Every page /me/accounts lists for the user (me_accounts_page_tokens.json), page by page
    along paging.next."""
    graph = GraphClient(
        replace(settings, app_secret=app_secret), user_token, policy, usage, session
    )
    query = urlencode({"fields": ACCOUNT_FIELDS, "limit": ACCOUNTS_LIMIT})
    answer = graph.get(f"{graph.base_url}/me/accounts?{query}")
    seen: set[str] = set()
    while True:
        for node in _accounts(answer):
            yield parse_account_node(node)
        next_url = next_page_url(answer)
        if next_url is None or next_url in seen:
            return
        seen.add(next_url)
        answer = graph.get_next(next_url)


def _accounts(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    data = answer.get("data")
    if not isinstance(data, list):
        raise SourceError(SOURCE, "unexpected response", "me/accounts answered without data")
    return [node for node in data if isinstance(node, dict)]


def parse_account_node(node: Mapping[str, Any]) -> ManagedPage:
    page_id = node.get("id")
    token = node.get("access_token")
    tasks = node.get("tasks")
    if isinstance(token, str):
        register_secret(token)
    return ManagedPage(
        id=str(page_id) if isinstance(page_id, str | int) else "",
        name=_text(node.get("name")),
        username=_text(node.get("username")),
        tasks=tuple(task for task in tasks if isinstance(task, str))
        if isinstance(tasks, list)
        else (),
        access_token=token if isinstance(token, str) else "",
    )


def choose_page(pages: list[ManagedPage], wanted: str) -> ManagedPage:
    for page in pages:
        if page.matches(wanted):
            if not page.access_token:
                detail = (
                    f"me/accounts lists page {page.label()} without a page token: the user "
                    "token lacks pages_show_list, or the user is not an admin of the page"
                )
                raise SourceError(SOURCE, "permission", detail)
            return page
    raise PageNotManaged(wanted, pages)


def _base_url(settings: FacebookConfig) -> str:
    return f"{settings.graph_url.rstrip('/')}/{settings.api_version}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
