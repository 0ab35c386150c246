"""Progress of long work: shown on a terminal, on request elsewhere, never under cron or the
journal; never the cause of a failed run."""

from __future__ import annotations

import io
import os
import pty

import pytest

from aggregator import progress
from aggregator.progress import LINES, LIVE, OFF, choose_mode


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def progress_off_afterwards():
    yield
    progress.configure(None)


@pytest.mark.parametrize(
    ("stream", "asked", "journal_stream", "mode"),
    [
        (Terminal(), False, "", LIVE),
        (Terminal(), True, "", LIVE),
        (io.StringIO(), False, "", OFF),  # cron: no terminal, nothing asked for
        (io.StringIO(), True, "", LINES),
    ],
)
def test_the_mode_follows_the_stream_and_the_flag(stream, asked, journal_stream, mode):
    assert choose_mode(stream, asked, {"JOURNAL_STREAM": journal_stream}) == mode


def test_stderr_that_is_the_journal_stays_quiet():
    """systemd sets JOURNAL_STREAM to "device:inode" of the journal stream it connected
    (systemd.exec(5)); children inherit it, so it counts only when it names this stream."""
    main_end, terminal_end = pty.openpty()
    with open(terminal_end, "w") as terminal:
        status = os.fstat(terminal_end)
        this_stream = {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}
        assert choose_mode(terminal, asked=False, environ=this_stream) == OFF
        assert choose_mode(terminal, asked=True, environ=this_stream) == LINES
        inherited = {"JOURNAL_STREAM": "8:12345"}
        assert choose_mode(terminal, asked=False, environ=inherited) == LIVE
    os.close(main_end)


def test_live_progress_is_rewritten_in_place_and_wiped():
    terminal, now = Terminal(), [0.0]
    progress.configure(progress.Display(terminal, LIVE, clock=lambda: now[0]))
    with progress.counter("Vorschaubilder", total=3) as shown:
        shown.advance()
        shown.advance()  # within a tenth of a second: not drawn
        now[0] += 1
        shown.advance()
    assert terminal.getvalue() == ("\r\x1b[KVorschaubilder 1/3\r\x1b[KVorschaubilder 3/3\r\x1b[K")


def test_plain_lines_every_few_seconds_and_where_it_ended():
    stream, now = io.StringIO(), [0.0]
    progress.configure(progress.Display(stream, LINES, clock=lambda: now[0]))
    usage = None
    with progress.counter("YouTube: Seite") as pages:
        usage = progress.CountedUsage(shown=pages)
        for _ in range(4):
            usage.requests += 1
            usage.quota_units += 1
            now[0] += 2
    assert stream.getvalue() == "YouTube: Seite 1\nYouTube: Seite 4\n"
    assert (usage.requests, usage.quota_units) == (4, 4)


def test_nothing_when_off_and_a_closed_stream_never_fails_the_work():
    quiet = io.StringIO()
    progress.configure(progress.Display(quiet, OFF))
    with progress.counter("Vorschaubilder", total=2) as shown:
        shown.advance()
    assert quiet.getvalue() == ""
    closed = Terminal()
    closed.close()
    progress.configure(progress.Display(closed, LIVE))
    with progress.counter("Vorschaubilder", total=2) as shown:
        shown.advance()
        shown.advance()
    assert shown.done == 2
