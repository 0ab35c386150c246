"""`python -m aggregator` and the `showcase` script."""

from __future__ import annotations

import gc

from aggregator.cycles import YOUNG_GENERATION_SIZE, collector_paused


def run() -> int:
    """`cli.main`, its imports made with the cycle collector paused: they make the objects
    that live as long as the process (modules, classes, functions), which it would walk
    again and again while they are made. Frozen, it never walks them again, nor at exit.
    The youngest objects are then collected in larger batches (`YOUNG_GENERATION_SIZE`)."""
    with collector_paused():
        from aggregator.cli import main

        gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_SIZE, middle, oldest)
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
