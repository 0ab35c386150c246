"""The sources: each module turns one platform's API into a plain `SourceResult`.

A source is one module with `fetch(settings, policy, usage) -> SourceResult` and one line here.
Modules are imported on first use, so `render` never loads an API client.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from aggregator.models import SourceResult, Usage
from aggregator.retry import RetryPolicy

MODULES = {
    "youtube": "aggregator.sources.youtube",
    "facebook": "aggregator.sources.facebook",
}


class Fetch(Protocol):
    def __call__(self, settings: Any, policy: RetryPolicy, usage: Usage) -> SourceResult: ...


def fetcher(name: str) -> Fetch:
    module = importlib.import_module(MODULES[name])
    fetch: Fetch = module.fetch
    return fetch
