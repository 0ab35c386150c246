"""Facebook Graph API: a page's figures, its videos and its posts.

Three listings, each on its own: the page node with its figures (one request), then the
`/videos` edge and the `/posts` edge, each read page by page along `paging.next` until a page
comes without one (Graph may send an empty page that still has a `next`: reading goes on). The
figures never share a request with a listing, so a listing that fails costs no figure. When
Graph refuses a listing with code 1 ("Please reduce the amount of data you're asking for"),
that request is sent again with a smaller `limit` (100, then 50, then 25), never as it was.
With V videos and P posts read at page size L that is 1 + ⌈V/L⌉ + ⌈P/L⌉ requests, plus one
for the empty last page Graph's time-based paging of `/posts` usually ends with.

Each uploaded video also appears on `/posts`, as an `added_video` post whose attachment targets
the video: that post is the video, so it is left out and the video is the one item.

A post has no title of its own: it gets one made from the first sentence of its message
(`post_title`). What marks such a title as made here is the item itself: a Facebook item of
kind "post" (see `view.ItemView.has_own_title`), so a card never heads a video with it.

Apps with "Require App Secret" get an `appsecret_proof` (HMAC-SHA256 of the token, keyed with
the app secret) on every request when `app_secret_env` is configured.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, unquote, urlencode, urlsplit

import requests

from aggregator.config import FacebookConfig
from aggregator.errors import SourceError, redact_records_of, register_secret
from aggregator.models import (
    Account,
    Figure,
    Found,
    Item,
    KnownItems,
    RawJson,
    SkippedItem,
    SourceResult,
    Usage,
    raw_object,
)
from aggregator.retry import RetryPolicy
from aggregator.sources.http import (
    header,
    http_get,
    is_web_url,
    json_or_none,
    new_session,
    retry_after_seconds,
    where,
)
from aggregator.sources.items import BadItem, count_or_none, parse_each

log = logging.getLogger(__name__)
# The appsecret_proof can only travel in the query, and urllib3 logs each URL at DEBUG.
redact_records_of("urllib3.connectionpool")

SOURCE = "facebook"
FACEBOOK_WEB = "https://www.facebook.com"
# Graph's largest page size, and the smaller ones to try when it asks for less data.
PAGE_LIMITS = (100, 50, 25)
EDGE_LIMIT = PAGE_LIMITS[0]
PAGE_FIELDS = "id,name,username,link,followers_count,fan_count"
VIDEO_FIELDS = (
    "id,title,description,created_time,permalink_url,picture,length,embeddable,published,"
    "status,format{picture,width,height},thumbnails{uri,width,height,is_preferred}"
)
POST_FIELDS = (
    "id,message,created_time,permalink_url,full_picture,status_type,"
    "attachments{media_type,target,url}"
)
EDGE_FIELDS = {"videos": VIDEO_FIELDS, "posts": POST_FIELDS}
FIGURE_FIELDS = (("followers_count", "facebook.followers"), ("fan_count", "facebook.likes"))
EDGES = ("videos", "posts")
TOKEN_PARAMS = frozenset({"access_token", "appsecret_proof"})
# Privacy filtering can empty many pages in a row; past this many the listing is cut short.
MAX_EMPTY_PAGES = 20

# Graph error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling
TOKEN_CODES = frozenset({102, 104, 190})  # 104: no token sent at all
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
INVALID_PARAMETER_CODE = 100
NOT_FOUND_SUBCODE = 33  # "Object with ID ... does not exist"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
TEMPORARY_CODES = frozenset({1, 2})
TOO_MUCH_DATA_CODE = 1  # with "Please reduce the amount of data you're asking for"
PERMISSION_WORDS = ("permission", "requires", "access token", "app token", "secret proof")
# Causes that the other listing would only meet again: after one of them, stop the run.
STOPPING_CAUSES = frozenset({"token", "permission", "app secret", "rate limit"})

USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
USAGE_PERCENT_KEYS = ("call_count", "total_time", "total_cputime")
# Graph's windows are an hour long; waiting longer than this within one run is pointless.
MAX_RETRY_AFTER = 60.0


class TooMuchData(SourceError):
    """Graph's code 1 "Please reduce the amount of data you're asking for": ask for less."""


