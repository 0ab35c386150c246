"""Which items belong to the showcase: the contract's hashtag rule, and nothing else."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache


def normalize(text: str) -> str:
    """NFC and case-folded, so that `#FLÄCHENGLÜHEN` and decomposed umlauts compare equal."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


@lru_cache(maxsize=64)
def _hashtag_pattern(hashtags: tuple[str, ...]) -> re.Pattern[str]:
    # A hashtag is '#' not preceded by a letter, digit or '_', then the tag, then none of those.
    # `\w` is exactly "letter, digit or _" on str patterns.
    alternatives = "|".join(re.escape(tag) for tag in sorted(hashtags, key=len, reverse=True))
    return re.compile(rf"(?<!\w)#(?:{alternatives})(?!\w)")


def prepare_hashtags(hashtags: Iterable[str]) -> tuple[str, ...]:
    """Configured spellings, with or without '#', normalized once."""
    return tuple(sorted({normalize(tag.strip().removeprefix("#")) for tag in hashtags if tag}))


def text_has_hashtag(text: str, hashtags: tuple[str, ...]) -> bool:
    """`hashtags` as returned by `prepare_hashtags`."""
    if not text or not hashtags:
        return False
    return _hashtag_pattern(hashtags).search(normalize(text)) is not None


def tags_match(tags: Iterable[str], hashtags: tuple[str, ...]) -> bool:
    wanted = set(hashtags)
    return any(normalize(tag.strip()) in wanted for tag in tags)


def item_matches(
    texts: Sequence[str | None], tags: Iterable[str], hashtags: tuple[str, ...]
) -> bool:
    """True when a hashtag occurs in one of the texts or one of the tags equals a hashtag."""
    return any(text_has_hashtag(text or "", hashtags) for text in texts) or tags_match(
        tags, hashtags
    )
