"""YouTube Data API v3: channels.list, playlistItems.list and videos.list on a World."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import Any

from aggregator.fakeapi.bodies import youtube_error
from aggregator.fakeapi.partial import FieldsSyntaxError, apply_google_fields, parse_google_fields
from aggregator.fakeapi.wire import ApiRequest
from aggregator.fakeapi.world import Resource, World, privacy_status, uploads_playlist_id

RESOURCES = ("channels", "playlistItems", "videos")

# Parts in the order YouTube writes them, whatever order the request names them in.
CHANNEL_PARTS = (
    "id",
    "snippet",
    "contentDetails",
    "statistics",
    "topicDetails",
    "status",
    "brandingSettings",
    "auditDetails",
    "contentOwnerDetails",
    "localizations",
)
PLAYLIST_ITEM_PARTS = ("id", "snippet", "contentDetails", "status")
VIDEO_PARTS = (
    "id",
    "snippet",
    "contentDetails",
    "status",
    "statistics",
    "player",
    "topicDetails",
    "recordingDetails",
    "liveStreamingDetails",
    "localizations",
    "paidProductPlacementDetails",
)
PLAYABLE = ("public", "unlisted")
MAX_RESULTS = 50


class YouTubeApiError(Exception):
    def __init__(
        self,
        status: int,
        reason: str | None = None,
        message: str | None = None,
        *,
        location: str | None = None,
    ):
        super().__init__(reason or status)
        self.status = status
        self.body = youtube_error(status, reason, message, location=location)


def key_problem(request: ApiRequest, api_key: str) -> dict[str, Any] | None:
    """The invalid-key body when the request's key (param or X-Goog-Api-Key) is wrong."""
    key = request.one("key") or request.headers.get("X-Goog-Api-Key")
    return None if key == api_key else youtube_error(400, "keyInvalid")


def serve(resource: str, request: ApiRequest, world: World) -> tuple[int, dict[str, Any]]:
    """Answer one list call: (HTTP status, body)."""
    handlers: dict[str, Callable[[ApiRequest, World], dict[str, Any]]] = {
        "channels": list_channels,
        "playlistItems": list_playlist_items,
        "videos": list_videos,
    }
    try:
        if resource not in handlers:
            raise YouTubeApiError(404, "notFound", f"Method not found: youtube.{resource}.list")
        body = handlers[resource](request, world)
        return 200, _partial(body, request.one("fields"))
    except YouTubeApiError as error:
        return error.status, error.body


