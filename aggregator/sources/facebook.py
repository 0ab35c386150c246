"""Facebook Graph API: a page's figures, its videos and its posts.

One request reads the page's figures together with the first hundred videos and posts (field
expansion); the rest of each edge is read by following its `paging.next`. A page with V videos
and P posts therefore costs at most 1 + ⌈V/100⌉ + ⌈P/100⌉ requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

from aggregator.config import FacebookConfig
from aggregator.errors import SourceError, register_secret
from aggregator.models import Account, Figure, Item, KnownItems, SourceResult, Usage
from aggregator.retry import RetryPolicy
from aggregator.sources.http import (
    header,
    http_get,
    json_or_none,
    new_session,
    retry_after_seconds,
    where,
)

log = logging.getLogger(__name__)

SOURCE = "facebook"
FACEBOOK_WEB = "https://www.facebook.com"
EDGE_LIMIT = 100
VIDEO_FIELDS = "id,title,description,created_time,permalink_url,picture,length"
POST_FIELDS = "id,message,created_time,permalink_url,full_picture"
PAGE_FIELDS = (
    "id,name,username,link,followers_count,fan_count,"
    f"videos.limit({EDGE_LIMIT}){{{VIDEO_FIELDS}}},posts.limit({EDGE_LIMIT}){{{POST_FIELDS}}}"
)
FIGURE_FIELDS = (("followers_count", "facebook.followers"), ("fan_count", "facebook.likes"))
EDGES = ("videos", "posts")
TOKEN_PARAMS = frozenset({"access_token", "appsecret_proof"})

# Graph error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling
TOKEN_CODES = frozenset({102, 104, 190})  # 104: no token sent at all
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
INVALID_PARAMETER_CODE = 100
NOT_FOUND_SUBCODE = 33  # "Object with ID ... does not exist"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
TEMPORARY_CODES = frozenset({1, 2})
PERMISSION_WORDS = ("permission", "requires", "access token", "app token", "secret proof")

USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
USAGE_PERCENT_KEYS = ("call_count", "total_time", "total_cputime")
# Graph's windows are an hour long; waiting longer than this within one run is pointless.
MAX_RETRY_AFTER = 60.0


def fetch(
    settings: FacebookConfig,
    policy: RetryPolicy,
    usage: Usage,
    session: requests.Session | None = None,
) -> SourceResult:
    """Read the page's figures, every video and every post.

    Raises SourceError when the page itself cannot be read; a failure on a later page of videos
    or posts gives a result with `complete=False` holding what was read before it.
    """
    token = _require_token(settings)
    scope = nullcontext(session) if session is not None else new_session()
    with scope as http:
        graph = GraphClient(settings, token, policy, usage, http)
        page = graph.get_page()
        result = SourceResult(
            source=SOURCE, account=parse_account(page), figures=parse_figures(page)
        )
        result.error = read_items(page, graph.get_next, result.items)
        result.complete = result.error is None
        return result


def fetch_quick(
    settings: FacebookConfig,
    policy: RetryPolicy,
    usage: Usage,
    known: KnownItems,
    session: requests.Session | None = None,
) -> SourceResult:
    """The quick refresh: the page's figures and its newest 100 videos and 100 posts, all in
    the one first request (field expansion), no paging. Never complete: it retires nothing.
    `known` is not needed: the one request costs the same whatever the store holds."""
    token = _require_token(settings)
    scope = nullcontext(session) if session is not None else new_session()
    with scope as http:
        page = GraphClient(settings, token, policy, usage, http).get_page()
        result = SourceResult(
            source=SOURCE, account=parse_account(page), figures=parse_figures(page)
        )
        result.error = read_items(page, None, result.items)
        return result


def _require_token(settings: FacebookConfig) -> str:
    if not settings.access_token:
        raise SourceError(
            SOURCE, "token", f"environment variable {settings.access_token_env} is not set"
        )
    register_secret(settings.access_token)
    return settings.access_token


# --- the token's validity and expiry (`showcase status --check-token`) ----------------------


@dataclass(frozen=True)
class TokenInfo:
    """What Graph's debug_token says of a token. A `None` expiry means it never expires."""

    valid: bool
    expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None
    token_type: str = ""
    scopes: tuple[str, ...] = ()
    problem: str = ""  # Graph's message when the token is not valid


