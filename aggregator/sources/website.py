"""WordPress REST API: the series' interviews on the institution's website.

The interviews are WordPress posts that carry one tag (`[website] tag`, the tag's slug). That
tag IS the series marker: every post read here is a post of the series, so each item gets
`tags=[settings.tag]` and matches the showcase through its tags, whether or not its text holds
a #hashtag. For that the slug must also be one of `[showcase] hashtags` (say "flaechengluehen"):
under any other slug the posts are stored, but only those whose title or excerpt carries a
configured #hashtag are shown.

The REST API is public and read without authentication, so only published posts are listed.
Its root is first taken to be {url}/wp-json/, where a site with pretty permalinks serves it.
Two kinds of requests there, each counted in `usage.requests`:

- GET {root}wp/v2/tags?slug={tag}: the tag's id ("not found" when no tag has the slug);
- GET {root}wp/v2/posts?tags={id}&per_page=100&page=N, newest id first, with each
  post's featured image embedded (`_embed=wp:featuredmedia`, so no media request is needed).

A site with plain permalinks has no /wp-json/: the web server answers 404, or WordPress itself
answers with a page of the site (a redirect to "/wp-json/wp/v2/tags/", then the home page).
An answer that is not the REST API's is where the API root is looked for, the way WordPress
advertises it (https://developer.wordpress.org/rest-api/using-the-rest-api/discovery/):
the `Link: <...>; rel="https://api.w.org/"` header of that answer, which WordPress sends on
every page it serves, else of a HEAD request to the site's address, else {url}/?rest_route=/
as a last guess. Under a root with a query ("/index.php?rest_route=/") the route goes into
rest_route and the parameters follow with "&".

P posts therefore cost 1 + max(1, ⌈P/100⌉) requests with pretty permalinks and 2 more with
plain ones: the answer at /wp-json/ and the redirect WordPress sends before it, or the web
server's 404 and the HEAD (every redirect followed counts as a request). The pages are counted
from the answer's X-WP-TotalPages: WordPress answers 400 for a page past the last one, so none
is asked for. A site (or a cache in front of it) that drops that header is read until a page
comes back less than full, or until WordPress says the page is past the end. The posts are
ordered by id, not by date, so that a page boundary cannot fall between two posts of the same
date and shuffle them. When X-WP-Total drops between two pages, a post went away and the posts
after it moved up onto a page already read: that listing is reported incomplete, so it retires
nothing. The site's name would take one more request (GET {root}), so the account is named
after the host. Every request carries showcase's own User-Agent (sources/http.py): some hosts'
firewalls refuse requests' default "python-requests/x.y".

The site's HTML is untrusted: titles and excerpts leave this module as plain text (tags
stripped, entities decoded, whitespace collapsed), and the renderer escapes them. A
password-protected post is listed with its excerpt withheld; it is stored as not public.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from datetime import UTC, datetime
from functools import partial
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from aggregator.config import WebsiteConfig
from aggregator.errors import SourceError
from aggregator.links import urls_in
from aggregator.models import Account, Found, Item, SourceResult, Usage
from aggregator.retry import RetryPolicy
from aggregator.sources.http import (
    header,
    http_get,
    http_head,
    is_web_url,
    json_or_none,
    new_session,
    retry_after_seconds,
    where,
)
from aggregator.sources.items import BadItem, parse_each

log = logging.getLogger(__name__)

SOURCE = "website"
DEFAULT_API_PATH = "/wp-json/"  # the API root with pretty permalinks
PLAIN_API_QUERY = "/?rest_route=/"  # the API root with plain permalinks
API_ROOT_REL = "https://api.w.org/"  # the Link relation WordPress advertises its root with
PAGE_SIZE = 100  # the REST API's maximum per_page
# `content` is read only for the addresses it embeds or links (a portrait's video: episodes.py);
# those are kept in the item's raw payload as `content_links`, the article's text is not.
POST_FIELDS = "id,date_gmt,link,title,excerpt,content,featured_media,status,_links,_embedded"
EMBED = "wp:featuredmedia"
TAG_FIELDS = "id,name,slug"
# Big enough for a card, small enough to copy: 768 px wide, then 1024 px, then the upload.
THUMBNAIL_SIZES = ("medium_large", "large")
REQUEST_HEADERS = {"Accept": "application/json"}
PAST_THE_END_CODE = "rest_post_invalid_page_number"
MESSAGE_LENGTH = 200

# Block elements and line breaks end a word: "<p>a</p><p>b</p>" reads "a b", not "ab".
_BREAKING_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr",
        "ul",
    }
)  # fmt: skip
_INVISIBLE_TAGS = frozenset({"script", "style", "template", "noscript"})
_MORE_MARKER = " [\u2026]"  # WordPress's default excerpt ending, " [&hellip;]"


class PastTheLastPage(SourceError):
    """WordPress's 400 rest_post_invalid_page_number: the page asked for is past the end."""


