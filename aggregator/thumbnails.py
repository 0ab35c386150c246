"""Copy thumbnails into the output directory, so the page never hotlinks Google or Meta.

Facebook's picture URLs are signed and expire; a copy taken at fetch time keeps working.
Beside each copy go the sizes the grid shows, cropped to 16:9 (YouTube's 4:3 images carry
black bars that the crop removes): `thumbs/youtube-ID.w320.webp`, `.w640.webp` (when the
original is wide enough) and `.w320.jpg`, the fallback for browsers without WebP.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import math
import socket
import threading
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.connection
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from aggregator import progress
from aggregator.config import Config
from aggregator.errors import redact
from aggregator.files import write_atomic, write_new
from aggregator.retry import RetryPolicy
from aggregator.sources.http import new_session
from aggregator.thumbnail_files import JPEG as _JPEG
from aggregator.thumbnail_files import (
    LARGE_WIDTH,
    ORIGINAL_EXTENSIONS,
    PROGRESS_LABEL,
    SMALL_WIDTH,
    THUMBS_FOLDER,
    ThumbnailFiles,
    safe_part,
    variant_path,
)
from aggregator.thumbnail_files import WEBP as _WEBP
from aggregator.thumbnail_files import thumbnail_variants as thumbnail_variants

log = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024
# Far above any thumbnail (YouTube's maxres is 1280x720, a camera photo on WordPress ~24 MP),
# far below what fills the memory when decoded: refused from the header, before decoding
# (Pillow's own default, 89 million, only warns).
MAX_PIXELS = 40_000_000
MAX_REDIRECTS = 5
_MIN_SECONDS_LEFT = 5.0

_WIDTHS = (SMALL_WIDTH, LARGE_WIDTH)
_EXTENSIONS_OF = {SMALL_WIDTH: ("webp", "jpg"), LARGE_WIDTH: ("webp",)}
# Two workers: 865 images took 4.7 s with two and 5.9 s with four on this project's two
# cores (more threads only contend for the GIL between Pillow's calls), and each worker's
# images and C heap are held at the update's peak memory (bench: 125 MB with two, 128 with four).
WORKERS = 2
# libwebp's effort, 0 (fastest) to 6. Encoding a 320 and a 640 px copy of a photo-like image
# took 6.9 ms at method 2 against 18.2 ms at 4 (files 2 % larger) and 4.7 ms at 0 (10 % larger).
WEBP_METHOD = 2


@dataclass(frozen=True)
class ThumbnailWanted:
    item_id: int
    source: str
    platform_id: str
    url: str


class ThumbnailError(Exception):
    pass


def thumbnail_stem(source: str, platform_id: str) -> str:
    """The file name's stem; ThumbnailError for an id that is no safe part of a file name."""
    for part in (source, platform_id):
        if not safe_part(part):
            raise ThumbnailError(f"id {part[:40]!r}... is not a safe file name")
    return f"{source}-{platform_id}"