def check_token(
    settings: FacebookConfig,
    policy: RetryPolicy,
    usage: Usage,
    session: requests.Session | None = None,
) -> TokenInfo:
    """Ask Graph's debug_token about the configured token, authenticated by the token itself:
    one request. The token has to go in the query as `input_token` (redacted everywhere)."""
    token = _require_token(settings)
    scope = nullcontext(session) if session is not None else new_session()
    with scope as http:
        graph = GraphClient(settings, token, policy, usage, http)
        answer = graph.get(f"{graph.base_url}/debug_token?{urlencode({'input_token': token})}")
    return parse_token_info(answer)


def parse_token_info(answer: Mapping[str, Any]) -> TokenInfo:
    data = answer.get("data")
    if not isinstance(data, dict):
        raise SourceError(SOURCE, "unexpected response", "debug_token answered without data")
    error = data.get("error")
    error = error if isinstance(error, dict) else {}
    scopes = data.get("scopes")
    scopes = scopes if isinstance(scopes, list) else []
    return TokenInfo(
        valid=data.get("is_valid") is True,
        expires_at=_epoch(data.get("expires_at")),
        data_access_expires_at=_epoch(data.get("data_access_expires_at")),
        token_type=_text(data.get("type")),
        scopes=tuple(scope for scope in scopes if isinstance(scope, str)),
        problem=_text(error.get("message")),
    )


def _epoch(value: Any) -> datetime | None:
    """Graph's Unix times; 0 (or nothing) means never."""
    seconds = _count(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


class GraphClient:
    """GET requests to the Graph API, each counted, timed out and retried by the policy.

    The token travels in the Authorization header, never in a URL: urllib3 logs URLs at DEBUG
    level, and so do proxies. Graph's `paging.next` links carry the token, so it is taken out.
    """

    def __init__(
        self,
        settings: FacebookConfig,
        token: str,
        policy: RetryPolicy,
        usage: Usage,
        session: requests.Session,
    ):
        self.base_url = f"{settings.graph_url.rstrip('/')}/{settings.api_version}"
        self.page = settings.page
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.policy = policy
        self.usage = usage
        self.session = session

    def get_page(self) -> dict[str, Any]:
        url = f"{self.base_url}/{quote(self.page, safe='')}?{urlencode({'fields': PAGE_FIELDS})}"
        page = self.get(url)
        if not isinstance(page.get("id"), str | int):
            raise SourceError(SOURCE, "unexpected response", f"{where(url)}: the page has no id")
        return page

    def get_next(self, url: str) -> dict[str, Any]:
        """Follow a `paging.next` link."""
        if _origin(url) != _origin(self.base_url):
            # Never hand the token to a host other than the configured one.
            raise SourceError(
                SOURCE, "unexpected response", f"paging.next leads to {urlsplit(url).netloc}"
            )
        return self.get(without_token(url))

    def get(self, url: str) -> dict[str, Any]:
        return self.policy.call(SOURCE, lambda: self._get_once(url))

    def _get_once(self, url: str) -> dict[str, Any]:
        self.usage.requests += 1
        timeout = self.policy.request_timeout()
        log.debug("%s", where(url))
        response = http_get(self.session, url, SOURCE, timeout, self.headers)
        return parse_response(response.status_code, response.content, response.headers, url)


def without_token(url: str) -> str:
    """The URL with its access_token (and the proof derived from it) taken out of the query."""
    parts = urlsplit(url)
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in TOKEN_PARAMS
    ]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default_port


# --- reading the edges -------------------------------------------------------------------------


def read_items(
    page: Mapping[str, Any],
    get_next: Callable[[str], dict[str, Any]] | None,
    items: list[Item],
) -> SourceError | None:
    """Append the page's videos, then its posts, to `items`; return the failure that stopped it.

    After a failure no further page is requested, but the posts that came with the first
    answer are still taken: they cost nothing more. Without `get_next` (a quick refresh) only
    the nodes of the first answer are taken.
    """
    error: SourceError | None = None
    for edge in EDGES:
        parse = parse_video if edge == "videos" else parse_post
        try:
            for node in edge_nodes(page.get(edge), get_next if error is None else None):
                items.append(parse(node))
        except SourceError as failure:
            error = error or failure
    return error


def edge_nodes(
    edge: Any, get_next: Callable[[str], dict[str, Any]] | None
) -> Iterator[dict[str, Any]]:
    """Every node of an edge, following `paging.next` while `get_next` is given."""
    page = edge or {}
    seen: set[str] = set()
    while True:
        nodes = edge_data(page)
        yield from nodes
        next_url = next_page_url(page)
        # An empty page or a repeated link ends the listing: Graph sometimes offers a `next`
        # after the last node.
        if get_next is None or next_url is None or not nodes or next_url in seen:
            return
        seen.add(next_url)
        page = get_next(next_url)