class NotTheRestApi(SourceError):
    """An answer that did not come from the REST API (an HTML page, a web server's 404): the
    API may live elsewhere. `advertised_root` is the root the answer's Link header names."""

    def __init__(self, cause: str, detail: str, advertised_root: str | None):
        super().__init__(SOURCE, cause, detail)
        self.advertised_root = advertised_root


def fetch(
    settings: WebsiteConfig,
    policy: RetryPolicy,
    usage: Usage,
    session: requests.Session | None = None,
    found: Found | None = None,
) -> SourceResult:
    """Read every published post of the tag (each page of them told to `found`).

    Raises SourceError when the tag cannot be looked up; a failure on a page of posts gives a
    result with `complete=False` holding the posts read before it.
    """
    scope = nullcontext(session) if session is not None else new_session()
    with scope as http:
        client = WordPressClient(settings.url, policy, usage, http)
        tag_id = client.tag_id(settings.tag)
        result = SourceResult(source=SOURCE, account=parse_account(settings.url))
        try:
            for posts in client.tagged_posts(tag_id):
                page = list(
                    parse_each(
                        SOURCE,
                        posts,
                        partial(parse_post, tag=settings.tag, site_url=settings.url),
                        result.skipped,
                    )
                )
                result.items.extend(page)
                if found is not None:
                    found(page)
        except SourceError as error:
            log.info("%s (%d posts read before)", error, len(result.items))
            result.error = error
            return result
        result.complete = True
        log.info("website: %d posts read, %d requests", len(result.items), usage.requests)
        return result


# --- HTTP ------------------------------------------------------------------------------------