def download_thumbnails(
    wanted: Iterable[ThumbnailWanted],
    output_dir: Path,
    policy: RetryPolicy,
    hosts: ImageHosts | None = None,
    session: requests.Session | None = None,
    stop: threading.Event | None = None,
    shown: progress.Counter | None = None,
) -> dict[int, str]:
    """Fetch each image once; return item id -> file name relative to `output_dir`.

    A few workers download, decode and resize at once (Pillow and the sockets release the
    GIL). A failed or refused image is logged and left for the next run: the page shows a
    placeholder meanwhile. Images come only from `hosts` (the platforms' image hosts alone when
    None). No image is begun once the run's time budget is nearly spent, or once `stop` is set.
    The images are counted on `shown` when given (a run's copies in several calls, one count;
    `wanted` given as a list adds its length to the total, the caller counts any other).

    `wanted` is taken one image at a time as a worker is free: it may be a stream that waits
    for the next image (`EarlyThumbnails`), and it is read to its end in any case."""
    stored: dict[int, str] = {}
    hosts = hosts or ImageHosts()
    copier = _Copier(output_dir, policy, hosts, session)
    todo: Iterator[ThumbnailWanted] = iter(wanted)
    in_flight: dict[Future[str], ThumbnailWanted] = {}
    total = len(wanted) if isinstance(wanted, list) else None
    if shown is not None and total is not None:
        shown.total = (shown.total or 0) + total
    counting = nullcontext(shown) if shown else progress.counter(PROGRESS_LABEL, total)
    with (
        counting as counted,
        decoding_limits(),
        ThreadPoolExecutor(WORKERS, thread_name_prefix="thumbnail") as pool,
    ):
        while True:
            while len(in_flight) < 2 * WORKERS and _may_begin(policy, stop):
                thumb = next(todo, None)
                if thumb is None:
                    break
                in_flight[pool.submit(copier.copy, thumb)] = thumb
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                thumb = in_flight.pop(future)
                counted.advance()
                try:
                    stored[thumb.item_id] = future.result()
                except ThumbnailError as error:
                    shown_id = thumb.platform_id[:40].encode("unicode_escape").decode("ascii")
                    log.info("thumbnail %s:%s: %s", thumb.source, shown_id, redact(str(error)))
    left = sum(1 for _ in todo)
    if left:
        why = "stopped" if stop and stop.is_set() else "time budget spent"
        log.info("thumbnails: %s, %d left for the next run", why, left)
    return stored


def _may_begin(policy: RetryPolicy, stop: threading.Event | None) -> bool:
    return policy.remaining() >= _MIN_SECONDS_LEFT and not (stop and stop.is_set())


class _Copier:
    """One image from its URL to its files: download, decode once, resize, encode, write.

    Each worker thread has its own checked session (its connections are kept alive from one
    image to the next); a session handed in, as tests do, is shared."""

    def __init__(
        self,
        output_dir: Path,
        policy: RetryPolicy,
        hosts: ImageHosts,
        session: requests.Session | None,
    ):
        self.output_dir, self.policy, self.hosts = output_dir, policy, hosts
        self.shared = checked_session(hosts, session) if session is not None else None
        self.local = threading.local()
        # One worker creates files at a time. The kernel creates files in one folder one at a
        # time anyway (under the folder's lock), and a second creator waits for it by spinning
        # on a core the other worker's encoding could use. Right after many files were removed,
        # when an ext4 without a journal scans the freed inodes for each new file, `perf` put
        # 13 % of a copy's CPU in that spin; with this lock 865 images took 4.8 s, not 6.0 s.
        self.creating = threading.Lock()

    def http(self) -> requests.Session:
        if self.shared is not None:
            return self.shared
        if not hasattr(self.local, "session"):
            self.local.session = checked_session(self.hosts)
        session: requests.Session = self.local.session
        return session

    def copy(self, thumb: ThumbnailWanted) -> str:
        stem = thumbnail_stem(thumb.source, thumb.platform_id)
        data = _download_image(self.http(), self.hosts, thumb.url, self.policy.request_timeout())
        name, variants = _converted(data, f"{THUMBS_FOLDER}/{stem}")
        with self.creating:
            (self.output_dir / THUMBS_FOLDER).mkdir(parents=True, exist_ok=True)
            for path, encoded in variants:
                write_new(self.output_dir / path, encoded)
            write_atomic(self.output_dir / name, data, durable=False)  # last: it means "done"
        return name


