"""YouTube Data API v3: a channel's figures and every one of its uploads.

One full refresh of a channel with N uploads costs at most 1 + 2·⌈N/50⌉ quota units:
`channels.list` (figures and the uploads playlist), `playlistItems.list` pages of 50, and
`videos.list` for each 50 ids read. `search.list` (100 units) is never used.

Private and deleted videos: YouTube leaves them in the uploads playlist ("Private video",
"Deleted video") but not in `videos.list`. They are returned as `Item(public=False)` built from
the playlist entry (`raw` is that entry), so the store hides them even when a later page fails
and the listing is incomplete. A channel whose statistics say it has no videos is not listed
(its uploads playlist would answer 404); when a videos.list batch fails, the entries of that
batch are not returned.

The client is built from the bundled discovery document (`aggregator/data/youtube.v3.json`,
Google's, Apache-2.0): no discovery request is ever made. googleapiclient logs every request
URL, API key included, at DEBUG: this module raises its loggers to WARNING (googleapiclient.http
to ERROR, its warnings repeat our errors) and redacts whatever they still emit.

The parse functions (`parse_*`, `error_from_response`) take decoded JSON and do no I/O, so they
are tested on recorded API responses; `fetch` and `YouTubeClient` do the HTTP.
"""

from __future__ import annotations

import contextvars
import http.client
import json
import logging
import re
import threading
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any, TypeVar

import httplib2
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, set_user_agent

from aggregator.config import YouTubeConfig
from aggregator.errors import SourceError, redact_records_of
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
)
from aggregator.recording import active_recorder
from aggregator.retry import RetryPolicy
from aggregator.sources.http import USER_AGENT
from aggregator.sources.items import MALFORMED, BadItem, count_or_none, parse_each
from aggregator.sources.transport import (
    DeadlineExceeded,
    httplib2_proxy_info,
    proxy_note,
    within_deadline,
)

SOURCE = "youtube"
PAGE_SIZE = 50  # the API's maximum for playlistItems.list and for ids in videos.list
WATCH_URL = "https://www.youtube.com/watch?v="
CHANNEL_BASE_URL = "https://www.youtube.com/"
# The full listing's bound (see page_limit): 2 pages, and a tenth more for a large channel.
PAGE_MARGIN = 2
PAGES_WITHOUT_COUNT = 200  # a channel hiding its videoCount: 10,000 uploads, 400 units
THUMBNAIL_PREFERENCE = ("maxres", "standard", "high", "medium", "default")

CHANNEL_PARTS = "snippet,contentDetails,statistics"
CHANNEL_FIELDS = (
    "items(id,snippet(title,description,customUrl,publishedAt,thumbnails),"
    "contentDetails/relatedPlaylists/uploads,statistics)"
)
PLAYLIST_PARTS = "snippet,contentDetails"  # snippet: the title of private/deleted entries
PLAYLIST_FIELDS = (
    "nextPageToken,items(snippet(publishedAt,title,resourceId/videoId),"
    "contentDetails(videoId,videoPublishedAt))"
)
# liveStreamingDetails is always asked for: videos.list costs 1 unit whatever its parts
# (https://developers.google.com/youtube/v3/determine_quota_cost), YouTube sends the object only
# for an upcoming, live or past broadcast, and asking only after a first answer said "upcoming"
# would cost a second call.
VIDEO_PARTS = "snippet,contentDetails,statistics,status,liveStreamingDetails"
VIDEO_FIELDS = (
    "items(id,snippet(publishedAt,channelId,title,description,thumbnails,tags,"
    "liveBroadcastContent),contentDetails/duration,statistics/viewCount,"
    "status(privacyStatus,embeddable,uploadStatus),"
    "liveStreamingDetails(scheduledStartTime,actualStartTime,actualEndTime))"
)
# snippet.liveBroadcastContent values that mean "not over yet"; "none" and "completed" (listed
# in the discovery document) are ordinary videos.
LIVE_STATES = ("upcoming", "live")

QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
KEY_REASONS = {
    "keyInvalid",
    "keyExpired",
    "API_KEY_INVALID",
    "API_KEY_EXPIRED",
    "ipRefererBlocked",
    "API_KEY_HTTP_REFERRER_BLOCKED",
    "API_KEY_IP_ADDRESS_BLOCKED",
    "API_KEY_SERVICE_BLOCKED",
}
NOT_FOUND_REASONS = {"playlistNotFound", "channelNotFound", "videoNotFound", "NOT_FOUND"}
PERMISSION_REASONS = {"forbidden", "accessNotConfigured", "PERMISSION_DENIED"}

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_TAG = re.compile(r"<[^>]+>")

log = logging.getLogger(__name__)
T = TypeVar("T")


def _quiet_client_loggers() -> None:
    # googleapiclient.discovery logs "URL being requested: GET ...&key=..." at DEBUG, and
    # googleapiclient.http warns about each 403 (and dumps non-JSON bodies) that this module
    # already reports as one SourceError line.
    levels = {
        "googleapiclient.discovery": logging.WARNING,
        "googleapiclient.model": logging.WARNING,
        "googleapiclient.http": logging.ERROR,
    }
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    # Should anyone lower their levels again, the key is still taken out of their records.
    redact_records_of(*levels)


_quiet_client_loggers()


# --- fetch: the source interface -------------------------------------------------------------


def fetch(
    settings: YouTubeConfig, policy: RetryPolicy, usage: Usage, found: Found | None = None
) -> SourceResult:
    """Read the channel's figures and all its uploads (each batch of 50 told to `found`).

    Raises SourceError when the channel itself cannot be read; a failure after that is
    returned as `SourceResult(complete=False, error=...)` with what was read so far.
    """
    client = YouTubeClient(settings, policy, usage)
    channel = client.channel(settings.channel)
    result = SourceResult(
        source=SOURCE, account=parse_account(channel), figures=parse_figures(channel)
    )
    try:
        if not _has_no_videos(channel):
            pages = client.upload_pages(uploads_playlist_id(channel), page_limit(channel))
            _read_uploads(client, pages, result, found)
    except SourceError as error:
        log.info("%s (%d items read before)", error, len(result.items))
        result.error = error
        return result
    result.complete = True
    log.info("youtube: %d uploads read, %d quota units", len(result.items), usage.quota_units)
    return result


def _read_uploads(
    client: YouTubeClient,
    pages: Iterator[list[dict[str, Any]]],
    result: SourceResult,
    found: Found | None = None,
) -> None:
    with closing(read_ahead(pages)) as ahead:
        _read_batches(client, ahead, result, found)


def _read_batches(
    client: YouTubeClient,
    pages: Iterator[list[dict[str, Any]]],
    result: SourceResult,
    found: Found | None = None,
) -> None:
    for entries in _batches(entry for page in pages for entry in page):
        readable = _with_video_ids(entries, result.skipped)
        if not readable:
            continue
        videos = client.videos([upload_video_id(entry) for entry in readable])
        batch = parse_uploads(readable, videos, result.skipped)
        result.items.extend(batch)
        if found is not None:
            found(batch)


_END: Any = object()


def read_ahead(pages: Iterator[T]) -> Generator[T, None, None]:
    """`pages`, the next one asked for on a thread of its own while this one is used: the next
    playlist page and the videos of this one are two requests in flight, not one after the
    other (a listing mostly waits on Google). The thread runs in the caller's context
    (`contextvars`), so what it logs is told as the caller's own. Closed early, it waits for
    the page under way."""
    with ThreadPoolExecutor(1, thread_name_prefix="youtube-pages") as pool:
        ahead = pool.submit(contextvars.copy_context().run, _next_or_end, pages)
        while (page := ahead.result()) is not _END:
            ahead = pool.submit(contextvars.copy_context().run, _next_or_end, pages)
            yield page


