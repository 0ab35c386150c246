"""The accounts the fake server serves: one dataclass of plain JSON-shaped dicts.

Tests mutate it between runs, e.g. `world.youtube_videos[vid]["status"]["privacyStatus"] =
"private"`; bench's world is fixed instead (`World.fix`). Thumbnail URLs are stored as
"{base}/thumbs/..."; the server puts its own address in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, TypeVar

BASE = "{base}"
T = TypeVar("T")

# i.ytimg.com's sizes, as the API reports them.
YOUTUBE_THUMBNAIL_SIZES: dict[str, tuple[str, int, int]] = {
    "default": ("default", 120, 90),
    "medium": ("mqdefault", 320, 180),
    "high": ("hqdefault", 480, 360),
    "standard": ("sddefault", 640, 480),
    "maxres": ("maxresdefault", 1280, 720),
}
CHANNEL_THUMBNAIL_SIZES = {"default": 88, "medium": 240, "high": 800}

Resource = dict[str, Any]


def youtube_thumbnails(video_id: str) -> Resource:
    return {
        size: {"url": f"{BASE}/thumbs/yt-{video_id}-{variant}.jpg", "width": w, "height": h}
        for size, (variant, w, h) in YOUTUBE_THUMBNAIL_SIZES.items()
    }


def channel_thumbnails(channel_id: str) -> Resource:
    return {
        size: {"url": f"{BASE}/thumbs/ytc-{channel_id}-s{px}.jpg", "width": px, "height": px}
        for size, px in CHANNEL_THUMBNAIL_SIZES.items()
    }


# The demo and synthetic websites: their posts link here; their images come from the server.
WORDPRESS_SITE = "https://www.example.org"
WORDPRESS_SERIES_TAG = {"id": 12, "name": "Flächenglühen", "slug": "flaechengluehen"}
# WordPress's intermediate image sizes: name -> (width, height) of a 16:9 upload.
WORDPRESS_IMAGE_SIZES = {
    "thumbnail": (150, 150),
    "medium": (300, 169),
    "medium_large": (768, 432),
    "large": (1024, 576),
}


def wordpress_media(media_id: int, post_id: int, slug: str, date_gmt: str) -> Resource:
    """An image attachment of 1920x1080 with WordPress's intermediate sizes."""
    folder = f"{date_gmt[:4]}/{date_gmt[5:7]}"
    base_name = f"{BASE}/thumbs/wp-{media_id}"
    sizes: dict[str, Any] = {
        name: {
            "file": f"{slug}-{width}x{height}.jpg",
            "width": width,
            "height": height,
            "filesize": width * height // 8,
            "mime_type": "image/jpeg",
            "source_url": f"{base_name}-{width}x{height}.jpg",
        }
        for name, (width, height) in WORDPRESS_IMAGE_SIZES.items()
    }
    sizes["full"] = {
        "file": f"{slug}.jpg",
        "width": 1920,
        "height": 1080,
        "mime_type": "image/jpeg",
        "source_url": f"{base_name}.jpg",
    }
    return {
        "id": media_id,
        "date_gmt": date_gmt,
        "slug": slug,
        "title": {"rendered": slug},
        "alt_text": "",
        "media_type": "image",
        "mime_type": "image/jpeg",
        "media_details": {
            "width": 1920,
            "height": 1080,
            "file": f"{folder}/{slug}.jpg",
            "filesize": 259200,
            "sizes": sizes,
            "image_meta": {"caption": "", "copyright": "", "title": "", "orientation": "0"},
        },
        "post": post_id,
        "source_url": f"{base_name}.jpg",
    }


def uploads_playlist_id(channel_id: str) -> str:
    return "UU" + channel_id[2:]


def privacy_status(video: Resource) -> str:
    """public, unlisted, private, or "deleted" (a fake-only marker: the video is gone)."""
    return str(video.get("status", {}).get("privacyStatus", "public"))


