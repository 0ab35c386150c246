"""How the thumbnail copier spends its time (issue 12): a few downloads at once, one decode per
image at the scale the widest copy needs, no fsync per file, nothing begun past the budget.
The figures themselves are measured in bench/ (`bench.py --thumbnails`), never timed here."""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler

from PIL import Image
from test_cli import run
from test_trust_urls import answer, serving

from aggregator import thumbnails
from aggregator.retry import RetryPolicy
from aggregator.thumbnails import ThumbnailWanted


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 20)).save(out, "JPEG")
    return out.getvalue()


def policy(budget: float = 100.0) -> RetryPolicy:
    return RetryPolicy(sleep=lambda s: None, timeout=5.0, budget=budget)


def wanted(server, count: int) -> list[ThumbnailWanted]:
    return [
        ThumbnailWanted(n, "youtube", f"video{n:06d}", server.url(f"/{n}.jpg"))
        for n in range(count)
    ]


def test_several_images_are_downloaded_at_once(tmp_path):
    """One slow image at a time would take WORKERS times as long: the server sees
    WORKERS requests in flight together."""
    lock, now, most = threading.Lock(), [0], [0]
    body = jpeg(640, 360)

    def slow(request: BaseHTTPRequestHandler) -> None:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.2)
        with lock:
            now[0] -= 1
        answer(body)(request)

    with serving(slow) as server:
        hosts = thumbnails.image_hosts([server.url()])
        stored = thumbnails.download_thumbnails(wanted(server, 12), tmp_path, policy(), hosts)
    assert len(stored) == 12
    assert most[0] == thumbnails.WORKERS


def keeping_alive(monkeypatch, connections: set[int], body: bytes):
    """A handler answering `body` over HTTP/1.1 kept-alive connections (as the image CDNs do),
    noting each connection's client port in `connections`."""

    def keep(request: BaseHTTPRequestHandler) -> None:
        connections.add(request.client_address[1])
        answer(body)(request)

    monkeypatch.setattr(BaseHTTPRequestHandler, "protocol_version", "HTTP/1.1")
    return keep


def test_each_worker_keeps_its_connection_alive(tmp_path, monkeypatch):
    """20 images over at most WORKERS connections, not one connection per image (the image
    CDNs speak HTTP/1.1 and keep connections open; the test server is made to as well)."""
    connections: set[int] = set()
    with serving(keeping_alive(monkeypatch, connections, jpeg(640, 360))) as server:
        hosts = thumbnails.image_hosts([server.url()])
        assert len(thumbnails.download_thumbnails(wanted(server, 20), tmp_path, policy(), hosts))
    assert len(connections) <= thumbnails.WORKERS


def test_thumbnail_files_are_written_whole_without_fsync(tmp_path, monkeypatch):
    """A thumbnail can always be fetched again: it is renamed into place (never half a file
    under its name) but not synced, which cost two fsyncs for each of its four files."""

    def no_fsync(fd: int) -> None:
        raise AssertionError("fsync while writing a thumbnail")

    monkeypatch.setattr(os, "fsync", no_fsync)
    with serving(answer(jpeg(1280, 720))) as server:
        hosts = thumbnails.image_hosts([server.url()])
        stored = thumbnails.download_thumbnails(wanted(server, 3), tmp_path, policy(), hosts)
    assert len(stored) == 3
    names = sorted(p.name for p in (tmp_path / "thumbs").iterdir())
    assert len(names) == 12 and not [n for n in names if n.endswith(".tmp")]