class WordPressClient:
    """GET requests to one site's REST API, each counted, timed out and retried by the policy."""

    def __init__(self, site_url: str, policy: RetryPolicy, usage: Usage, session: requests.Session):
        self.site_url = site_url.rstrip("/")
        self.api_root = self.site_url + DEFAULT_API_PATH
        self.policy = policy
        self.usage = usage
        self.session = session

    def tag_id(self, slug: str) -> int:
        """The tag's id; the first request, so it is where the API root is found."""
        try:
            return self._tag_id_at_root(slug)
        except NotTheRestApi as first_error:
            root = self._other_api_root(first_error)
            if root == self.api_root:
                raise
            log.info("website: %s; trying the API root %s", first_error, request_name(root))
            self.api_root = root
            try:
                return self._tag_id_at_root(slug)
            except NotTheRestApi:
                raise first_error from None

    def _tag_id_at_root(self, slug: str) -> int:
        url = self.route_url("wp/v2/tags", {"slug": slug, "_fields": TAG_FIELDS})
        tags, _ = self.get_list(url)
        if not tags:
            detail = f"no tag with the slug {slug!r} ({request_name(url)})"
            raise SourceError(SOURCE, "not found", detail)
        return tag_id_of(tags[0], url)

    def _other_api_root(self, error: NotTheRestApi) -> str:
        """Where the API is, cheapest first: what the answer advertised, else what the site's
        address advertises (one HEAD), else the plain-permalink root."""
        advertised = error.advertised_root or self.advertised_api_root()
        if advertised and not same_site(advertised, self.site_url):
            # A Link to another host is not followed: the site's own answer cannot move the
            # whole source (and whatever it sends along) elsewhere.
            log.info("website: the API root advertised is on %s: not followed", _host(advertised))
            advertised = None
        return advertised or self.site_url + PLAIN_API_QUERY

    def advertised_api_root(self) -> str | None:
        """The root the site's address names in its Link header (HEAD, as the discovery doc
        advises); None when it names none or cannot be reached."""
        url = self.site_url + "/"
        try:
            response = self.policy.call(SOURCE, lambda: self._head_once(url))
        except SourceError as error:
            log.info("website: no API root advertised: %s", error)
            return None
        return advertised_api_root(response.headers)

    def _head_once(self, url: str) -> requests.Response:
        self.usage.requests += 1
        response = http_head(self.session, url, SOURCE, self.policy.request_timeout())
        self.usage.requests += len(response.history)
        return response

    def route_url(self, route: str, params: Mapping[str, str | int]) -> str:
        return route_url(self.api_root, route, params)

    def tagged_posts(self, tag_id: int) -> Iterator[list[dict[str, Any]]]:
        """The tag's posts, one page of up to PAGE_SIZE at a time."""
        page, last_page = 1, 1
        counted: int | None = None
        first_total: int | None = None
        while page <= last_page:
            try:
                posts, headers = self.get_list(self.posts_url(tag_id, page))
            except PastTheLastPage:
                if page > 1 and counted is None:
                    return  # no page count to go by, and the last page happened to be full
                raise
            total = total_posts(headers)
            if first_total is None:
                first_total = total
            elif total is not None and total < first_total:
                # A post went away between two pages: the ones after it moved up onto a page
                # already read, so this listing may miss one and must not retire anything.
                detail = f"{first_total} posts on page 1, {total} on page {page}"
                raise SourceError(SOURCE, "listing changed", detail, retryable=False)
            yield posts
            counted = total_pages(headers)
            full = len(posts) >= PAGE_SIZE
            last_page = counted if counted is not None else page + 1 if full else page
            page += 1

    def posts_url(self, tag_id: int, page: int) -> str:
        query: dict[str, str | int] = {
            "tags": tag_id,
            "per_page": PAGE_SIZE,
            "page": page,
            "orderby": "id",
            "order": "desc",
            "_fields": POST_FIELDS,
            "_embed": EMBED,
        }
        return self.route_url("wp/v2/posts", query)

    def get_list(self, url: str) -> tuple[list[dict[str, Any]], Mapping[str, str]]:
        return self.policy.call(SOURCE, lambda: self._get_once(url))

    def _get_once(self, url: str) -> tuple[list[dict[str, Any]], Mapping[str, str]]:
        self.usage.requests += 1
        timeout = self.policy.request_timeout()
        log.debug("%s", request_name(url))
        response = http_get(self.session, url, SOURCE, timeout, REQUEST_HEADERS)
        self.usage.requests += len(response.history)  # the redirects followed
        listing = parse_listing(response.status_code, response.content, response.headers, url)
        return listing, response.headers


def total_pages(headers: Mapping[str, str]) -> int | None:
    """X-WP-TotalPages, or None when the answer has none (a cache may strip it)."""
    return _count_header(headers, "x-wp-totalpages")


def total_posts(headers: Mapping[str, str]) -> int | None:
    """X-WP-Total: how many posts the whole listing holds."""
    return _count_header(headers, "x-wp-total")


def _count_header(headers: Mapping[str, str], name: str) -> int | None:
    value = header(headers, name)
    try:
        return max(0, int(value)) if value is not None else None
    except ValueError:
        return None


# --- the API root (pure) ------------------------------------------------------------------------


def route_url(api_root: str, route: str, params: Mapping[str, str | int]) -> str:
    """A route under an API root: "{root}wp/v2/tags?slug=x" under ".../wp-json/", and
    "...?rest_route=/wp/v2/tags&slug=x" under a plain-permalink root ".../?rest_route=/"."""
    parts = urlsplit(api_root)
    query = parse_qsl(parts.query, keep_blank_values=True)
    path = parts.path
    if any(name == "rest_route" for name, _ in query):
        query = [
            (name, value.rstrip("/") + "/" + route if name == "rest_route" else value)
            for name, value in query
        ]
    else:
        path = path.rstrip("/") + "/" + route
    query += [(name, str(value)) for name, value in params.items()]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query, safe="/"), ""))


