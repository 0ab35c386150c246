"""Python's cycle collector paused where a command allocates much and frees little."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# How many new objects start a collection of the youngest, instead of Python's 700. An update
# parses some hundred thousand objects that mostly live until it ends; at 700 the collector
# walked them in 460 collections of the youngest and 40 of the middle generation on bench's
# first update (0.29 s), at 10,000 in 34 and 1 (0.17 s; the second update: 0.20 s against
# 0.10 s). The peak memory stayed the same (116-120 MB both), where switching the collector
# off for the whole update raised it to 125 MB: the garbage cycles of the reads then wait.
YOUNG_GENERATION_SIZE = 10_000


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


def give_back_memory() -> None:
    """Collect the garbage cycles, then hand the C heap's free pages back to the system
    (glibc's `malloc_trim`; elsewhere the collection alone). Between a fetch and its render:
    the listings, gone by then, leave freed pages behind, and the render would otherwise
    grow the process beyond them (bench's first update: 5 MB collected, 4 MB trimmed)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes

    try:  # the process's own symbols, the C library's among them
        trim: Callable[[int], int] | None = getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None
    return trim