def fetch(
    settings: FacebookConfig,
    policy: RetryPolicy,
    usage: Usage,
    session: requests.Session | None = None,
    found: Found | None = None,
) -> SourceResult:
    """Read the page's figures, every video and every post (the videos told to `found` once
    they are read, before the posts).

    Raises SourceError when the page itself cannot be read; a failure in a listing gives a
    result with `complete=False` holding the figures and what was read before it.
    """
    return _fetch(settings, policy, usage, session, follow=True, found=found)


def fetch_quick(
    settings: FacebookConfig,
    policy: RetryPolicy,
    usage: Usage,
    known: KnownItems,
    session: requests.Session | None = None,
) -> SourceResult:
    """The quick refresh: the page's figures and the first page (100) of videos and of posts,
    three requests. Never complete: it retires nothing. `known` is not needed: the cost is
    the same whatever the store holds."""
    return _fetch(settings, policy, usage, session, follow=False)


def _fetch(
    settings: FacebookConfig,
    policy: RetryPolicy,
    usage: Usage,
    session: requests.Session | None,
    *,
    follow: bool,
    found: Found | None = None,
) -> SourceResult:
    token = _require_token(settings)
    scope = nullcontext(session) if session is not None else new_session()
    with scope as http:
        graph = GraphClient(settings, token, policy, usage, http)
        page = graph.get_page()
        result = SourceResult(
            source=SOURCE, account=parse_account(page), figures=parse_figures(page)
        )
        listings = read_listings(graph, follow, result.skipped, found)
        result.items = listings.items
        result.error = listings.error
        result.complete = follow and listings.error is None
        return result


def _require_token(settings: FacebookConfig) -> str:
    if not settings.access_token:
        raise SourceError(
            SOURCE, "token", f"environment variable {settings.access_token_env} is not set"
        )
    register_secret(settings.access_token)
    register_secret(settings.app_secret)
    return settings.access_token


def appsecret_proof(token: str, app_secret: str) -> str:
    """https://developers.facebook.com/docs/graph-api/securing-requests#appsecret_proof"""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


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
    profile_id: str = ""  # the page a page token belongs to


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
    profile = data.get("profile_id")
    return TokenInfo(
        valid=data.get("is_valid") is True,
        expires_at=_epoch(data.get("expires_at")),
        data_access_expires_at=_epoch(data.get("data_access_expires_at")),
        token_type=_text(data.get("type")),
        scopes=tuple(scope for scope in scopes if isinstance(scope, str)),
        problem=_text(error.get("message")),
        profile_id=str(profile) if isinstance(profile, str | int) else "",
    )