def advertised_api_root(headers: Mapping[str, str]) -> str | None:
    """The URL of `Link: <URL>; rel="https://api.w.org/"`, among any other links."""
    value = header(headers, "link")
    if not value:
        return None
    for link in requests.utils.parse_header_links(value):
        url = link.get("url", "")
        if link.get("rel") == API_ROOT_REL and url.startswith(("https://", "http://")):
            return url
    return None


def same_site(url: str, site_url: str) -> bool:
    """The same host as the site's (with or without "www."), as an advertised root must be."""
    return _host(url).removeprefix("www.") == _host(site_url).removeprefix("www.")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".")


def request_name(url: str) -> str:
    """where(url), and the route when it travels in the query (?rest_route=)."""
    route = dict(parse_qsl(urlsplit(url).query)).get("rest_route")
    return f"{where(url)}?rest_route={route}" if route else where(url)


# --- answers and errors (pure) -----------------------------------------------------------------


def parse_listing(
    status: int, body: bytes, headers: Mapping[str, str], url: str
) -> list[dict[str, Any]]:
    """The JSON list of a collection answer, or the SourceError the answer amounts to."""
    payload = json_or_none(body)
    if status >= 400:
        error = error_from_response(status, payload, headers, request_name(url))
        if status == 404 and not _error_code_and_message(payload)[0]:
            # Not WordPress's JSON 404 (rest_no_route): the web server's or the theme's page.
            raise NotTheRestApi(error.cause, error.detail, advertised_api_root(headers))
        raise error
    if payload is None:
        content_type = header(headers, "content-type") or "no content type"
        detail = f"{request_name(url)}: HTTP {status} answer ({content_type}) is not JSON"
        raise NotTheRestApi("not JSON", detail, advertised_api_root(headers))
    if not isinstance(payload, list) or not all(isinstance(entry, dict) for entry in payload):
        detail = (
            f"{request_name(url)}: expected a JSON list of objects, got {type(payload).__name__}"
        )
        raise SourceError(SOURCE, "unexpected response", detail)
    return payload


def error_from_response(
    status: int, payload: Any, headers: Mapping[str, str], request: str = ""
) -> SourceError:
    """Classify an error answer by its status and WordPress's {"code", "message"} body."""
    code, message = _error_code_and_message(payload)
    parts = [f"HTTP {status}", request] if request else [f"HTTP {status}"]
    detail = f"{message} ({code}, {', '.join(parts)})" if code else ", ".join(parts)
    if code == PAST_THE_END_CODE:
        return PastTheLastPage(SOURCE, f"http {status}", detail)
    if status == 429:
        retry_after = retry_after_seconds(headers)
        return SourceError(SOURCE, "rate limit", detail, retryable=True, retry_after=retry_after)
    if status == 404:
        return SourceError(SOURCE, "not found", detail)
    if status in (401, 403):
        # A security plugin that closes the REST API to anonymous readers.
        return SourceError(SOURCE, "permission", detail)
    if status >= 500:
        retry_after = retry_after_seconds(headers)
        return SourceError(
            SOURCE, f"http {status}", detail, retryable=True, retry_after=retry_after
        )
    return SourceError(SOURCE, f"http {status}", detail)


def _error_code_and_message(payload: Any) -> tuple[str, str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("code"), str):
        return "", ""
    message = payload.get("message")
    text = html_to_text(message) if isinstance(message, str) else ""
    return payload["code"], text[:MESSAGE_LENGTH] or "no message"


def tag_id_of(tag: Mapping[str, Any], url: str = "") -> int:
    tag_id = tag.get("id")
    if not isinstance(tag_id, int) or isinstance(tag_id, bool):
        detail = f"{request_name(url)}: a tag without an id"
        raise SourceError(SOURCE, "unexpected response", detail)
    return tag_id


# --- parsing (pure) ----------------------------------------------------------------------------