def _next_or_end(pages: Iterator[T]) -> T:
    page: T = next(pages, _END)
    return page


def _with_video_ids(
    entries: list[dict[str, Any]], skipped: list[SkippedItem]
) -> list[dict[str, Any]]:
    """The playlist entries that name a video; the others are skipped, one line each."""
    readable = []
    for entry in entries:
        try:
            upload_video_id(entry)
        except (SourceError, *MALFORMED):
            skip = SkippedItem(SOURCE, None, "videoId", "playlist entry without a video id")
            log.info("%s", skip.line())
            skipped.append(skip)
        else:
            readable.append(entry)
    return readable


def _has_no_videos(channel: Mapping[str, Any]) -> bool:
    # The uploads playlist of a channel without videos answers 404 (playlistNotFound), and
    # the call would push an empty channel past 1 + 2·⌈0/50⌉ = 1 unit.
    return parse_count((channel.get("statistics") or {}).get("videoCount")) == 0


def page_limit(channel: Mapping[str, Any]) -> int:
    """How many playlist pages a full listing may read: the ⌈N/50⌉ of the contract's quota
    floor (N the channel's videoCount) plus a margin for uploads made while it reads and for
    the private and deleted entries the playlist keeps but videoCount leaves out. Beyond it the
    listing ends as partial: a playlist that pages forever must not spend the day's quota."""
    count = parse_count((channel.get("statistics") or {}).get("videoCount"))
    if count is None:
        return PAGES_WITHOUT_COUNT
    pages = -(-count // PAGE_SIZE)
    return pages + PAGE_MARGIN + pages // 10


def _batches(entries: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Groups of PAGE_SIZE entries across page boundaries, so videos.list runs ⌈N/50⌉ times."""
    batch: list[dict[str, Any]] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == PAGE_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


# --- fetch_quick: the cheap refresh -----------------------------------------------------------


def fetch_quick(
    settings: YouTubeConfig, policy: RetryPolicy, usage: Usage, known: KnownItems
) -> SourceResult:
    """The channel's figures, its newest uploads and the showcased videos' statistics.

    Reads the uploads playlist page by page only until a page holds a video the store already
    has as public (usually the first page), then calls videos.list for the entries read that
    are new or not yet public, filling the batch up to 50 ids with the showcased videos, newest
    first. With nothing new that is 3 quota units (channels, one playlist page, one videos.list).

    Never complete, so the store retires nothing. A showcased video that videos.list leaves out
    is private or deleted: positive evidence, so its id goes to `unavailable_ids` and the store
    hides it now rather than at the next full run.
    """
    client = YouTubeClient(settings, policy, usage)
    channel = client.channel(settings.channel)
    result = SourceResult(
        source=SOURCE, account=parse_account(channel), figures=parse_figures(channel)
    )
    try:
        entries: list[dict[str, Any]] = []
        if not _has_no_videos(channel):
            pages = client.upload_pages(uploads_playlist_id(channel), page_limit(channel))
            entries = newest_entries(pages, known.public_ids)
        _look_up(client, entries, known, result)
    except SourceError as error:
        log.info("%s (quick refresh, %d items read before)", error, len(result.items))
        result.error = error
    log.info(
        "youtube: quick refresh, %d videos read, %d quota units",
        len(result.items),
        usage.quota_units,
    )
    return result


def newest_entries(
    pages: Iterator[list[dict[str, Any]]], public_ids: frozenset[str]
) -> list[dict[str, Any]]:
    """Playlist entries up to and including the first page that holds a known public video."""
    entries: list[dict[str, Any]] = []
    for page in pages:
        entries.extend(page)
        if any(upload_video_id(entry) in public_ids for entry in page):
            break
    return entries


def quick_lookup_ids(wanted: list[str], showcased: tuple[str, ...]) -> list[str]:
    """The ids for videos.list: every wanted one, then showcased ones while the last batch of
    50 has room (so the showcased videos never cost a call of their own beyond the first)."""
    ids = list(dict.fromkeys(wanted))
    room = -len(ids) % PAGE_SIZE if ids else PAGE_SIZE
    taken = set(ids)
    return ids + [video_id for video_id in showcased if video_id not in taken][:room]


def _look_up(
    client: YouTubeClient,
    entries: list[dict[str, Any]],
    known: KnownItems,
    result: SourceResult,
) -> None:
    entries = _with_video_ids(entries, result.skipped)
    entry_by_id = {upload_video_id(entry): entry for entry in entries}
    wanted = [video_id for video_id in entry_by_id if video_id not in known.public_ids]
    ids = quick_lookup_ids(wanted, known.showcased_ids)
    for start in range(0, len(ids), PAGE_SIZE):
        batch = ids[start : start + PAGE_SIZE]
        videos = {video["id"]: video for video in client.videos(batch) if video.get("id")}
        found = [videos[video_id] for video_id in batch if video_id in videos]
        result.items.extend(parse_each(SOURCE, found, parse_video, result.skipped))
        missing = [entry_by_id[i] for i in batch if i not in videos and i in entry_by_id]
        result.items.extend(
            parse_each(SOURCE, missing, parse_unavailable_entry, result.skipped, _entry_id)
        )
        result.unavailable_ids.extend(
            video_id for video_id in batch if video_id not in videos and video_id not in entry_by_id
        )


# --- HTTP ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def discovery_document() -> str:
    """The bundled discovery document: the client never fetches one."""
    return resources.files("aggregator").joinpath("data/youtube.v3.json").read_text("utf-8")


def normalized_endpoint(api_endpoint: str) -> str:
    """The endpoint with one trailing slash, so that a path prefix survives urljoin."""
    return api_endpoint.rstrip("/") + "/"


def build_service(api_key: str | None, api_endpoint: str, timeout: float) -> Any:
    return build_from_document(
        discovery_document(),
        developerKey=api_key,
        client_options={"api_endpoint": normalized_endpoint(api_endpoint)},
        http=new_http(timeout),
    )


def new_http(timeout: float) -> httplib2.Http:
    """An httplib2 connection sending showcase's User-Agent (googleapiclient adds "(gzip)"),
    through the operator's proxy (never for loopback), recorded under `--record`."""
    http = httplib2.Http(timeout=timeout, proxy_info=httplib2_proxy_info())
    recorder = active_recorder()
    if recorder is not None:
        recorder.capture_httplib2(http)
    return set_user_agent(http, USER_AGENT)


class YouTubeClient:
    """The three list calls, each retried through the policy and counted in `usage`."""

    def __init__(self, settings: YouTubeConfig, policy: RetryPolicy, usage: Usage):
        self.policy = policy
        self.usage = usage
        self.service = build_service(
            settings.api_key, settings.api_endpoint, policy.request_timeout()
        )
        # Each `service.videos()` builds a Resource anew, with a method (and its docstring,
        # from the discovery schemas) for every call the collection has: taken once here,
        # that is a third of the CPU the client spent on a 5,000-video channel.
        self.channels_resource = self.service.channels()
        self.playlist_items_resource = self.service.playlistItems()
        self.videos_resource = self.service.videos()
        # One kept connection per thread: the pages read ahead have theirs (httplib2.Http
        # is not for two threads at once), and the two lanes' counts go under a lock.
        self._kept = threading.local()
        self._counting = threading.Lock()

    def channel(self, channel: str) -> dict[str, Any]:
        """The channel resource, looked up by @handle or by id (UC...).

        An unknown id answers HTTP 400 badRequest / INVALID_ARGUMENT today (it used to be 200
        without items, which an unknown @handle still gets): parts and fields are fixed here,
        so the channel is the only argument that can be invalid, and either answer means the
        channel was not found."""
        lookup = {"forHandle": channel} if channel.startswith("@") else {"id": channel}
        request = self.channels_resource.list(
            part=CHANNEL_PARTS, fields=CHANNEL_FIELDS, prettyPrint=False, **lookup
        )
        try:
            response = self._execute(request, "channels.list")
        except SourceError as error:
            if error.cause != "http 400":
                raise
            raise channel_not_found(channel) from None
        items = parse_list_items(response, "channels.list")
        if not items:
            raise channel_not_found(channel)
        return items[0]

    def upload_pages(
        self, playlist_id: str, max_pages: int = PAGES_WITHOUT_COUNT
    ) -> Iterator[list[dict[str, Any]]]:
        """The uploads playlist one page (up to 50 entries, 1 quota unit) at a time.

        A nextPageToken seen before would page in a circle, and more than `max_pages` pages
        spend more than the listing may: either raises a SourceError after the pages read, so
        the listing ends as partial and retires nothing."""
        page_token: str | None = None
        seen_tokens: set[str] = set()
        for _ in range(max_pages):
            request = self.playlist_items_resource.list(
                part=PLAYLIST_PARTS,
                playlistId=playlist_id,
                maxResults=PAGE_SIZE,
                pageToken=page_token,
                fields=PLAYLIST_FIELDS,
                prettyPrint=False,
            )
            response = self._execute(request, "playlistItems.list")
            yield parse_list_items(response, "playlistItems.list")
            page_token = response.get("nextPageToken")
            if not page_token:
                return
            if page_token in seen_tokens:
                detail = "playlistItems.list: nextPageToken repeats a page already read"
                raise SourceError(SOURCE, "unexpected response", detail)
            seen_tokens.add(page_token)
        detail = f"playlistItems.list: still paging after {max_pages} pages, listing cut short"
        raise SourceError(SOURCE, "unexpected response", detail)

    def videos(self, video_ids: list[str]) -> list[dict[str, Any]]:
        """The video resources of up to 50 ids; private and deleted ones are absent."""
        request = self.videos_resource.list(
            part=VIDEO_PARTS, id=",".join(video_ids), fields=VIDEO_FIELDS, prettyPrint=False
        )
        return parse_list_items(self._execute(request, "videos.list"), "videos.list")

    def _execute(self, request: HttpRequest, what: str) -> dict[str, Any]:
        def attempt_once() -> dict[str, Any]:
            timeout = self.policy.request_timeout()
            try:
                response = _execute_once(request, what, timeout, self._connection(timeout))
            except NotSentError:
                self._kept.http = None
                raise  # nothing reached Google: no quota spent
            except SourceError:
                self._kept.http = None
                self._count_request()  # error answers and timeouts may have cost a unit
                raise
            self._count_request()
            return response

        return self.policy.call(SOURCE, attempt_once)

    def _connection(self, timeout: float) -> httplib2.Http:
        """The connection kept alive from the last request (one TLS handshake for a whole
        read, not one per request), a fresh one after a failure: a timed-out connection may
        still hold half an answer, and its request may still be reading it on a thread of its
        own. Fresh as well when the timeout changed, as near the run's deadline."""
        http: httplib2.Http | None = getattr(self._kept, "http", None)
        if http is None or http.timeout != timeout:
            http = self._kept.http = new_http(timeout)
        return http

    def _count_request(self) -> None:
        # Every list call that reaches Google costs 1 unit, invalid ones too
        # (https://developers.google.com/youtube/v3/determine_quota_cost). A timed-out request
        # may have reached it, so it is counted as well: the count errs on the safe side.
        with self._counting:
            self.usage.requests += 1
            self.usage.quota_units += 1


class NotSentError(SourceError):
    """The request never left this machine (connection refused, host unknown): it cost nothing."""


def channel_not_found(channel: str) -> SourceError:
    return SourceError(SOURCE, "not found", f"channel {channel} not found")


def _execute_once(
    request: HttpRequest, what: str, timeout: float, connection: httplib2.Http
) -> dict[str, Any]:
    """One HTTP request; every failure becomes a SourceError that never holds the URL."""
    try:
        # `timeout` bounds each socket read; the deadline the whole answer (a trickling server).
        response = within_deadline(lambda: request.execute(http=connection), timeout)
    except HttpError as error:
        # str(error) and error.uri hold the request URL, key included: use status and body only.
        raise error_from_response(
            error.resp.status, error.content, error.resp.get("retry-after")
        ) from None
    except (UnicodeDecodeError, RecursionError):
        # googleapiclient decodes a 200 answer itself: bytes that are not UTF-8, or JSON nested
        # deeper than Python's json follows, escape it as these.
        raise SourceError(
            SOURCE, "not JSON", f"{what} answered 200 with a body that is not readable JSON"
        ) from None
    except (TimeoutError, DeadlineExceeded):
        raise SourceError(
            SOURCE, "timeout", f"{what}: no whole answer within {timeout:g}s", retryable=True
        ) from None
    except (ConnectionRefusedError, httplib2.ServerNotFoundError) as error:
        raise NotSentError(
            SOURCE, "connection", f"{what}: {_describe_os_error(error)}", retryable=True
        ) from None
    except (httplib2.HttpLib2Error, http.client.HTTPException, OSError) as error:
        detail = f"{what}: {_describe_os_error(error)}{proxy_note(str(request.uri))}"
        raise SourceError(SOURCE, "connection", detail, retryable=True) from None
    if isinstance(response, str | bytes):
        # googleapiclient hands back the body as text when a 200 answer is not JSON.
        raise SourceError(SOURCE, "not JSON", f"{what} answered 200 with a body that is not JSON")
    if not isinstance(response, dict):
        raise SourceError(SOURCE, "unexpected response", f"{what} answered 200 without an object")
    return response


def _describe_os_error(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__


# --- errors ------------------------------------------------------------------------------------


def error_from_response(
    status: int, content: bytes | str, retry_after: str | None = None
) -> SourceError:
    """Classify an error answer by its status and the reasons in its JSON body."""
    body = _json_or_none(content)
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    reasons = error_reasons(error)
    message = _clean_message(error.get("message"))
    detail = f"{'/'.join(sorted(reasons))}: {message}" if reasons else message
    detail = detail or f"HTTP {status}"

    if reasons & QUOTA_REASONS:
        return SourceError(SOURCE, "quota", detail)
    if reasons & RATE_LIMIT_REASONS or status == 429:
        return SourceError(
            SOURCE, "rate limit", detail, retryable=True, retry_after=_seconds(retry_after)
        )
    if reasons & KEY_REASONS or (status in (400, 401, 403) and "api key" in message.lower()):
        return SourceError(SOURCE, "key", detail)
    if status == 404 or reasons & NOT_FOUND_REASONS:
        return SourceError(SOURCE, "not found", detail)
    if status == 403 or reasons & PERMISSION_REASONS:
        return SourceError(SOURCE, "permission", detail)
    if status >= 500:
        return SourceError(
            SOURCE, f"http {status}", detail, retryable=True, retry_after=_seconds(retry_after)
        )
    return SourceError(SOURCE, f"http {status}", detail)


def error_reasons(error: Mapping[str, Any]) -> set[str]:
    """errors[].reason (v3 style), details[].reason (ErrorInfo) and status (RPC code)."""
    reasons: set[str] = set()
    for key in ("errors", "details"):
        entries = error.get(key)
        if isinstance(entries, list):
            reasons.update(
                entry["reason"]
                for entry in entries
                if isinstance(entry, dict) and isinstance(entry.get("reason"), str)
            )
    if isinstance(error.get("status"), str):
        reasons.add(error["status"])
    return reasons


def _json_or_none(content: bytes | str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, TypeError, RecursionError):
        return None


def _clean_message(message: Any) -> str:
    """The API's message without its HTML (quotaExceeded links its docs), kept short."""
    if not isinstance(message, str):
        return ""
    text = " ".join(_TAG.sub("", message).split())
    return text[:200]


def _seconds(retry_after: str | None) -> float | None:
    try:
        return float(retry_after) if retry_after else None
    except ValueError:
        return None  # an HTTP date: the policy's own backoff will do


# --- parsing: JSON in, models out --------------------------------------------------------------


def parse_list_items(response: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    """The `items` of a list response (absent when there are none)."""
    items = response.get("items", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise SourceError(SOURCE, "unexpected response", f"{what}: items is not a list of objects")
    return items


def parse_account(channel: Mapping[str, Any]) -> Account:
    channel_id = _required_str(channel, "id", "channel")
    snippet = _object(channel.get("snippet"))
    custom_url = _text_or_none(snippet.get("customUrl"))
    path = custom_url if custom_url else f"channel/{channel_id}"
    return Account(
        source=SOURCE,
        platform_id=channel_id,
        name=_text_or_none(snippet.get("title")) or channel_id,
        url=CHANNEL_BASE_URL + path.lstrip("/"),
        raw=dict(channel),
    )


def parse_figures(channel: Mapping[str, Any]) -> list[Figure]:
    """Subscribers (rounded by YouTube, absent when hidden), views and videos."""
    statistics = _object(channel.get("statistics"))
    figures: list[Figure] = []
    subscribers = parse_count(statistics.get("subscriberCount"))
    if subscribers is not None and not statistics.get("hiddenSubscriberCount"):
        figures.append(Figure("youtube.subscribers", subscribers, rounded=True))
    for key, field in (("youtube.views", "viewCount"), ("youtube.videos", "videoCount")):
        value = parse_count(statistics.get(field))
        if value is not None:
            figures.append(Figure(key, value))
    return figures


def uploads_playlist_id(channel: Mapping[str, Any]) -> str:
    uploads = _object(_object(channel.get("contentDetails")).get("relatedPlaylists")).get("uploads")
    if not isinstance(uploads, str) or not uploads:
        raise SourceError(SOURCE, "unexpected response", "channel has no uploads playlist")
    return uploads


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object as sent, or an empty one when something else came in its place."""
    return value if isinstance(value, dict) else {}


def _text_or_none(value: Any) -> str | None:
    """Text the database can hold, or None (a list, a number, a lone surrogate)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def upload_video_id(entry: Mapping[str, Any]) -> str:
    """The video id of an uploads-playlist entry (contentDetails or snippet.resourceId)."""
    video_id = (entry.get("contentDetails") or {}).get("videoId") or (
        (entry.get("snippet") or {}).get("resourceId", {}).get("videoId")
    )
    if not isinstance(video_id, str) or not video_id:
        raise SourceError(SOURCE, "unexpected response", "playlist entry without a video id")
    return video_id


def parse_uploads(
    entries: list[dict[str, Any]],
    videos: list[dict[str, Any]],
    skipped: list[SkippedItem] | None = None,
) -> list[Item]:
    """Items in playlist order; an entry missing from videos.list is private or deleted.
    An item that cannot be understood goes to `skipped` instead."""
    by_id = {video["id"]: video for video in videos if isinstance(video.get("id"), str)}
    # A video without an id could be any entry's: none of them is then taken for private.
    unsure = len(by_id) < len(videos)

    def parse_entry(entry: Mapping[str, Any]) -> Item:
        video_id = upload_video_id(entry)
        if video_id in by_id:
            return parse_video(by_id[video_id])
        if unsure:
            raise BadItem("id", "videos.list answered a video without an id")
        return parse_unavailable_entry(entry)

    return list(
        parse_each(SOURCE, entries, parse_entry, [] if skipped is None else skipped, _entry_id)
    )


def _entry_id(entry: Mapping[str, Any]) -> str:
    return upload_video_id(entry)


def parse_video(video: Mapping[str, Any]) -> Item:
    video_id = video.get("id")
    if not isinstance(video_id, str) or not video_id:
        raise BadItem("id", "a video without an id")
    snippet = video.get("snippet") or {}
    status = video.get("status") or {}
    tags = snippet.get("tags")
    live_status = parse_live_status(snippet)
    duration = parse_duration((video.get("contentDetails") or {}).get("duration"))
    return Item(
        source=SOURCE,
        platform_id=video_id,
        kind="video",
        title=snippet.get("title") or "",
        description=snippet.get("description") or "",
        url=WATCH_URL + video_id,
        published_at=_required_time(snippet.get("publishedAt"), f"video {video_id}"),
        thumbnail_url=best_thumbnail(snippet.get("thumbnails")),
        # Upcoming and live videos say P0D: they have no length yet.
        duration_seconds=None if live_status else duration,
        views=parse_count((video.get("statistics") or {}).get("viewCount")),
        tags=[tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else [],
        public=status.get("privacyStatus") == "public",
        embeddable=status.get("embeddable", True) is not False,
        raw=RawJson.of(video),
        live_status=live_status,
        scheduled_start_at=parse_time(
            (video.get("liveStreamingDetails") or {}).get("scheduledStartTime")
        )
        if live_status
        else None,
    )


def parse_live_status(snippet: Mapping[str, Any]) -> str | None:
    """The broadcast state while a premiere or stream has not ended ("upcoming", "live")."""
    content = snippet.get("liveBroadcastContent")
    return content if content in LIVE_STATES else None


def parse_unavailable_entry(entry: Mapping[str, Any]) -> Item:
    """A private or deleted upload, from its playlist entry: never shown."""
    video_id = upload_video_id(entry)
    snippet = entry.get("snippet") or {}
    published = (entry.get("contentDetails") or {}).get("videoPublishedAt") or snippet.get(
        "publishedAt"
    )
    return Item(
        source=SOURCE,
        platform_id=video_id,
        kind="video",
        title=snippet.get("title") or "",
        description="",
        url=WATCH_URL + video_id,
        published_at=_required_time(published, f"playlist entry {video_id}"),
        public=False,
        raw=RawJson.of(entry),
    )


def best_thumbnail(thumbnails: Any) -> str | None:
    if not isinstance(thumbnails, dict):
        return None
    for size in THUMBNAIL_PREFERENCE:
        url = (thumbnails.get(size) or {}).get("url")
        if isinstance(url, str) and url:
            return url
    return None


def parse_duration(text: Any) -> int | None:
    """ISO 8601 durations as YouTube writes them: PT21M7S, PT1H, P1DT2H3M, P0D (live)."""
    if not isinstance(text, str):
        return None
    match = _DURATION.fullmatch(text.strip())
    if not match or not any(match.groupdict().values()):
        return None
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return round(
        parts.get("weeks", 0) * 604800
        + parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


def parse_time(text: Any) -> datetime | None:
    """RFC 3339 as YouTube writes it ("2019-03-21T20:37:49Z", "...49.000Z"), as aware UTC."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_count(value: Any) -> int | None:
    """Counts arrive as strings ("7920"); anything unreadable or out of range counts as absent."""
    return count_or_none(value)


def _required_str(resource: Mapping[str, Any], key: str, what: str) -> str:
    value = resource.get(key)
    if not isinstance(value, str) or not value:
        raise SourceError(SOURCE, "unexpected response", f"{what} without {key}")
    return value


def _required_time(text: Any, what: str) -> datetime:
    moment = parse_time(text)
    if moment is None:
        raise BadItem("publishedAt", f"{what} without a publication time")
    return moment