def _epoch(value: Any) -> datetime | None:
    """Graph's Unix times; 0 (or nothing) means never."""
    seconds = _count(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


class GraphClient:
    """GET requests to the Graph API, each counted, timed out and retried by the policy.

    The token travels in the Authorization header, never in a URL: urllib3 logs URLs at DEBUG
    level, and so do proxies. Graph's `paging.next` links carry the token, so it is taken out.
    The appsecret_proof can only go in the query; it is derived from the token but is not one,
    and messages name host and path only.
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
        self.proof = appsecret_proof(token, settings.app_secret) if settings.app_secret else None
        register_secret(self.proof)
        self.secret_env = settings.app_secret_env
        # The page size in use: once Graph asked for less data, later listings start smaller.
        self.limit = EDGE_LIMIT
        self.policy = policy
        self.usage = usage
        self.session = session

    def get_page(self) -> dict[str, Any]:
        url = f"{self.base_url}/{quote(self.page, safe='')}?{urlencode({'fields': PAGE_FIELDS})}"
        page = self.get(url)
        if not isinstance(page.get("id"), str | int):
            raise SourceError(SOURCE, "unexpected response", f"{where(url)}: the page has no id")
        return page

    def edge_url(self, edge: str, limit: int) -> str:
        query = urlencode({"fields": EDGE_FIELDS[edge], "limit": limit})
        return f"{self.base_url}/{quote(self.page, safe='')}/{edge}?{query}"

    def get_next(self, url: str) -> dict[str, Any]:
        """Follow a `paging.next` link as Graph gave it, the token taken out."""
        if _origin(url) != _origin(self.base_url):
            # Never hand the token to a host other than the configured one.
            raise SourceError(
                SOURCE, "unexpected response", f"paging.next leads to {urlsplit(url).netloc}"
            )
        return self.get(without_token(url))

    def get(self, url: str) -> dict[str, Any]:
        return self.policy.call(SOURCE, lambda: self._get_once(self._signed(url)))

    def _signed(self, url: str) -> str:
        if self.proof is None:
            return url
        return f"{url}{'&' if urlsplit(url).query else '?'}appsecret_proof={self.proof}"

    def _get_once(self, url: str) -> dict[str, Any]:
        self.usage.requests += 1
        timeout = self.policy.request_timeout()
        log.debug("%s", where(url))
        response = http_get(self.session, url, SOURCE, timeout, self.headers)
        try:
            return parse_response(response.status_code, response.content, response.headers, url)
        except SourceError as error:
            raise with_secret_hint(error, self.secret_env) from None


def without_token(url: str) -> str:
    """The URL with its access_token (and the proof derived from it) taken out of the query.

    Everything else stays exactly as Graph wrote it: time-based paging links carry parameters
    such as `since` without a value, and `__paging_token`, that must come back unchanged.
    """
    parts = urlsplit(url)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote(pair.partition("=")[0]) not in TOKEN_PARAMS
    ]
    return parts._replace(query="&".join(kept)).geturl()


def with_limit(url: str, limit: int) -> str:
    """The URL asking for `limit` nodes a page: Graph's own links name their limit."""
    parts = urlsplit(url)
    pairs = [pair for pair in parts.query.split("&") if pair and not pair.startswith("limit=")]
    return parts._replace(query="&".join([*pairs, f"limit={limit}"])).geturl()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default_port


# --- reading the edges -------------------------------------------------------------------------


@dataclass
class Listings:
    """The items of both listings, and the failure that cut one short (None: both complete)."""

    items: list[Item]
    error: SourceError | None = None


class PageReader(Protocol):
    """What reading an edge needs: GraphClient, or recorded pages in tests."""

    limit: int

    def edge_url(self, edge: str, limit: int) -> str: ...
    def get(self, url: str) -> dict[str, Any]: ...
    def get_next(self, url: str) -> dict[str, Any]: ...


def read_listings(
    graph: PageReader,
    follow: bool,
    skipped: list[SkippedItem] | None = None,
    found: Found | None = None,
) -> Listings:
    """The page's videos, then its posts without the ones that only announce a video. The
    videos are told to `found` as soon as they are read (the posts wait for the videos' ids).

    A failure ends its own listing; the other is still read unless the failure (token,
    permission, rate limit) would only repeat. Without `follow` only the first page of each
    is read (a quick refresh).
    """
    videos: list[Item] = []
    posts: list[Item] = []
    error: SourceError | None = None
    for edge, parse, items in (("videos", parse_video, videos), ("posts", parse_post, posts)):
        if error is not None and error.cause in STOPPING_CAUSES:
            break
        try:
            nodes = edge_nodes(graph, edge, follow)
            items.extend(parse_each(SOURCE, nodes, parse, [] if skipped is None else skipped))
            if found is not None and items is videos:
                found(videos)
        except SourceError as failure:
            log.info("%s (%d %s read before)", failure, len(items), edge)
            error = error or failure
    video_ids = None if error is not None or not follow else {v.platform_id for v in videos}
    kept = [post for post in posts if not is_video_post(post, video_ids)]
    return Listings(videos + kept, error)


def edge_nodes(graph: PageReader, edge: str, follow: bool) -> Iterator[dict[str, Any]]:
    """Every node of an edge, page by page, until a page comes without `paging.next`.

    On code 1 the same page is asked for again with the next smaller limit. A repeated link,
    or too many empty pages in a row, ends the listing as a failure: it is then incomplete.
    """
    limits = iter(PAGE_LIMITS[PAGE_LIMITS.index(graph.limit) :])
    limit = next(limits)
    url = graph.edge_url(edge, limit)
    seen: set[str] = set()
    empty_pages = 0
    while True:
        try:
            page = graph.get(url) if not seen else graph.get_next(url)
        except TooMuchData as error:
            smaller = next(limits, None)
            if smaller is None:
                raise
            log.info("%s; asking for %d %s a page instead of %d", error, smaller, edge, limit)
            limit = graph.limit = smaller
            url = with_limit(url, limit)
            continue
        nodes = edge_data(page)
        yield from nodes
        next_url = next_page_url(page)
        if not follow or next_url is None:
            return
        empty_pages = 0 if nodes else empty_pages + 1
        _check_progress(edge, next_url, seen, empty_pages)
        seen.add(next_url)
        url = with_limit(next_url, limit) if limit != EDGE_LIMIT else next_url


def _check_progress(edge: str, next_url: str, seen: set[str], empty_pages: int) -> None:
    if next_url in seen:
        detail = f"{edge}: paging.next repeats a page already read"
        raise SourceError(SOURCE, "unexpected response", detail)
    if empty_pages >= MAX_EMPTY_PAGES:
        detail = f"{edge}: {empty_pages} empty pages in a row, listing cut short"
        raise SourceError(SOURCE, "unexpected response", detail)


def edge_data(page: Any) -> list[dict[str, Any]]:
    data = page.get("data", []) if isinstance(page, dict) else None
    if not isinstance(data, list) or not all(isinstance(node, dict) for node in data):
        raise SourceError(SOURCE, "unexpected response", "an edge page without a `data` list")
    return data


def next_page_url(page: Mapping[str, Any]) -> str | None:
    paging = page.get("paging")
    next_url = paging.get("next") if isinstance(paging, dict) else None
    return next_url if isinstance(next_url, str) and next_url else None


def is_video_post(post: Item, video_ids: set[str] | None) -> bool:
    """An `added_video` post is the page's upload of a video: the video is the item.

    It is dropped when its video was read, and always when the video listing is incomplete
    (`video_ids` None: the video is then likely among those not read, and a post kept now
    would be a second card until the next complete run).
    """
    target = added_video_target(raw_object(post.raw))
    if target is None:
        return False
    return video_ids is None or target in video_ids


def added_video_target(node: Mapping[str, Any]) -> str | None:
    """The video id an `added_video` post's attachment points at, else None."""
    if node.get("status_type") != "added_video":
        return None
    attachments = node.get("attachments")
    entries = attachments.get("data") if isinstance(attachments, dict) else None
    for attachment in entries if isinstance(entries, list) else []:
        if not isinstance(attachment, dict) or attachment.get("media_type") != "video":
            continue
        target = attachment.get("target")
        target_id = target.get("id") if isinstance(target, dict) else None
        if isinstance(target_id, str | int) and not isinstance(target_id, bool):
            return str(target_id)
    return None


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
        thumbnail_url=best_video_picture(node),
        duration_seconds=_duration(node.get("length")),
        public=is_published_video(node),
        embeddable=node.get("embeddable") is not False,
        raw=RawJson.of(node),
    )