def _converted(data: bytes, stem: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The original's file name and its resized copies, from one decode of the bytes."""
    with refusing_bombs():
        try:
            with Image.open(io.BytesIO(data)) as image:
                extension = ORIGINAL_EXTENSIONS.get(image.format or "")
                if extension is None:
                    raise ThumbnailError(f"unsupported image format {image.format or 'unknown'}")
                name = f"{stem}.{extension}"
                widths = [w for w in _WIDTHS if w <= crop_width(image.size)]
                encoded = _encoded_variants(image, widths)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise ThumbnailError("not an image") from None
    return name, [(variant_path(name, w, ext), out) for (w, ext), out in encoded.items()]


def ensure_variants(output_dir: Path, originals: list[str]) -> int:
    """Make the resized copies that are missing (thumbnails copied by an older version);
    return how many originals needed them. Cheap when all are there: one listing of thumbs/."""
    made = 0
    present = ThumbnailFiles(output_dir)
    for original in originals:
        needed = [variant_path(original, SMALL_WIDTH, ext) for ext, _ in (_WEBP, _JPEG)]
        if all(present.exists(path) for path in needed):
            continue
        if present.exists(original) and make_variants(output_dir, original):
            # An original narrower than 320 px gets none (and is opened again next time).
            made += all((output_dir / path).is_file() for path in needed)
    return made


def make_variants(output_dir: Path, original: str) -> bool:
    """Write the missing 16:9 copies of `original`; False when it cannot be read as an image."""
    try:
        with decoding_guard(), Image.open(output_dir / original) as image:
            # The header's size says which copies are due; an image too small for any (or
            # with all of them written) is not decoded: `render` asks again every time.
            due = [w for w in _WIDTHS if w <= crop_width(image.size)]
            missing = [
                w
                for w in due
                if any(
                    not (output_dir / variant_path(original, w, ext)).exists()
                    for ext in _EXTENSIONS_OF[w]
                )
            ]
            if not missing:
                return True
            encoded = _encoded_variants(image, missing)
    except (UnidentifiedImageError, OSError, ValueError, EOFError, ThumbnailError) as error:
        log.info("thumbnail %s: cannot resize: %s", original, type(error).__name__)
        return False
    for (width, extension), data in encoded.items():
        path = output_dir / variant_path(original, width, extension)
        if not path.exists():  # atomic: beside an original already in place, a copy cut
            write_atomic(path, data, durable=False)  # short by a crash would stay
    return True


def crop_width(size: tuple[int, int]) -> int:
    """The width of the largest 16:9 crop of an image of this size."""
    width, height = size
    return min(width, height * 16 // 9)


def _encoded_variants(image: Image.Image, widths: list[int]) -> dict[tuple[int, str], bytes]:
    """Decode `image` once, at the smallest scale that still fills the widest copy (JPEG's
    draft mode decodes at 1/2, 1/4 or 1/8 directly), and encode every copy of each width.

    An image too small for any copy is still decoded whole: a truncated file is refused here,
    not served."""
    widest = max(widths, default=0)
    if widest and image.format == "JPEG":
        scale = widest / crop_width(image.size)
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    image.load()
    if not widths:
        return {}
    source = image if image.mode == "RGB" else image.convert("RGB")
    encoded = {}
    resized = source
    for width in sorted(widths, reverse=True):
        resized = _resized(source, (width, width * 9 // 16), resized)
        for extension in _EXTENSIONS_OF[width]:
            encoded[width, extension] = _encode(resized, extension)
    return encoded


def _resized(source: Image.Image, size: tuple[int, int], larger: Image.Image) -> Image.Image:
    """The 16:9 copy of `size`: `source` itself when it is that copy already (a 1280x720 JPEG
    drafted to 640x360); halved from the `larger` copy when that is twice as large (a 2x2
    average: 0.15 ms against LANCZOS's 2.3 ms for 640->320, and no softer to the eye);
    else LANCZOS from the source's centred crop."""
    box = _crop_box(source.size)
    if box == (0, 0, *source.size) and source.size == size:
        return source
    if larger.size == (2 * size[0], 2 * size[1]):
        return larger.reduce(2)
    return source.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def _crop_box(size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The centred 16:9 box (YouTube's 4:3 images carry black bars that it cuts away)."""
    width, height = size
    crop_w = min(float(width), height * 16 / 9)
    crop_h = crop_w * 9 / 16
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    return (left, top, left + crop_w, top + crop_h)


def _encode(resized: Image.Image, extension: str) -> bytes:
    out = io.BytesIO()
    if extension == "webp":
        resized.save(out, "WEBP", quality=78, method=WEBP_METHOD)
    else:
        # Baseline: the JPEG is only the fallback of browsers without WebP. Progressive and
        # optimised, a 320 px copy of a photo took 1.20 ms instead of 0.15 ms for a file 6 %
        # smaller, with the GIL held throughout (Pillow's JPEG encoder does not release it).
        resized.save(out, "JPEG", quality=82)
    return out.getvalue()


def _download_image(http: requests.Session, hosts: ImageHosts, url: str, timeout: float) -> bytes:
    try:
        return _follow(http, hosts, url, timeout)
    except requests.Timeout:
        raise ThumbnailError("timeout") from None
    except requests.RequestException as error:
        raise ThumbnailError(redact(f"connection: {type(error).__name__}")) from None


def _follow(http: requests.Session, hosts: ImageHosts, url: str, timeout: float) -> bytes:
    """GET the image, following redirects here so that each hop is checked like the first."""
    for _ in range(MAX_REDIRECTS + 1):
        check_url(hosts, url)
        with http.get(url, timeout=timeout, stream=True, allow_redirects=False) as response:
            location = response.headers.get("location") if response.is_redirect else None
            if location:
                url = urljoin(url, location)
                continue
            if response.status_code != 200:
                raise ThumbnailError(f"http {response.status_code}")
            return _read_capped(response)
    raise ThumbnailError(f"more than {MAX_REDIRECTS} redirects")


def _read_capped(response: requests.Response) -> bytes:
    """The body, read no further than MAX_BYTES (a declared larger length is not read at all)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise ThumbnailError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise ThumbnailError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def decoding_limits() -> Iterator[None]:
    """Pillow's decompression-bomb limit set to ours and its warning made an error, while we
    decode (both are process-wide, so they are set once around all the workers and put back).

    Image.open checks the size its header declares before any pixel is decoded; above the
    limit it warns, above twice the limit it raises: refusing_bombs refuses both."""
    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


@contextmanager
def refusing_bombs() -> Iterator[None]:
    """Pillow's bomb warning or error as a ThumbnailError (inside decoding_limits)."""
    try:
        yield
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as bomb:
        raise ThumbnailError(f"more than {MAX_PIXELS:,} pixels ({type(bomb).__name__})") from None


@contextmanager
def decoding_guard() -> Iterator[None]:
    """decoding_limits and refusing_bombs together, for one image decoded in this thread."""
    with decoding_limits(), refusing_bombs():
        yield


# --- where thumbnails may come from --------------------------------------------------------------

# The platforms' image hosts, as the recorded answers name them (/work/shared/fixtures/real-api):
# YouTube's i.ytimg.com (and i1..i9), yt3.ggpht.com; Facebook's scontent-*.xx.fbcdn.net,
# external-*.fbcdn.net and lookaside.fbsbx.com. A host matches itself and its subdomains.
PLATFORM_IMAGE_DOMAINS = (
    "ytimg.com",
    "ggpht.com",
    "googleusercontent.com",
    "fbcdn.net",
    "fbsbx.com",
)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class ImageHosts:
    """The hosts a thumbnail may be fetched from, and the non-public addresses allowed there.

    A private, loopback or link-local address is only ever reached when a configured endpoint
    resolves to it (the fake API on 127.0.0.1, a WordPress site on the intranet). The endpoints
    are looked up only when such an address turns up."""

    domains: tuple[str, ...] = PLATFORM_IMAGE_DOMAINS
    endpoint_hosts: tuple[str, ...] = ()

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == domain or host.endswith("." + domain) for domain in self.domains)

    def allows_address(self, address: Address) -> bool:
        return address.is_global or address in self.inside_addresses

    @cached_property
    def inside_addresses(self) -> frozenset[Address]:
        found = (address for host in self.endpoint_hosts for address in _addresses_or_none(host))
        return frozenset(address for address in found if not address.is_global)


def image_hosts(endpoints: Iterable[str]) -> ImageHosts:
    """The platforms' image hosts and the configured endpoints' hosts (a WordPress site's
    host stands for its subdomains too: media often live on cdn. or www.)."""
    hosts = [(urlsplit(url).hostname or "").lower().rstrip(".") for url in endpoints]
    hosts = [host for host in hosts if host]
    domains = [*PLATFORM_IMAGE_DOMAINS, *(host.removeprefix("www.") for host in hosts)]
    return ImageHosts(tuple(dict.fromkeys(domains)), tuple(hosts))


def configured_endpoints(config: Config) -> list[str]:
    """The API endpoints and the site the configuration names."""
    return [
        url
        for url in (
            config.youtube and config.youtube.api_endpoint,
            config.facebook and config.facebook.graph_url,
            config.website and config.website.url,
        )
        if url
    ]


def resolve(host: str, port: int) -> list[Address]:
    """Every address the host name resolves to (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _addresses_or_none(host: str) -> list[Address]:
    try:
        return resolve(host, 443)
    except (OSError, ValueError):
        return []


def checked_address(hosts: ImageHosts, host: str, port: int) -> str:
    """One address of `host` to connect to, after every address it resolves to was checked:
    a name that also resolves to an internal address is refused whole (DNS rebinding)."""
    try:
        addresses = resolve(host, port)
    except (OSError, ValueError):
        raise ThumbnailError(f"{host} does not resolve") from None
    refused = [address for address in addresses if not hosts.allows_address(address)]
    if refused or not addresses:
        raise ThumbnailError(
            f"{host} resolves to a non-public address {refused[0] if refused else ''}".rstrip()
        )
    return str(addresses[0])


class _ConnectsToCheckedAddress:
    """Mixed into urllib3's connections: connect to the address that was checked, not to a
    second lookup's answer (TLS still checks the certificate against the host name)."""

    hosts: ImageHosts = ImageHosts()
    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        self._dns_host = checked_address(self.hosts, name, self.port)
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = name


class _CheckedConnection(_ConnectsToCheckedAddress, urllib3.connection.HTTPConnection):
    pass


class _CheckedHTTPSConnection(_ConnectsToCheckedAddress, urllib3.connection.HTTPSConnection):
    pass


class CheckedAdapter(HTTPAdapter):
    """requests' adapter whose direct connections go only to addresses `hosts` allows.

    Through the operator's proxy the proxy resolves the name: there only the host name rule
    holds (and an address literal is checked before the request)."""

    def __init__(self, hosts: ImageHosts):
        self.hosts = hosts
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        plain = type("CheckedConnection", (_CheckedConnection,), {"hosts": self.hosts})
        secure = type("CheckedHTTPSConnection", (_CheckedHTTPSConnection,), {"hosts": self.hosts})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("CheckedPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
            "https": type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": secure}),
        }


def checked_session(hosts: ImageHosts, session: requests.Session | None = None) -> requests.Session:
    http = session or new_session()
    adapter = CheckedAdapter(hosts)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def check_url(hosts: ImageHosts, url: str) -> None:
    """Refuse a URL before any request: another scheme, another host, an internal literal."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ThumbnailError(f"not an http(s) URL ({parts.scheme or 'no'} scheme)")
    host = parts.hostname or ""
    if not hosts.allows_host(host):
        raise ThumbnailError(f"{host or 'no host'} is not an image host of the platforms")
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not hosts.allows_address(literal):
        raise ThumbnailError(f"{host} is a non-public address")
