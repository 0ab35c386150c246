"""Facebook Graph API: a page node with field expansion, and its videos and posts edges.

What it models, and the evidence for each:
- `/videos` pages by cursors (`paging.cursors.before/after`, `next` only while more follow:
  real-api/facebook/page_videos_p1_cursor_next.json, page_videos_p2_last.json); `/posts` and
  `/feed` page by time (`until`/`since`/`__paging_token` links: posts_p1_time_paging.json,
  posts_p2_last.json).
- Nodes filtered out for privacy still count towards a page's limit, so a page may be short or
  empty and still carry `next` (https://developers.facebook.com/docs/graph-api/results/).
- Every published video also appears on `/posts` as an `added_video` post whose attachment
  targets it (page_feed_rich_fields_p1_cursor.json: post 19292868552_10158333323653553 and
  video 1192957457884299 of page_videos_p1_cursor_next.json).
- Video `format` (the cover from 130 px to native size) and `picture` at about 160 px
  (video_node_format_thumbnails.json); `thumbnails` as the Video reference documents it.
- Code 1 "Please reduce the amount of data you're asking for" when one request asks for more
  nodes than `world.facebook_max_nodes` (its body as quoted in
  github.com/macbre/farerskie-kadry-feed/pull/10).
- appsecret_proof when `world.facebook_app_secret` is set: code 100 GraphMethodException "API
  calls from the server require an appsecret_proof argument" without one, "Invalid
  appsecret_proof provided in the API argument" with a wrong one (HTTP 400, as quoted in
  github.com/facebook/facebook-python-business-sdk/issues/528).
- The token exchange of `showcase facebook-token` (`serve_login`): `oauth/access_token` with
  grant_type=fb_exchange_token answers {access_token, token_type, expires_in}
  (oauth_long_lived_user_token.json; https://developers.facebook.com/docs/facebook-login/
  guides/access-tokens/get-long-lived), and `me/accounts` with that token lists the managed
  pages with their page tokens and tasks (me_accounts_page_tokens.json). Its errors: a missing
  client_id, code 101 "Missing client_id parameter." (facebook-archive/php-graph-sdk#50); an
  unknown app, code 101 "Error validating application. Invalid application ID."
  (diowa/icare#5); a wrong secret, code 1 "Error validating client secret."
  (facebook-archive/php-graph-sdk#538); no fb_exchange_token, code 1 "fb_exchange_token
  parameter not specified" (Thuzi/facebook-node-sdk#82); an expired user token, code 190/463
  (transcribed_from_issue_threads/error_190_463_session_expired.json).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
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
from aggregator.fakeapi.world import BASE, Resource, World

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
# /feed pages by cursors (page_feed_rich_fields_p1_cursor.json), /posts by time.
TIME_PAGED_EDGES = frozenset({"posts", "published_posts"})
NATIVE_COVER = (1280, 720)
# The `format` filters Graph lists for a video's cover, smallest first.
FORMAT_BOXES = (130, 480, 720)
TOO_MUCH_DATA = "Please reduce the amount of data you're asking for, then retry your request"
PROOF_MISSING = "API calls from the server require an appsecret_proof argument"
PROOF_INVALID = "Invalid appsecret_proof provided in the API argument"
# The app, the page admin's user tokens and the pages they manage (`world.facebook_login`).
LOGIN_DEFAULTS: dict[str, Any] = {
    "app_id": "100000000000001",
    "app_secret": "fake-app-secret",
    "user_token": "fake-short-lived-user-token",
    "user_token_expired": False,
    "long_lived_token": "fake-long-lived-user-token",
    "expires_in": 5184000,  # 60 days, as recorded
    "tasks": ["ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE"],
}
ACCOUNT_FIELDS = "access_token,category,category_list,name,id,tasks"  # as recorded
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
    world: World


def serve(
    segments: list[str], version: str, request: ApiRequest, world: World, token: str
) -> tuple[int, dict[str, Any]]:
    """Answer GET /{version}/{segments...}: (HTTP status, body)."""
    context = _Context(request, version, token, world)
    try:
        _check_proof(request, world.facebook_app_secret, token)
        return 200, _route(segments, world, context)
    except GraphApiError as error:
        return error.status, error.body


def _check_proof(request: ApiRequest, app_secret: str | None, token: str) -> None:
    if app_secret is None:
        return
    proof = request.one("appsecret_proof")
    if not proof:
        raise GraphApiError(_method_error(PROOF_MISSING))
    expected = hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(proof, expected):
        raise GraphApiError(_method_error(PROOF_INVALID))


def _method_error(message: str) -> dict[str, Any]:
    body = graph_error(100, message=message)
    body["error"]["type"] = "GraphMethodException"
    return body


def is_login_path(segments: list[str]) -> bool:
    """The token exchange's two paths: they are not called with the page token."""
    return segments in (["oauth", "access_token"], ["me", "accounts"])


