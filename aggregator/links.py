"""What a web address points at: a YouTube video, a Facebook video or post, or a page.

Used to find explicit links between items (`episodes`) and to read the address staff paste
for an item (`cli_curation`). Every form a browser, a share button or Facebook produces is
recognised: youtu.be/ID, watch?v=ID, /shorts/ID, /embed/ID and /live/ID on youtube.com,
m./www./music.youtube.com and youtube-nocookie.com; Facebook's link shim
(l.facebook.com/l.php?u=...) is unwrapped; Facebook videos as /PAGE/videos/ID,
/PAGE/videos/SLUG/ID, /videos/ID, /watch/?v=ID, /reel/ID, /video.php?v=ID and the video
plugin's ?href=; Facebook posts as /PAGE/posts/ID and permalink.php?story_fbid=ID. Any other
address is compared as a page (`page_key`): without scheme, `www.`, fragment, trailing slash
and tracking parameters, but with the parameters that name the page (WordPress's ?p=ID).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import SplitResult, parse_qs, parse_qsl, unquote, urlencode, urlsplit

# ("youtube", VIDEO_ID), ("facebook", VIDEO_ID), ("facebook-post", POST_ID) or ("page", KEY)
Reference = tuple[str, str]

YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = frozenset({"youtube.com", "music.youtube.com", "youtube-nocookie.com"})
_YOUTUBE_PATHS = frozenset({"shorts", "live", "embed", "v"})
_FACEBOOK_HOSTS = frozenset({"facebook.com", "web.facebook.com", "mbasic.facebook.com"})
_FACEBOOK_SHIMS = frozenset({"l.facebook.com", "lm.facebook.com"})
_NUMERIC_ID = re.compile(r"[0-9]{5,25}")
_HOST_PREFIXES = ("www.", "m.")

# Query parameters that say where a visitor came from, not which page it is. utm_* and every
# name starting with "__" (Facebook's __cft__, __tn__) go too. eventSource and content_id:
# Facebook's own tracking on shared links, seen in the real recording
# facebook/page_feed_rich_fields_p1_cursor.json (attachments' unshimmed_url).
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "igshid",
        "mibextid",
        "mc_cid",
        "mc_eid",
        "eventsource",
        "content_id",
        "ref",
        "ref_src",
        "sfnsn",
    }
)

# An address in text or HTML: with a scheme, protocol-relative in an attribute (//www.youtube
# .com/embed/ID), or written bare as people do (www.example.org/..., youtu.be/ID).
_URL_IN_TEXT = re.compile(
    r"""(?:https?:)?//[^\s"'<>]+|\b(?:www\.|youtu\.be/|m\.facebook\.com/)[^\s"'<>]+""",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}»«“”„'\"…"


def host_of(url: str) -> str:
    """The host, lower case, without `www.` or `m.`."""
    host = (urlsplit(_with_scheme(url)).hostname or "").lower()
    for prefix in _HOST_PREFIXES:
        host = host.removeprefix(prefix)
    return host


def unshim(url: str) -> str:
    """The address behind Facebook's link shim (l.facebook.com/l.php?u=...), else `url`."""
    for _ in range(3):  # a shim inside a shim is possible; more is not
        parts = urlsplit(_with_scheme(url))
        if (parts.hostname or "").lower() not in _FACEBOOK_SHIMS:
            return url
        target = parse_qs(parts.query).get("u", [""])[0]
        if not target:
            return url
        url = target
    return url


def youtube_video_id(url: str) -> str | None:
    """The video of watch?v=ID, youtu.be/ID, /shorts/ID, /live/ID, /embed/ID and /v/ID
    addresses (www., m., music. and youtube-nocookie.com too), behind Facebook's shim too."""
    return _youtube_video_id(*_parsed(unshim(url)))


def facebook_video_id(url: str) -> str | None:
    """The video of /PAGE/videos/ID, /PAGE/videos/SLUG/ID, /videos/ID, /watch/?v=ID,
    /reel/ID, /video.php?v=ID and the video plugin's ?href= addresses."""
    return _facebook_video_id(*_parsed(unshim(url)))


