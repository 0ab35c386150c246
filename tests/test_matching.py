"""The contract's matching rule, by example and as properties over Unicode forms."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.matching import (
    item_matches,
    normalize,
    prepare_hashtags,
    tags_match,
    text_has_hashtag,
)

TAGS = prepare_hashtags(["flächenglühen", "#flaechengluehen"])


@pytest.mark.parametrize(
    "text",
    [
        "#flächenglühen",
        "Neue Folge #Flächenglühen!",
        "#FLÄCHENGLÜHEN",
        unicodedata.normalize("NFD", "Porträt #flächenglühen"),
        "(#flaechengluehen)",
        "#flächenglühen, #kultur",
        "Zeile eins\n#flächenglühen\nZeile drei",
        "#Flächenglühen.",
        "Mehr: #flächenglühen-Serie",
    ],
)
def test_matching_texts(text):
    assert text_has_hashtag(text, TAGS)


@pytest.mark.parametrize(
    "text",
    [
        "#flächenglühend",
        "#flächenglühen2020",
        "#flächenglühen_alt",
        "flächenglühen ohne Raute",
        "abc#flächenglühen",
        "1#flächenglühen",
        "_#flächenglühen",
        "# flächenglühen",
        "#flächen glühen",
        "",
    ],
)
def test_non_matching_texts(text):
    assert not text_has_hashtag(text, TAGS)


def test_tags_equal_a_configured_hashtag():
    assert tags_match(["Kultur", "Flächenglühen"], TAGS)
    assert tags_match([unicodedata.normalize("NFD", "FLÄCHENGLÜHEN")], TAGS)
    assert not tags_match(["flächenglühen 2020", "kreatives sachsen"], TAGS)


def test_item_matches_any_text_or_tag():
    assert item_matches(["Titel", None, "Text #flaechengluehen"], [], TAGS)
    assert item_matches(["Titel", "Text"], ["flächenglühen"], TAGS)
    assert not item_matches(["Titel #flächenglühend"], ["sachsen"], TAGS)


def test_every_configured_spelling_counts():
    only_ascii = prepare_hashtags(["flaechengluehen"])
    assert text_has_hashtag("#FlaechenGluehen", only_ascii)
    assert not text_has_hashtag("#flächenglühen", only_ascii)


word_chars = st.sampled_from(list("abcXYZ0129_äöüßÄÖÜé"))
other_chars = st.sampled_from(list(" \n\t.,;:!?()[]-–/\"'🎬»«"))
forms = st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"])


def _random_case(text: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if flip else c.lower()
        for c, flip in zip(text, flips + [False] * len(text), strict=False)
    )


@given(
    prefix=st.text(max_size=20),
    before=other_chars,
    after=other_chars,
    suffix=st.text(max_size=20),
    form=forms,
    flips=st.lists(st.booleans(), max_size=20),
)
def test_hashtag_between_separators_always_matches(prefix, before, after, suffix, form, flips):
    tag = _random_case("flächenglühen", flips)
    text = unicodedata.normalize(form, f"{prefix}{before}#{tag}{after}{suffix}")
    assert text_has_hashtag(text, TAGS)


@given(
    glued=word_chars,
    form=forms,
    flips=st.lists(st.booleans(), max_size=20),
    side=st.sampled_from(["before", "after"]),
)
def test_hashtag_glued_to_a_word_character_never_matches(glued, form, flips, side):
    tag = _random_case("flächenglühen", flips)
    text = f"{glued}#{tag} x" if side == "before" else f"x #{tag}{glued}"
    assert not text_has_hashtag(unicodedata.normalize(form, text), TAGS)


@given(st.text(alphabet=st.characters(blacklist_characters="#"), max_size=200))
def test_text_without_a_hash_sign_never_matches(text):
    assert not text_has_hashtag(text, TAGS)


def test_no_character_but_the_hash_sign_normalizes_to_one():
    """What lets text_has_hashtag decide a text without '#' before normalizing it: neither NFC
    nor case folding makes a '#' of any other code point (composition only joins a letter and
    its marks). Checked over every code point, not a sample."""
    makers = [
        chr(point)
        for point in range(0x110000)
        if not 0xD800 <= point <= 0xDFFF and "#" in normalize(chr(point)) and point != ord("#")
    ]
    assert makers == []
