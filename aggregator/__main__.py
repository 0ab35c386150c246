"""`python -m aggregator` and the `showcase` script."""

from __future__ import annotations

import gc

from aggregator.cycles import collector_paused


def run() -> int:
    """`cli.main`, its imports made with the cycle collector paused: they make the objects
    that live as long as the process (modules, classes, functions), which it would walk
    again and again while they are made. Frozen, it never walks them again, nor at exit."""
    with collector_paused():
        from aggregator.cli import main

        gc.freeze()
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
