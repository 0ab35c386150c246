"""The two partial-response languages: Google's `fields` and Graph's `fields`.

Google: `items(id,snippet(title,tags)),nextPageToken`, `items/snippet/title`, `*`.
Graph:  `id,name,videos.limit(100){id,title},posts.after(CURSOR){message}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

# name -> sub-selection; None selects the whole value.
FieldTree = dict[str, "FieldTree | None"]

_NAME = re.compile(r"[A-Za-z0-9_*]+")
_GRAPH_NAME = re.compile(r"[A-Za-z0-9_]+")


class FieldsSyntaxError(ValueError):
    """The `fields` parameter does not parse; the message says where."""


class _Cursor:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.take(char):
            self.fail(f"expected {char!r}")

    def name(self, pattern: re.Pattern[str]) -> str:
        self.skip_space()
        match = pattern.match(self.text, self.pos)
        if not match:
            self.fail("expected a field name")
        self.pos = match.end()
        return match.group()

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        return self.peek() == ""

    def fail(self, problem: str) -> NoReturn:
        raise FieldsSyntaxError(f"{problem} at character {self.pos}: {self.text}")


# -- Google -------------------------------------------------------------------------------------


def parse_google_fields(text: str) -> FieldTree:
    cursor = _Cursor(text)
    tree = _google_list(cursor)
    if not cursor.at_end():
        cursor.fail("unexpected character")
    return tree


def _google_list(cursor: _Cursor) -> FieldTree:
    tree: FieldTree = {}
    while True:
        path = [cursor.name(_NAME)]
        while cursor.take("/"):
            path.append(cursor.name(_NAME))
        sub: FieldTree | None = None
        if cursor.take("("):
            sub = _google_list(cursor)
            cursor.expect(")")
        for name in reversed(path[1:]):
            sub = {name: sub}
        _merge(tree, path[0], sub)
        if not cursor.take(","):
            return tree


def _merge(tree: FieldTree, name: str, sub: FieldTree | None) -> None:
    if name not in tree:
        tree[name] = sub
        return
    current = tree[name]
    if current is None or sub is None:
        tree[name] = None
        return
    for key, value in sub.items():
        _merge(current, key, value)


def apply_google_fields(value: Any, tree: FieldTree | None) -> Any:
    """Keep only the selected members; lists are filtered element by element."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_google_fields(element, tree) for element in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, member in value.items():
        if key in tree:
            kept[key] = apply_google_fields(member, tree[key])
        elif "*" in tree:
            kept[key] = apply_google_fields(member, tree["*"])
    return kept


# -- Graph --------------------------------------------------------------------------------------


@dataclass
class GraphField:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    children: list[GraphField] | None = None

    def text(self) -> str:
        out = self.name + "".join(f".{key}({value})" for key, value in self.modifiers.items())
        if self.children is not None:
            out += "{" + graph_fields_text(self.children) + "}"
        return out


def parse_graph_fields(text: str) -> list[GraphField]:
    cursor = _Cursor(text)
    fields = _graph_list(cursor)
    if not cursor.at_end():
        cursor.fail("unexpected character")
    return fields


def graph_fields_text(fields: list[GraphField]) -> str:
    return ",".join(item.text() for item in fields)


def _graph_list(cursor: _Cursor) -> list[GraphField]:
    fields = []
    while True:
        item = GraphField(cursor.name(_GRAPH_NAME))
        while cursor.peek() in (".", "{"):
            if cursor.take("{"):
                item.children = _graph_list(cursor)
                cursor.expect("}")
            else:
                cursor.expect(".")
                modifier = cursor.name(_GRAPH_NAME)
                cursor.expect("(")
                end = cursor.text.find(")", cursor.pos)
                if end < 0:
                    cursor.fail("unclosed '('")
                item.modifiers[modifier] = cursor.text[cursor.pos : end].strip()
                cursor.pos = end + 1
        fields.append(item)
        if not cursor.take(","):
            return fields