@dataclass
class World:
    """YouTube channels and videos, Facebook pages (each with `videos` and `posts` lists), and
    one WordPress site's posts, tags and media.

    youtube_channels: channel id -> channel resource without kind/etag, plus `uploads`: the
        video ids of its uploads playlist, newest first.
    youtube_videos: video id -> video resource with every part (snippet, contentDetails,
        statistics, status). A video absent from this dict, or with privacyStatus "deleted",
        is deleted: it vanishes from the playlist and from videos.list.
    facebook_pages: page id -> page node (id, name, username, link, followers_count,
        fan_count, ...) plus `videos` and `posts`: lists of nodes.
    youtube_quota_left: units left today; None is unlimited.
    facebook_token: what GET /debug_token says of the server's access token (expires_at,
        data_access_expires_at: Unix times, 0 for never; is_valid; type; scopes); unset keys
        take a never-expiring valid page token's values.
    wordpress_posts: post objects as /wp/v2/posts gives them (title, excerpt and content as
        {"rendered": html}, date_gmt, link, featured_media, tags: tag ids, status); the server
        fills in what a post leaves out. Only status "publish" is listed; a post with a
        `password` is listed with its content and excerpt withheld.
    wordpress_tags: term objects (id, name, slug, ...); `count` is computed.
    wordpress_media: attachment objects (id, source_url, media_details.sizes, ...).
    facebook_app_secret: the app's secret when the app has "Require App Secret" on: every Graph
        call must then carry appsecret_proof (https://developers.facebook.com/docs/graph-api/
        securing-requests#appsecret_proof).
    facebook_max_nodes: the most nodes one Graph request may ask for (edge limits, nested edges
        summed) before Graph answers code 1 "Please reduce the amount of data you're asking
        for"; None: no cap.
    facebook_login: the app and the page admin behind `showcase facebook-token`
        (fakeapi/graph.py LOGIN_DEFAULTS): app_id, app_secret (default: facebook_app_secret),
        user_token (the short-lived one the Graph API Explorer gives), user_token_expired,
        long_lived_token (what oauth/access_token exchanges it for), expires_in, tasks, and
        pages: the ids of the pages the admin manages (default: every page). me/accounts lists
        each with the server's access token as its page token.

    Facebook nodes may carry fake-only markers: `_filtered: true` on a post or video makes Graph
    count it towards a page's limit but leave it out of `data`, as privacy filtering does (so a
    page may come back short, or empty, with a `next` link); `_native: [w, h]` on a video is
    its cover's native size (default 1280x720), from which `format` and `thumbnails` follow.
    wordpress_site: how the site is set up (fakeapi/wordpress.py): "permalinks": "pretty"
        (default) or "plain"; "web_server_404": true when /wp-json/ never reaches WordPress;
        "refused_user_agents": substrings of User-Agents its firewall answers 403.
    """

    youtube_channels: dict[str, Resource] = field(default_factory=dict)
    youtube_videos: dict[str, Resource] = field(default_factory=dict)
    facebook_pages: dict[str, Resource] = field(default_factory=dict)
    youtube_quota_left: int | None = None
    facebook_token: Resource = field(default_factory=dict)
    wordpress_posts: list[Resource] = field(default_factory=list)
    wordpress_tags: list[Resource] = field(default_factory=list)
    wordpress_media: list[Resource] = field(default_factory=list)
    facebook_app_secret: str | None = None
    facebook_max_nodes: int | None = None
    wordpress_site: Resource = field(default_factory=dict)
    facebook_login: Resource = field(default_factory=dict)
    # What was worked out once for a fixed world (see `fix`); None while it may change.
    _kept: dict[Hashable, Any] | None = field(default=None, init=False, repr=False, compare=False)

    # -- loading ----------------------------------------------------------------------------

    @classmethod
    def demo(cls) -> World:
        """The bundled demo world (aggregator/data/demo/world.json), a fresh copy each call."""
        return cls.from_dict(json.loads(_demo_text()))

    @classmethod
    def synthetic(
        cls,
        youtube_uploads: int = 5000,
        facebook_videos: int = 1000,
        facebook_posts: int = 5000,
        tagged_every: int = 7,
        seed: int = 1,
        wordpress_posts: int = 0,
    ) -> World:
        """A large generated world: channel @kreativessachsen, page kreativessachsen, and a
        website whose tag `flaechengluehen` holds `wordpress_posts` posts."""
        from aggregator.fakeapi.synthetic import build_synthetic

        sizes = (youtube_uploads, facebook_videos, facebook_posts)
        return cls.from_dict(build_synthetic(*sizes, tagged_every, seed, wordpress_posts))

    build = synthetic

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> World:
        """Read the world.json layout: {"youtube": {"channels", "videos", "quota_left"},
        "facebook": {"pages"}, "wordpress": {"tags", "posts", "media", "site"}}."""
        youtube = data.get("youtube", {})
        facebook = data.get("facebook", {})
        wordpress = data.get("wordpress", {})
        return cls(
            youtube_channels={channel["id"]: channel for channel in youtube.get("channels", [])},
            youtube_videos={video["id"]: video for video in youtube.get("videos", [])},
            facebook_pages={page["id"]: page for page in facebook.get("pages", [])},
            facebook_app_secret=facebook.get("app_secret"),
            facebook_max_nodes=facebook.get("max_nodes"),
            facebook_login=dict(facebook.get("login", {})),
            youtube_quota_left=youtube.get("quota_left"),
            wordpress_posts=list(wordpress.get("posts", [])),
            wordpress_tags=list(wordpress.get("tags", [])),
            wordpress_media=list(wordpress.get("media", [])),
            wordpress_site=dict(wordpress.get("site", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "youtube": {
                "quota_left": self.youtube_quota_left,
                "channels": list(self.youtube_channels.values()),
                "videos": list(self.youtube_videos.values()),
            },
            "facebook": {
                "pages": list(self.facebook_pages.values()),
                "app_secret": self.facebook_app_secret,
                "max_nodes": self.facebook_max_nodes,
                "login": self.facebook_login,
            },
            "wordpress": {
                "tags": self.wordpress_tags,
                "posts": self.wordpress_posts,
                "media": self.wordpress_media,
                "site": self.wordpress_site,
            },
        }

    # -- a world that no longer changes -------------------------------------------------------

    def fix(self) -> World:
        """Declare that this world no longer changes (bench's synthetic site): from now on
        what the server works out from it (a listing's order, an answer's bytes, a generated
        image) is worked out once and kept, as the real APIs' caches and image hosts serve
        what they have, instead of costing the benchmarked machine's cores again on each
        request. The answers stay byte for byte what they were; the changes below refuse."""
        self._kept = {}
        return self

    @property
    def fixed(self) -> bool:
        return self._kept is not None

    def kept(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, worked out once per key for a fixed world (two threads asking at once
        may both work it out: same value), and every time otherwise."""
        if self._kept is None:
            return make()
        try:
            value: T = self._kept[key]
        except KeyError:
            value = self._kept[key] = make()
        return value

    def _refuse_change(self) -> None:
        if self._kept is not None:
            raise RuntimeError("this fake world was fixed (World.fix) and no longer changes")

    # -- lookups ----------------------------------------------------------------------------

    def find_channel(self, ref: str) -> Resource | None:
        """By channel id or by handle (with or without '@', any case)."""
        if ref in self.youtube_channels:
            return self.youtube_channels[ref]
        handle = ref.removeprefix("@").casefold()
        for channel in self.youtube_channels.values():
            if (
                channel.get("snippet", {}).get("customUrl", "").removeprefix("@").casefold()
                == handle
            ):
                return channel
        return None

    def channel_for_playlist(self, playlist_id: str) -> Resource | None:
        for channel_id, channel in self.youtube_channels.items():
            if uploads_playlist_id(channel_id) == playlist_id:
                return channel
        return None

    def find_page(self, ref: str) -> Resource | None:
        """By page id or username (any case); "me" is the first page, as with a page token."""
        if ref in self.facebook_pages:
            return self.facebook_pages[ref]
        if ref == "me" and self.facebook_pages:
            return next(iter(self.facebook_pages.values()))
        for page in self.facebook_pages.values():
            if str(page.get("username", "")).casefold() == ref.casefold():
                return page
        return None

    def find_wordpress_tag(self, slug: str) -> Resource | None:
        return next((tag for tag in self.wordpress_tags if tag.get("slug") == slug), None)

    def find_wordpress_media(self, media_id: int) -> Resource | None:
        return next((media for media in self.wordpress_media if media.get("id") == media_id), None)

    def playlist_video_ids(self, channel: Resource) -> list[str]:
        """The uploads playlist as YouTube lists it: deleted videos are gone."""
        return self.kept(
            ("playlist", channel.get("id")),
            lambda: [
                video_id
                for video_id in channel.get("uploads", [])
                if video_id in self.youtube_videos
                and privacy_status(self.youtube_videos[video_id]) != "deleted"
            ],
        )

    # -- changes tests make -----------------------------------------------------------------

    def add_youtube_video(self, channel_id: str, video: Resource) -> None:
        """A new upload: it becomes the newest entry of the channel's uploads playlist."""
        self._refuse_change()
        self.youtube_videos[video["id"]] = video
        self.youtube_channels[channel_id].setdefault("uploads", []).insert(0, video["id"])

    def delete_youtube_video(self, video_id: str) -> None:
        self._refuse_change()
        self.youtube_videos.pop(video_id, None)
        for channel in self.youtube_channels.values():
            if video_id in channel.get("uploads", []):
                channel["uploads"].remove(video_id)

    def set_youtube_privacy(self, video_id: str, privacy: str) -> None:
        self._refuse_change()
        self.youtube_videos[video_id].setdefault("status", {})["privacyStatus"] = privacy


@cache
def _demo_text() -> str:
    return (
        resources.files("aggregator")
        .joinpath("data", "demo", "world.json")
        .read_text(encoding="utf-8")
    )