def is_published_video(node: Mapping[str, Any]) -> bool:
    """Unpublished and scheduled videos (`published` false) and videos that are not ready
    (processing, error, expired) are never shown. A node without these fields is published:
    older answers and the `published` field's own default say so."""
    if node.get("published") is False:
        return False
    status = node.get("status")
    video_status = status.get("video_status") if isinstance(status, dict) else None
    return video_status in (None, "ready")


def best_video_picture(node: Mapping[str, Any]) -> str | None:
    """The largest picture of the video's cover. `picture` is about 160 px wide; `format`
    holds the same cover up to its native size; `thumbnails` are candidate frames, of which
    the preferred one is the cover."""
    candidates = _format_pictures(node.get("format")) or _thumbnail_pictures(node.get("thumbnails"))
    if candidates:
        return max(candidates)[1]
    return _text(node.get("picture")) or None


def _format_pictures(formats: Any) -> list[tuple[int, str]]:
    entries = formats if isinstance(formats, list) else []
    return [
        (_count(entry.get("width")) or 0, entry["picture"])
        for entry in entries
        if isinstance(entry, dict) and is_web_url(entry.get("picture"))
    ]


def _thumbnail_pictures(thumbnails: Any) -> list[tuple[int, str]]:
    data = thumbnails.get("data") if isinstance(thumbnails, dict) else thumbnails
    entries = [
        entry
        for entry in (data if isinstance(data, list) else [])
        if isinstance(entry, dict) and is_web_url(entry.get("uri"))
    ]
    preferred = [entry for entry in entries if entry.get("is_preferred") is True]
    return [(_count(entry.get("width")) or 0, entry["uri"]) for entry in preferred or entries]


