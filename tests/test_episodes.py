"""The grouping rule: which items tell the same story (one episode, one card).

Plain items in, episodes out: each kind of evidence (links in every form, the same title, a
close title naming the same person), the contract's 7-day window, false friends, staff's
overrides, and that the input's order never matters."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import real_api_json
from test_cli import one_line, run, shown

from aggregator import actions, links, store
from aggregator.config import load_config
from aggregator.context import showcase_episodes
from aggregator.episodes import (
    CLOSE_TITLE,
    LINK,
    STAFF,
    TITLE,
    Overrides,
    episode_id,
    explain,
    group,
    normalised_title,
    person_names,
)
from aggregator.sources import facebook

DAY0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
VIDEO = "A5bUqkYPIw8"
FB_VIDEO = "1192957457884299"
ARTICLE_URL = "https://www.kreatives-sachsen.de/2026/11/marie-kuehn-glas/"


@dataclass
class Entry:
    source: str
    platform_id: str
    kind: str = "video"
    title: str = ""
    description: str = ""
    url: str = ""
    published_at: datetime = DAY0
    raw: dict[str, Any] = field(default_factory=dict)


def youtube(video_id=VIDEO, title="", description="", day=0):
    return Entry(
        "youtube",
        video_id,
        title=title,
        description=description,
        url=f"https://www.youtube.com/watch?v={video_id}",
        published_at=DAY0 + timedelta(days=day),
    )


def fb_video(video_id=FB_VIDEO, title="", description="", day=0):
    return Entry(
        "facebook",
        video_id,
        title=title,
        description=description,
        url=f"https://www.facebook.com/kreativessachsen/videos/{video_id}/",
        published_at=DAY0 + timedelta(days=day),
    )


def fb_post(post_id="104857293361870_3133062603682029", message="", day=0, raw=None):
    return Entry(
        "facebook",
        post_id,
        kind="post",
        description=message,
        url=f"https://www.facebook.com/104857293361870/posts/{post_id.split('_')[1]}/",
        published_at=DAY0 + timedelta(days=day),
        raw={"message": message, **(raw or {})},
    )


def article(post_id="1840", title="", content="", day=0, url=ARTICLE_URL):
    """A WordPress REST post as the website source keeps it in `raw` (content.rendered, link,
    guid: https://developer.wordpress.org/rest-api/reference/posts/#schema)."""
    return Entry(
        "website",
        post_id,
        kind="post",
        title=title,
        url=url,
        published_at=DAY0 + timedelta(days=day),
        raw={
            "link": url,
            "guid": {"rendered": f"https://www.kreatives-sachsen.de/?p={post_id}"},
            "content": {"rendered": content},
        },
    )


def keys(episodes):
    return [[f"{item.source}:{item.platform_id}" for item in episode] for episode in episodes]


def together(items, overrides=None):
    """Whether all the items form one episode."""
    return len(group(items, overrides or Overrides())) == 1


# --- explicit links -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        f"https://youtu.be/{VIDEO}",
        f"https://youtu.be/{VIDEO}?si=Xy12",
        f"https://www.youtube.com/watch?v={VIDEO}",
        f"https://www.youtube.com/watch?v={VIDEO}&t=42s",
        f"https://youtube.com/watch?feature=share&v={VIDEO}",
        f"https://m.youtube.com/watch?v={VIDEO}",
        f"https://music.youtube.com/watch?v={VIDEO}",
        f"https://www.youtube.com/shorts/{VIDEO}",
        f"https://www.youtube.com/embed/{VIDEO}",
        f"https://www.youtube.com/live/{VIDEO}",
        f"https://www.youtube-nocookie.com/embed/{VIDEO}?autoplay=1",
        f"youtu.be/{VIDEO}",  # written bare in a post: Facebook links it anyway
        # Facebook's link shim, in the shape of the real recording's attachments
        # (facebook/page_feed_rich_fields_p1_cursor.json: l.php?u=<encoded>&h=...&s=1)
        f"https://l.facebook.com/l.php?u=https%3A%2F%2Fyoutu.be%2F{VIDEO}%3Fsi%3Dab&h=AT3OG&s=1",
    ],
)
def test_a_facebook_post_whose_text_links_the_youtube_video_joins_it(address):
    post = fb_post(message=f"Neue Folge! Hier ansehen: {address}. #flächenglühen", day=90)
    assert keys(group([post, youtube(day=0)])) == [
        ["youtube:A5bUqkYPIw8", "facebook:104857293361870_3133062603682029"]
    ]
    assert explain([post, youtube()])[0].evidence == LINK


