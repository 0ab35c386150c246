"""The yardstick: a naive single-file first update, for bench.py to time beside `showcase update`.

    .venv/bin/python bench/naive.py API_URL FOLDER   # YOUTUBE_API_KEY, FACEBOOK_ACCESS_TOKEN set

It makes the same requests as the real sources (YouTube: the channel by handle, its uploads
playlist in pages of 50, statistics for 50 ids a request; Graph: the page's fields, then /videos
and /posts in pages of 100 following `paging.next`), keeps every item in one SQLite table
(`executemany`, one transaction), picks the items carrying #flächenglühen, copies each one's
thumbnail as it came (no resizing), one after another on one kept-alive session, and writes one
index.html. It prints one JSON line of counts so that bench.py can show the comparison is fair.
"""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import sys
import unicodedata
from pathlib import Path
from typing import Any

import requests

HASHTAG = re.compile(r"(?<!\w)#flächenglühen(?!\w)")  # the configured spelling only
VIDEO_FIELDS = (
    "id,title,description,created_time,permalink_url,picture,length,embeddable,published,"
    "status,format{picture,width,height},thumbnails{uri,width,height,is_preferred}"
)
POST_FIELDS = (
    "id,message,created_time,permalink_url,full_picture,status_type,"
    "attachments{media_type,target,url}"
)


def tagged(*texts: str) -> bool:
    text = unicodedata.normalize("NFC", " ".join(texts)).casefold()
    return HASHTAG.search(unicodedata.normalize("NFC", text)) is not None


def youtube_items(http: requests.Session, api: str, key: str) -> list[tuple[Any, ...]]:
    base = f"{api.rstrip('/')}/youtube/v3"
    channel = youtube_get(
        http,
        f"{base}/channels",
        {"part": "snippet,contentDetails,statistics", "forHandle": "@kreativessachsen"},
        key,
    )["items"][0]
    playlist = channel["contentDetails"]["relatedPlaylists"]["uploads"]
    rows: list[tuple[Any, ...]] = []
    token = None
    while True:
        params = {"part": "snippet,contentDetails", "playlistId": playlist, "maxResults": 50}
        if token:
            params["pageToken"] = token
        page = youtube_get(http, f"{base}/playlistItems", params, key)
        ids = [entry["contentDetails"]["videoId"] for entry in page.get("items", [])]
        videos = youtube_get(
            http,
            f"{base}/videos",
            {"part": "snippet,contentDetails,statistics,status", "id": ",".join(ids)},
            key,
        )
        for video in videos.get("items", []):
            snippet, status = video["snippet"], video["status"]
            thumbs = snippet.get("thumbnails", {})
            tags = ["#" + tag for tag in snippet.get("tags", [])]
            best = next(
                (thumbs[s]["url"] for s in ("maxres", "standard", "high") if s in thumbs), ""
            )
            rows.append(
                (
                    "youtube",
                    video["id"],
                    snippet["title"],
                    snippet.get("description", ""),
                    snippet["publishedAt"],
                    f"https://www.youtube.com/watch?v={video['id']}",
                    best,
                    int(video.get("statistics", {}).get("viewCount", 0)),
                    status["privacyStatus"] == "public"
                    and tagged(snippet["title"], snippet.get("description", ""), *tags),
                )
            )
        token = page.get("nextPageToken")
        if not token:
            return rows


def graph_items(http: requests.Session, graph: str, token: str) -> list[tuple[Any, ...]]:
    headers = {"Authorization": f"Bearer {token}"}
    http.get(
        f"{graph}/kreativessachsen",
        params={"fields": "id,name,username,link,followers_count,fan_count"},
        headers=headers,
    ).raise_for_status()
    rows: list[tuple[Any, ...]] = []
    for edge, fields in (("videos", VIDEO_FIELDS), ("posts", POST_FIELDS)):
        url: str | None = f"{graph}/kreativessachsen/{edge}"
        params: dict[str, Any] | None = {"fields": fields, "limit": 100}
        while url:
            page = http.get(url, params=params, headers=headers).json()
            for node in page.get("data", []):
                if node.get("status_type") == "added_video":
                    continue  # the video itself is listed on /videos
                text = node.get("message") or node.get("description") or ""
                title = node.get("title") or text[:80]
                picture = node.get("full_picture") or node.get("picture") or ""
                formats = node.get("format") or []
                if formats:
                    picture = max(formats, key=lambda f: f.get("width", 0))["picture"]
                rows.append(
                    (
                        "facebook",
                        node["id"],
                        title,
                        text,
                        node["created_time"],
                        node.get("permalink_url", ""),
                        picture,
                        0,
                        node.get("published", True) and tagged(title, text),
                    )
                )
            url, params = page.get("paging", {}).get("next"), None
    return rows


def youtube_get(http: requests.Session, url: str, params: dict[str, Any], key: str) -> Any:
    response = http.get(url, params={**params, "key": key})
    response.raise_for_status()
    return response.json()


def main(api: str, folder: Path) -> None:
    http = requests.Session()
    rows = youtube_items(http, api, os.environ["YOUTUBE_API_KEY"])
    rows += graph_items(http, f"{api.rstrip('/')}/v25.0", os.environ["FACEBOOK_ACCESS_TOKEN"])

    db = sqlite3.connect(folder / "naive.db")
    db.execute(
        "CREATE TABLE IF NOT EXISTS items (source TEXT, id TEXT, title TEXT, text TEXT,"
        " published TEXT, url TEXT, thumbnail TEXT, views INTEGER, showcase INTEGER,"
        " PRIMARY KEY (source, id))"
    )
    with db:
        db.executemany("INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?,?,?,?)", rows)
    showcase = db.execute(
        "SELECT source, id, title, url, thumbnail FROM items WHERE showcase ORDER BY published DESC"
    ).fetchall()

    thumbs = folder / "public" / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    cards, copied = [], 0
    for source, item_id, title, url, thumbnail in showcase:
        image = ""
        if thumbnail:
            response = http.get(thumbnail)
            if response.ok:
                image = f"thumbs/{source}-{item_id}.jpg"
                (folder / "public" / image).write_bytes(response.content)
                copied += 1
        cards.append(
            f'<li><a href="{html.escape(url)}"><img src="{image}" alt="">'
            f"{html.escape(title)}</a></li>"
        )
    page = (
        '<!doctype html><html lang="de"><meta charset="utf-8"><title>#flächenglühen</title>'
        f"<ul>{''.join(cards)}</ul></html>"
    )
    (folder / "public" / "index.html").write_text(page, encoding="utf-8")
    print(json.dumps({"items": len(rows), "showcase": len(showcase), "thumbnails": copied}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