def serve_login(
    segments: list[str], version: str, request: ApiRequest, world: World, page_token: str
) -> tuple[int, dict[str, Any]]:
    """Answer oauth/access_token or me/accounts; the page tokens listed are `page_token`, the
    token the rest of the fake accepts."""
    login = login_settings(world)
    try:
        if segments == ["oauth", "access_token"]:
            return 200, _exchange(request, login)
        token = request_token(request) or ""
        if token == page_token:
            raise GraphApiError(_nonexisting_field("accounts", "Page"))
        if token != login["long_lived_token"]:
            raise GraphApiError(graph_error(104) if not token else graph_error(190))
        _check_proof(request, world.facebook_app_secret, token)
        return 200, _accounts(request, version, world, login, page_token)
    except GraphApiError as error:
        return error.status, error.body


def login_settings(world: World) -> dict[str, Any]:
    """LOGIN_DEFAULTS overlaid by the world's; an app with "Require App Secret" has its secret."""
    defaults = dict(LOGIN_DEFAULTS)
    if world.facebook_app_secret:
        defaults["app_secret"] = world.facebook_app_secret
    return defaults | world.facebook_login


def _exchange(request: ApiRequest, login: dict[str, Any]) -> dict[str, Any]:
    client_id = request.one("client_id")
    if not client_id:
        raise _oauth_error(101, "Missing client_id parameter.")
    if client_id != login["app_id"]:
        raise _oauth_error(101, "Error validating application. Invalid application ID.")
    if request.one("client_secret") != login["app_secret"]:
        raise _oauth_error(1, "Error validating client secret.")
    if request.one("grant_type") != "fb_exchange_token":
        raise _oauth_error(100, "Unsupported grant_type")
    user_token = request.one("fb_exchange_token")
    if not user_token:
        raise _oauth_error(1, "fb_exchange_token parameter not specified")
    if user_token != login["user_token"]:
        raise GraphApiError(graph_error(190))
    if login["user_token_expired"]:
        raise GraphApiError(graph_error(190, 463))
    return {
        "access_token": login["long_lived_token"],
        "token_type": "bearer",
        "expires_in": login["expires_in"],
    }


def _oauth_error(code: int, message: str) -> GraphApiError:
    """An error of the oauth endpoint: OAuthException, HTTP 400, never marked transient."""
    body = graph_error(code, message=message)
    body["error"].pop("is_transient", None)
    error = GraphApiError(body)
    error.status = 400
    return error


def _accounts(
    request: ApiRequest, version: str, world: World, login: dict[str, Any], page_token: str
) -> dict[str, Any]:
    """GET me/accounts: the pages the user manages, 25 a page, with cursors."""
    managed = login.get("pages", list(world.facebook_pages))
    accounts = [
        _account(world.facebook_pages[page_id], login, page_token)
        for page_id in managed
        if page_id in world.facebook_pages
    ]
    fields = [name.strip() for name in (request.one("fields") or ACCOUNT_FIELDS).split(",")]
    limit = _limit(request.one("limit"))
    cursors = {name: value for name in ("after", "before") if (value := request.one(name))}
    start = _start(cursors, limit, len(accounts))
    window = accounts[start : start + limit]
    data = [_account_fields(account, fields) for account in window]
    listing: dict[str, Any] = {"data": data}
    if data:
        last = start + len(data) - 1
        listing["paging"] = {
            "cursors": {"before": encode_cursor(start), "after": encode_cursor(last)}
        }
        if start + limit < len(accounts):
            query = urlencode(
                {
                    "access_token": request_token(request) or "",
                    "fields": ",".join(fields),
                    "limit": limit,
                    "after": encode_cursor(last),
                }
            )
            listing["paging"]["next"] = f"{request.base_url}/{version}/me/accounts?{query}"
    return listing


def _account(page: Resource, login: dict[str, Any], page_token: str) -> dict[str, Any]:
    account = {key: value for key, value in page.items() if key not in EDGES}
    account["access_token"] = page_token
    account["tasks"] = list(login["tasks"])
    return account


