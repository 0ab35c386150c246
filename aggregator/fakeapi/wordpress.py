"""WordPress REST API (wp/v2): one site's tags, posts and media, as an anonymous client sees them.

- GET /wp-json/wp/v2/tags?slug=a,b&include=&hide_empty=   terms; `count` counts published posts
- GET /wp-json/wp/v2/posts?tags=1,2&include=&orderby=&order=&_embed=
- GET /wp-json/wp/v2/media?include=1,2&parent=

Every collection takes per_page (1–100, default 10), page and _fields, and answers with
X-WP-Total, X-WP-TotalPages and a Link header (rel="next"/"prev"). Posts and media answer 400
rest_post_invalid_page_number past the last page; tags answer an empty list there.
`_fields` keeps the named fields (dotted names pick sub-fields, "title.rendered"); as since
WordPress 5.4, `_links` and `_embedded` come only when `_fields` names one of them. `_embed`
(all, or a list of relations) embeds wp:featuredmedia, the one relation the fake knows: it has
no users or comments. Only published posts are listed; a post with a `password` comes with its
content and excerpt withheld. Errors are WordPress's {"code", "message", "data": {"status"}}.
The JSON is what PHP's json_encode writes: ASCII only, slashes escaped.

The same routes answer at /?rest_route=/wp/v2/... (and /index.php?rest_route=...), with
pretty permalinks too. world.wordpress_site sets the site up (the behaviours of a real
WordPress 6.1, Debian's package, in tests/test_website_real.py):
- "permalinks": "plain": /wp-json/ is no route. WordPress answers such a path with a 301 that
  adds a trailing slash, then with its home page (200, HTML); the API root it advertises in
  `Link: <...>; rel="https://api.w.org/"` is {base}/index.php?rest_route=/.
- "web_server_404": with plain permalinks, /wp-json/ never reaches WordPress: the web server
  answers its own HTML 404, without a Link header (Apache without WordPress's .htaccess).
- "refused_user_agents": a firewall (ModSecurity's Core Rule Set lists "python-requests" in
  rules/scripting-user-agents.data) answers 403 to a User-Agent containing one of these.
The home page (/) sends the Link header, as every page WordPress serves does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aggregator.fakeapi.wire import ApiRequest, Reply, graph_json
from aggregator.fakeapi.world import BASE, Resource, World

RESOURCES = ("tags", "posts", "media")
API_PATH = "/wp-json/wp/v2"
REST_ROUTE_PREFIX = "/wp/v2"
FRONT_PAGES = ("/", "/index.php")  # where ?rest_route= is read
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
SITE_TIMEZONE = ZoneInfo("Europe/Berlin")

NO_ROUTE = "No route was found matching the URL and request method."
PAST_THE_END = "The page number requested is larger than the number of pages available."
_CRITICAL_ERROR = (
    "<p>There has been a critical error on this website.</p><p><a "
    'href="https://wordpress.org/documentation/article/faq-troubleshooting/">Learn more about '
    "troubleshooting WordPress.</a></p>"
)
_DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("rest_invalid_param", "Invalid parameter(s): page"),
    401: ("rest_not_logged_in", "You are not currently logged in."),
    403: ("rest_forbidden", "Sorry, you are not allowed to do that."),
    404: ("rest_no_route", NO_ROUTE),
    429: ("rest_too_many_requests", "Too many requests, please slow down."),
    500: ("internal_server_error", _CRITICAL_ERROR),
}
HEADERS = {
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
    "Access-Control-Allow-Headers": (
        "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"
    ),
    "Allow": "GET",
    "Vary": "Origin",
}
_ORDERBY = ("date", "id", "modified", "slug", "title", "include")
# Fields of an attachment in the "embed" context, the one _embed uses.
_MEDIA_EMBED_FIELDS = (
    "id",
    "date",
    "slug",
    "type",
    "link",
    "title",
    "author",
    "featured_media",
    "caption",
    "alt_text",
    "media_type",
    "mime_type",
    "media_details",
    "source_url",
    "_links",
)

Answer = tuple[int, Any, dict[str, str]]


class WordPressApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **data: Any):
        super().__init__(code)
        self.status = status
        self.body = error_body(status, code, message, **data)


def error_body(
    status: int, code: str | None = None, message: str | None = None, **data: Any
) -> dict[str, Any]:
    """WordPress's error object: `error_body(404)` is rest_no_route."""
    default_code, default_message = _DEFAULT_ERRORS.get(status, ("http_error", f"HTTP {status}"))
    return {
        "code": code or default_code,
        "message": message or default_message,
        "data": {"status": status, **data},
    }


