"""Python's cycle collector paused where a command allocates much and frees little."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off for the block: a render (and the imports it starts with) makes
    some hundred thousand objects that live until it ends and hardly a cycle, and the
    collector would walk them again and again (a tenth of a render of bench's synthetic
    site). It is left as it was found (off stays off); garbage cycles made meanwhile are
    collected once it runs again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