def _partial(body: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return body
    try:
        return apply_google_fields(body, parse_google_fields(fields))
    except FieldsSyntaxError:
        raise YouTubeApiError(
            400, "invalidParameter", f"Invalid field selection {fields}", location="fields"
        ) from None


# -- channels.list ------------------------------------------------------------------------------


def list_channels(request: ApiRequest, world: World) -> dict[str, Any]:
    parts = _parts(request, CHANNEL_PARTS)
    filters = [
        name
        for name in (
            "id",
            "forHandle",
            "forUsername",
            "mine",
            "managedByMe",
            "mySubscribers",
            "categoryId",
        )
        if request.params.get(name)
    ]
    if not filters:
        raise YouTubeApiError(
            400,
            "missingRequiredParameter",
            "No filter selected. Expected one of: forUsername, mine, mySubscribers, id, "
            "managedByMe, categoryId, forHandle",
        )
    if len(filters) > 1:
        raise YouTubeApiError(
            400,
            "incompatibleParameters",
            f"Incompatible parameters specified in the request: {', '.join(filters)}",
        )
    matches = _find_channels(world, filters[0], request)
    items = [_channel_resource(channel, parts) for channel in matches]
    body: dict[str, Any] = {
        "kind": "youtube#channelListResponse",
        "etag": "",
        "pageInfo": {"totalResults": len(items), "resultsPerPage": _max_results(request, 5)},
    }
    if items:  # real YouTube leaves "items" out when nothing matched
        body["items"] = items
    return _with_etag(body)


def _find_channels(world: World, by: str, request: ApiRequest) -> list[Resource]:
    if by == "id":
        ids = request.listed("id")
        if any(i not in world.youtube_channels for i in ids):
            # Today's answer to an unknown id: Google's generic 400 badRequest /
            # INVALID_ARGUMENT for the whole call (it used to be 200 without items). An unknown
            # handle still gets 200 without items.
            raise YouTubeApiError(400)
        return [world.youtube_channels[i] for i in ids]
    if by == "forHandle":
        channel = world.find_channel("@" + (request.one("forHandle") or "").removeprefix("@"))
        return [channel] if channel else []
    if by == "forUsername":
        name = (request.one("forUsername") or "").casefold()
        return [
            c for c in world.youtube_channels.values() if c.get("username", "").casefold() == name
        ]
    raise YouTubeApiError(
        401,
        None,
        "Request is missing required authentication credential. Expected OAuth 2 "
        "access token, login cookie or other valid authentication credential.",
    )


def _channel_resource(channel: Resource, parts: list[str]) -> Resource:
    channel_id = channel["id"]
    snippet = channel.get("snippet", {})
    built: dict[str, Any] = {
        "snippet": {**snippet, "localized": _localized(snippet)},
        "contentDetails": {
            "relatedPlaylists": {"likes": "", "uploads": uploads_playlist_id(channel_id)}
        },
        "statistics": _channel_statistics(channel.get("statistics", {})),
        "status": channel.get("status")
        or {
            "privacyStatus": "public",
            "isLinked": True,
            "longUploadsStatus": "longUploadsUnspecified",
            "madeForKids": False,
        },
        "brandingSettings": channel.get("brandingSettings")
        or {
            "channel": {
                "title": snippet.get("title", ""),
                "description": snippet.get("description", ""),
            }
        },
    }
    resource: dict[str, Any] = {"kind": "youtube#channel", "etag": "", "id": channel_id}
    for part in parts:
        if part in built:
            resource[part] = built[part]
        elif part in channel:
            resource[part] = channel[part]
    return _with_etag(resource)


def _channel_statistics(stored: Resource) -> Resource:
    statistics = dict(stored)
    if statistics.get("hiddenSubscriberCount"):
        statistics.pop("subscriberCount", None)
    elif "subscriberCount" in statistics:
        statistics["subscriberCount"] = _three_significant(statistics["subscriberCount"])
    return statistics


def _three_significant(count: str | int) -> str:
    """Public subscriber counts are cut to three significant figures (since 2019)."""
    number = int(count)
    factor = 10 ** max(0, len(str(number)) - 3)
    return str(number // factor * factor)


# -- playlistItems.list -------------------------------------------------------------------------


def list_playlist_items(request: ApiRequest, world: World) -> dict[str, Any]:
    parts = _parts(request, PLAYLIST_ITEM_PARTS)
    playlist_id = request.one("playlistId")
    if not playlist_id:
        raise YouTubeApiError(
            400, "missingRequiredParameter", "No filter selected. Expected one of: playlistId, id"
        )
    channel = world.channel_for_playlist(playlist_id)
    if channel is None:
        raise YouTubeApiError(404, "playlistNotFound")
    per_page = _max_results(request, 5)
    video_ids = world.playlist_video_ids(channel)
    start = _page_start(request.one("pageToken"), per_page)
    body: dict[str, Any] = {"kind": "youtube#playlistItemListResponse", "etag": ""}
    if per_page and start + per_page < len(video_ids):
        body["nextPageToken"] = encode_page_token(start + per_page)
    if start > 0:
        body["prevPageToken"] = encode_page_token(start, backwards=True)
    body["pageInfo"] = {"totalResults": len(video_ids), "resultsPerPage": per_page}
    body["items"] = [
        _playlist_item(world, channel, playlist_id, position, video_ids[position], parts)
        for position in range(start, min(start + per_page, len(video_ids)))
    ]
    return _with_etag(body)


def _playlist_item(
    world: World,
    channel: Resource,
    playlist_id: str,
    position: int,
    video_id: str,
    parts: list[str],
) -> Resource:
    video = world.youtube_videos[video_id]
    video_snippet = video.get("snippet", {})
    private = privacy_status(video) == "private"
    channel_title = channel.get("snippet", {}).get("title", "")
    snippet: dict[str, Any] = {
        "publishedAt": video_snippet.get("publishedAt", ""),
        "channelId": channel["id"],
        "title": "Private video" if private else video_snippet.get("title", ""),
        "description": "This video is private."
        if private
        else video_snippet.get("description", ""),
        "thumbnails": {} if private else video_snippet.get("thumbnails", {}),
        "channelTitle": channel_title,
        "playlistId": playlist_id,
        "position": position,
        "resourceId": {"kind": "youtube#video", "videoId": video_id},
    }
    content_details = {"videoId": video_id}
    if not private:
        snippet |= {"videoOwnerChannelTitle": channel_title, "videoOwnerChannelId": channel["id"]}
        content_details["videoPublishedAt"] = video_snippet.get("publishedAt", "")
    built = {
        "snippet": snippet,
        "contentDetails": content_details,
        "status": {"privacyStatus": privacy_status(video)},
    }
    digest = hashlib.sha1(video_id.encode()).hexdigest()[:16].upper()
    item_id = base64.b64encode(f"{playlist_id}.{digest}".encode()).decode()
    resource: dict[str, Any] = {"kind": "youtube#playlistItem", "etag": "", "id": item_id}
    resource |= {part: built[part] for part in parts if part in built}
    return _with_etag(resource)


def encode_page_token(offset: int, backwards: bool = False) -> str:
    """YouTube's own token layout (a tiny protobuf): CAoQAA is "offset 10, forwards"."""
    raw = b"\x08" + _varint(offset) + b"\x10" + (b"\x01" if backwards else b"\x00")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[int, bool]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(token) from None
    if len(raw) < 4 or raw[0] != 0x08 or raw[-2] != 0x10 or raw[-1] not in (0, 1):
        raise ValueError(token)
    offset, shift = 0, 0
    for byte in raw[1:-2]:
        offset |= (byte & 0x7F) << shift
        shift += 7
    return offset, raw[-1] == 1


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _page_start(token: str | None, per_page: int) -> int:
    if not token:
        return 0
    try:
        offset, backwards = decode_page_token(token)
    except ValueError:
        raise YouTubeApiError(400, "invalidPageToken") from None
    return max(0, offset - per_page) if backwards else offset


# -- videos.list --------------------------------------------------------------------------------


def list_videos(request: ApiRequest, world: World) -> dict[str, Any]:
    parts = _parts(request, VIDEO_PARTS)
    ids = request.listed("id")
    if not ids:
        raise YouTubeApiError(
            400,
            "missingRequiredParameter",
            "No filter selected. Expected one of: chart, id, myRating",
        )
    if len(ids) > MAX_RESULTS:
        # The real API's answer here is not on record; failing loudly catches oversized batches.
        raise YouTubeApiError(
            400, "invalidParameter", f"At most {MAX_RESULTS} video ids per request", location="id"
        )
    videos = [world.youtube_videos.get(video_id) for video_id in ids]
    items = [
        _video_resource(video, parts)
        for video in videos
        if video is not None and privacy_status(video) in PLAYABLE
    ]
    body = {
        "kind": "youtube#videoListResponse",
        "etag": "",
        "items": items,
        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
    }
    return _with_etag(body)


def _video_resource(video: Resource, parts: list[str]) -> Resource:
    resource: dict[str, Any] = {"kind": "youtube#video", "etag": "", "id": video["id"]}
    for part in parts:
        if part == "snippet":
            resource["snippet"] = _video_snippet(video.get("snippet", {}))
        elif part == "player":
            resource["player"] = {"embedHtml": _embed_html(video["id"])}
        elif part in video and part != "id":
            resource[part] = video[part]
    return _with_etag(resource)


def _video_snippet(stored: Resource) -> Resource:
    snippet = {key: value for key, value in stored.items() if not (key == "tags" and not value)}
    snippet.setdefault("liveBroadcastContent", "none")  # always there, "none" for most videos
    snippet.setdefault("localized", _localized(stored))
    return snippet


# -- world options: premieres and live streams ---------------------------------------------------
#
# What a video resource looks like before, during and after its premiere or live stream, from
# the videos resource schema in the bundled discovery document (snippet.liveBroadcastContent,
# VideoLiveStreamingDetails: "only present if the video is an upcoming, live, or completed
# live broadcast"; concurrentViewers only while it runs) and the recorded search results in
# shared/fixtures/real-api/youtube/search_list_eventType_live_hashtags.json ("live") and
# search_list_by_channel_page1.json ("none"). Upcoming and live videos have duration "P0D".
# YouTube's API does not tell a premiere from a scheduled stream: both look like these.


def make_upcoming(video: Resource, scheduled_start: str) -> Resource:
    """An announced premiere or stream that has not started: `scheduled_start` is RFC 3339."""
    video["snippet"]["liveBroadcastContent"] = "upcoming"
    video.setdefault("contentDetails", {})["duration"] = "P0D"
    video["statistics"] = {**video.get("statistics", {}), "viewCount": "0"}
    video["liveStreamingDetails"] = {"scheduledStartTime": scheduled_start}
    return video


def make_live(video: Resource, actual_start: str, concurrent_viewers: int = 17) -> Resource:
    """The premiere or stream is running."""
    scheduled = video.get("liveStreamingDetails", {}).get("scheduledStartTime", actual_start)
    video["snippet"]["liveBroadcastContent"] = "live"
    video.setdefault("contentDetails", {})["duration"] = "P0D"
    video["liveStreamingDetails"] = {
        "actualStartTime": actual_start,
        "scheduledStartTime": scheduled,
        "concurrentViewers": str(concurrent_viewers),
    }
    return video


def make_ended(video: Resource, actual_end: str, duration: str) -> Resource:
    """Over: an ordinary video again, with its length; the broadcast times stay."""
    details = video.get("liveStreamingDetails", {})
    started = details.get("actualStartTime", actual_end)
    video["snippet"]["liveBroadcastContent"] = "none"
    video.setdefault("contentDetails", {})["duration"] = duration
    video["liveStreamingDetails"] = {
        "actualStartTime": started,
        "actualEndTime": actual_end,
        "scheduledStartTime": details.get("scheduledStartTime", started),
    }
    return video


def _embed_html(video_id: str) -> str:
    return (
        f'<iframe width="480" height="270" src="//www.youtube.com/embed/{video_id}" '
        'frameborder="0" allow="accelerometer; autoplay; clipboard-write; encrypted-media; '
        'gyroscope; picture-in-picture; web-share" '
        'referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>'
    )


# -- shared -------------------------------------------------------------------------------------


def _parts(request: ApiRequest, known: tuple[str, ...]) -> list[str]:
    asked = request.listed("part")
    if not asked:
        raise YouTubeApiError(400, "required", "Required parameter: part", location="part")
    for part in asked:
        if part not in known:
            raise YouTubeApiError(400, "unknownPart", f"'{part}'", location="part")
    return [part for part in known if part in asked]


def _max_results(request: ApiRequest, default: int) -> int:
    text = request.one("maxResults")
    if text is None:
        return default
    if not text.isdigit() or int(text) > MAX_RESULTS:
        raise YouTubeApiError(
            400,
            "invalidParameter",
            f"Invalid value '{text}'. Values must be within the range: [0, {MAX_RESULTS}]",
            location="maxResults",
        )
    return int(text)


def _localized(snippet: Resource) -> Resource:
    return {"title": snippet.get("title", ""), "description": snippet.get("description", "")}


def _with_etag(resource: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha1(json.dumps(resource, sort_keys=True).encode()).digest()
    resource["etag"] = base64.urlsafe_b64encode(digest).decode()[:27]
    return resource