def test_a_link_joins_at_any_distance_in_time():
    post = fb_post(message=f"Aus dem Archiv: https://youtu.be/{VIDEO}", day=60)
    assert together([youtube(day=0), post])


def test_the_real_recordings_shimmed_share_attachment_links_the_article():
    """facebook/page_feed_rich_fields_p1_cursor.json: a `share` attachment whose `url` and
    `target.url` are l.facebook.com shims and whose `unshimmed_url` carries utm_*,
    eventSource and content_id; the article is the same page without them."""
    node = real_api_json("facebook/page_feed_rich_fields_p1_cursor.json")["data"][1]
    assert node["attachments"]["data"][0]["type"] == "share"
    post = facebook.parse_post(node)
    page = article(
        url="https://engineering.fb.com/2021/05/20/networking-traffic/peering-automation/"
    )
    for attachment_field in ("url", "unshimmed_url", "target"):  # each alone is enough
        raw = dict(post.raw)
        (attached,) = raw["attachments"]["data"]
        raw["attachments"] = {"data": [{attachment_field: attached[attachment_field]}]}
        alone = Entry(
            "facebook", post.platform_id, "post", "", "", post.url, post.published_at, raw
        )
        assert together([alone, page]), attachment_field
    other = article(url="https://engineering.fb.com/2021/05/13/data-center-engineering/bgp/")
    assert not together([post, other])


def test_the_real_recordings_video_attachment_names_the_facebook_video_by_id():
    """facebook/page_feed_rich_fields_p1_cursor.json: a `video_autoplay` attachment with
    target.id 1192957457884299 and the video's URL."""
    node = real_api_json("facebook/page_feed_rich_fields_p1_cursor.json")["data"][4]
    post = facebook.parse_post(node)
    assert together([post, fb_video(FB_VIDEO, day=5)])
    raw = dict(post.raw)
    (attached,) = raw["attachments"]["data"]
    raw["attachments"] = {"data": [{"target": {"id": attached["target"]["id"]}}]}
    by_id_only = Entry("facebook", post.platform_id, "post", "", "", post.url, DAY0, raw)
    assert together([by_id_only, fb_video(FB_VIDEO)])
    assert not together([post, fb_video("334712884667245")])


@pytest.mark.parametrize(
    "embed",
    [
        f'<iframe src="https://www.youtube.com/embed/{VIDEO}?feature=oembed" allowfullscreen>',
        f'<iframe src="https://www.youtube-nocookie.com/embed/{VIDEO}?rel=0&amp;x=1">',
        f'<iframe src="//www.youtube.com/embed/{VIDEO}"></iframe>',
        f'<p>Das Video: <a href="https://www.youtube.com/watch?v={VIDEO}&amp;t=3">YouTube</a>',
        f'<figure class="wp-block-embed-youtube"><div>\nhttps://youtu.be/{VIDEO}\n</div>',
    ],
)
def test_an_article_that_embeds_or_links_the_video_joins_it(embed):
    page = article(content=f"<p>Marie Kühn im Interview.</p>{embed}", day=30)
    assert together([youtube(), page])


@pytest.mark.parametrize(
    "address",
    [
        ARTICLE_URL,
        "http://kreatives-sachsen.de/2026/11/marie-kuehn-glas",
        "https://www.kreatives-sachsen.de/2026/11/marie-kuehn-glas/?utm_source=youtube&utm_medium=video",
        "https://www.kreatives-sachsen.de/2026/11/marie-kuehn-glas/?fbclid=IwAR0abc#interview",
        "https://www.kreatives-sachsen.de/?p=1840",
        "www.kreatives-sachsen.de/2026/11/marie-kuehn-glas/",
    ],
)
def test_a_youtube_description_that_links_the_article_joins_it(address):
    video = youtube(description=f"Das ganze Interview: {address}\n#flächenglühen")
    assert together([video, article(day=-20)])


def test_another_post_of_the_site_is_another_page():
    video = youtube(description="Mehr: https://www.kreatives-sachsen.de/?p=1841")
    assert not together([video, article()])
    video = youtube(description="Mehr: https://www.kreatives-sachsen.de/2026/11/marie-kuehn/")
    assert not together([video, article()])


