"""A fake YouTube Data API v3, Facebook Graph API and WordPress REST API on 127.0.0.1, for tests,
bench and demo.

from aggregator.fakeapi import FakeApiServer, World

world = World.demo()
with FakeApiServer(world, api_key="test-key", access_token="test-token") as server:
    server.url                       # youtube api_endpoint, facebook graph_url, website url
    server.inject("youtube.videos", status=500, times=2)
    server.stats.youtube_units
"""

from aggregator.fakeapi.bodies import graph_error, youtube_error
from aggregator.fakeapi.server import ROUTES, FakeApiServer, Injection, ServerStats
from aggregator.fakeapi.wordpress import error_body as wordpress_error
from aggregator.fakeapi.world import World

__all__ = [
    "ROUTES",
    "FakeApiServer",
    "Injection",
    "ServerStats",
    "World",
    "graph_error",
    "wordpress_error",
    "youtube_error",
]
