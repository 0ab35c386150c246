"""Facebook Graph API: a page node with field expansion, and its videos and posts edges."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from aggregator.fakeapi.bodies import graph_error, graph_status, unknown_object_error
from aggregator.fakeapi.partial import (
    FieldsSyntaxError,
    GraphField,
    graph_fields_text,
    parse_graph_fields,
)
from aggregator.fakeapi.wire import ApiRequest
from aggregator.fakeapi.world import Resource, World

DEFAULT_VERSION = "v25.0"
DEFAULT_LIMIT = 25
MAX_LIMIT = 100

# edge name -> (key in the world's page, node type of its items)
EDGES = {
    "videos": ("videos", "Video"),
    "posts": ("posts", "Post"),
    "feed": ("posts", "Post"),
    "published_posts": ("posts", "Post"),
}
# Edges that page by time, not by cursors: {previous, next} links carrying since/until and a
# __paging_token (recorded: real-api/facebook/posts_p1_time_paging.json, posts_p2_last.json).
TIME_PAGED_EDGES = frozenset({"posts"})
TIME_PAGING_PARAMS = ("since", "until", "__paging_token", "__previous")
KNOWN_FIELDS = {
    "Page": {
        "id",
        "name",
        "username",
        "link",
        "followers_count",
        "fan_count",
        "about",
        "category",
        "category_list",
        "description",
        "website",
        "picture",
        "cover",
        "verification_status",
        "talking_about_count",
        "were_here_count",
        "engagement",
        "global_brand_page_name",
        "emails",
        "phone",
        "location",
        "is_published",
        "is_verified",
        "single_line_address",
        *EDGES,
    },
    "Video": {
        "id",
        "title",
        "description",
        "created_time",
        "updated_time",
        "permalink_url",
        "picture",
        "length",
        "published",
        "embeddable",
        "embed_html",
        "source",
        "from",
        "status",
        "privacy",
        "format",
        "content_category",
        "icon",
        "is_crosspost_video",
        "is_crossposting_eligible",
        "is_episode",
        "is_instagram_eligible",
        "thumbnails",
        "views",
        "post_views",
        "universal_video_id",
        "backdated_time",
        "place",
        "content_tags",
        "custom_labels",
    },
    "Post": {
        "id",
        "message",
        "created_time",
        "updated_time",
        "permalink_url",
        "full_picture",
        "picture",
        "story",
        "status_type",
        "attachments",
        "shares",
        "is_published",
        "is_hidden",
        "from",
        "icon",
        "message_tags",
        "privacy",
        "properties",
        "place",
        "is_expired",
        "parent_id",
        "child_attachments",
        "call_to_action",
        "actions",
        "reactions",
        "comments",
        "likes",
    },
}
DEFAULT_FIELDS = {
    "Page": "name,id",
    "Video": "description,updated_time,id",
    "Post": "created_time,message,story,id",
}


class GraphApiError(Exception):
    def __init__(self, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body["error"]["message"])
        self.body = body
        self.status = graph_status(body)
        self.headers = headers or {}


def token_problem(request: ApiRequest, access_token: str) -> GraphApiError | None:
    """Missing token: code 104; wrong token: code 190 with Graph's WWW-Authenticate header."""
    token = request_token(request)
    if token == access_token:
        return None
    body = graph_error(104) if not token else graph_error(190)
    message = body["error"]["message"]
    reason = "invalid_request" if not token else "invalid_token"
    return GraphApiError(
        body, {"WWW-Authenticate": f'OAuth "Facebook Platform" "{reason}" "{message}"'}
    )


def request_token(request: ApiRequest) -> str | None:
    token = request.one("access_token")
    if token:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


@dataclass
class _Context:
    """What building a listing needs besides the page: the request, for paging URLs."""

    request: ApiRequest
    version: str
    token: str


def serve(
    segments: list[str], version: str, request: ApiRequest, world: World, token: str
) -> tuple[int, dict[str, Any]]:
    """Answer GET /{version}/{segments...}: (HTTP status, body)."""
    context = _Context(request, version, token)
    try:
        return 200, _route(segments, world, context)
    except GraphApiError as error:
        return error.status, error.body