@pytest.mark.parametrize(
    "address",
    [
        f"https://www.facebook.com/kreativessachsen/videos/{FB_VIDEO}/",
        f"https://www.facebook.com/kreativessachsen/videos/marie-kuehn-glas/{FB_VIDEO}/",
        f"https://www.facebook.com/watch/?v={FB_VIDEO}",
        f"https://m.facebook.com/watch/?v={FB_VIDEO}&ref=sharing",
        f"https://www.facebook.com/reel/{FB_VIDEO}",
        f"https://www.facebook.com/videos/{FB_VIDEO}",
        f"https://www.facebook.com/video.php?v={FB_VIDEO}",
    ],
)
def test_a_youtube_description_that_links_the_facebook_video_joins_it(address):
    assert together([youtube(description=f"Auch auf Facebook: {address}"), fb_video(day=3)])


@pytest.mark.parametrize(
    "address",
    [
        "https://www.facebook.com/104857293361870/posts/3133062603682029/",
        "https://www.facebook.com/permalink.php?story_fbid=3133062603682029&id=104857293361870",
    ],
)
def test_a_youtube_description_that_links_the_facebook_post_joins_it(address):
    assert together([youtube(description=f"Diskutiert mit: {address}"), fb_post(day=1)])


def test_an_article_embedding_the_facebook_video_player_joins_it():
    """Facebook's embedded video player: /plugins/video.php?href=<the video's URL>
    (https://developers.facebook.com/docs/plugins/embedded-video-player/)."""
    href = f"https%3A%2F%2Fwww.facebook.com%2Fkreativessachsen%2Fvideos%2F{FB_VIDEO}%2F"
    page = article(content=f'<iframe src="https://www.facebook.com/plugins/video.php?href={href}">')
    assert together([page, fb_video()])


def test_links_join_transitively_and_two_videos_of_one_source_only_by_a_link():
    post = fb_post(message=f"https://youtu.be/{VIDEO} und {ARTICLE_URL}")
    assert keys(group([article(day=2), post, youtube()])) == [
        ["facebook:104857293361870_3133062603682029", "youtube:A5bUqkYPIw8", "website:1840"]
    ]
    short = youtube("Shrt0000001", description=f"Das ganze Porträt: https://youtu.be/{VIDEO}")
    assert together([youtube(), short])


# --- hubs: one item linking several items of one source and kind ---------------------------

PORTRAITS = ("Ppppppppp01", "Ppppppppp02", "Ppppppppp03")


def round_up(title="Flächenglühen: Sommer in der Lausitz", extra=()):
    """An article that embeds the videos of three portraits (and `extra` addresses)."""
    frames = "".join(
        f'<iframe src="https://www.youtube.com/embed/{video}"></iframe>' for video in PORTRAITS
    )
    return article("1900", title, frames + " ".join(extra), day=1, url="https://x.de/sommer/")


def portraits():
    names = ("Marie Kühn", "Anna Berg", "Paul Roth")
    return [
        youtube(video, title=f"Flächenglühen: {name}")
        for video, name in zip(PORTRAITS, names, strict=True)
    ]


def test_a_round_up_article_embedding_three_videos_joins_none_of_them():
    items = [round_up(), *portraits()]
    assert len(group(items)) == 4
    assert explain(items) == []
    # a portrait whose own description links the article is its own, unambiguous evidence
    first, *others = portraits()
    first.description = "Alle drei Porträts: https://x.de/sommer/"
    assert sorted(map(sorted, keys(group([round_up(), first, *others])))) == [
        ["website:1900", "youtube:Ppppppppp01"],
        ["youtube:Ppppppppp02"],
        ["youtube:Ppppppppp03"],
    ]


def test_a_round_up_article_still_joins_by_title_where_the_rule_says_so():
    """Its own title is still evidence: here the trailer (a fourth embedded video, so no link
    of the article counts) has the same title, a day apart."""
    trailer = youtube("Trailer0001", title="Flächenglühen: Sommer in der Lausitz")
    page = round_up(extra=["https://youtu.be/Trailer0001"])
    items = [page, trailer, *portraits()]
    assert sorted(map(sorted, keys(group(items)))) == [
        ["website:1900", "youtube:Trailer0001"],
        ["youtube:Ppppppppp01"],
        ["youtube:Ppppppppp02"],
        ["youtube:Ppppppppp03"],
    ]
    assert [join.evidence for join in explain(items)] == [TITLE]


