"""The fake tells the truth: every answer it serves is held against a real recorded one.

For each call our sources make, the fake is asked what the recording asked, and the two answers'
type skeletons (tests/api_shapes.py) must agree: every key of the recording that our client
reads is served, with the JSON type the real API uses (YouTube's counts are strings, Graph's are
numbers); a key the recording lacks must be one the API documents. Paging objects and error
bodies are part of the shape. YouTube answers are also validated against the schemas of the
bundled discovery document (tests/discovery_schema.py). Each case names its recording, in
../shared/fixtures/real-api/ (see SOURCES.md there).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from api_shapes import ARRAY, compare, skeleton
from conftest import real_api_json, real_api_path
from discovery_schema import defines, validate
from fake_client import KEY, TOKEN, demo_channel, graph, http, uploads_id, yt

from aggregator.fakeapi import FakeApiServer, World, graph_error
from aggregator.fakeapi import graph as fake_graph
from aggregator.fakeapi import server as fake_server
from aggregator.fakeapi import youtube as fake_youtube
from aggregator.fakeapi.partial import GraphField, apply_google_fields, parse_google_fields
from aggregator.fakeapi.partial import parse_graph_fields as graph_fields
from aggregator.sources import facebook, youtube

# Keys a recording has that today's API no longer sends, with the evidence.
NO_LONGER_SENT = {
    # https://developers.google.com/youtube/v3/revision_history (December 13, 2021): the
    # dislike count became private.
    "items[].statistics.dislikeCount",
    # The channel's commentCount is in the 2019 recording only; the 2022 one
    # (channels_list_snippet_contentDetails_statistics_2022.json) has none.
    "items[].statistics.commentCount",
}
# Keys the fake serves that a Graph recording lacks, and where Graph documents them.
GRAPH_DOCUMENTED = {
    # https://developers.facebook.com/docs/graph-api/reference/debug_token
    "data.issued_at",
    "data.profile_id",
    # https://developers.facebook.com/docs/graph-api/guides/error-handling: error_subcode and
    # is_transient (error_4_application_request_limit.json has it)
    "error.error_subcode",
    "error.is_transient",
    # https://developers.facebook.com/docs/graph-api/results: cursors carry before and after;
    # page_videos_p2_last.json has `after` on the last page, page_feed_rich_fields_p2_last.json not.
    "paging.cursors.after",
}
# https://cloud.google.com/apis/design/errors: today's Google errors add status and details
# to the legacy {code, message, errors} body of error_400_keyInvalid_legacy_shape.json.
GOOGLE_ERROR_MODEL = {"error.status", "error.details"}


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeApiServer]:
    with FakeApiServer(World.demo(), api_key=KEY, access_token=TOKEN) as server:
        yield server


@pytest.fixture
def server(shared_server: FakeApiServer) -> FakeApiServer:
    shared_server.world = World.demo()
    shared_server.clear_injections()
    return shared_server


def assert_agree(problems: list[str], recording: str) -> None:
    assert not problems, f"the fake deviates from {recording}:\n  " + "\n  ".join(problems)


# -- what our client reads ----------------------------------------------------------------------


def envelope(recorded: Any) -> set[str]:
    """The list answer around the items (paging, pageInfo): always read, all of it."""
    if not isinstance(recorded.get("items", recorded.get("data")), list):
        return set()  # a node, not a list
    return {path for path in skeleton(recorded).paths() if not path.startswith(("items", "data"))}


def youtube_reads(recorded: Any, client_fields: str) -> set[str]:
    """What the client's `fields` selection keeps of the recording, plus the envelope."""
    kept = apply_google_fields(recorded, parse_google_fields(client_fields))
    return (skeleton(kept).paths() | envelope(recorded)) - NO_LONGER_SENT


def graph_selection(value: Any, fields: list[GraphField] | None) -> Any:
    """A Graph field selection applied to a recorded node (Graph always adds the id)."""
    if fields is None or not isinstance(value, dict | list):
        return value
    if isinstance(value, list):
        return [graph_selection(element, fields) for element in value]
    if isinstance(value.get("data"), list):
        return {"data": graph_selection(value["data"], fields)}
    names = {field.name: field.children for field in fields} | {"id": None}
    return {
        name: graph_selection(value[name], children)
        for name, children in names.items()
        if name in value
    }


