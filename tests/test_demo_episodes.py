"""The demo page groups each portrait into one card (issue 9), whatever platforms carry it.

The demo world (aggregator/data/demo/world.json, see tests/test_demo.py for its links) holds
33 showcase items that tell 16 stories. These tests need the grouping rule (`episodes.group`)
and the episode card (`data-episode`); until both land they fail, and say so.
"""

from __future__ import annotations

import pytest
from test_render import Node, parse

from aggregator.demo import run_demo

PAGE = "104857293361870"
# Each multi-platform portrait of the demo world and the evidence that joins it.
PORTRAITS = {
    "Jonas Pietsch": {  # the post shares the video, the video links the interview, same title
        ("youtube", "A5bUqkYPIw8"),
        ("facebook", "3287244127826115"),
        ("facebook", f"{PAGE}_3133062603682029"),
        ("website", "1840"),
    },
    "Lena Hoang": {  # the post shares the video, the interview embeds it, the upload a day later
        ("youtube", "uhkCunQ240C"),
        ("facebook", "8793347894125962"),
        ("facebook", f"{PAGE}_1478971638831006"),
        ("website", "1384"),
    },
    "Friedemann Voigt": {
        ("youtube", "6nJA4duDBfQ"),
        ("facebook", f"{PAGE}_7227258717449749"),
        ("website", "1027"),
    },
    "Carolin Seidel": {  # the interview embeds the video, the post links the interview
        ("youtube", "IM0bsMKVqEx"),
        ("website", "348"),
        ("facebook", f"{PAGE}_1839467205583317"),
    },
    "Johanna Wendler": {  # the video links the interview, the post shares the video
        ("youtube", "85CkrDbgXvI"),
        ("facebook", f"{PAGE}_2635756943477522"),
        ("website", "211"),
    },
    "Ronny Albrecht": {("youtube", "MNkIbjpxGhV"), ("facebook", f"{PAGE}_7593379261284381")},
    "Uwe Ehnert": {
        ("youtube", "Hk4mPz7RtQw"),
        ("facebook", "1208837461190347"),
        ("facebook", f"{PAGE}_1208851207855639"),
    },
    "Franziska Löbel": {
        ("youtube", "c9VbN2xLs8E"),
        ("facebook", "1211452097595538"),
        ("facebook", f"{PAGE}_1211460384261376"),
    },
}
ONLY_ON_FACEBOOK = ("facebook", f"{PAGE}_5510298431176624")  # Ina Wagner, in pictures


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[str, str]]]:
    page = run_demo(tmp_path_factory.mktemp("demo") / "demo")
    return episode_cards(parse(page.read_text(encoding="utf-8")))


def episode_cards(doc: Node) -> dict[str, set[tuple[str, str]]]:
    """Each card's data-episode and the (data-source, data-id) of the items inside it."""
    return {
        str(card.attrs["data-episode"]): {
            (str(node.attrs["data-source"]), str(node.attrs["data-id"]))
            for node in card.iter()
            if "data-source" in node.attrs and "data-id" in node.attrs
        }
        for card in doc.iter()
        if "data-episode" in card.attrs
    }


def card_holding(cards: dict[str, set[tuple[str, str]]], item: tuple[str, str]) -> set:
    (items,) = [items for items in cards.values() if item in items]
    return items


def test_the_demo_page_has_one_card_per_story(cards):
    sizes = sorted((len(items) for items in cards.values()), reverse=True)
    assert len(cards) == 16 and sum(sizes) == 33
    assert sizes[:8] == [4, 4, 3, 3, 3, 3, 3, 2]


@pytest.mark.parametrize("person", PORTRAITS)
def test_a_portrait_is_one_card_with_all_its_platforms(cards, person):
    items = PORTRAITS[person]
    assert card_holding(cards, next(iter(items))) == items


def test_the_card_is_named_after_its_earliest_item(cards):
    # Jonas Pietsch's interview went online at 08:00 UTC, two hours before the video.
    assert cards["website:1840"] == PORTRAITS["Jonas Pietsch"]


def test_the_facebook_only_portrait_is_a_card_of_its_own(cards):
    assert card_holding(cards, ONLY_ON_FACEBOOK) == {ONLY_ON_FACEBOOK}


def test_the_two_turners_from_seiffen_stay_apart(cards):
    """False friends: close titles within a week, two different people."""
    ehnert = card_holding(cards, ("youtube", "Hk4mPz7RtQw"))
    assert ("youtube", "c9VbN2xLs8E") not in ehnert
    assert ("facebook", "1211452097595538") not in ehnert
