"""Type skeletons of JSON answers, to hold the fake API's answers against real recorded ones.

A skeleton keeps what a client depends on and drops the values: for each object its keys, for
each key the JSON types seen there, for each array the merged skeleton of its elements. Two
answers to the same request, one recorded from the real API and one from the fake, must agree
on it: every key of the recording that our client reads is in the fake's answer, with a JSON
type the recording allows; a key the fake has and the recording lacks is invented unless the
API documents it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ARRAY = "[]"  # a path step into an array's elements: "items[].snippet.title"


@dataclass
class Shape:
    types: set[str] = field(default_factory=set)
    keys: dict[str, Shape] = field(default_factory=dict)
    elements: Shape | None = None  # arrays: the merged shape of every element

    def merge(self, other: Shape) -> Shape:
        self.types |= other.types
        for key, shape in other.keys.items():
            self.keys[key] = self.keys[key].merge(shape) if key in self.keys else shape
        if other.elements is not None:
            self.elements = (
                other.elements if self.elements is None else self.elements.merge(other.elements)
            )
        return self

    def paths(self, prefix: str = "") -> set[str]:
        """Every key path in the skeleton: {"items", "items[].id", ...}."""
        found: set[str] = set()
        for key, shape in self.keys.items():
            path = join(prefix, key)
            found |= {path} | shape.paths(path)
        if self.elements is not None:
            found |= self.elements.paths(prefix + ARRAY)
        return found


def json_type(value: Any) -> str:
    """The JSON type, with "integer" for whole numbers: a count must never arrive as 1.0."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def skeleton(value: Any) -> Shape:
    shape = Shape({json_type(value)})
    if isinstance(value, dict):
        shape.keys = {key: skeleton(item) for key, item in value.items()}
    elif isinstance(value, list):
        for element in value:
            shape.merge(Shape({"array"}, elements=skeleton(element)))
    return shape


def join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _allowed(recorded: set[str]) -> set[str]:
    # JSON has one number type: where the recording has a fraction, a whole number is fine too.
    return recorded | {"integer"} if "number" in recorded else recorded


def differences(
    recorded: Shape,
    fake: Shape,
    reads: Iterable[str],
    documented: Callable[[str], bool] = lambda path: False,
    path: str = "",
) -> list[str]:
    """What keeps `fake` from answering like `recorded`, one line per problem.

    reads: the key paths our client reads; those the recording has must be in the fake's
    answer. documented(path): whether a key the recording lacks is one the API documents.
    """
    reads = set(reads)
    problems: list[str] = []
    wrong = fake.types - _allowed(recorded.types)
    if wrong:
        where = path or "the answer"
        problems.append(
            f"{where}: the fake sends {sorted(wrong)}, the recording has {sorted(recorded.types)}"
        )
    for key, recorded_shape in recorded.keys.items():
        key_path = join(path, key)
        if key in fake.keys:
            problems += differences(recorded_shape, fake.keys[key], reads, documented, key_path)
        elif key_path in reads:
            problems.append(f"{key_path}: in the recording, read by our client, not in the fake")
    for key in fake.keys.keys() - recorded.keys.keys():
        key_path = join(path, key)
        if not documented(key_path):
            problems.append(f"{key_path}: invented by the fake (not in the recording)")
    if recorded.elements is not None and fake.elements is not None:
        problems += differences(recorded.elements, fake.elements, reads, documented, path + ARRAY)
    elif recorded.elements is not None and any(r.startswith(path + ARRAY) for r in reads):
        problems.append(f"{path}: the recording has elements, the fake's array is empty")
    return problems


def compare(
    recorded: Any,
    fake: Any,
    reads: Iterable[str],
    documented: Callable[[str], bool] = lambda path: False,
) -> list[str]:
    return differences(skeleton(recorded), skeleton(fake), reads, documented)
