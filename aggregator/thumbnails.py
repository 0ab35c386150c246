"""Copy thumbnails into the output directory, so the page never hotlinks Google or Meta.

Facebook's picture URLs are signed and expire; a copy taken at fetch time keeps working.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import requests
from PIL import Image, UnidentifiedImageError

from aggregator.errors import redact
from aggregator.files import write_atomic
from aggregator.retry import RetryPolicy

log = logging.getLogger(__name__)

THUMBS_DIR = "thumbs"
MAX_BYTES = 8 * 1024 * 1024
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_MIN_SECONDS_LEFT = 5.0


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
    http = session or requests.Session()
    for thumb in wanted:
        if policy.remaining() < _MIN_SECONDS_LEFT:
            log.info("thumbnails: time budget spent, %d left for the next run", len(wanted))
            break
        try:
            data, extension = _download_image(http, thumb.url, policy.request_timeout())
        except ThumbnailError as error:
            log.info("thumbnail %s:%s: %s", thumb.source, thumb.platform_id, error)
            continue
        name = f"{THUMBS_DIR}/{thumbnail_stem(thumb.source, thumb.platform_id)}.{extension}"
        write_atomic(output_dir / name, data)
        stored[thumb.item_id] = name
    return stored


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
