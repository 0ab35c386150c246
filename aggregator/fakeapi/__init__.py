"""A fake YouTube Data API v3 and Facebook Graph API on 127.0.0.1, for tests, bench and demo.

from aggregator.fakeapi import FakeApiServer, World

world = World.demo()
with FakeApiServer(world, api_key="test-key", access_token="test-token") as server:
    server.url                       # youtube api_endpoint and facebook graph_url
    server.inject("youtube.videos", status=500, times=2)
    server.stats.youtube_units
"""

from aggregator.fakeapi.bodies import graph_error, youtube_error
from aggregator.fakeapi.server import ROUTES, FakeApiServer, Injection, ServerStats
from aggregator.fakeapi.world import World

__all__ = [
    "ROUTES",
    "FakeApiServer",
    "Injection",
    "ServerStats",
    "World",
    "graph_error",
    "youtube_error",
]