def test_a_hub_still_joins_by_a_single_link_of_another_source():
    page = round_up(extra=[f"https://www.facebook.com/watch/?v={FB_VIDEO}"])
    assert keys(group([page, fb_video(), *portraits()])) == [
        ["facebook:1192957457884299", "website:1900"],
        ["youtube:Ppppppppp01"],
        ["youtube:Ppppppppp02"],
        ["youtube:Ppppppppp03"],
    ]


def test_a_youtube_description_linking_two_articles_joins_neither():
    second = "https://www.kreatives-sachsen.de/2026/11/anna-berg-keramik/"
    video = youtube(description=f"Mehr: {ARTICLE_URL} und {second}")
    items = [video, article(), article("1841", url=second)]
    assert len(group(items)) == 3
    # the other article not being among the items, the link is unambiguous again
    assert together([video, article()])
    # a split article is still among them: staff's word on it says nothing of the other
    split = Overrides(split=frozenset({("website", "1841")}))
    assert len(group(items, split)) == 3


def test_a_facebook_post_linking_two_facebook_videos_joins_neither_but_the_youtube_video():
    post = fb_post(
        message=f"https://www.facebook.com/watch/?v={FB_VIDEO} "
        f"https://www.facebook.com/watch/?v=3287244127826115 https://youtu.be/{VIDEO}"
    )
    items = [post, fb_video(), fb_video("3287244127826115"), youtube()]
    assert sorted(map(sorted, keys(group(items)))) == [
        ["facebook:104857293361870_3133062603682029", "youtube:A5bUqkYPIw8"],
        ["facebook:1192957457884299"],
        ["facebook:3287244127826115"],
    ]


def test_an_article_linking_one_video_and_one_facebook_post_joins_both():
    page = article(
        content=f'<iframe src="https://www.youtube.com/embed/{VIDEO}"></iframe> Diskutiert mit: '
        "https://www.facebook.com/104857293361870/posts/3133062603682029/"
    )
    items = [page, youtube(), fb_post(day=1)]
    assert together(items)
    assert [join.evidence for join in explain(items)] == [LINK, LINK]


# --- titles -------------------------------------------------------------------------------


def test_the_normalised_title():
    decomposed = "Fla\u0308chenglu\u0308hen"
    assert normalised_title(f"#flächenglühen  {decomposed}: Marie KÜHN – Glas!! 🔥✨") == (
        "flächenglühen marie kühn glas"
    )
    assert normalised_title("🔥 #flächenglühen ✨") == ""


def test_the_same_title_on_two_platforms_within_seven_days_joins():
    first = youtube(title="Flächenglühen: Marie Kühn – Glas aus Weißwasser", day=0)
    same = fb_video(title="flächenglühen: marie kühn, glas aus weißwasser 🔥 #flächenglühen", day=7)
    assert together([first, same])
    assert [join.evidence for join in explain([first, same])] == [TITLE]


def test_the_same_title_eight_days_apart_stays_apart():
    first = youtube(title="Flächenglühen: Marie Kühn – Glas aus Weißwasser", day=0)
    later = fb_video(title="Flächenglühen: Marie Kühn – Glas aus Weißwasser", day=8)
    assert len(group([first, later])) == 2


@pytest.mark.parametrize(
    "titles",
    [
        ["Flächenglühen: Marie Kühn – Glas aus Weißwasser"] * 3,
        [
            "Flächenglühen: Marie Kühn, Glasgestalterin aus Weißwasser",
            "Marie Kühn bläst Glas in Weißwasser",
            "Glasgestalterin Marie Kühn bläst Glas in Weißwasser",
        ],
    ],
)
def test_a_chain_of_titles_never_joins_items_more_than_seven_days_apart(titles):
    """CONTRACT.md: titles join items "only when they were published within 7 days of each
    other". Day 0 and day 5, day 5 and day 10 are each close enough; day 0 and day 10 are not,
    and no link joins them."""
    items = [
        youtube(title=titles[0], day=0),
        article(title=titles[1], day=5),
        fb_video(title=titles[2], day=10),
    ]
    expected = keys(group(items))
    assert len(expected) == 2
    assert "youtube:A5bUqkYPIw8" not in next(
        e for e in expected if "facebook:1192957457884299" in e
    )
    shuffler = random.Random(7)
    for _ in range(10):
        shuffler.shuffle(items)
        assert keys(group(items)) == expected
    (join,) = explain(items)
    assert join.evidence in (TITLE, CLOSE_TITLE)
    assert [f"{source}:{platform_id}" for source, platform_id in (join.first, join.second)] in (
        sorted(episode) for episode in expected
    )