def _account_fields(account: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    allowed = KNOWN_FIELDS["Page"] | {"access_token", "tasks"}
    for name in fields:
        if name not in allowed:
            raise GraphApiError(_nonexisting_field(name, "Page"))
    chosen = {name: account[name] for name in fields if name in account}
    chosen.setdefault("id", account["id"])
    return chosen


def _nonexisting_field(name: str, node_type: str) -> dict[str, Any]:
    message = f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
    return graph_error(100, message=message)


def _check_amount(nodes_asked: int, world: World) -> None:
    if world.facebook_max_nodes is not None and nodes_asked > world.facebook_max_nodes:
        body = graph_error(1, message=TOO_MUCH_DATA)
        body["error"].pop("is_transient", None)
        raise GraphApiError(body)


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
        _check_amount(_nested_nodes(fields), world)
        return _select(page, fields or _parse(DEFAULT_FIELDS["Page"]), "Page", page, context)
    if len(segments) == 2 and segments[1] in EDGES:
        modifiers = {
            name: value
            for name in ("limit", "after", "before", "until", "since", "__paging_token")
            if (value := context.request.one(name)) is not None
        }
        if context.request.one("summary") in ("true", "1", "total_count"):
            modifiers["summary"] = "total_count"
        _check_amount(_limit(modifiers.get("limit")), world)
        return _listing(page, segments[1], fields, modifiers, context)
    raise GraphApiError(
        graph_error(2500, message=f"Unknown path components: /{'/'.join(segments[1:])}")
    )


def _nested_nodes(fields: list[GraphField]) -> int:
    """How many nodes a page request asks for through nested edges (`videos.limit(100)`)."""
    return sum(_limit(field.modifiers.get("limit")) for field in fields if field.name in EDGES)


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
    if "length" in node and name in _DERIVED_VIDEO_FIELDS:
        return _DERIVED_VIDEO_FIELDS[name](node)
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


def video_formats(video: Resource) -> list[dict[str, Any]]:
    """The cover at Graph's filters, each fitted into its box, then at its native size."""
    width, height = video.get("_native", NATIVE_COVER)
    formats = []
    for box in FORMAT_BOXES:
        scale = min(1.0, box / max(width, height))
        fitted = (round(width * scale), round(height * scale))
        formats.append(_format(video, f"{box}x{box}", fitted, f"p{box}x{box}"))
    formats.append(_format(video, "native", (width, height), f"n{width}x{height}"))
    return formats


def _format(video: Resource, name: str, size: tuple[int, int], suffix: str) -> dict[str, Any]:
    picture = f"{BASE}/thumbs/fb-{video['id']}-{suffix}.jpg"
    return {
        "embed_html": "",
        "filter": name,
        "height": size[1],
        "picture": picture,
        "width": size[0],
    }


def video_thumbnails(video: Resource) -> dict[str, Any]:
    """Candidate frames at the native size; the first is the preferred one, the cover."""
    width, height = video.get("_native", NATIVE_COVER)
    frames = []
    for index in range(2):
        suffix = f"n{width}x{height}" if index == 0 else f"f{index}-n{width}x{height}"
        frames.append(
            {
                "id": f"{video['id']}{index}",
                "height": height,
                "is_preferred": index == 0,
                "name": f"frame {index}",
                "scale": 1,
                "uri": f"{BASE}/thumbs/fb-{video['id']}-{suffix}.jpg",
                "width": width,
            }
        )
    return {"data": frames}


_DERIVED_VIDEO_FIELDS = {
    "format": video_formats,
    "thumbnails": video_thumbnails,
    "status": lambda video: {"video_status": "ready"},
}


def video_post(page: Resource, video: Resource) -> Resource:
    """The `added_video` post Graph puts on a page's feed for each video the page uploads."""
    post_number = str(int(hashlib.sha1(video["id"].encode()).hexdigest()[:12], 16))
    web = f"https://www.facebook.com/{page.get('username') or page['id']}/videos/{video['id']}/"
    width, height = video.get("_native", NATIVE_COVER)
    scale = min(1.0, 720 / max(width, height))
    image = {
        "height": round(height * scale),
        "src": f"{BASE}/thumbs/fb-{video['id']}-p720x720.jpg",
        "width": round(width * scale),
    }
    attachment = {
        "media": {"image": image},
        "media_type": "video",
        "target": {"id": video["id"], "url": web},
        "title": video.get("title", ""),
        "type": "video_autoplay",
        "unshimmed_url": web,
        "url": web,
    }
    return {
        "id": f"{page['id']}_{post_number}",
        "message": video.get("description", ""),
        "created_time": video["created_time"],
        "permalink_url": f"https://www.facebook.com/{page['id']}/posts/{post_number}/",
        "full_picture": image["src"],
        "status_type": "added_video",
        "attachments": {"data": [attachment]},
    }


def listed_nodes(page: Resource, key: str) -> list[Resource]:
    """An edge's nodes newest first, as Graph lists them; `posts` has the video posts too."""
    nodes = list(page.get(key, []))
    if key == "posts":
        nodes += [
            video_post(page, video)
            for video in page.get("videos", [])
            if video.get("published", True) is not False
        ]
    return sorted(nodes, key=lambda node: node.get("created_time", ""), reverse=True)


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
    nodes = context.world.kept(("listed", page.get("id"), key), lambda: listed_nodes(page, key))
    limit = _limit(modifiers.get("limit"))
    time_paged = edge in TIME_PAGED_EDGES
    start = (
        _time_start(modifiers, limit, nodes) if time_paged else _start(modifiers, limit, len(nodes))
    )
    window = nodes[start : start + limit]
    chosen = fields or _parse(DEFAULT_FIELDS[node_type])
    data = [
        _select(node, chosen, node_type, page, context)
        for node in window
        if not node.get("_filtered")
    ]
    listing: dict[str, Any] = {"data": data}
    links = _Links(page, edge, fields, limit, context)
    more = start + limit < len(nodes)
    paging = (
        links.by_time(window, start, more) if time_paged else links.by_cursor(data, start, more)
    )
    if paging:
        listing["paging"] = paging
    if "summary" in modifiers:
        listing["summary"] = {"total_count": len(nodes)}
    return listing


@dataclass
class _Links:
    """The `paging` object of one page of an edge."""

    page: Resource
    edge: str
    fields: list[GraphField]
    limit: int
    context: _Context

    def by_cursor(self, data: list[Any], start: int, more: bool) -> dict[str, Any]:
        paging: dict[str, Any] = {}
        if data:
            last = start + len(data) - 1
            paging["cursors"] = {"before": encode_cursor(start), "after": encode_cursor(last)}
        if start > 0:
            paging["previous"] = self._url([("before", encode_cursor(start))])
        if more:
            paging["next"] = self._url([("after", encode_cursor(start + self.limit - 1))])
        return paging

    def by_time(self, window: list[Resource], start: int, more: bool) -> dict[str, Any]:
        """Time-based links, laid out as in posts_p1_time_paging.json: `until` (or `since`)
        is a Unix time, the other one given without a value, and an opaque paging token."""
        paging: dict[str, Any] = {}
        if not window:
            return paging
        # posts_p1_time_paging.json: even the first page links to a `previous`.
        since = _unix(window[0].get("created_time", ""))
        paging["previous"] = self._url(
            [
                ("since", str(since)),
                ("until", None),
                ("__paging_token", encode_cursor(start)),
                ("__previous", "1"),
            ]
        )
        if more:
            until = _unix(window[-1].get("created_time", ""))
            token = encode_cursor(start + self.limit - 1)
            paging["next"] = self._url(
                [
                    ("until", str(until)),
                    ("since", None),
                    ("__paging_token", token),
                    ("__previous", None),
                ]
            )
        return paging

    def _url(self, position: list[tuple[str, str | None]]) -> str:
        params: list[tuple[str, str | None]] = [
            ("access_token", self.context.token),
            ("pretty", "0"),
        ]
        if self.fields:
            params.append(("fields", graph_fields_text(self.fields)))
        params.append(("limit", str(self.limit)))
        query = "&".join(
            quote(name, safe="_") if value is None else urlencode({name: value})
            for name, value in [*params, *position]
        )
        base = self.context.request.base_url
        return f"{base}/{self.context.version}/{self.page['id']}/{self.edge}?{query}"


def _time_start(modifiers: dict[str, str], limit: int, nodes: list[Resource]) -> int:
    """Where a time-based page starts: after the paging token's node, else at `until`."""
    if modifiers.get("__paging_token"):
        index = decode_cursor(modifiers["__paging_token"])
        if modifiers.get("since"):  # a `previous` link: the page before the token's node
            return max(0, index - limit)
        return min(len(nodes), index + 1)
    until = modifiers.get("until")
    if until and until.isdigit():
        return next(
            (
                i
                for i, node in enumerate(nodes)
                if _unix(node.get("created_time", "")) <= int(until)
            ),
            len(nodes),
        )
    return 0


def _unix(graph_time: str) -> int:
    try:
        return int(datetime.strptime(graph_time, "%Y-%m-%dT%H:%M:%S%z").timestamp())
    except ValueError:
        return 0


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