def graph_reads(recorded: Any, client_fields: str) -> set[str]:
    return skeleton(graph_selection(recorded, graph_fields(client_fields))).paths() | envelope(
        recorded
    )


def everything(recorded: Any) -> set[str]:
    return skeleton(recorded).paths()


# -- YouTube: list calls against the recordings -------------------------------------------------


@dataclass
class Case:
    recording: str
    ask: Callable[[FakeApiServer], Any]  # the fake's answer to the recording's request
    client_fields: str  # the `fields` our source sends with this call
    schema: str = ""  # YouTube: the discovery schema of the answer


def _second_playlist_page(server: FakeApiServer) -> Any:
    params = {"part": "snippet", "playlistId": uploads_id(server), "maxResults": 10}
    first = yt(server, "playlistItems", **params).json()
    return yt(server, "playlistItems", **params, pageToken=first["nextPageToken"]).json()


YOUTUBE_CASES = [
    Case(
        "youtube/channels_list_snippet_contentDetails_statistics_2022.json",
        lambda s: yt(
            s, "channels", part="snippet,contentDetails,statistics,brandingSettings",
            id=demo_channel(s)["id"],
        ).json(),
        youtube.CHANNEL_FIELDS,
        "ChannelListResponse",
    ),
    Case(
        "youtube/channels_list_snippet_customUrl_handle.json",
        lambda s: yt(s, "channels", part="snippet", forHandle="@kreativessachsen").json(),
        youtube.CHANNEL_FIELDS,
        "ChannelListResponse",
    ),
    Case(
        "youtube/channels_list_snippet_statistics_2019_unrounded.json",
        lambda s: yt(s, "channels", part="snippet,statistics", id=demo_channel(s)["id"]).json(),
        youtube.CHANNEL_FIELDS,
        "ChannelListResponse",
    ),
    Case(
        "youtube/playlistItems_list_page1_nextPageToken.json",
        lambda s: yt(
            s, "playlistItems", part="snippet", playlistId=uploads_id(s), maxResults=10
        ).json(),
        youtube.PLAYLIST_FIELDS,
        "PlaylistItemListResponse",
    ),
    Case(
        "youtube/playlistItems_list_page2_last.json",
        _second_playlist_page,
        youtube.PLAYLIST_FIELDS,
        "PlaylistItemListResponse",
    ),
    Case(
        "youtube/videos_list_multi_id_snippet_player.json",
        lambda s: yt(
            s, "videos", part="snippet,player", id=",".join(demo_channel(s)["uploads"][:2])
        ).json(),
        youtube.VIDEO_FIELDS,
        "VideoListResponse",
    ),
    Case(
        "youtube/videos_list_single_snippet_tags_maxres.json",
        lambda s: yt(s, "videos", part="snippet,player", id=demo_channel(s)["uploads"][0]).json(),
        youtube.VIDEO_FIELDS,
        "VideoListResponse",
    ),
    Case(
        "youtube/videos_list_snippet_contentDetails_status_statistics.json",
        lambda s: yt(
            s, "videos", part="snippet,contentDetails,status,statistics",
            id=",".join(demo_channel(s)["uploads"]),
        ).json(),
        youtube.VIDEO_FIELDS,
        "VideoListResponse",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", YOUTUBE_CASES, ids=lambda case: case.recording)
def test_youtube_answer_has_the_recorded_shape(server: FakeApiServer, case: Case) -> None:
    """Paging included: the last playlist page has prevPageToken and no nextPageToken. A key
    the recording lacks is documented when the discovery document's schema names it; the
    answer's own keys (kind, etag, nextPageToken, prevPageToken, pageInfo, items) never are."""
    recorded = real_api_json(case.recording)

    def documented(path: str) -> bool:
        return "." in path and defines(case.schema, path)

    problems = compare(
        recorded,
        case.ask(server),
        youtube_reads(recorded, case.client_fields),
        documented,
    )
    assert_agree(problems, case.recording)


@pytest.mark.parametrize("case", YOUTUBE_CASES, ids=lambda case: case.recording)
def test_youtube_answer_follows_the_discovery_schema(server: FakeApiServer, case: Case) -> None:
    assert validate(case.ask(server), case.schema) == []


def _every_part(server: FakeApiServer) -> list[tuple[str, Any]]:
    """Every part the fake can serve, on every resource, first and later pages."""
    channel = demo_channel(server)
    playlist = {
        "part": ",".join(fake_youtube.PLAYLIST_ITEM_PARTS),
        "playlistId": uploads_id(server),
    }
    first = yt(server, "playlistItems", **playlist, maxResults=4).json()
    return [
        ("ChannelListResponse", yt(server, "channels", part=",".join(fake_youtube.CHANNEL_PARTS),
                                   id=channel["id"]).json()),
        ("ChannelListResponse", yt(server, "channels", part="id", forHandle="@niemand").json()),
        ("PlaylistItemListResponse", first),
        ("PlaylistItemListResponse", yt(server, "playlistItems", **playlist, maxResults=4,
                                        pageToken=first["nextPageToken"]).json()),
        ("VideoListResponse", yt(server, "videos", part=",".join(fake_youtube.VIDEO_PARTS),
                                 id=",".join(list(server.world.youtube_videos)[:50])).json()),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "world",
    [World.demo, lambda: World.synthetic(youtube_uploads=60, facebook_videos=1, facebook_posts=1)],
    ids=["demo", "synthetic"],
)
def test_every_part_of_both_worlds_follows_the_discovery_schema(
    server: FakeApiServer, world: Callable[[], World]
) -> None:
    """aggregator/data/youtube.v3.json: every property the fake serves exists in the schema,
    with its type; counts are uint64 strings, times RFC 3339, enums within their values."""
    server.world = world()
    for schema, answer in _every_part(server):
        assert validate(answer, schema) == [], schema


@pytest.mark.parametrize("case", YOUTUBE_CASES, ids=lambda case: case.recording)
def test_the_recordings_themselves_follow_the_discovery_schema(case: Case) -> None:
    """The validator is no stricter than the real API."""
    assert validate(real_api_json(case.recording), case.schema) == []


def test_the_schema_validator_catches_what_the_fake_could_get_wrong() -> None:
    recorded = real_api_json("youtube/videos_list_snippet_contentDetails_status_statistics.json")
    video = recorded["items"][0]
    video["statistics"]["viewCount"] = 1234  # a number where YouTube sends "1234"
    video["snippet"]["publishedAt"] = "16.05.2024"
    video["status"]["privacyStatus"] = "hidden"
    video["snippet"]["invented"] = True
    video["contentDetails"]["licensedContent"] = "true"
    problems = validate(recorded, "VideoListResponse")
    assert [problem.split(":")[0] for problem in problems] == [
        "VideoListResponse.items[0].snippet.publishedAt",
        "VideoListResponse.items[0].snippet.invented",
        "VideoListResponse.items[0].contentDetails.licensedContent",
        "VideoListResponse.items[0].status.privacyStatus",
        "VideoListResponse.items[0].statistics.viewCount",
    ]


# -- YouTube: error bodies ----------------------------------------------------------------------


def test_quota_exceeded_is_the_transcribed_body_with_403(server: FakeApiServer) -> None:
    """error_403_quotaExceeded.json (HTTP 403 per SOURCES.md)."""
    recording = "youtube/transcribed_from_issue_threads/error_403_quotaExceeded.json"
    recorded = real_api_json(recording)
    server.world.youtube_quota_left = 0
    answer = yt(server, "videos", part="id", id="x")
    assert answer.status_code == 403
    assert_agree(compare(recorded, answer.json(), everything(recorded)), recording)


def test_playlist_not_found_is_the_transcribed_body_with_404(server: FakeApiServer) -> None:
    """error_404_playlistNotFound.json (HTTP 404 per SOURCES.md)."""
    recording = "youtube/transcribed_from_issue_threads/error_404_playlistNotFound.json"
    recorded = real_api_json(recording)
    answer = yt(server, "playlistItems", part="snippet", playlistId="UUgibtsnicht")
    assert answer.status_code == 404
    assert_agree(compare(recorded, answer.json(), everything(recorded)), recording)


def test_generic_google_error_has_the_recorded_shape(server: FakeApiServer) -> None:
    """error_403_permission_denied.json: what the fake serves for an injected 403."""
    recording = "youtube/error_403_permission_denied.json"
    recorded = real_api_json(recording)
    server.inject("youtube.videos", status=403)
    answer = yt(server, "videos", part="id", id="x").json()
    assert_agree(compare(recorded, answer, everything(recorded)), recording)


def test_invalid_key_keeps_the_legacy_fields(server: FakeApiServer) -> None:
    """error_400_keyInvalid_legacy_shape.json: code, message and errors[] stay; today's
    status and details are Google's error model (GOOGLE_ERROR_MODEL)."""
    recording = "youtube/error_400_keyInvalid_legacy_shape.json"
    recorded = real_api_json(recording)
    answer = yt(server, "channels", part="id", forHandle="x", key="falsch")
    assert answer.status_code == 400
    problems = compare(
        recorded, answer.json(), everything(recorded), GOOGLE_ERROR_MODEL.__contains__
    )
    assert_agree(problems, recording)


# -- Graph: nodes and edges against the recordings ----------------------------------------------

VIDEO_RECORDED_FIELDS = (
    "id,created_time,description,title,published,length,permalink_url,updated_time"
)
VIDEO_NODE_FIELDS = (
    "content_category,created_time,embed_html,format,description,embeddable,from,icon,id,length,"
    "picture,privacy,published,status,title,updated_time,permalink_url,is_crosspost_video,"
    "is_crossposting_eligible,is_episode,is_instagram_eligible"
)
FEED_FIELDS = (
    "id,attachments,created_time,full_picture,icon,message,message_tags,permalink_url,picture,"
    "shares,status_type,updated_time"
)
PAGE_FIELDS = (
    "id,name,username,link,fan_count,about,category,category_list,website,cover,engagement,"
    "verification_status,were_here_count,talking_about_count,global_brand_page_name,picture"
)  # the fields of page_default_fields_fan_count_link.json that a Page node has today


def last_page(server: FakeApiServer, body: dict[str, Any]) -> dict[str, Any]:
    while "next" in body.get("paging", {}):
        body = http.get(body["paging"]["next"], timeout=5).json()
    return dict(body)


def edge_first(edge: str, fields: str, limit: int) -> Callable[[FakeApiServer], Any]:
    return lambda s: graph(s, f"kreativessachsen/{edge}", fields=fields, limit=limit).json()


def edge_last(edge: str, fields: str, limit: int) -> Callable[[FakeApiServer], Any]:
    return lambda s: last_page(s, edge_first(edge, fields, limit)(s))


GRAPH_CASES = [
    Case("facebook/page_fields_id_name_username_fan_count.json",
         lambda s: graph(s, "kreativessachsen", fields="id,name,username,fan_count").json(),
         facebook.PAGE_FIELDS),
    Case("facebook/page_default_fields_fan_count_link.json",
         lambda s: graph(s, "kreativessachsen", fields=PAGE_FIELDS).json(),
         facebook.PAGE_FIELDS),
    # /videos pages by cursors: {cursors: {before, after}, next} (previous on later pages)
    Case("facebook/page_videos_p1_cursor_next.json", edge_first("videos", VIDEO_RECORDED_FIELDS, 2),
         facebook.VIDEO_FIELDS),
    Case("facebook/page_videos_p2_last.json", edge_last("videos", VIDEO_RECORDED_FIELDS, 2),
         facebook.VIDEO_FIELDS),
    # /posts pages by time: {previous, next}, previous even on the first page
    Case("facebook/posts_p1_time_paging.json", edge_first("posts", "id,message,created_time", 5),
         facebook.POST_FIELDS),
    Case("facebook/posts_p2_last.json", edge_last("posts", "id,message,created_time", 5),
         facebook.POST_FIELDS),
    # /feed pages by cursors
    Case("facebook/page_feed_rich_fields_p1_cursor.json", edge_first("feed", FEED_FIELDS, 5),
         facebook.POST_FIELDS),
    Case("facebook/page_feed_rich_fields_p2_last.json", edge_last("feed", FEED_FIELDS, 5),
         facebook.POST_FIELDS),
    Case("facebook/debug_token.json",
         lambda s: graph(s, "debug_token", input_token=TOKEN).json(),
         # what facebook.check_token reads
         "data{is_valid,expires_at,data_access_expires_at,type,scopes,error}"),
]  # fmt: skip


@pytest.mark.parametrize("case", GRAPH_CASES, ids=lambda case: case.recording)
def test_graph_answer_has_the_recorded_shape(server: FakeApiServer, case: Case) -> None:
    """Counts are numbers, lengths fractional numbers, ids strings; the paging object has the
    recording's keys and no others (GRAPH_DOCUMENTED names the documented extras)."""
    recorded = real_api_json(case.recording)
    reads = graph_reads(recorded, case.client_fields)
    problems = compare(recorded, case.ask(server), reads, GRAPH_DOCUMENTED.__contains__)
    assert_agree(problems, case.recording)


LOGIN = fake_graph.LOGIN_DEFAULTS  # the demo world's app, admin and user tokens


@pytest.mark.parametrize(
    ("recording", "path", "params", "reads"),
    [
        ("facebook/oauth_long_lived_user_token.json", "oauth/access_token",
         {"grant_type": "fb_exchange_token", "client_id": LOGIN["app_id"],
          "client_secret": LOGIN["app_secret"], "fb_exchange_token": LOGIN["user_token"]},
         {"access_token", "token_type", "expires_in"}),
        ("facebook/me_accounts_page_tokens.json", "me/accounts",
         {"access_token": LOGIN["long_lived_token"]},
         {"data", "data[].access_token", "data[].id", "data[].name", "data[].tasks", "paging"}),
    ],
)  # fmt: skip
def test_token_exchange_answers_have_the_recorded_shape(
    server: FakeApiServer, recording: str, path: str, params: dict[str, str], reads: set[str]
) -> None:
    """`showcase facebook-token`'s two calls: the long-lived user token, then the pages the
    admin manages with their page tokens (asked with Graph's default fields, as recorded)."""
    recorded = real_api_json(recording)
    answer = graph(server, path, **params)
    assert answer.status_code == 200, answer.text
    problems = compare(recorded, answer.json(), reads, GRAPH_DOCUMENTED.__contains__)
    assert_agree(problems, recording)


def test_video_nodes_on_the_edge_have_the_recorded_types(server: FakeApiServer) -> None:
    """video_node_format_thumbnails.json: what the fake has of a video's fields (embeddable,
    published, from, embed_html, format, status...) has the recorded JSON types."""
    recording = "facebook/video_node_format_thumbnails.json"
    recorded = {"data": [real_api_json(recording)]}
    answer = graph(server, "kreativessachsen/videos", fields=VIDEO_NODE_FIELDS).json()
    problems = compare(
        recorded, {"data": answer["data"]}, graph_reads(recorded, facebook.VIDEO_FIELDS)
    )
    assert_agree(problems, recording)


@pytest.mark.parametrize(
    ("recording", "link", "edge", "fields"),
    [
        ("facebook/page_videos_p1_cursor_next.json", "next", "videos", VIDEO_RECORDED_FIELDS),
        ("facebook/page_videos_p2_last.json", "previous", "videos", VIDEO_RECORDED_FIELDS),
        ("facebook/posts_p1_time_paging.json", "next", "posts", "id,message,created_time"),
        ("facebook/posts_p1_time_paging.json", "previous", "posts", "id,message,created_time"),
        ("facebook/page_feed_rich_fields_p1_cursor.json", "next", "feed", FEED_FIELDS),
        ("facebook/page_feed_rich_fields_p2_last.json", "previous", "feed", FEED_FIELDS),
    ],
)
def test_paging_links_carry_the_recorded_parameters(
    server: FakeApiServer, recording: str, link: str, edge: str, fields: str
) -> None:
    """Cursor links carry after or before; time links since, until, __paging_token and
    __previous. The fake always repeats the limit, which the posts recording leaves out."""
    first = edge_first(edge, fields, 2)(server)
    middle = http.get(first["paging"]["next"], timeout=5).json()
    recorded = real_api_json(recording)["paging"][link]
    assert query_names(middle["paging"][link]) - {"limit"} == query_names(recorded) - {"limit"}


def query_names(url: str) -> set[str]:
    return {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


# -- Graph: error bodies ------------------------------------------------------------------------


def injected(body: dict[str, Any]) -> Callable[[FakeApiServer], requests.Response]:
    """The canned body the fake serves for a situation it only models by injection."""

    def ask(server: FakeApiServer) -> requests.Response:
        server.inject("graph.page", body=body)
        return graph(server, "kreativessachsen")

    return ask


@pytest.mark.parametrize(
    ("recording", "ask"),
    [
        ("facebook/error_100_ppca_requires_app_token.json",
         lambda s: graph(s, "kreativessachsen", fields="id,gibtsnicht")),
        ("facebook/error_100_missing_pages_read_engagement.json",
         lambda s: graph(s, "gibtsnicht")),
        ("facebook/transcribed_from_issue_threads/error_190_463_session_expired.json",
         injected(graph_error(190, 463))),
        ("facebook/transcribed_from_issue_threads/error_4_application_request_limit.json",
         injected(graph_error(4))),
    ],
)  # fmt: skip
def test_graph_error_has_the_recorded_shape(
    server: FakeApiServer, recording: str, ask: Callable[[FakeApiServer], requests.Response]
) -> None:
    """{error: {message, type, code, error_subcode, fbtrace_id}}: the recorded keys, types."""
    recorded = real_api_json(recording)
    answer = ask(server)
    assert answer.status_code >= 400
    problems = compare(recorded, answer.json(), everything(recorded), GRAPH_DOCUMENTED.__contains__)
    assert_agree(problems, recording)


# -- the comparison itself ----------------------------------------------------------------------


def test_the_comparison_names_each_kind_of_deviation() -> None:
    recorded = {"items": [{"id": "a", "statistics": {"viewCount": "12"}}], "nextPageToken": "x"}
    fake = {"items": [{"id": "a", "statistics": {"viewCount": 12}, "extra": 1}]}
    reads = {"items", "items[].statistics", "items[].statistics.viewCount", "nextPageToken"}
    assert compare(recorded, fake, reads) == [
        "items[].statistics.viewCount: the fake sends ['integer'], the recording has ['string']",
        "items[].extra: invented by the fake (not in the recording)",
        "nextPageToken: in the recording, read by our client, not in the fake",
    ]
    assert compare({"length": 33.344}, {"length": 291}, set()) == []  # JSON has one number type
    assert compare({"count": 5}, {"count": 5.5}, set()) != []  # but a count is whole
    assert f"items{ARRAY}.id" in skeleton(recorded).paths()


# -- keep-alive answers leave at once -----------------------------------------------------------


def test_keep_alive_connections_have_tcp_nodelay(
    server: FakeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real servers answer keep-alive requests without Nagle's delay; with it, each small
    answer on a reused connection waits for the client's delayed ACK (40 ms on Linux) and
    benchmarks would measure the fake. Seen on the accepted socket itself, for 50 requests on
    one requests.Session (one connection)."""
    seen: list[int] = []
    handle = fake_server._Handler.handle

    def observed(handler: Any) -> None:
        seen.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        handle(handler)

    monkeypatch.setattr(fake_server._Handler, "handle", observed)
    with requests.Session() as session:
        for _ in range(50):
            answer = session.get(f"{server.url}v25.0/kreativessachsen?access_token={TOKEN}")
            assert answer.status_code == 200
    assert len(seen) == 1  # one keep-alive connection carried all 50
    assert seen[0] != 0


# -- the recordings are required in CI ----------------------------------------------------------


def test_a_missing_recording_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """.ci/run sets SHOWCASE_REQUIRE_RECORDINGS=1, like SHOWCASE_REQUIRE_BROWSER."""
    monkeypatch.delenv("SHOWCASE_REQUIRE_RECORDINGS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        real_api_path("youtube/no_such_recording.json")
    monkeypatch.setenv("SHOWCASE_REQUIRE_RECORDINGS", "1")
    with pytest.raises(pytest.fail.Exception, match="SHOWCASE_REQUIRE_RECORDINGS"):
        real_api_path("youtube/no_such_recording.json")