def parse_post(node: Mapping[str, Any]) -> Item:
    post_id = _node_id(node)
    return Item(
        source=SOURCE,
        platform_id=post_id,
        kind="post",
        title=post_title(_text(node.get("message"))),
        description=_text(node.get("message")),
        url=web_url(node.get("permalink_url"), fallback=f"{FACEBOOK_WEB}/{post_id}"),
        published_at=_published_at(node),
        thumbnail_url=_text(node.get("full_picture")) or None,
        raw=RawJson.of(node),
    )


# --- a post's title, from its message (pure) ---------------------------------------------------

POST_TITLE_CHARS = 90  # about two lines of a card's heading
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_EDGE_HASHTAGS = re.compile(r"^(?:#\w+\s*)+|(?:\s*#\w+)+$")
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
# Words a German (or English) post writes with a dot that does not end the sentence.
_ABBREVIATIONS = frozenset({
    "bzw", "ca", "vgl", "usw", "etc", "dr", "prof", "nr", "st", "evtl", "inkl", "ggf", "hr",
    "fr", "str", "mio", "mrd", "jh", "bspw", "sog", "tel", "abb", "mr", "mrs", "ms", "jr", "vs",
})  # fmt: skip
# Unicode categories trimmed off a title's ends: symbols (emoji, arrows), marks and format
# characters that ride on emoji (variation selectors, zero-width joiners), private use.
_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Sm", "Sc", "Mn", "Me", "Cf", "Co", "Cn"})
# Punctuation a title may end with; any other (".", ",", ":", "-", an opening bracket) is cut.
_FINAL_PUNCTUATION = frozenset("!?)»“”\"'’")


def post_title(message: str, limit: int = POST_TITLE_CHARS) -> str:
    """A clean title from a post's message: its first sentence (on the first line that has
    words), without links, without hashtags at its ends (one inside keeps its word, not its
    "#"), without emoji or symbols at either end, cut after a whole word with "…" when longer
    than `limit`. "" when nothing is left (a message of hashtags, links or emoji only)."""
    for line in message.splitlines():
        sentence = _tidy(first_sentence(_URL.sub(" ", line)))
        if sentence:
            return _shorten(_HASHTAG.sub(r"\1", sentence), limit)
    return ""