def wordpress_json(payload: Any, base_url: str) -> bytes:
    """PHP's json_encode defaults, the same as Graph's: ASCII only, `/` escaped."""
    return graph_json(payload, base_url)


def serve(resource: str, request: ApiRequest, world: World) -> Answer:
    """Answer GET /wp-json/wp/v2/{resource}: (HTTP status, body, headers)."""
    handlers: dict[str, Callable[[ApiRequest, World], Answer]] = {
        "tags": list_tags,
        "posts": list_posts,
        "media": list_media,
    }
    try:
        if resource not in handlers:
            raise WordPressApiError(404, "rest_no_route", NO_ROUTE)
        return handlers[resource](request, world)
    except WordPressApiError as error:
        return error.status, error.body, _headers(request, world)


def rest_resource(path: str, params: dict[str, list[str]], world: World) -> str | None:
    """The collection a request asks the REST API for ("posts", or "" for another route), or
    None when it is no REST request: a page of the site."""
    rest_route = params.get("rest_route", [None])[-1]
    if path in FRONT_PAGES and rest_route:
        route = rest_route
    elif (path == "/wp-json" or path.startswith("/wp-json/")) and not plain_permalinks(world):
        route = path.removeprefix("/wp-json")
    else:
        return None
    resource = route.removeprefix(REST_ROUTE_PREFIX + "/").strip("/")
    return resource if route.startswith(REST_ROUTE_PREFIX + "/") and resource in RESOURCES else ""


def plain_permalinks(world: World) -> bool:
    return world.wordpress_site.get("permalinks") == "plain"


def api_root(base_url: str, world: World) -> str:
    """What WordPress's rest_url() gives: /wp-json/, or index.php?rest_route=/ without pretty
    permalinks."""
    if plain_permalinks(world):
        return f"{base_url}/index.php?rest_route=/"
    return f"{base_url}/wp-json/"


def refusal(request: ApiRequest, world: World) -> Reply | None:
    """A firewall's 403 for a User-Agent it refuses (world.wordpress_site refused_user_agents)."""
    agent = str(request.headers.get("User-Agent") or "").casefold()
    refused = world.wordpress_site.get("refused_user_agents", [])
    if not any(str(pattern).casefold() in agent for pattern in refused):
        return None
    page = "<!DOCTYPE html><title>403 Forbidden</title><h1>Forbidden</h1><p>Access denied.</p>"
    return Reply(403, page.encode(), "text/html; charset=iso-8859-1")


def serve_page(request: ApiRequest, world: World) -> Reply:
    """A page of the site (any path that is no REST request) as WordPress or the web server
    in front of it answers it: the HTML home page, a redirect, a 404."""
    on_api_path = request.path == "/wp-json" or request.path.startswith("/wp-json/")
    if on_api_path and world.wordpress_site.get("web_server_404"):
        page = "<!DOCTYPE html><title>404 Not Found</title><h1>Not Found</h1>"
        return Reply(404, page.encode(), "text/html; charset=iso-8859-1")
    if request.path not in FRONT_PAGES and not request.path.endswith("/"):
        # redirect_canonical(): a path that is no file gets its trailing slash.
        query = urlencode(request.params, doseq=True)
        location = f"{request.base_url}{request.path}/" + (f"?{query}" if query else "")
        return Reply(301, b"", "text/html; charset=UTF-8",
                     {"X-Redirect-By": "WordPress", "Location": location})  # fmt: skip
    # With plain permalinks WordPress ignores the path and serves the home page.
    link = f'<{api_root(request.base_url, world)}>; rel="https://api.w.org/"'
    page = '<!DOCTYPE html><html lang="de-DE"><title>Kreatives Sachsen</title><p>Startseite</p>'
    return Reply(200, page.encode(), "text/html; charset=UTF-8", {"Link": link})


# -- the collections ----------------------------------------------------------------------------