def test_a_title_never_joins_an_episode_whose_linked_items_are_more_than_seven_days_away():
    """A post linking the video a month later stays with it (a link joins at any distance), but
    the Facebook video with the video's title then stands 29 days from that post."""
    title = "Flächenglühen: Marie Kühn – Glas aus Weißwasser"
    late_post = fb_post(message=f"Aus dem Archiv: https://youtu.be/{VIDEO}", day=30)
    items = [youtube(title=title), late_post, fb_video(title=title, day=1)]
    assert keys(group(items)) == [
        ["youtube:A5bUqkYPIw8", "facebook:104857293361870_3133062603682029"],
        ["facebook:1192957457884299"],
    ]
    assert [join.evidence for join in explain(items)] == [LINK]
    soon_post = fb_post(message=f"Jetzt online: https://youtu.be/{VIDEO}", day=3)
    items = [youtube(title=title), soon_post, fb_video(title=title, day=6)]
    assert together(items)
    assert [join.evidence for join in explain(items)] == [LINK, TITLE]


def test_empty_titles_never_match_by_title():
    assert len(group([youtube(title="#flächenglühen"), fb_video(title="🔥"), fb_post()])) == 3


def test_two_youtube_videos_with_the_same_title_are_two_episodes():
    first = youtube("Aaaaaaaaaa1", title="Flächenglühen – Trailer")
    second = youtube("Aaaaaaaaaa2", title="Flächenglühen – Trailer", day=1)
    assert len(group([first, second])) == 2
    # nor does an item of another source with the title bring them together: it joins the
    # one published closest to it
    page = article(title="Flächenglühen – Trailer", day=1)
    assert keys(group([first, second, page])) == [
        ["youtube:Aaaaaaaaaa1"],
        ["website:1840", "youtube:Aaaaaaaaaa2"],
    ]


def test_person_names():
    assert person_names("Flächenglühen: Marie Kühn, Glasgestalterin aus Weißwasser") == {
        "marie kühn"
    }
    assert person_names("Marie Kühn bläst Glas in Weißwasser") == {"marie kühn"}
    assert person_names("Glasgestalterin Marie Kühn im Gespräch") == {"marie kühn"}
    assert person_names("Flächenglühen: Die Keramikerin aus Görlitz – Anna Berg") == {"anna berg"}
    assert person_names("#Flächenglühen Kreatives Sachsen trifft Anna von Berg") == {
        "anna von berg"
    }
    assert person_names("Marie-Luise Kühn") == {"marie-luise kühn"}
    assert person_names("Die Keramikerin aus Görlitz") == frozenset()
    assert person_names("DDR Design Neue Folge") == frozenset()


def test_a_close_title_naming_the_same_person_joins():
    video = youtube(title="Flächenglühen: Marie Kühn, Glasgestalterin aus Weißwasser")
    post = article(title="Marie Kühn bläst Glas in Weißwasser", day=3)
    assert together([video, post])
    assert [join.evidence for join in explain([video, post])] == [CLOSE_TITLE]
    assert len(group([video, article(title="Marie Kühn bläst Glas in Weißwasser", day=8)])) == 2


def test_false_friends_two_people_with_similar_titles_the_same_day_stay_apart():
    anna = youtube(title="Flächenglühen: Die Keramikerin aus Görlitz – Anna Berg")
    lena = fb_video(title="Flächenglühen: Die Keramikerin aus Görlitz – Lena Wolf")
    assert len(group([anna, lena])) == 2
    nameless = article(title="Flächenglühen: Die Keramikerin aus Görlitz erzählt")
    assert len(group([anna, nameless])) == 2


def test_the_same_name_in_titles_too_different_stays_apart():
    video = youtube(title="Flächenglühen: Marie Kühn")
    post = article(title="Preis der Stadt Weißwasser für Glaskunst, Holz und Keramik: Marie Kühn")
    assert len(group([video, post])) == 2


# --- determinism and order ----------------------------------------------------------------


