"""The showcase's grouping into episodes kept between runs, under a digest of its inputs.

`episodes.group` reads every candidate's links and titles (about 70 ms for bench's 1,246
items), and most renders group the same items as the one before (`schedule` renders after
every fetch). Digesting the inputs costs a third of that. The digest covers every field the
rule reads (`episodes.Groupable`, `raw` whole), staff's overrides and the code of the rule;
a stored grouping that does not hold each item exactly once is not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import marshal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from aggregator import episodes
from aggregator.cards import cache_file, remove_unused
from aggregator.files import write_atomic
from aggregator.models import RawJson, raw_object
from aggregator.user_cache import private_cache_folder

CACHE_FORMAT = 2
_RULE_CODE = tuple(Path(__file__).with_name(name) for name in ("episodes.py", "links.py"))

T = TypeVar("T", bound=episodes.Groupable)


def group(items: Sequence[T], overrides: episodes.Overrides, output_dir: Path) -> list[list[T]]:
    """`episodes.group(items, overrides)`, from the cache of `output_dir`'s renders when the
    inputs are those of the last grouping."""
    folder = private_cache_folder("episodes")
    inputs = inputs_digest(items, overrides)
    if folder is None or inputs is None:
        return group_decoded(items, overrides)
    path = cache_file(folder, output_dir)
    stored = regrouped(items, load(path, inputs))
    if stored is not None:
        return stored
    grouped = group_decoded(items, overrides)
    save(path, inputs, [[episodes.key_of(item) for item in episode] for episode in grouped])
    return grouped


@dataclass(frozen=True, slots=True)
class _Decoded:
    """An item as the rule reads it, its payload decoded (`episodes.Groupable`)."""

    source: str
    platform_id: str
    kind: str
    title: str
    description: str
    url: str
    published_at: datetime
    raw: Mapping[str, Any]


def _plain_fields(item: episodes.Groupable) -> tuple[str, str, str, str, str, str, datetime]:
    """Every field the rule reads but the payload, in `_Decoded`'s order: the one list both
    the decoded items and the digest of the inputs are made from."""
    return (
        item.source,
        item.platform_id,
        item.kind,
        item.title,
        item.description,
        item.url,
        item.published_at,
    )


def group_decoded(items: Sequence[T], overrides: episodes.Overrides) -> list[list[T]]:
    """`episodes.group`, each payload kept as JSON text (`models.RawJson`, as `reads` hands
    it out) decoded once for it: the rule looks up a payload's fields one by one."""
    if not any(isinstance(item.raw, RawJson) for item in items):
        return episodes.group(items, overrides)
    decoded = [_Decoded(*_plain_fields(item), raw_object(item.raw)) for item in items]
    original = {id(plain): item for plain, item in zip(decoded, items, strict=True)}
    return [
        [original[id(plain)] for plain in episode] for episode in episodes.group(decoded, overrides)
    ]


def inputs_digest(items: Sequence[episodes.Groupable], overrides: episodes.Overrides) -> str | None:
    """A digest of all the rule reads, in an order of its own (the rule's result does not
    depend on the items' order); None when an item's `raw` holds what marshal cannot write.

    marshal (version 2: no back-references, so equal values write equal bytes) writes the
    raw payloads three times faster than json.dumps; its bytes read back to one value only,
    so equal bytes are equal inputs."""
    entries = sorted(
        (
            (
                *_plain_fields(item)[:-1],
                item.published_at.isoformat(),
                item.raw.text if isinstance(item.raw, RawJson) else item.raw,
            )
            for item in items
        ),
        key=lambda entry: (entry[0], entry[1]),
    )
    document = (
        CACHE_FORMAT,
        tuple(hashlib.blake2b(path.read_bytes()).hexdigest() for path in _RULE_CODE),
        rapidfuzz_version(),
        sorted(tuple(sorted(pair)) for pair in overrides.merged),
        sorted(overrides.split),
        entries,
    )
    try:
        data = marshal.dumps(document, 2)
    except ValueError:  # an object marshal does not know
        return None
    return hashlib.blake2b(data).hexdigest()


def rapidfuzz_version() -> str:
    """A digest of rapidfuzz's `__init__.py`, which names its version: importing rapidfuzz
    to ask would cost a render whose grouping is kept more than the digest of its inputs."""
    spec = importlib.util.find_spec("rapidfuzz")
    origin = spec.origin if spec is not None else None
    if origin is None:
        return ""
    return hashlib.blake2b(Path(origin).read_bytes()).hexdigest()


def load(path: Path, inputs: str) -> Any:
    """The stored grouping when it was made from these inputs, else None."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):  # missing, unreadable, not JSON, not UTF-8
        return None
    if isinstance(document, dict) and document.get("inputs") == inputs:
        return document.get("episodes")
    return None


def regrouped(items: Sequence[T], stored: Any) -> list[list[T]] | None:
    """The stored episodes (lists of [source, platform_id]) as lists of the items, or None
    when they are not each item exactly once."""
    if not isinstance(stored, list):
        return None
    by_key = {episodes.key_of(item): item for item in items}
    grouped: list[list[T]] = []
    seen = 0
    for episode in stored:
        if not isinstance(episode, list) or not episode:
            return None
        keys = [tuple(key) if isinstance(key, list) else None for key in episode]
        if not all(key in by_key for key in keys):
            return None
        grouped.append([by_key[key] for key in keys])  # type: ignore[index]
        seen += len(keys)
    unique = {episodes.key_of(item) for episode in grouped for item in episode}
    return grouped if seen == len(by_key) == len(unique) else None


def save(path: Path, inputs: str, grouped: list[list[episodes.ItemKey]]) -> None:
    """Keep this grouping (only the last one). One that cannot be written only costs the
    next run the grouping."""
    data = json.dumps({"inputs": inputs, "episodes": grouped}, ensure_ascii=False).encode()
    with contextlib.suppress(OSError):
        write_atomic(path, data, durable=False)
        remove_unused(path.parent)