def edge_data(page: Any) -> list[dict[str, Any]]:
    data = page.get("data", []) if isinstance(page, dict) else None
    if not isinstance(data, list) or not all(isinstance(node, dict) for node in data):
        raise SourceError(SOURCE, "unexpected response", "an edge page without a `data` list")
    return data


def next_page_url(page: Mapping[str, Any]) -> str | None:
    paging = page.get("paging")
    next_url = paging.get("next") if isinstance(paging, dict) else None
    return next_url if isinstance(next_url, str) and next_url else None


# --- parsing (pure) ----------------------------------------------------------------------------


def parse_account(page: Mapping[str, Any]) -> Account:
    platform_id = str(page["id"])
    username = page.get("username")
    return Account(
        source=SOURCE,
        platform_id=platform_id,
        name=_text(page.get("name")),
        url=_text(page.get("link")) or f"{FACEBOOK_WEB}/{username or platform_id}",
        raw={key: value for key, value in page.items() if key not in EDGES},
    )


def parse_figures(page: Mapping[str, Any]) -> list[Figure]:
    """The page's counts; pages of the New Pages Experience may lack either one."""
    figures = []
    for field, key in FIGURE_FIELDS:
        value = _count(page.get(field))
        if value is not None:
            figures.append(Figure(key=key, value=value))
    return figures


def parse_video(node: Mapping[str, Any]) -> Item:
    video_id = _node_id(node)
    description = _text(node.get("description"))
    return Item(
        source=SOURCE,
        platform_id=video_id,
        kind="video",
        title=_text(node.get("title")).strip() or first_line(description),
        description=description,
        url=web_url(node.get("permalink_url"), fallback=f"{FACEBOOK_WEB}/watch/?v={video_id}"),
        published_at=_published_at(node),
        thumbnail_url=_text(node.get("picture")) or None,
        duration_seconds=_duration(node.get("length")),
        embeddable=node.get("embeddable") is not False,
        raw=dict(node),
    )


def parse_post(node: Mapping[str, Any]) -> Item:
    post_id = _node_id(node)
    return Item(
        source=SOURCE,
        platform_id=post_id,
        kind="post",
        title="",
        description=_text(node.get("message")),
        url=web_url(node.get("permalink_url"), fallback=f"{FACEBOOK_WEB}/{post_id}"),
        published_at=_published_at(node),
        thumbnail_url=_text(node.get("full_picture")) or None,
        raw=dict(node),
    )


def web_url(permalink: Any, fallback: str) -> str:
    """Graph gives video permalinks relative to facebook.com ("/page/videos/123/")."""
    if not isinstance(permalink, str) or not permalink:
        return fallback
    if permalink.startswith(("https://", "http://")):
        return permalink
    return FACEBOOK_WEB + ("" if permalink.startswith("/") else "/") + permalink


def parse_graph_time(text: str) -> datetime:
    """Graph's "2021-08-10T16:40:23+0000" as an aware UTC datetime."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return moment.astimezone(UTC)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _node_id(node: Mapping[str, Any]) -> str:
    node_id = node.get("id")
    if not isinstance(node_id, str | int) or isinstance(node_id, bool) or node_id == "":
        raise SourceError(SOURCE, "unexpected response", "a video or post without an id")
    return str(node_id)


def _published_at(node: Mapping[str, Any]) -> datetime:
    created = node.get("created_time")
    try:
        return parse_graph_time(created if isinstance(created, str) else "")
    except ValueError:
        detail = f"{node.get('id')}: created_time {created!r} is not a time"
        raise SourceError(SOURCE, "unexpected response", detail) from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _duration(length: Any) -> int | None:
    if isinstance(length, int | float) and not isinstance(length, bool):
        return round(length)
    return None


# --- errors (pure) -----------------------------------------------------------------------------


class Throttle(NamedTuple):
    """What Graph's usage headers say: the highest percentage used and when access returns."""

    percent: float = 0.0
    regain_seconds: float | None = None

    @property
    def exhausted(self) -> bool:
        return self.percent >= 100


def parse_response(
    status: int, body: bytes, headers: Mapping[str, str], url: str
) -> dict[str, Any]:
    """The JSON object of a Graph answer, or the SourceError it amounts to."""
    payload = json_or_none(body)
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        raise graph_error(status, payload["error"], headers, where(url))
    if status >= 400:
        raise http_error(status, headers, where(url))
    if payload is None:
        content_type = header(headers, "content-type") or "no content type"
        detail = f"{where(url)}: HTTP {status} answer ({content_type}) is not JSON"
        raise SourceError(SOURCE, "not JSON", detail)
    if not isinstance(payload, dict):
        detail = f"{where(url)}: expected a JSON object, got {type(payload).__name__}"
        raise SourceError(SOURCE, "unexpected response", detail)
    return payload