def a_world():
    portrait = [
        youtube(title="Flächenglühen: Marie Kühn, Glasgestalterin aus Weißwasser", day=0),
        fb_video(title="Flächenglühen: Marie Kühn, Glasgestalterin aus Weißwasser", day=1),
        fb_post(message=f"Jetzt online: https://youtu.be/{VIDEO}", day=1),
        article(title="Marie Kühn bläst Glas in Weißwasser", day=2),
    ]
    others = [
        youtube("Bbbbbbbbbb1", title="Flächenglühen: Die Keramikerin aus Görlitz – Anna Berg"),
        youtube("Bbbbbbbbbb2", title="Flächenglühen: Die Keramikerin aus Görlitz – Lena Wolf"),
        fb_video("222", title="Flächenglühen: Die Keramikerin aus Görlitz – Lena Wolf", day=1),
        article("7", title="Flächenglühen – Trailer", day=3, url="https://x.de/trailer/"),
        youtube("Ccccccccccc", title="Flächenglühen – Trailer", day=4),
        youtube("Ddddddddddd", title="Flächenglühen – Trailer", day=5),
        fb_post("1_2", message="Danke fürs Zuschauen!", day=6),
    ]
    return portrait + others


def test_the_same_items_in_any_order_give_the_same_episodes():
    items = a_world()
    expected = keys(group(items))
    shuffler = random.Random(9)
    for _ in range(30):
        shuffled = list(items)
        shuffler.shuffle(shuffled)
        assert keys(group(shuffled)) == expected
        assert explain(shuffled) == explain(items)
    assert {frozenset(episode) for episode in expected} >= {
        frozenset(
            {
                "youtube:A5bUqkYPIw8",
                "facebook:1192957457884299",
                "facebook:104857293361870_3133062603682029",
                "website:1840",
            }
        ),
        frozenset({"youtube:Bbbbbbbbbb2", "facebook:222"}),
        frozenset({"youtube:Bbbbbbbbbb1"}),
        frozenset({"website:7", "youtube:Ccccccccccc"}),
        frozenset({"youtube:Ddddddddddd"}),
        frozenset({"facebook:1_2"}),
    }


def test_episodes_are_earliest_first_and_named_by_their_first_item():
    items = [article(day=2, content=f"https://youtu.be/{VIDEO}"), youtube(day=0)]
    (episode,) = group(items)
    assert [item.source for item in episode] == ["youtube", "website"]
    assert episode_id(episode) == "youtube:A5bUqkYPIw8"


# --- staff --------------------------------------------------------------------------------

LINKED = [youtube(), fb_post(message=f"https://youtu.be/{VIDEO}", day=1)]
POST_KEY = ("facebook", "104857293361870_3133062603682029")


def test_a_split_item_stands_alone_whatever_the_evidence():
    assert len(group(LINKED, Overrides(split=frozenset({POST_KEY})))) == 2
    titled = [youtube(title="Marie Kühn"), fb_video(title="Marie Kühn")]
    assert len(group(titled, Overrides(split=frozenset({("youtube", VIDEO)})))) == 2


def test_a_split_in_the_middle_takes_its_links_along():
    video = youtube()
    post = fb_post(message=f"https://youtu.be/{VIDEO} https://www.facebook.com/watch/?v={FB_VIDEO}")
    split = Overrides(split=frozenset({POST_KEY}))
    assert len(group([video, post, fb_video()])) == 1
    assert len(group([video, post, fb_video()], split)) == 3


def test_a_merge_joins_what_no_evidence_joins():
    items = [youtube(title="Teil 1"), article(title="Ganz anders", day=40)]
    assert len(group(items)) == 2
    merged = Overrides(merged=((("website", "1840"), ("youtube", VIDEO)),))
    assert together(items, merged)
    assert [join.evidence for join in explain(items, merged)] == [STAFF]


def test_a_merge_naming_an_item_unknown_here_changes_nothing():
    merged = Overrides(merged=((("youtube", VIDEO), ("website", "9999")),))
    assert keys(group([youtube()], merged)) == [["youtube:A5bUqkYPIw8"]]


# --- the addresses ------------------------------------------------------------------------


def test_the_curation_commands_read_youtube_addresses_with_the_same_code():
    assert actions.youtube_video_id is links.youtube_video_id


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://www.example.org/a/b/", "http://example.org/a/b"),
        ("https://example.org/a?utm_source=x&utm_campaign=y", "https://example.org/a"),
        ("https://example.org/a?fbclid=1#top", "https://example.org/a"),
        ("https://example.org/?p=12&utm_medium=social", "http://www.example.org?p=12"),
        ("https://example.org/gl%C3%BCck/", "https://example.org/glück"),
    ],
)
def test_one_page_in_different_spellings(first, second):
    assert links.page_key(first) == links.page_key(second)


def test_different_pages_stay_different():
    assert links.page_key("https://example.org/?p=12") != links.page_key(
        "https://example.org/?p=13"
    )
    assert links.page_key("https://example.org/a") != links.page_key("https://example.org/b")


