"""Generated worlds of any size, for bench/ and pagination tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.fakeapi.world import (
    BASE,
    WORDPRESS_SERIES_TAG,
    WORDPRESS_SITE,
    channel_thumbnails,
    wordpress_media,
    youtube_thumbnails,
)

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_FIRST = datetime(2017, 6, 27, 9, 0, tzinfo=UTC)
_LAST = datetime(2024, 12, 18, 17, 0, tzinfo=UTC)
_TOWNS = ["Görlitz", "Chemnitz", "Leipzig", "Dresden", "Plauen", "Bautzen", "Zwickau", "Freiberg"]
_CRAFTS = ["Keramikerin", "Drechsler", "Illustratorin", "Tischler", "Weberin", "Goldschmied"]
# Ways the series' hashtag shows up; near misses are mixed in elsewhere.
_TAG_FORMS = ("description", "title", "tag", "ascii", "decomposed")


def build_synthetic(
    youtube_uploads: int,
    facebook_videos: int,
    facebook_posts: int,
    tagged_every: int,
    seed: int,
    wordpress_posts: int = 0,
) -> dict[str, Any]:
    rng = random.Random(seed)
    channel_id = "UC" + _random_id(rng, 22)
    videos = [
        _youtube_video(rng, i, youtube_uploads, channel_id, tagged_every)
        for i in range(youtube_uploads)
    ]
    public = [v for v in videos if v["status"]["privacyStatus"] == "public"]
    channel = {
        "id": channel_id,
        "snippet": {
            "title": "Kreatives Sachsen",
            "description": "Synthetische Testwelt mit vielen Uploads.",
            "customUrl": "@kreativessachsen",
            "publishedAt": "2016-03-02T09:14:51Z",
            "thumbnails": channel_thumbnails(channel_id),
            "country": "DE",
        },
        "statistics": {
            "viewCount": str(sum(int(v["statistics"]["viewCount"]) for v in public)),
            "subscriberCount": str(rng.randint(1000, 99999)),
            "hiddenSubscriberCount": False,
            "videoCount": str(len(public)),
        },
        "uploads": [video["id"] for video in videos],
    }
    page_id = str(rng.randint(10**14, 10**15 - 1))
    page = {
        "id": page_id,
        "name": "Kreatives Sachsen",
        "username": "kreativessachsen",
        "link": "https://www.facebook.com/kreativessachsen",
        "followers_count": rng.randint(1000, 50000),
        "fan_count": rng.randint(1000, 50000),
        "videos": [
            _facebook_video(rng, i, facebook_videos, tagged_every) for i in range(facebook_videos)
        ],
        "posts": [
            _facebook_post(rng, i, facebook_posts, page_id, tagged_every)
            for i in range(facebook_posts)
        ],
    }
    return {
        "youtube": {"channels": [channel], "videos": videos},
        "facebook": {"pages": [page]},
        "wordpress": _wordpress(rng, wordpress_posts),
    }


def _random_id(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(length))


def _moment(index: int, count: int) -> datetime:
    """Index 0 is the newest; the oldest lands on the series' first day."""
    span = (_LAST - _FIRST).total_seconds()
    return _LAST - timedelta(seconds=span * index / max(1, count - 1))


