"""Copy thumbnails into the output directory, so the page never hotlinks Google or Meta.

Facebook's picture URLs are signed and expire; a copy taken at fetch time keeps working.
Beside each copy go the sizes the grid shows, cropped to 16:9 (YouTube's 4:3 images carry
black bars that the crop removes): `thumbs/youtube-ID.w320.webp`, `.w640.webp` (when the
original is wide enough) and `.w320.jpg`, the fallback for browsers without WebP.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import requests
from PIL import Image, ImageOps, UnidentifiedImageError

from aggregator import progress
from aggregator.errors import redact
from aggregator.files import write_atomic
from aggregator.retry import RetryPolicy
from aggregator.sources.http import new_session
from aggregator.view import ThumbnailVariant

log = logging.getLogger(__name__)

THUMBS_DIR = "thumbs"
MAX_BYTES = 8 * 1024 * 1024
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_MIN_SECONDS_LEFT = 5.0

SMALL_WIDTH, LARGE_WIDTH = 320, 640
_WEBP, _JPEG = ("webp", "image/webp"), ("jpg", "image/jpeg")
_VARIANTS = ((SMALL_WIDTH, _WEBP), (LARGE_WIDTH, _WEBP), (SMALL_WIDTH, _JPEG))


@dataclass(frozen=True)
class ThumbnailWanted:
    item_id: int
    source: str
    platform_id: str
    url: str


class ThumbnailError(Exception):
    pass


def thumbnail_stem(source: str, platform_id: str) -> str:
    return f"{source}-{re.sub(r'[^A-Za-z0-9_-]', '_', platform_id)}"


def download_thumbnails(
    wanted: list[ThumbnailWanted],
    output_dir: Path,
    policy: RetryPolicy,
    session: requests.Session | None = None,
) -> dict[int, str]:
    """Fetch each image once; return item id -> file name relative to `output_dir`.

    A failed image is logged and left for the next run: the page shows a placeholder meanwhile.
    """
    stored: dict[int, str] = {}
    http = session or new_session()
    with progress.counter("Vorschaubilder", total=len(wanted)) as shown:
        for thumb in wanted:
            if policy.remaining() < _MIN_SECONDS_LEFT:
                log.info("thumbnails: time budget spent, %d left for the next run", len(wanted))
                break
            shown.advance()
            try:
                data, extension = _download_image(http, thumb.url, policy.request_timeout())
            except ThumbnailError as error:
                log.info("thumbnail %s:%s: %s", thumb.source, thumb.platform_id, error)
                continue
            name = f"{THUMBS_DIR}/{thumbnail_stem(thumb.source, thumb.platform_id)}.{extension}"
            write_atomic(output_dir / name, data)
            make_variants(output_dir, name)
            stored[thumb.item_id] = name
    return stored


def variant_path(original: str, width: int, extension: str) -> str:
    """thumbs/youtube-ID.jpg -> thumbs/youtube-ID.w320.webp (a stem never holds a dot)."""
    return f"{original.rsplit('.', 1)[0]}.w{width}.{extension}"


def thumbnail_variants(output_dir: Path, original: str) -> tuple[ThumbnailVariant, ...]:
    """The resized copies of `original` that exist in `output_dir`."""
    found = []
    for width, (extension, mime) in _VARIANTS:
        path = variant_path(original, width, extension)
        if (output_dir / path).is_file():
            found.append(ThumbnailVariant(path, width, width * 9 // 16, mime))
    return tuple(found)


def ensure_variants(output_dir: Path, originals: list[str]) -> int:
    """Make the resized copies that are missing (thumbnails copied by an older version);
    return how many originals needed them. Cheap when all are there: two stat calls each."""
    made = 0
    for original in originals:
        needed = [variant_path(original, SMALL_WIDTH, ext) for ext, _ in (_WEBP, _JPEG)]
        if all((output_dir / path).is_file() for path in needed):
            continue
        if (output_dir / original).is_file() and make_variants(output_dir, original):
            # An original narrower than 320 px gets none (and is opened again next time).
            made += all((output_dir / path).is_file() for path in needed)
    return made


def make_variants(output_dir: Path, original: str) -> bool:
    """Write the missing 16:9 copies of `original`; False when it cannot be read as an image."""
    try:
        with Image.open(output_dir / original) as image:
            # The header's size says which copies are due; an image too small for any (or
            # with all of them written) is not decoded: `render` asks again every time.
            # Never blown up: a copy wider than the 16:9 crop would only be blurred, and the
            # browser can scale the original itself (the page then shows it).
            due = [
                (width, extension, output_dir / variant_path(original, width, extension))
                for width, (extension, _) in _VARIANTS
                if width <= crop_width(image.size)
            ]
            missing = [
                (width, extension, path) for width, extension, path in due if not path.exists()
            ]
            if not missing:
                return True
            image.load()
            source = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        log.info("thumbnail %s: cannot resize: %s", original, type(error).__name__)
        return False
    for width, extension, path in missing:
        write_atomic(path, _encode(source, width, extension))
    return True


def crop_width(size: tuple[int, int]) -> int:
    """The width of the largest 16:9 crop of an image of this size."""
    width, height = size
    return min(width, height * 16 // 9)


def _encode(source: Image.Image, width: int, extension: str) -> bytes:
    resized = ImageOps.fit(source, (width, width * 9 // 16), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if extension == "webp":
        resized.save(out, "WEBP", quality=78, method=4)
    else:
        resized.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()


def _download_image(http: requests.Session, url: str, timeout: float) -> tuple[bytes, str]:
    if not url.startswith(("https://", "http://")):
        raise ThumbnailError("not an http(s) URL")
    try:
        with http.get(url, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise ThumbnailError(f"http {response.status_code}")
            data = _read_capped(response)
    except requests.Timeout:
        raise ThumbnailError("timeout") from None
    except requests.RequestException as error:
        raise ThumbnailError(redact(f"connection: {type(error).__name__}")) from None
    return data, _image_extension(data)


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise ThumbnailError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def _image_extension(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            image_format = image.format or ""
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ThumbnailError("not an image") from None
    if image_format not in _EXTENSIONS:
        raise ThumbnailError(f"unsupported image format {image_format or 'unknown'}")
    return _EXTENSIONS[image_format]