def list_tags(request: ApiRequest, world: World) -> Answer:
    counts = _tag_counts(world)
    tags = sorted(world.wordpress_tags, key=lambda tag: str(tag.get("name", "")).casefold())
    slugs = {slug.casefold() for slug in request.listed("slug")}
    if slugs:
        tags = [tag for tag in tags if str(tag.get("slug", "")).casefold() in slugs]
    include = _int_list(request, "include")
    if include:
        tags = [tag for tag in tags if tag.get("id") in include]
    if request.one("hide_empty") in ("1", "true"):
        tags = [tag for tag in tags if counts.get(tag["id"], 0) > 0]
    shown, headers = _paginate(request, world, tags, past_end_is_error=False)
    fields = _fields(request)
    body = [_select(_term(tag, counts.get(tag["id"], 0)), fields) for tag in shown]
    return 200, body, headers


def list_posts(request: ApiRequest, world: World) -> Answer:
    posts = [post for post in world.wordpress_posts if post.get("status", "publish") == "publish"]
    tag_ids = set(_int_list(request, "tags"))
    if tag_ids:
        posts = [post for post in posts if tag_ids & set(post.get("tags", []))]
    include = _int_list(request, "include")
    if include:
        posts = [post for post in posts if post.get("id") in include]
    posts = _ordered(posts, request, include)
    shown, headers = _paginate(request, world, posts, past_end_is_error=True)
    fields, embed = _fields(request), _embed_relations(request)
    body = [_select(_post(post, world, embed), fields) for post in shown]
    return 200, body, headers


def list_media(request: ApiRequest, world: World) -> Answer:
    media = list(world.wordpress_media)
    include = _int_list(request, "include")
    if include:
        media = [item for item in media if item.get("id") in include]
    parents = set(_int_list(request, "parent"))
    if parents:
        media = [item for item in media if item.get("post") in parents]
    media = _ordered(media, request, include)
    shown, headers = _paginate(request, world, media, past_end_is_error=True)
    fields = _fields(request)
    return 200, [_select(_attachment(item), fields) for item in shown], headers


# -- parameters ---------------------------------------------------------------------------------


def _invalid_param(name: str, message: str, detail_code: str) -> WordPressApiError:
    return WordPressApiError(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        params={name: message},
        details={name: {"code": detail_code, "message": message, "data": None}},
    )