def _youtube_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _graph_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _tagged_text(
    index: int, tagged_every: int, title: str, description: str, youtube_tags: bool = True
) -> tuple[str, str, list[str]]:
    """Give every `tagged_every`-th item the hashtag, in a rotating spelling."""
    tags = ["Kreativwirtschaft", "Sachsen"]
    if index % tagged_every:
        if index % tagged_every == 3 and index % 2:
            description += " Ein #flächenglühend schöner Abend."
        return title, description, tags
    form = _TAG_FORMS[(index // tagged_every) % len(_TAG_FORMS)]
    if form == "title":
        title = f"#Flächenglühen – {title}"
    elif form == "tag" and youtube_tags:
        tags.append("flächenglühen")
    elif form == "ascii":
        description += " #flaechengluehen"
    elif form == "decomposed":
        description += " #fla\u0308chenglu\u0308hen"
    else:
        description += " #flächenglühen"
    return title, description, tags


def _youtube_video(
    rng: random.Random, index: int, count: int, channel_id: str, tagged_every: int
) -> dict[str, Any]:
    video_id = _random_id(rng, 11)
    moment = _moment(index, count)
    craft, town = rng.choice(_CRAFTS), rng.choice(_TOWNS)
    title, description, tags = _tagged_text(
        index,
        tagged_every,
        f"Porträt {count - index}: {craft} aus {town}",
        f"Folge {count - index} unserer Reihe über Kreative in {town}.",
    )
    privacy = "private" if index % 97 == 13 else "unlisted" if index % 89 == 7 else "public"
    views = rng.randint(20, 20000)
    minutes, seconds = rng.randint(1, 25), rng.randint(0, 59)
    return {
        "id": video_id,
        "snippet": {
            "publishedAt": _youtube_time(moment),
            "channelId": channel_id,
            "title": title,
            "description": description,
            "thumbnails": youtube_thumbnails(video_id),
            "channelTitle": "Kreatives Sachsen",
            "tags": tags,
            "categoryId": "22",
            "liveBroadcastContent": "none",
            "defaultAudioLanguage": "de",
        },
        "contentDetails": {
            "duration": f"PT{minutes}M{seconds}S",
            "dimension": "2d",
            "definition": "hd",
            "caption": "false",
            "licensedContent": False,
            "contentRating": {},
            "projection": "rectangular",
        },
        "status": {
            "uploadStatus": "processed",
            "privacyStatus": privacy,
            "license": "youtube",
            "embeddable": index % 53 != 5,
            "publicStatsViewable": True,
            "madeForKids": False,
        },
        "statistics": {
            "viewCount": str(views),
            "likeCount": str(views // 25),
            "favoriteCount": "0",
            "commentCount": str(views // 400),
        },
    }


def _facebook_video(
    rng: random.Random, index: int, count: int, tagged_every: int
) -> dict[str, Any]:
    video_id = str(rng.randint(10**14, 10**16 - 1))
    moment = _moment(index, count)
    title, description, _ = _tagged_text(
        index,
        tagged_every,
        f"Werkstattbesuch {count - index}",
        "Ein kurzer Blick hinter die Kulissen.",
        youtube_tags=False,
    )
    return {
        "id": video_id,
        "title": title,
        "description": description,
        "created_time": _graph_time(moment),
        "updated_time": _graph_time(moment + timedelta(days=2)),
        "permalink_url": f"/kreativessachsen/videos/{video_id}/",
        "picture": f"{BASE}/thumbs/fb-{video_id}-p160x160.jpg",
        "length": round(rng.uniform(15, 1800), 3),
        "published": True,
        "embeddable": True,
    }


def _facebook_post(
    rng: random.Random, index: int, count: int, page_id: str, tagged_every: int
) -> dict[str, Any]:
    post_id = str(rng.randint(10**14, 10**16 - 1))
    moment = _moment(index, count)
    title, description, _ = _tagged_text(
        index,
        tagged_every,
        f"Neuigkeiten aus der Kreativszene, Nr. {count - index}.",
        "",
        youtube_tags=False,
    )
    post = {
        "id": f"{page_id}_{post_id}",
        "message": f"{title} {description}".strip(),
        "created_time": _graph_time(moment),
        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_id}/",
    }
    if index % 3 == 0:
        post["full_picture"] = f"{BASE}/thumbs/fbp-{post_id}.jpg"
    return post


def _wordpress(rng: random.Random, tagged: int) -> dict[str, Any]:
    """`tagged` interviews in the series' tag, a tenth as many other posts, newest first.

    Titles and excerpts carry the HTML entities WordPress writes; about every fourth interview
    has no featured image.
    """
    kinds = [True] * tagged + [False] * (tagged // 10)
    rng.shuffle(kinds)
    posts: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    for index, in_series in enumerate(kinds):
        # WordPress hands ids out in order: the newest post has the highest.
        post_id = 100 + 2 * (len(kinds) - index)
        moment = _moment(index, len(kinds))
        date_gmt = moment.strftime("%Y-%m-%dT%H:%M:%S")
        craft, town = rng.choice(_CRAFTS), rng.choice(_TOWNS)
        slug = f"beitrag-{post_id}"
        post: dict[str, Any] = {
            "id": post_id,
            "date_gmt": date_gmt,
            "slug": slug,
            "status": "publish",
            "link": f"{WORDPRESS_SITE}/{moment:%Y/%m/%d}/{slug}/",
            "title": {"rendered": f"{craft} aus {town} &#8211; Interview Nr.&nbsp;{post_id}"},
            "excerpt": {
                "rendered": f"<p>Wie arbeitet man als {craft} in {town}? "
                "Ein Gespräch über Werkstatt &amp; Alltag [&hellip;]</p>\n"
            },
            "content": {"rendered": f"<p>Ein Besuch in {town}.</p>\n"},
            "featured_media": 0,
            "categories": [3 if in_series else 1],
            "tags": [WORDPRESS_SERIES_TAG["id"], 7] if in_series else [5],
        }
        if not in_series or index % 4 != 3:
            post["featured_media"] = post_id + 1
            media.append(wordpress_media(post_id + 1, post_id, f"bild-{post_id}", date_gmt))
        posts.append(post)
    tags = [
        WORDPRESS_SERIES_TAG,
        {"id": 7, "name": "Porträt", "slug": "portraet"},
        {"id": 5, "name": "Veranstaltung", "slug": "veranstaltung"},
    ]
    return {"tags": [dict(tag) for tag in tags], "posts": posts, "media": media}
