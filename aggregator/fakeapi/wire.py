"""What a route handler gets and gives back, and how each API encodes its JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aggregator.fakeapi.world import BASE


@dataclass
class ApiRequest:
    path: str
    params: dict[str, list[str]]
    headers: Mapping[str, str] | Message  # http.server gives a Message
    base_url: str  # "http://127.0.0.1:PORT", no trailing slash

    def one(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else None

    def listed(self, name: str) -> list[str]:
        """A parameter that may repeat and hold comma lists (`part=a,b&part=c`)."""
        return [
            item.strip()
            for value in self.params.get(name, [])
            for item in value.split(",")
            if item.strip()
        ]


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def youtube_json(payload: Any, base_url: str, pretty: bool = True) -> bytes:
    """Google's style: UTF-8, pretty-printed unless prettyPrint=false, `<` and `>` escaped."""
    text = json.dumps(payload, ensure_ascii=False, indent=2 if pretty else None)
    text = text.replace(BASE, base_url).replace("<", "\\u003c").replace(">", "\\u003e")
    return text.encode("utf-8")


def graph_json(payload: Any, base_url: str) -> bytes:
    """Graph's style: compact, ASCII only (\\u escapes), slashes escaped as `\\/`."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace(BASE, base_url).replace("/", "\\/").encode("ascii")