def _route(segments: list[str], world: World, context: _Context) -> dict[str, Any]:
    if not segments:
        raise GraphApiError(graph_error(100, message="(#100) Missing 'ids' parameter"))
    if segments == ["debug_token"]:
        return debug_token(context.request.one("input_token"), world, context.token)
    page = world.find_page(segments[0])
    if page is None:
        raise GraphApiError(unknown_object_error(segments[0]))
    fields = _parse(context.request.one("fields"))
    if len(segments) == 1:
        return _select(page, fields or _parse(DEFAULT_FIELDS["Page"]), "Page", page, context)
    if len(segments) == 2 and segments[1] in EDGES:
        modifiers = {
            name: value
            for name in ("limit", "after", "before", *TIME_PAGING_PARAMS)
            if (value := context.request.one(name)) is not None
        }
        if context.request.one("summary") in ("true", "1", "total_count"):
            modifiers["summary"] = "total_count"
        return _listing(page, segments[1], fields, modifiers, context)
    raise GraphApiError(
        graph_error(2500, message=f"Unknown path components: /{'/'.join(segments[1:])}")
    )


def debug_token(input_token: str | None, world: World, token: str) -> dict[str, Any]:
    """GET /debug_token: the access token's metadata; a different input token is invalid."""
    if not input_token:
        raise GraphApiError(
            graph_error(100, message="(#100) The parameter input_token is required")
        )
    if input_token != token:
        error = {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"}
        return {"data": {"error": error, "is_valid": False, "scopes": []}}
    page_id = next(iter(world.facebook_pages), "")
    data = {
        "app_id": "100000000000001",
        "type": "PAGE",
        "application": "showcase",
        "data_access_expires_at": 0,
        "expires_at": 0,
        "is_valid": True,
        "issued_at": 1700000000,
        "profile_id": page_id,
        "scopes": ["pages_show_list", "pages_read_engagement", "pages_read_user_content"],
        "user_id": "100000000000002",
    }
    data.update(world.facebook_token)
    return {"data": data}


def _parse(text: str | None) -> list[GraphField]:
    if not text:
        return []
    try:
        return parse_graph_fields(text)
    except FieldsSyntaxError as problem:
        raise GraphApiError(graph_error(100, message=f"(#100) Syntax error {problem}")) from None


def _select(
    node: Resource, fields: list[GraphField], node_type: str, page: Resource, context: _Context
) -> dict[str, Any]:
    """The requested fields of one node; Graph always adds the id."""
    out: dict[str, Any] = {}
    for field in fields:
        if field.name not in KNOWN_FIELDS[node_type]:
            raise GraphApiError(
                graph_error(
                    100,
                    message=f"(#100) Tried accessing nonexisting field ({field.name}) "
                    f"on node type ({node_type})",
                )
            )
        if node_type == "Page" and field.name in EDGES:
            listing = _listing(page, field.name, field.children or [], field.modifiers, context)
            if listing.get("data") or "summary" in listing:  # Graph leaves empty edges out
                out[field.modifiers.get("as", field.name)] = listing
            continue
        value = _field_value(node, field.name, page)
        if value is not None:
            out[field.modifiers.get("as", field.name)] = _narrow(value, field.children)
    out.setdefault("id", node["id"])
    return out


def _field_value(node: Resource, name: str, page: Resource) -> Any:
    if name in node:
        return node[name]
    if name == "from":
        return {"name": page.get("name", ""), "id": page["id"]}
    if name == "embed_html" and "permalink_url" in node:
        href = quote("https://www.facebook.com" + node["permalink_url"], safe="")
        return (
            f'<iframe src="https://www.facebook.com/plugins/video.php?href={href}&width=1280" '
            'width="1280" height="720" style="border:none;overflow:hidden" scrolling="no" '
            'frameborder="0" allowfullscreen="true" allow="autoplay; clipboard-write; '
            'encrypted-media; picture-in-picture; web-share"></iframe>'
        )
    return None


def _narrow(value: Any, children: list[GraphField] | None) -> Any:
    """Apply a sub-selection such as `attachments{url}` or `from{name}` to a stored value."""
    if children is None:
        return value
    if isinstance(value, list):
        return [_narrow(element, children) for element in value]
    if isinstance(value, dict):
        if isinstance(value.get("data"), list):
            return {**value, "data": _narrow(value["data"], children)}
        return {
            child.name: _narrow(value[child.name], child.children)
            for child in children
            if child.name in value
        }
    return value


def _listing(
    page: Resource,
    edge: str,
    fields: list[GraphField],
    modifiers: dict[str, str],
    context: _Context,
) -> dict[str, Any]:
    """One page of an edge: {"data": [...], "paging": {...}} as Graph lays it out."""
    key, node_type = EDGES[edge]
    nodes = sorted(page.get(key, []), key=lambda node: node.get("created_time", ""), reverse=True)
    limit = _limit(modifiers.get("limit"))
    time_paged = edge in TIME_PAGED_EDGES
    if time_paged and "__paging_token" in modifiers:
        start, stop = _time_window(modifiers["__paging_token"], modifiers, limit)
    else:
        start = _start(modifiers, limit, len(nodes))
        stop = start + limit
    chosen = fields or _parse(DEFAULT_FIELDS[node_type])
    data = [_select(node, chosen, node_type, page, context) for node in nodes[start:stop]]
    listing: dict[str, Any] = {"data": data}
    if data and time_paged:
        listing["paging"] = _time_paging(page, edge, fields, limit, context, nodes, start, stop)
    elif data:
        paging: dict[str, Any] = {
            "cursors": {
                "before": encode_cursor(start),
                "after": encode_cursor(start + len(data) - 1),
            }
        }
        if start > 0:
            paging["previous"] = _paging_url(page, edge, fields, limit, context, before=start)
        if start + limit < len(nodes):
            paging["next"] = _paging_url(
                page, edge, fields, limit, context, after=start + limit - 1
            )
        listing["paging"] = paging
    if "summary" in modifiers:
        listing["summary"] = {"total_count": len(nodes)}
    return listing


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not text.isdigit():
        raise GraphApiError(graph_error(100, message="(#100) Param limit must be a number"))
    if int(text) > MAX_LIMIT:
        raise GraphApiError(
            graph_error(100, message=f"(#100) The limit parameter should not exceed {MAX_LIMIT}")
        )
    return max(1, int(text))


def _start(modifiers: dict[str, str], limit: int, total: int) -> int:
    if "after" in modifiers:
        return min(total, decode_cursor(modifiers["after"]) + 1)
    if "before" in modifiers:
        return max(0, decode_cursor(modifiers["before"]) - limit)
    return 0


def _time_window(token: str, modifiers: dict[str, str], limit: int) -> tuple[int, int]:
    """Where a time-paged listing starts and stops. The fake's __paging_token names the
    boundary post, so posts sharing a second are neither lost nor repeated; __previous=1 reads
    the newer posts before it."""
    boundary = decode_cursor(token)
    if modifiers.get("__previous") == "1":
        return max(0, boundary - limit), boundary
    return boundary + 1, boundary + 1 + limit


def _time_paging(
    page: Resource,
    edge: str,
    fields: list[GraphField],
    limit: int,
    context: _Context,
    nodes: list[Resource],
    start: int,
    stop: int,
) -> dict[str, str]:
    """Graph's time-based paging: `previous` always (newer posts may appear), `next` while
    older ones remain; `since`/`until` are the Unix time of the page's first/last post."""
    first, last = start, min(stop, len(nodes)) - 1
    newer = [("__previous", "1"), ("since", _unix_time(nodes[first])), ("until", "")]
    newer.append(("__paging_token", encode_cursor(first)))
    paging = {"previous": _paging_url(page, edge, fields, limit, context, time=newer)}
    if stop < len(nodes):
        older = [("until", _unix_time(nodes[last])), ("since", "")]
        older += [("__paging_token", encode_cursor(last)), ("__previous", "")]
        paging["next"] = _paging_url(page, edge, fields, limit, context, time=older)
    return paging


def _unix_time(node: Resource) -> str:
    try:
        created = datetime.strptime(node.get("created_time", ""), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return ""
    return str(int(created.timestamp()))


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"fakecursor:{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "fakecursor" and number.isdigit():
            return int(number)
    except (binascii.Error, ValueError):
        pass
    raise GraphApiError(graph_error(100, message="(#100) Invalid cursor"))


def _paging_url(
    page: Resource,
    edge: str,
    fields: list[GraphField],
    limit: int,
    context: _Context,
    *,
    after: int | None = None,
    before: int | None = None,
    time: list[tuple[str, str]] | None = None,
) -> str:
    params = [("access_token", context.token), ("pretty", "0")]
    if fields:
        params.append(("fields", graph_fields_text(fields)))
    params.append(("limit", str(limit)))
    if after is not None:
        params.append(("after", encode_cursor(after)))
    if before is not None:
        params.append(("before", encode_cursor(before)))
    params += time or []
    base = context.request.base_url
    return f"{base}/{context.version}/{page['id']}/{edge}?{urlencode(params)}"