def parse_account(site_url: str) -> Account:
    url = site_url.rstrip("/")
    host = (urlsplit(url).hostname or url).removeprefix("www.")
    return Account(source=SOURCE, platform_id=url, name=host, url=url)


def parse_post(post: Mapping[str, Any], tag: str, site_url: str = "") -> Item:
    """One post of the tag as an Item; `tag` is the series' tag, given to every post."""
    post_id = _post_id(post)
    link = post.get("link")
    return Item(
        source=SOURCE,
        platform_id=post_id,
        kind="post",
        title=html_to_text(_rendered(post.get("title"))),
        description=excerpt_text(_rendered(post.get("excerpt"))),
        url=link
        if isinstance(link, str) and link.startswith(("https://", "http://"))
        else f"{site_url.rstrip('/')}/?p={post_id}",
        published_at=_published_at(post),
        thumbnail_url=featured_image_url(post),
        tags=[tag],
        public=post.get("status", "publish") == "publish" and not is_protected(post),
        raw=_raw_payload(post),
    )


def _raw_payload(post: Mapping[str, Any]) -> dict[str, Any]:
    """The post as WordPress sent it, without its API links and with its content reduced to
    the addresses in it (an embedded or linked video ties the article to its episode)."""
    raw = {key: value for key, value in post.items() if key not in ("_links", "content")}
    raw["content_links"] = list(dict.fromkeys(urls_in(_rendered(post.get("content")))))
    return raw


def parse_wordpress_time(text: str) -> datetime:
    """WordPress's date_gmt "2017-06-27T10:00:00" (UTC, written without an offset)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def featured_image_url(post: Mapping[str, Any]) -> str | None:
    """The embedded featured image: a mid-sized rendition if WordPress made one, else the upload.

    A post without one has no `_embedded` entry; a deleted or private attachment is embedded as
    an error object ({"code": ...}) without a source_url.
    """
    media = _embedded_media(post)
    if media is None:
        return None
    details = media.get("media_details")
    sizes = details.get("sizes") if isinstance(details, dict) else None
    if isinstance(sizes, dict):
        for name in THUMBNAIL_SIZES:
            size = sizes.get(name)
            url = size.get("source_url") if isinstance(size, dict) else None
            if is_web_url(url):
                return url
    url = media.get("source_url")
    return url if is_web_url(url) else None


def is_protected(post: Mapping[str, Any]) -> bool:
    return any(
        isinstance(post.get(field), dict) and post[field].get("protected") is True
        for field in ("excerpt", "content")
    )


def excerpt_text(html: str) -> str:
    """The excerpt as plain text; WordPress's " [&hellip;]" ending becomes "…"."""
    text = html_to_text(html)
    if text.endswith(_MORE_MARKER):
        text = text.removesuffix(_MORE_MARKER) + "\u2026"
    return text


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self.hidden += 1
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags and comments dropped, entities decoded (&#8211; is
    "–", &amp; is "&"), whitespace (non-breaking spaces included) collapsed to one space."""
    if not html:
        return ""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return " ".join("".join(extractor.parts).split())


def _embedded_media(post: Mapping[str, Any]) -> Mapping[str, Any] | None:
    embedded = post.get("_embedded")
    entries = embedded.get(EMBED) if isinstance(embedded, dict) else None
    if not isinstance(entries, list):
        return None
    return next(
        (entry for entry in entries if isinstance(entry, dict) and "code" not in entry), None
    )


def _rendered(field: Any) -> str:
    """title/excerpt/content are {"rendered": html}; a plain string is taken as it is."""
    if isinstance(field, dict):
        field = field.get("rendered")
    return field if isinstance(field, str) else ""


def _post_id(post: Mapping[str, Any]) -> str:
    post_id = post.get("id")
    if not isinstance(post_id, int) or isinstance(post_id, bool):
        raise BadItem("id", "a post without an id")
    return str(post_id)


def _published_at(post: Mapping[str, Any]) -> datetime:
    date_gmt = post.get("date_gmt")
    try:
        return parse_wordpress_time(date_gmt if isinstance(date_gmt, str) else "")
    except ValueError:
        raise BadItem("date_gmt", f"{date_gmt!r:.80} is not a time") from None