def test_addresses_in_text_and_html():
    text = (
        'Mehr: www.example.org/marie/. <iframe src="//www.youtube.com/embed/A5bUqkYPIw8?a=1'
        '&amp;b=2"></iframe> (https://youtu.be/A5bUqkYPIw8), „https://example.org/x“'
    )
    assert list(links.urls_in(text)) == [
        "https://www.example.org/marie/",
        "https://www.youtube.com/embed/A5bUqkYPIw8?a=1&b=2",
        "https://youtu.be/A5bUqkYPIw8",
        "https://example.org/x",
    ]


def test_not_a_video_address():
    assert links.youtube_video_id("https://www.youtube.com/@kreativessachsen") is None
    assert links.youtube_video_id("https://example.org/watch?v=A5bUqkYPIw8") is None
    assert links.facebook_video_id("https://www.facebook.com/kreativessachsen/") is None
    assert links.facebook_video_id("https://example.org/videos/1192957457884299") is None


# --- the command line against the fake APIs ----------------------------------------------
# The demo world (aggregator/fakeapi) publishes "Der Fotograf aus Zwickau" as the YouTube video
# A5bUqkYPIw8, the same title as the Facebook video 3287244127826115, and a Facebook post that
# links the YouTube video.

PHOTOGRAPHER = "youtube:A5bUqkYPIw8"
PHOTOGRAPHER_ARTICLE = "website:1840"
PHOTOGRAPHER_FB_VIDEO = "facebook:3287244127826115"
PHOTOGRAPHER_FB_POST = "facebook:104857293361870_3133062603682029"


def site_episodes(site) -> list[list[str]]:
    """The showcase's episodes as the database holds them, in display order."""
    config = load_config(site.config)
    engine = store.open_database(config.database_url)
    try:
        with store.session_scope(engine) as session:
            return keys(showcase_episodes(session, config))
    finally:
        engine.dispose()