def test_resized_copies_go_straight_into_place_and_the_original_last(tmp_path, monkeypatch):
    """No page names a copy before its original is in place (`context.item_view`), so the
    copies are written directly (one open, no temporary file, chmod or rename) and the
    original last, atomically: a copy cut short by a crash has no original beside it, and the
    next run rewrites it whole. Every file is 0644 whatever the umask (a web server reads
    them)."""
    renamed: list[str] = []
    real_replace = os.replace

    def noting_replace(source, target):
        renamed.append(os.path.basename(target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", noting_replace)
    thumbs = tmp_path / "thumbs"
    thumbs.mkdir()
    cut_short = thumbs / "youtube-video000000.w640.webp"
    cut_short.write_bytes(b"RIFF")  # what a crash in the middle of a copy left
    old_umask = os.umask(0o077)
    try:
        with serving(answer(jpeg(1280, 720))) as server:
            hosts = thumbnails.image_hosts([server.url()])
            stored = thumbnails.download_thumbnails(wanted(server, 2), tmp_path, policy(), hosts)
    finally:
        os.umask(old_umask)
    assert sorted(stored.values()) == [f"thumbs/youtube-video00000{n}.jpg" for n in (0, 1)]
    assert sorted(renamed) == ["youtube-video000000.jpg", "youtube-video000001.jpg"]
    with Image.open(cut_short) as image:
        assert (image.format, image.size) == ("WEBP", (640, 360))
    modes = {path.name: path.stat().st_mode & 0o777 for path in thumbs.iterdir()}
    assert len(modes) == 8 and set(modes.values()) == {0o644}


def test_one_worker_creates_files_at_a_time(tmp_path, monkeypatch):
    """Two workers creating files in thumbs/ at once make the kernel spin one of them on the
    folder's lock (on an ext4 without a journal, right after many files were removed, `perf`
    put 13 % of a copy's CPU there): the workers take turns, while both still download and
    encode at once (test_several_images_are_downloaded_at_once)."""
    creating, most = 0, 0
    count = threading.Lock()

    def slow(write):
        def creating_slowly(*args, **kwargs):
            nonlocal creating, most
            with count:
                creating += 1
                most = max(most, creating)
            time.sleep(0.005)
            try:
                return write(*args, **kwargs)
            finally:
                with count:
                    creating -= 1

        return creating_slowly

    monkeypatch.setattr(thumbnails, "write_new", slow(thumbnails.write_new))
    monkeypatch.setattr(thumbnails, "write_atomic", slow(thumbnails.write_atomic))
    with serving(answer(jpeg(1280, 720))) as server:
        hosts = thumbnails.image_hosts([server.url()])
        stored = thumbnails.download_thumbnails(wanted(server, 8), tmp_path, policy(), hosts)
    assert len(stored) == 8 and len(list((tmp_path / "thumbs").iterdir())) == 32
    assert most == 1


def test_the_jpeg_fallback_is_baseline(tmp_path):
    """Only browsers without WebP load the JPEG copy: it is not spent the encoder's time for
    a progressive, optimised file (1.20 ms against 0.15 ms for a 320 px photo, 6 % smaller)."""
    with serving(answer(jpeg(1280, 720))) as server:
        hosts = thumbnails.image_hosts([server.url()])
        thumbnails.download_thumbnails(wanted(server, 1), tmp_path, policy(), hosts)
    with Image.open(tmp_path / "thumbs" / "youtube-video000000.w320.jpg") as fallback:
        assert fallback.size == (320, 180)
        assert "progressive" not in fallback.info and "progression" not in fallback.info


def test_a_copy_that_cannot_be_written_names_its_file(tmp_path):
    import errno

    from aggregator.files import write_new

    try:
        write_new(tmp_path / "missing-folder" / "x.w320.webp", b"data")
    except OSError as error:
        assert error.errno == errno.ENOENT
        assert "x.w320.webp" in str(error)
    else:
        raise AssertionError("a write into a missing folder succeeded")


def test_a_large_jpeg_is_decoded_once_at_a_reduced_scale(tmp_path, monkeypatch):
    """A 2560x1440 JPEG needs 640 px at most: Pillow's draft mode decodes it at 1/4 scale
    (https://pillow.readthedocs.io/en/stable/reference/Image.html#PIL.Image.Image.draft),
    and every copy comes from that one decode."""
    loads: list[tuple[int, int]] = []
    real_load = Image.Image.load

    def counting_load(image):
        if image.format == "JPEG" and image.tile:  # tiles left: this call decodes
            loads.append(image.size)
        return real_load(image)

    monkeypatch.setattr(Image.Image, "load", counting_load)
    with serving(answer(jpeg(2560, 1440))) as server:
        hosts = thumbnails.image_hosts([server.url()])
        stored = thumbnails.download_thumbnails(wanted(server, 1), tmp_path, policy(), hosts)
    assert stored == {0: "thumbs/youtube-video000000.jpg"}
    assert loads == [(640, 360)]
    for width, extension in ((320, "webp"), (640, "webp"), (320, "jpg")):
        path = tmp_path / thumbnails.variant_path(stored[0], width, extension)
        with Image.open(path) as image:
            assert image.size == (width, width * 9 // 16)


def test_no_image_is_begun_once_the_budget_is_nearly_spent(tmp_path, caplog):
    """With less than the copier's reserve left, nothing is requested: the rest waits for the
    next run, and the run keeps its time for the render."""
    caplog.set_level("INFO", logger="aggregator.thumbnails")
    with serving(answer(jpeg(640, 360))) as server:
        hosts = thumbnails.image_hosts([server.url()])
        stored = thumbnails.download_thumbnails(wanted(server, 5), tmp_path, policy(4.0), hosts)
        assert server.hits == []
    assert stored == {}
    assert "5 left for the next run" in caplog.text


def test_copies_of_exact_halves_are_not_resampled(tmp_path, monkeypatch):
    """A 1280x720 JPEG is drafted to 640x360, which is the 640 copy already; the 320 copy is
    that halved (a 2x2 average, 0.15 ms against LANCZOS's 2.3 ms). A PNG of 1280x720 is
    halved twice. Only a copy that is no exact half, as 480x270 to 320x180, is resampled."""
    resized: list[tuple[tuple[int, int], tuple[int, int]]] = []
    real_resize = Image.Image.resize

    def counting_resize(image, size, *args, **kwargs):
        resized.append((image.size, tuple(size)))
        return real_resize(image, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", counting_resize)
    png = io.BytesIO()
    Image.new("RGB", (1280, 720), (10, 200, 30)).save(png, "PNG")
    for data in (jpeg(1280, 720), png.getvalue()):
        _, variants = thumbnails._converted(data, "thumbs/x")
        assert sorted(path for path, _ in variants) == [
            "thumbs/x.w320.jpg",
            "thumbs/x.w320.webp",
            "thumbs/x.w640.webp",
        ]
        for path, encoded in variants:
            with Image.open(io.BytesIO(encoded)) as image:
                width = 640 if ".w640." in path else 320
                assert image.size == (width, width * 9 // 16)
    assert resized == []
    thumbnails._converted(jpeg(480, 360), "thumbs/y")
    assert resized == [((480, 360), (320, 180))]


def test_the_first_sources_thumbnails_are_copied_while_the_next_is_fetched(site, monkeypatch):
    """YouTube's showcase thumbnails are copied in the background while Facebook is read (a
    fetch mostly waits on the API): Facebook's fetch sees a thumbnail written before it ends.
    All of them are on disk, and in the database, before the render."""
    from aggregator.sources import facebook

    written = threading.Event()
    real_write, real_fetch = thumbnails.write_atomic, facebook.fetch
    seen_during_fetch: list[bool] = []

    def noting_write(path, data, durable=True):
        real_write(path, data, durable=durable)
        written.set()

    def waiting_fetch(*args, **kwargs):
        seen_during_fetch.append(written.wait(timeout=10))
        return real_fetch(*args, **kwargs)

    monkeypatch.setattr(thumbnails, "write_atomic", noting_write)
    monkeypatch.setattr(facebook, "fetch", waiting_fetch)
    assert run(site, "update") == 0
    assert seen_during_fetch == [True]
    with sqlite3.connect(site.folder / "showcase.db") as db:
        files = [name for (name,) in db.execute("select thumbnail_file from items")]
    youtube = [name for name in files if name and name.startswith("thumbs/youtube-")]
    assert youtube and all((site.output / name).is_file() for name in youtube)
    assert "thumbs/youtube-" in site.read("index.html")


def test_a_run_that_fails_stops_its_background_copy_and_records_none(site, monkeypatch, capsys):
    """The database failing after YouTube's save (a full disk, say) ends the run with its one
    line; the early copies are stopped and waited for before that, and nothing of them is
    recorded (a later run records the originals it finds in thumbs/)."""
    from sqlalchemy.exc import OperationalError

    from aggregator import store

    real_record = store.record_run

    def failing(session, name, *args, **kwargs):
        if name == "facebook":
            raise OperationalError("INSERT INTO fetch_runs", {}, Exception("disk I/O error"))
        return real_record(session, name, *args, **kwargs)

    monkeypatch.setattr(store, "record_run", failing)
    assert run(site, "update") == 2  # the database's error, as the CLI tells it
    assert "disk I/O error" in capsys.readouterr().err
    assert not [t for t in threading.enumerate() if t.name.startswith("thumbnails-early")]
    with sqlite3.connect(site.folder / "showcase.db") as db:
        recorded = db.execute("select count(*) from items where thumbnail_file is not null")
        assert recorded.fetchone() == (0,)


def test_a_background_copy_that_fails_is_told_once_every_source_is_read(site, monkeypatch, capsys):
    """A full disk under the thumbnails while the next source is read: every source is still
    read and stored, then the run ends with the one line the copy after the fetch would give."""
    import errno

    def full(path, data, durable=True):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(thumbnails, "write_atomic", full)
    assert run(site, "update") == 1
    assert "No space left on device" in capsys.readouterr().err
    with sqlite3.connect(site.folder / "showcase.db") as db:
        sources = {source for (source,) in db.execute("select source from fetch_runs")}
    assert sources == {"youtube", "facebook", "website"}


def test_a_sources_thumbnails_are_copied_before_it_is_saved(site, monkeypatch):
    """Copying begins once a source is read, not once it is stored: YouTube's save waits for
    a thumbnail of YouTube's to be written, and every copy is recorded before the render."""
    from aggregator import store

    written = threading.Event()
    real_write, real_save = thumbnails.write_atomic, store.save_result
    seen_before_save: list[bool] = []

    def noting_write(path, data, durable=True):
        real_write(path, data, durable=durable)
        if path.name.startswith("youtube-"):
            written.set()

    def waiting_save(session, result, *args, **kwargs):
        if result.source == "youtube":
            seen_before_save.append(written.wait(timeout=10))
        return real_save(session, result, *args, **kwargs)

    monkeypatch.setattr(thumbnails, "write_atomic", noting_write)
    monkeypatch.setattr(store, "save_result", waiting_save)
    assert run(site, "update") == 0
    assert seen_before_save == [True]
    with sqlite3.connect(site.folder / "showcase.db") as db:
        files = [name for (name,) in db.execute("select thumbnail_file from items") if name]
    assert files and all((site.output / name).is_file() for name in files)


def test_an_original_in_thumbs_is_recorded_not_fetched_again(site):
    """An original is written last and whole, so one found in thumbs/ without its row saying
    so (copied early by a run that then failed) is recorded; its image is not fetched again."""
    assert run(site, "update") == 0
    with sqlite3.connect(site.folder / "showcase.db") as db:
        before = dict(
            db.execute("select id, thumbnail_file from items where thumbnail_file is not null")
        )
        db.execute("update items set thumbnail_file = null")
    site.server.reset_stats()
    assert run(site, "update") == 0
    assert [path for route, path in site.server.stats.requests if route == "thumbs"] == []
    with sqlite3.connect(site.folder / "showcase.db") as db:
        after = dict(
            db.execute("select id, thumbnail_file from items where thumbnail_file is not null")
        )
    assert after == before and before


def test_early_copies_are_of_shown_items_only(tmp_path):
    """Offered a source's items, the early copier takes those public, carrying the hashtag,
    not hidden by staff and with no original in thumbs/ yet, and names each copy by its item."""
    from dataclasses import replace

    from conftest import write_config
    from test_store import video

    from aggregator import jobs
    from aggregator.config import load_config

    with serving(answer(jpeg(1280, 720))) as server:
        config = load_config(write_config(tmp_path, server.url()))
        (tmp_path / "public" / "thumbs").mkdir(parents=True)
        (tmp_path / "public" / "thumbs" / "youtube-there.png").write_bytes(b"copied before")
        items = [
            replace(video(name), thumbnail_url=server.url(f"/{name}.jpg"))
            for name in ("shown", "hidden", "there", "untagged", "private")
        ]
        items[3] = replace(items[3], title="Ohne Hashtag")
        items[4] = replace(items[4], public=False)
        with jobs.EarlyThumbnails(config, policy(), frozenset({("youtube", "hidden")})) as early:
            early.offer(items)
        assert server.hits == ["/shown.jpg"]
    assert early.copies.copied == {("youtube", "shown"): "thumbs/youtube-shown.jpg"}


def test_early_copies_the_showcase_does_not_show_are_removed(site, caplog):
    """A copy made early for an item that then is not shown (its episode hidden through
    another of its items) is removed with its resized copies when the showcase is selected."""
    from aggregator import jobs, store
    from aggregator.config import load_config

    caplog.set_level("INFO", logger="aggregator.jobs")
    config = load_config(site.config)
    thumbs = site.output / "thumbs"
    thumbs.mkdir(parents=True)
    gone = ["youtube-gone.jpg", "youtube-gone.w320.webp", "youtube-gone.w640.webp"]
    for name in [*gone, "youtube-gone.w320.jpg", "youtube-kept.jpg"]:
        (thumbs / name).write_bytes(b"x")
    engine = store.open_database(config.database_url)
    early = jobs.EarlyCopies(
        {("youtube", "gone"): "thumbs/youtube-gone.jpg"}, {("youtube", "gone")}
    )
    jobs.fetch_thumbnails(engine, config, policy(), rows=[], early=early)
    engine.dispose()
    assert sorted(path.name for path in thumbs.iterdir()) == ["youtube-kept.jpg"]
    assert "1 copied early are not shown, removed" in caplog.text


def test_an_image_is_asked_for_once_a_run_even_when_it_fails(site, monkeypatch):
    """An image the early copies tried in vain (a 404, say) is left for the next run, as a
    failed copy always was: the copy after the saves does not ask for it a second time."""
    asked: list[str] = []
    real_download = thumbnails._download_image

    def failing_once(http, hosts, url, timeout):
        asked.append(url)
        if len(asked) == 1:
            raise thumbnails.ThumbnailError("http 404")
        return real_download(http, hosts, url, timeout)

    monkeypatch.setattr(thumbnails, "_download_image", failing_once)
    assert run(site, "update") == 0
    assert asked and len(asked) == len(set(asked))
    with sqlite3.connect(site.folder / "showcase.db") as db:
        files = db.execute("select count(*) from items where thumbnail_file is not null")
        assert files.fetchone() == (len(asked) - 1,)
    asked.clear()
    assert run(site, "update") == 0
    assert len(asked) == 1  # the next run asks again for the one that failed