def facebook_post_id(url: str) -> str | None:
    """The post of /PAGE/posts/ID and permalink.php or story.php?story_fbid=ID addresses
    (the part after the underscore in the Graph API's PAGEID_POSTID)."""
    return _facebook_post_id(*_parsed(unshim(url)))


def page_key(url: str) -> str:
    """An address as compared with another: host without `www.`/`m.`, path without trailing
    slash (percent-decoded), the query without tracking parameters, sorted; no scheme, no
    fragment. `https://www.example.org/a/?utm_source=x` and `http://example.org/a` are one
    page; `example.org/?p=12` and `example.org/?p=13` are two."""
    return _page_key(*_parsed(unshim(url)))


def references(url: str) -> frozenset[Reference]:
    """Everything an address can name: the video or post it points at, and the page."""
    unshimmed = unshim(url)
    # Each reader above unshims what it is given once more (a shim four deep is read the same
    # here as by them); the address is parsed once for all of them.
    parts, host = _parsed(unshimmed if unshimmed == url else unshim(unshimmed))
    found: set[Reference] = {("page", _page_key(parts, host))}
    if video := _youtube_video_id(parts, host):
        found.add(("youtube", video))
    if video := _facebook_video_id(parts, host):
        found.add(("facebook", video))
    if post := _facebook_post_id(parts, host):
        found.add(("facebook-post", post))
    return frozenset(found)


def _parsed(url: str) -> tuple[SplitResult, str]:
    parts = urlsplit(_with_scheme(url))
    return parts, host_of(parts.geturl())


def _youtube_video_id(parts: SplitResult, host: str) -> str | None:
    segments = [segment for segment in parts.path.split("/") if segment]
    candidate: str | None = None
    if host == "youtu.be" and segments:
        candidate = segments[0]
    elif host in _YOUTUBE_HOSTS and segments == ["watch"]:
        candidate = parse_qs(parts.query).get("v", [""])[0]
    elif host in _YOUTUBE_HOSTS and len(segments) >= 2 and segments[0] in _YOUTUBE_PATHS:
        candidate = segments[1]
    return candidate if candidate and YOUTUBE_ID.fullmatch(candidate) else None


def _facebook_video_id(parts: SplitResult, host: str) -> str | None:
    if host not in _FACEBOOK_HOSTS:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    query = parse_qs(parts.query)
    if segments[:2] == ["plugins", "video.php"]:
        href = query.get("href", [""])[0]
        return facebook_video_id(href) if href else None
    if segments in (["watch"], ["video.php"]):
        return _numeric(query.get("v", [""])[0])
    if len(segments) >= 2 and segments[0] == "reel":
        return _numeric(segments[1])
    if "videos" in segments:
        after = segments[segments.index("videos") + 1 :]
        numeric = [segment for segment in after if _NUMERIC_ID.fullmatch(segment)]
        return numeric[-1] if numeric else None
    return None


def _facebook_post_id(parts: SplitResult, host: str) -> str | None:
    if host not in _FACEBOOK_HOSTS:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments in (["permalink.php"], ["story.php"]):
        return _numeric(parse_qs(parts.query).get("story_fbid", [""])[0])
    if len(segments) >= 3 and segments[1] == "posts":
        return _numeric(segments[2])
    return None


def _page_key(parts: SplitResult, host: str) -> str:
    path = unquote(parts.path).rstrip("/")
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    )
    key = host + path
    return f"{key}?{urlencode(query)}" if query else key


def urls_in(text: str) -> Iterator[str]:
    """Every address in plain text or HTML (entities decoded first: `&amp;` in an href)."""
    for match in _URL_IN_TEXT.finditer(html.unescape(text)):
        url = match.group(0).rstrip(_TRAILING)
        if url.startswith("//"):
            url = "https:" + url
        elif not url.lower().startswith(("http://", "https://")):
            url = "https://" + url
        yield url


def _with_scheme(url: str) -> str:
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    if "://" not in url:
        return "https://" + url
    return url


def _numeric(text: str) -> str | None:
    return text if _NUMERIC_ID.fullmatch(text) else None


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(("utm_", "__")) or lowered in _TRACKING
