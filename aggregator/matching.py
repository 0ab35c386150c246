"""Which items belong to the showcase: the contract's hashtag rule, and nothing else."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

# Raised whenever the rule below changes what it accepts: every stored verdict
# (`HashtagRule.key`) is then decided again.
RULE_VERSION = 1


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
    # Neither NFC nor case folding makes a '#' of another character: a text without one is
    # decided before it is normalized (most texts, when thousands are checked per render).
    if not text or not hashtags or "#" not in text:
        return False
    return _hashtag_pattern(hashtags).search(normalize(text)) is not None


def tags_match(tags: Iterable[str], hashtags: tuple[str, ...]) -> bool:
    wanted = set(hashtags)
    return any(_normalized_tag(tag) in wanted for tag in tags)


@lru_cache(maxsize=4096)
def _normalized_tag(tag: str) -> str:
    # A channel gives most of its videos the same few tags.
    return normalize(tag.strip())


def item_matches(
    texts: Sequence[str | None], tags: Iterable[str], hashtags: tuple[str, ...]
) -> bool:
    """True when a hashtag occurs in one of the texts or one of the tags equals a hashtag."""
    return any(text_has_hashtag(text or "", hashtags) for text in texts) or tags_match(
        tags, hashtags
    )


@dataclass(frozen=True)
class HashtagRule:
    """The configured hashtags as one rule, and the key that names it in stored verdicts."""

    hashtags: tuple[str, ...]

    @classmethod
    def of(cls, configured: Iterable[str]) -> HashtagRule:
        return cls(prepare_hashtags(configured))

    @cached_property
    def key(self) -> str:
        spelled = "\0".join((str(RULE_VERSION), *self.hashtags))
        return hashlib.sha256(spelled.encode()).hexdigest()[:32]

    def matches(self, title: str | None, description: str | None, tags: Iterable[str]) -> bool:
        return item_matches([title, description], tags, self.hashtags)
