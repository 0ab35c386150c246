"""Plain HTTP calls to the fake API server, as a client of the real APIs would make them."""

from __future__ import annotations

from typing import Any

import requests

from aggregator.fakeapi import FakeApiServer

# The fake server's default credentials.
KEY, TOKEN = "test-key", "test-token"
http = requests.Session()


def yt(server: FakeApiServer, resource: str, **params: Any) -> requests.Response:
    params.setdefault("key", KEY)
    return http.get(f"{server.url}youtube/v3/{resource}", params=params, timeout=5)


def graph(server: FakeApiServer, path: str, **params: Any) -> requests.Response:
    params.setdefault("access_token", TOKEN)
    return http.get(f"{server.url}v25.0/{path}", params=params, timeout=5)


def demo_channel(server: FakeApiServer) -> dict[str, Any]:
    return next(iter(server.world.youtube_channels.values()))


def uploads_id(server: FakeApiServer) -> str:
    return "UU" + demo_channel(server)["id"][2:]
