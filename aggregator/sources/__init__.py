"""The sources: each module turns one platform's API into a plain `SourceResult`.

A source is one module with `fetch(settings, policy, usage, found=None) -> SourceResult` and one
line here; `found`, when given, is told each batch of items as it is read (the thumbnails of
those that carry the hashtag are copied meanwhile).
A source that can refresh cheaply also has `fetch_quick(settings, policy, usage, known)`: the
figures and the newest items only, never a complete listing (see `KnownItems`).
Modules are imported on first use, so `render` never loads an API client.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from aggregator.models import Found, KnownItems, SourceResult, Usage
from aggregator.retry import RetryPolicy

MODULES = {
    "youtube": "aggregator.sources.youtube",
    "facebook": "aggregator.sources.facebook",
    "website": "aggregator.sources.website",
}


class Fetch(Protocol):
    def __call__(
        self, settings: Any, policy: RetryPolicy, usage: Usage, found: Found | None = None
    ) -> SourceResult: ...


def fetcher(name: str) -> Fetch:
    module = importlib.import_module(MODULES[name])
    fetch: Fetch = module.fetch
    return fetch


class QuickFetch(Protocol):
    def __call__(
        self, settings: Any, policy: RetryPolicy, usage: Usage, known: KnownItems
    ) -> SourceResult: ...


def quick_fetcher(name: str) -> QuickFetch | None:
    """The source's quick refresh, or None when it has none (its every run is a full one)."""
    module = importlib.import_module(MODULES[name])
    quick: QuickFetch | None = getattr(module, "fetch_quick", None)
    return quick