def _int_param(
    request: ApiRequest, name: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    text = request.one(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type") from None
    if maximum is not None and not minimum <= value <= maximum:
        message = f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)"
        raise _invalid_param(name, message, "rest_out_of_bounds")
    if value < minimum:
        message = f"{name} must be greater than or equal to {minimum}"
        raise _invalid_param(name, message, "rest_out_of_bounds")
    return value


def _int_list(request: ApiRequest, name: str) -> list[int]:
    values = []
    for index, text in enumerate(request.listed(name)):
        try:
            values.append(int(text))
        except ValueError:
            message = f"{name}[{index}] is not of type integer."
            raise _invalid_param(name, message, "rest_invalid_type") from None
    return values


def _fields(request: ApiRequest) -> list[str] | None:
    return request.listed("_fields") or None


def _embed_relations(request: ApiRequest) -> set[str] | None:
    """None: no _embed; an empty set: embed every relation; else the relations named."""
    if "_embed" not in request.params:
        return None
    value = request.one("_embed") or ""
    if value in ("", "1", "true"):
        return set()
    return set(request.listed("_embed"))


def _ordered(items: list[Resource], request: ApiRequest, include: list[int]) -> list[Resource]:
    orderby = request.one("orderby") or "date"
    order = request.one("order") or "desc"
    if orderby not in _ORDERBY:
        message = f"orderby is not one of {', '.join(_ORDERBY)}."
        raise _invalid_param("orderby", message, "rest_not_in_enum")
    if order not in ("asc", "desc"):
        raise _invalid_param("order", "order is not one of asc, desc.", "rest_not_in_enum")
    if orderby == "include":
        return sorted(items, key=lambda item: include.index(item["id"]) if include else 0)

    def key(item: Resource) -> tuple[Any, int]:
        if orderby == "title":
            return str(item.get("title", {}).get("rendered", "")).casefold(), item["id"]
        if orderby in ("date", "modified"):
            return str(item.get(f"{orderby}_gmt") or item.get("date_gmt", "")), item["id"]
        if orderby == "slug":
            return str(item.get("slug", "")), item["id"]
        return item["id"], item["id"]

    return sorted(items, key=key, reverse=order == "desc")


def _paginate(
    request: ApiRequest, world: World, items: list[Resource], *, past_end_is_error: bool
) -> tuple[list[Resource], dict[str, str]]:
    per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    page = _int_param(request, "page", 1, 1)
    total = len(items)
    pages = -(-total // per_page)
    if past_end_is_error and total > 0 and page > pages:
        raise WordPressApiError(400, "rest_post_invalid_page_number", PAST_THE_END)
    headers = _headers(request, world)
    headers |= {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    if page > 1:
        links.append(f'<{_page_url(request, min(page - 1, max(pages, 1)))}>; rel="prev"')
    if page < pages:
        links.append(f'<{_page_url(request, page + 1)}>; rel="next"')
    if links:
        # The paging links take the Link header's place: the api.w.org link is gone (a real
        # WordPress 6.1, tests/test_website_real.py::test_paging_links_replace_the_root_link).
        headers["Link"] = ", ".join(links)
    return items[(page - 1) * per_page : page * per_page], headers


def _page_url(request: ApiRequest, page: int) -> str:
    params = {name: values for name, values in request.params.items() if name != "page"}
    params["page"] = [str(page)]
    path = "/index.php" if "rest_route" in params else request.path
    return f"{request.base_url}{path}?{urlencode(params, doseq=True)}"


def _headers(request: ApiRequest, world: World) -> dict[str, str]:
    return {**HEADERS, "Link": f'<{api_root(request.base_url, world)}>; rel="https://api.w.org/"'}


def _select(resource: Resource, fields: list[str] | None) -> Resource:
    """`_fields`: the named fields in the resource's own order; dotted names pick sub-fields."""
    if not fields:
        return resource
    paths = [field.split(".") for field in fields]
    if any(path[0] in ("_links", "_embedded") for path in paths):
        paths += [["_links"], ["_embedded"]]
    return _pick(resource, paths)


def _pick(value: Resource, paths: list[list[str]]) -> Resource:
    picked: Resource = {}
    for key, item in value.items():
        below = [path[1:] for path in paths if path[0] == key]
        if not below:
            continue
        if any(not rest for rest in below) or not isinstance(item, dict):
            picked[key] = item
        else:
            picked[key] = _pick(item, below)
    return picked


# -- the resources ------------------------------------------------------------------------------


def _api(path: str) -> str:
    return f"{BASE}{API_PATH}/{path}"


def _post(stored: Resource, world: World, embed: set[str] | None) -> Resource:
    post_id = stored["id"]
    date_gmt = str(stored.get("date_gmt", ""))
    password = stored.get("password")
    # No "Protected: " before a protected post's title: the REST API leaves it out (a real
    # WordPress 6.1, tests/test_website_real.py::test_protected_post_is_listed_withheld).
    title = str(stored.get("title", {}).get("rendered", ""))
    media_id = stored.get("featured_media", 0)
    post: Resource = {
        "id": post_id,
        "date": stored.get("date") or _local(date_gmt),
        "date_gmt": date_gmt,
        "guid": {"rendered": f"{BASE}/?p={post_id}"},
        "modified": stored.get("modified") or _local(stored.get("modified_gmt") or date_gmt),
        "modified_gmt": stored.get("modified_gmt") or date_gmt,
        "slug": stored.get("slug", str(post_id)),
        "status": stored.get("status", "publish"),
        "type": "post",
        "link": stored.get("link", f"{BASE}/?p={post_id}"),
        "title": {"rendered": title},
        "content": {
            "rendered": "" if password else stored.get("content", {}).get("rendered", ""),
            "protected": bool(password),
        },
        "excerpt": {
            "rendered": "" if password else stored.get("excerpt", {}).get("rendered", ""),
            "protected": bool(password),
        },
        "author": stored.get("author", 1),
        "featured_media": media_id,
        "comment_status": stored.get("comment_status", "closed"),
        "ping_status": stored.get("ping_status", "closed"),
        "sticky": stored.get("sticky", False),
        "template": "",
        "format": stored.get("format", "standard"),
        "meta": {"footnotes": ""},
        "categories": stored.get("categories", [1]),
        "tags": stored.get("tags", []),
        "_links": _post_links(post_id, media_id),
    }
    if embed is not None and media_id and (not embed or "wp:featuredmedia" in embed):
        post["_embedded"] = {"wp:featuredmedia": [_embedded_media(world, media_id)]}
    return post


def _post_links(post_id: int, media_id: int) -> Resource:
    links: Resource = {
        "self": [{"href": _api(f"posts/{post_id}"), "targetHints": {"allow": ["GET"]}}],
        "collection": [{"href": _api("posts")}],
        "about": [{"href": _api("types/post")}],
        "author": [{"embeddable": True, "href": _api("users/1")}],
        "replies": [{"embeddable": True, "href": _api(f"comments?post={post_id}")}],
    }
    if media_id:
        links["wp:featuredmedia"] = [{"embeddable": True, "href": _api(f"media/{media_id}")}]
    links["wp:attachment"] = [{"href": _api(f"media?parent={post_id}")}]
    links["wp:term"] = [
        {"taxonomy": "category", "embeddable": True, "href": _api(f"categories?post={post_id}")},
        {"taxonomy": "post_tag", "embeddable": True, "href": _api(f"tags?post={post_id}")},
    ]
    links["curies"] = [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}]
    return links


def _embedded_media(world: World, media_id: int) -> Resource:
    media = world.find_wordpress_media(media_id)
    if media is None:  # the attachment was deleted but the post still points at it
        return error_body(404, "rest_post_invalid_id", "Invalid post ID.")
    attachment = _attachment(media)
    return {key: attachment[key] for key in _MEDIA_EMBED_FIELDS if key in attachment}


def _attachment(stored: Resource) -> Resource:
    media_id = stored["id"]
    date_gmt = str(stored.get("date_gmt", ""))
    slug = stored.get("slug", str(media_id))
    return {
        "id": media_id,
        "date": stored.get("date") or _local(date_gmt),
        "date_gmt": date_gmt,
        "guid": {"rendered": stored.get("source_url", "")},
        "modified": stored.get("date") or _local(date_gmt),
        "modified_gmt": date_gmt,
        "slug": slug,
        "status": "inherit",
        "type": "attachment",
        "link": stored.get("link", f"{BASE}/{slug}/"),
        "title": stored.get("title", {"rendered": slug}),
        "author": stored.get("author", 1),
        "featured_media": 0,
        "comment_status": "closed",
        "ping_status": "closed",
        "template": "",
        "meta": [],
        "description": stored.get("description", {"rendered": ""}),
        "caption": stored.get("caption", {"rendered": ""}),
        "alt_text": stored.get("alt_text", ""),
        "media_type": stored.get("media_type", "image"),
        "mime_type": stored.get("mime_type", "image/jpeg"),
        "media_details": stored.get("media_details", {"sizes": {}}),
        "post": stored.get("post"),
        "source_url": stored.get("source_url", ""),
        "_links": {
            "self": [{"href": _api(f"media/{media_id}"), "targetHints": {"allow": ["GET"]}}],
            "collection": [{"href": _api("media")}],
            "about": [{"href": _api("types/attachment")}],
            "author": [{"embeddable": True, "href": _api("users/1")}],
        },
    }


def _term(stored: Resource, count: int) -> Resource:
    tag_id, slug = stored["id"], stored.get("slug", "")
    return {
        "id": tag_id,
        "count": count,
        "description": stored.get("description", ""),
        "link": stored.get("link", f"{BASE}/tag/{slug}/"),
        "name": stored.get("name", slug),
        "slug": slug,
        "taxonomy": "post_tag",
        "meta": [],
        "_links": {
            "self": [{"href": _api(f"tags/{tag_id}"), "targetHints": {"allow": ["GET"]}}],
            "collection": [{"href": _api("tags")}],
            "about": [{"href": _api("taxonomies/post_tag")}],
            "wp:post_type": [{"href": _api(f"posts?tags={tag_id}")}],
            "curies": [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}],
        },
    }


def _tag_counts(world: World) -> dict[int, int]:
    counts: dict[int, int] = {}
    for post in world.wordpress_posts:
        if post.get("status", "publish") == "publish":
            for tag_id in post.get("tags", []):
                counts[tag_id] = counts.get(tag_id, 0) + 1
    return counts


def _local(date_gmt: str) -> str:
    """The site's local time for a GMT one, as WordPress writes `date` beside `date_gmt`."""
    try:
        moment = datetime.fromisoformat(date_gmt).replace(tzinfo=UTC)
    except ValueError:
        return date_gmt
    return moment.astimezone(SITE_TIMEZONE).strftime("%Y-%m-%dT%H:%M:%S")