class Cards(HTMLParser):
    """Each card's items, in page order: a data-episode opens a card, data-source/data-id
    elements inside it are its items (the card lists them in its links' order)."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[set[str]] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if "data-episode" in found:
            self.cards.append(set())
        if "data-source" in found and "data-id" in found and self.cards:
            self.cards[-1].add(f"{found['data-source']}:{found['data-id']}")


def rendered_matches_database(site) -> bool:
    parser = Cards()
    parser.feed(site.read("index.html"))
    return parser.cards == [set(episode) for episode in site_episodes(site)]


def episode_with(site, key) -> list[str]:
    return next(episode for episode in site_episodes(site) if key in episode)


def test_episode_merge_joins_two_items_says_so_and_renders_again(site, capsys):
    assert run(site, "update") == 0
    alone = [episode[0] for episode in site_episodes(site) if len(episode) == 1]
    newest, oldest = alone[0], alone[-1]
    before = shown(site)
    capsys.readouterr()
    assert run(site, "episode", "merge", newest, oldest) == 0
    assert capsys.readouterr() == (
        f"episode merge: {newest} and {oldest} are one episode now (2 items); rendered again\n",
        "",
    )
    assert sorted(episode_with(site, newest)) == sorted([newest, oldest])
    assert shown(site) != before and rendered_matches_database(site)
    assert run(site, "episode", "merge", oldest, newest) == 0
    assert "were merged already (2 items)" in capsys.readouterr().out


def test_episode_split_takes_an_item_out_whatever_the_evidence_and_merge_takes_it_back(
    site, capsys
):
    assert run(site, "update") == 0
    assert sorted(episode_with(site, PHOTOGRAPHER)) == sorted(
        [PHOTOGRAPHER_ARTICLE, PHOTOGRAPHER, PHOTOGRAPHER_FB_VIDEO, PHOTOGRAPHER_FB_POST]
    )
    capsys.readouterr()
    assert run(site, "episode", "split", PHOTOGRAPHER_FB_VIDEO) == 0
    assert capsys.readouterr().out == (
        f"episode split: {PHOTOGRAPHER_FB_VIDEO} is an episode of its own now (it was one of "
        "4 items); rendered again\n"
    )
    assert episode_with(site, PHOTOGRAPHER_FB_VIDEO) == [PHOTOGRAPHER_FB_VIDEO]
    assert sorted(episode_with(site, PHOTOGRAPHER)) == sorted(
        [PHOTOGRAPHER_ARTICLE, PHOTOGRAPHER, PHOTOGRAPHER_FB_POST]
    )
    assert rendered_matches_database(site)
    assert run(site, "episode", "split", PHOTOGRAPHER_FB_VIDEO) == 0
    assert "was split already" in capsys.readouterr().out
    assert run(site, "episode", "merge", "https://youtu.be/A5bUqkYPIw8", PHOTOGRAPHER_FB_VIDEO) == 0
    assert capsys.readouterr().out == (
        f"episode merge: {PHOTOGRAPHER} and {PHOTOGRAPHER_FB_VIDEO} are one episode now "
        "(4 items); rendered again\n"
    )
    assert len(episode_with(site, PHOTOGRAPHER_FB_VIDEO)) == 4
    assert rendered_matches_database(site)
    assert run(site, "episode", "list") == 0
    marks = [line for line in capsys.readouterr().out.splitlines() if line.startswith("staff")]
    assert len(marks) == 1 and marks[0].startswith(
        f"staff merge  {PHOTOGRAPHER_FB_VIDEO} + {PHOTOGRAPHER}  "
    )


def test_episode_list_says_how_each_episode_was_grouped(site, capsys):
    assert run(site, "episode", "list") == 0
    assert capsys.readouterr().out == "episode list: no episode has more than one item\n"
    assert run(site, "update") == 0
    capsys.readouterr()
    assert run(site, "episode", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    multi = [episode for episode in site_episodes(site) if len(episode) > 1]
    assert len(lines) == len(multi)
    (photographer,) = [line for line in lines if PHOTOGRAPHER in line]
    # Named after its earliest item, the interview, which went online two hours before the video.
    assert photographer.startswith(f"{PHOTOGRAPHER_ARTICLE} + {PHOTOGRAPHER} + ")
    assert "  link, title  Flächenglühen: Jonas Pietsch" in photographer
    assert run(site, "episode", "split", PHOTOGRAPHER_FB_POST) == 0
    capsys.readouterr()
    assert run(site, "episode", "list") == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(
        rf"staff split  {PHOTOGRAPHER_FB_POST}  \d{{4}}-\d\d-\d\d \d\d:\d\d \w+  .+", last
    )


@pytest.mark.parametrize(
    "args",
    [
        ("merge", PHOTOGRAPHER, PHOTOGRAPHER),
        ("merge", PHOTOGRAPHER, "https://www.youtube.com/watch?v=A5bUqkYPIw8"),
        ("merge", PHOTOGRAPHER, "youtube:NotFetched1"),
        ("merge", "https://www.example.org/nirgends/", PHOTOGRAPHER),
        ("split", "facebook:1_2"),
        ("split", "vimeo:abc"),
    ],
)
def test_a_bad_or_unknown_item_is_exit_2_with_one_line_and_changes_nothing(site, capsys, args):
    assert run(site, "update") == 0
    before = site.read("index.html")
    capsys.readouterr()
    assert run(site, "episode", *args) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"showcase: episode {args[0]}: ")
    assert "database" in line or "twice" in line or "unknown source" in line
    assert site.read("index.html") == before
    assert run(site, "episode", "list") == 0
    assert "staff" not in capsys.readouterr().out


def test_pin_and_hide_act_on_the_whole_episode_and_say_so(site, capsys):
    assert run(site, "update") == 0
    capsys.readouterr()
    assert run(site, "hide", PHOTOGRAPHER_FB_VIDEO) == 0
    others = ", ".join(key for key in episode_with_hidden(site) if key != PHOTOGRAPHER_FB_VIDEO)
    assert capsys.readouterr().out == (
        f"hide: {PHOTOGRAPHER_FB_VIDEO} is hidden now, with its episode ({others}); "
        "rendered again\n"
    )
    assert not {("youtube", "A5bUqkYPIw8"), ("facebook", "3287244127826115")} & set(shown(site))
    assert run(site, "episode", "split", PHOTOGRAPHER_FB_VIDEO) == 0
    assert ("youtube", "A5bUqkYPIw8") in shown(site)  # the hide stays with the split item
    assert ("facebook", "3287244127826115") not in shown(site)


def episode_with_hidden(site) -> list[str]:
    """The photographer's episode, hidden and so not in showcase_episodes, earliest first."""
    config = load_config(site.config)
    engine = store.open_database(config.database_url)
    try:
        with store.session_scope(engine) as session:
            found = actions.episode_keys(session, config, ("facebook", "3287244127826115"))
    finally:
        engine.dispose()
    assert len(found) == 4
    return [":".join(key) for key in found]