def first_sentence(text: str) -> str:
    """Up to the first ".", "!", "?" or "…" that ends a sentence: not the dot of an
    abbreviation ("z.B.", "bzw.", an initial) or of a number ("27. Juni", "27.06.2017")."""
    for end in _SENTENCE_END.finditer(text):
        if end.group() == "." and _is_abbreviation(text[: end.start()]):
            continue
        return text[: end.end()]
    return text


def _is_abbreviation(before: str) -> bool:
    words = before.split()
    if not words:
        return False
    word = words[-1]
    return (
        "." in word
        or word[-1].isdigit()
        or (len(word) == 1 and word.isalpha())
        or word.lower() in _ABBREVIATIONS
    )


def _tidy(text: str) -> str:
    """Whitespace collapsed; hashtags, symbols and stray punctuation off both ends."""
    text = " ".join(text.split())
    while True:
        trimmed = _EDGE_HASHTAGS.sub("", text).strip()
        while trimmed and _is_stray(trimmed[-1], final=True):
            trimmed = trimmed[:-1].rstrip()
        while trimmed and _is_stray(trimmed[0], final=False):
            trimmed = trimmed[1:].lstrip()
        if trimmed == text:
            return text
        text = trimmed


def _is_stray(char: str, final: bool) -> bool:
    category = unicodedata.category(char)
    if category in _SYMBOL_CATEGORIES:
        return True
    if not category.startswith("P"):
        return False
    if final:
        return char not in _FINAL_PUNCTUATION
    return category not in ("Ps", "Pi") and char not in "„¡¿\"'"


def _shorten(text: str, limit: int) -> str:
    """At most `limit` characters, "…" included, cut after a whole word; "" when the first
    word alone is longer (a "…" inside a word would misquote it)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace():
        space = cut.rfind(" ")
        if space <= 0:
            return ""
        cut = cut[:space]
    words = cut.rstrip()
    while words and (_is_stray(words[-1], final=True) or words[-1] in "!?"):
        words = words[:-1].rstrip()
    return f"{words}…" if words else ""


def web_url(permalink: Any, fallback: str) -> str:
    """Graph gives video permalinks relative to facebook.com ("/page/videos/123/")."""
    if not isinstance(permalink, str) or not permalink:
        return fallback
    if permalink.startswith(("https://", "http://")):
        return permalink
    return FACEBOOK_WEB + ("" if permalink.startswith("/") else "/") + permalink


def parse_graph_time(text: str) -> datetime:
    """Graph's "2021-08-10T16:40:23+0000" as an aware UTC datetime."""
    # fromisoformat reads Graph's form sixty times faster than strptime; strptime still reads
    # what it alone accepts ("2021-8-10T...").
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    if moment.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return moment.astimezone(UTC)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _node_id(node: Mapping[str, Any]) -> str:
    node_id = node.get("id")
    if not isinstance(node_id, str | int) or isinstance(node_id, bool) or node_id == "":
        raise BadItem("id", "a video or post without an id")
    return str(node_id)


def _published_at(node: Mapping[str, Any]) -> datetime:
    created = node.get("created_time")
    try:
        return parse_graph_time(created if isinstance(created, str) else "")
    except ValueError:
        raise BadItem("created_time", f"{created!r:.80} is not a time") from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    return count_or_none(value)


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
    if "appsecret_proof" in message:
        return SourceError(SOURCE, "app secret", detail)
    if code == TOO_MUCH_DATA_CODE and "reduce the amount of data" in message.lower():
        return TooMuchData(SOURCE, "too much data", detail)
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


def with_secret_hint(error: SourceError, secret_env: str | None) -> SourceError:
    """Graph's appsecret_proof errors, with what the operator has to do about them."""
    if error.cause != "app secret":
        return error
    if secret_env is None:
        hint = "the app requires an app secret proof: set facebook.app_secret_env"
    else:
        hint = f"the app secret in {secret_env} is not the secret of the token's app"
    return SourceError(SOURCE, "app secret", f"{hint}; {error.detail}")


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