def graph_error(
    status: int, error: Mapping[str, Any], headers: Mapping[str, str], request: str = ""
) -> SourceError:
    """Classify a Graph error body {"error": {"message", "code", "error_subcode", ...}}."""
    code = _count(error.get("code"))
    subcode = _count(error.get("error_subcode"))
    message = _text(error.get("message")) or "no message"
    detail = f"{message} ({_describe(code, subcode, status, error.get('fbtrace_id'), request)})"
    if code in TOKEN_CODES:
        return SourceError(SOURCE, "token", detail)
    if code in PERMISSION_CODES:
        return SourceError(SOURCE, "permission", detail)
    if code == INVALID_PARAMETER_CODE:
        return SourceError(SOURCE, _invalid_parameter_cause(subcode, message), detail)
    throttle = read_throttle(headers)
    if code in RATE_LIMIT_CODES or throttle.exhausted:
        return rate_limit_error(detail, throttle, retry_after_seconds(headers))
    if code in TEMPORARY_CODES or error.get("is_transient") is True:
        cause = f"http {status}" if status >= 500 else "temporary"
        return SourceError(SOURCE, cause, detail, retryable=True)
    cause = f"http {status}" if status >= 400 else "unexpected response"
    return SourceError(SOURCE, cause, detail, retryable=status >= 500)


def http_error(status: int, headers: Mapping[str, str], request: str = "") -> SourceError:
    """An HTTP error without a Graph error body (a proxy, a load balancer, an outage)."""
    detail = f"HTTP {status} ({request})" if request else f"HTTP {status}"
    throttle = read_throttle(headers)
    if status == 429 or throttle.exhausted:
        return rate_limit_error(detail, throttle, retry_after_seconds(headers))
    if status == 404:
        return SourceError(SOURCE, "not found", detail)
    return SourceError(SOURCE, f"http {status}", detail, retryable=status >= 500)


def rate_limit_error(detail: str, throttle: Throttle, retry_after: float | None) -> SourceError:
    wait = retry_after if retry_after is not None else throttle.regain_seconds
    if wait is None and throttle.exhausted:
        wait = MAX_RETRY_AFTER
    # Access that returns only in, say, 20 minutes is not worth this run's time budget.
    retryable = wait is None or wait <= MAX_RETRY_AFTER
    if wait is not None:
        detail += f"; access returns in about {wait:.0f}s"
    return SourceError(SOURCE, "rate limit", detail, retryable=retryable, retry_after=wait)


def read_throttle(headers: Mapping[str, str]) -> Throttle:
    """Read X-App-Usage, X-Page-Usage and X-Business-Use-Case-Usage (percentages used)."""
    percent = 0.0
    regain: float | None = None
    for name in USAGE_HEADERS:
        for entry in _usage_entries(header(headers, name)):
            percent = max(percent, *(_number(entry.get(key)) for key in USAGE_PERCENT_KEYS))
            minutes = _number(entry.get("estimated_time_to_regain_access"))
            if minutes > 0:
                regain = max(regain or 0.0, minutes * 60)
    return Throttle(percent, regain)


def _usage_entries(text: str | None) -> list[Mapping[str, Any]]:
    """App and page usage are one object; business use case usage maps ids to lists of them."""
    parsed = json_or_none(text.encode()) if text else None
    if not isinstance(parsed, dict):
        return []
    if any(key in parsed for key in USAGE_PERCENT_KEYS):
        return [parsed]
    return [
        entry
        for entries in parsed.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]


def _invalid_parameter_cause(subcode: int | None, message: str) -> str:
    if subcode == NOT_FOUND_SUBCODE:
        return "not found"
    lowered = message.lower()
    return "permission" if any(word in lowered for word in PERMISSION_WORDS) else "not found"


def _describe(code: int | None, subcode: int | None, status: int, trace: Any, request: str) -> str:
    parts = [f"Graph code {code}" + (f"/{subcode}" if subcode is not None else "")]
    parts.append(f"HTTP {status}")
    if request:
        parts.append(request)
    if isinstance(trace, str) and trace:
        parts.append(f"fbtrace_id {trace}")
    return ", ".join(parts)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
