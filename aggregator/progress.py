"""Progress of long work (thumbnails copied, pages read) for a person watching a terminal.

Library code counts (`with counter("Vorschaubilder", total) as shown: shown.advance()`); what
becomes of the count is the command line's choice, made once per run with `configure`:

- `LIVE`: one line on a terminal, rewritten in place (at most ten times a second) and wiped
  when the work ends, so a run that succeeds still leaves nothing behind;
- `LINES`: `--progress` where stderr is no terminal: a plain line every few seconds and one
  at the end;
- `OFF` (the default): nothing, as under cron (no terminal) and systemd (stderr is the
  journal), whose mail and logs must stay quiet.

Writing never fails the work: a closed stderr only ends the display.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, TextIO

from aggregator.models import Usage

Mode = Literal["off", "lines", "live"]
OFF: Mode = "off"
LINES: Mode = "lines"
LIVE: Mode = "live"

LIVE_INTERVAL = 0.1
LINES_INTERVAL = 5.0
_CLEAR = "\r\x1b[K"


def choose_mode(stream: TextIO, asked: bool, environ: dict[str, str] | None = None) -> Mode:
    """Live on a terminal that is not the journal; plain lines when asked for elsewhere."""
    env = os.environ if environ is None else environ
    if _is_journal(stream, env.get("JOURNAL_STREAM", "")):
        return LINES if asked else OFF
    if _is_terminal(stream):
        return LIVE
    return LINES if asked else OFF


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _is_journal(stream: TextIO, journal_stream: str) -> bool:
    """systemd sets JOURNAL_STREAM to the journal socket's "device:inode" (systemd.exec(5));
    it is inherited, so it counts only when it names this very stream."""
    if not journal_stream:
        return False
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return True  # no file to compare: trust the variable and stay quiet
    return journal_stream == f"{status.st_dev}:{status.st_ino}"


class Display:
    """Where counters are shown; one at a time, from any thread."""

    def __init__(
        self, stream: TextIO | None, mode: Mode, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.mode = mode if stream is not None else OFF
        self.clock = clock
        self._lock = threading.Lock()
        self._shown_at = -1e9
        self._last = ""
        self._on_screen = False

    def show(self, text: str, final: bool = False) -> None:
        if self.mode == OFF:
            return
        interval = LIVE_INTERVAL if self.mode == LIVE else LINES_INTERVAL
        with self._lock:
            now = self.clock()
            if text == self._last or (not final and now - self._shown_at < interval):
                return
            self._shown_at, self._last = now, text
            if self.mode == LIVE:
                self._write(f"{_CLEAR}{text}")
                self._on_screen = True
            else:
                self._write(f"{text}\n")

    def clear(self) -> None:
        """Wipe a live line before a log line is written; the next count draws it again."""
        with self._lock:
            if self._on_screen:
                self._write(_CLEAR)
                self._on_screen = False
                self._shown_at, self._last = -1e9, ""

    def end(self) -> None:
        """The counted work is over: wipe a live line, start afresh for the next counter."""
        self.clear()
        with self._lock:
            self._shown_at, self._last = -1e9, ""

    def _write(self, text: str) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.mode = OFF


_display = Display(stream=None, mode=OFF)


def configure(display: Display | None) -> None:
    """Set by the command line for one run; None turns progress off again."""
    global _display
    _display.end()
    _display = display or Display(stream=None, mode=OFF)


def clear_line() -> None:
    _display.clear()


@dataclass
class Counter:
    label: str
    total: int | None = None
    done: int = 0

    def advance(self, step: int = 1) -> None:
        self.update(self.done + step)

    def update(self, done: int) -> None:
        self.done = done
        _display.show(self.text(), final=self.total is not None and done >= self.total)

    def text(self) -> str:
        if self.total is None:
            return f"{self.label} {self.done}"
        return f"{self.label} {self.done}/{self.total}"


@contextmanager
def counter(label: str, total: int | None = None) -> Iterator[Counter]:
    """Count some work ("Vorschaubilder 120/865", "YouTube: Seite 7"); a live line goes when
    the work ends, a plain line says where it got to."""
    shown = Counter(label, total)
    try:
        yield shown
    finally:
        if _display.mode == LINES and shown.done:
            _display.show(shown.text(), final=True)
        _display.end()


@dataclass
class CountedUsage(Usage):
    """A source's usage whose request count (one per page read) is shown as it grows."""

    shown: Counter | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        shown = self.__dict__.get("shown")
        if name == "requests" and isinstance(shown, Counter) and isinstance(value, int):
            shown.update(value)
