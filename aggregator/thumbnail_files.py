"""The resized copies of a thumbnail, by name: what the renderer needs, without Pillow or
the HTTP stack (`thumbnails` makes the copies)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from aggregator.view import ThumbnailVariant

THUMBS_FOLDER = "thumbs"
PROGRESS_LABEL = "Vorschaubilder"  # what a terminal shows while thumbnails are copied
SMALL_WIDTH, LARGE_WIDTH = 320, 640
WEBP, JPEG = ("webp", "image/webp"), ("jpg", "image/jpeg")
VARIANTS = ((SMALL_WIDTH, WEBP), (LARGE_WIDTH, WEBP), (SMALL_WIDTH, JPEG))
# The original's extension by the format Pillow reads from its bytes (the URL may say nothing).
ORIGINAL_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# A platform id becomes part of a file name: YouTube's are 11 of these, Facebook's digits and
# "_", WordPress's digits. Anything else is refused, not rewritten (two ids must not collide).
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def safe_part(part: str) -> bool:
    """Whether a source name or platform id may be part of a file name as it is."""
    return _SAFE_ID.fullmatch(part) is not None


def safe_stem(source: str, platform_id: str) -> str | None:
    """The thumbnail's file name without folder and extension, `youtube-ID`; None for an id
    that is no safe part of a file name."""
    if safe_part(source) and safe_part(platform_id):
        return f"{source}-{platform_id}"
    return None


def variant_path(original: str, width: int, extension: str) -> str:
    """thumbs/youtube-ID.jpg -> thumbs/youtube-ID.w320.webp (a stem never holds a dot)."""
    return f"{original.rsplit('.', 1)[0]}.w{width}.{extension}"


def thumbnail_variants(
    output_dir: Path, original: str, exists: Callable[[str], bool] | None = None
) -> tuple[ThumbnailVariant, ...]:
    """The resized copies of `original` that exist in `output_dir` (asked of `exists`, a
    `ThumbnailFiles.exists`, when given)."""
    is_file = exists or (lambda path: (output_dir / path).is_file())
    found = []
    for width, (extension, mime) in VARIANTS:
        path = variant_path(original, width, extension)
        if is_file(path):
            found.append(ThumbnailVariant(path, width, width * 9 // 16, mime))
    return tuple(found)


class ThumbnailFiles:
    """Which files the output folder's thumbs/ holds, read once: a render asks about four
    files per card, and one directory listing costs less than thousands of stat calls."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self._names: frozenset[str] | None = None

    def exists(self, path: str) -> bool:
        """Whether `path`, relative to the output folder, is a file there."""
        folder, _, name = path.rpartition("/")
        if folder != THUMBS_FOLDER:
            return (self.output_dir / path).is_file()
        if self._names is None:
            self._names = self._list(self.output_dir / THUMBS_FOLDER)
        return name in self._names

    def original(self, stem: str) -> str | None:
        """The path of the original copied under `stem`, whatever its format; None when none
        is there. The original is written last, whole: it is there once its copies are."""
        for extension in ORIGINAL_EXTENSIONS.values():
            path = f"{THUMBS_FOLDER}/{stem}.{extension}"
            if self.exists(path):
                return path
        return None

    @staticmethod
    def _list(folder: Path) -> frozenset[str]:
        try:
            with os.scandir(folder) as entries:
                return frozenset(entry.name for entry in entries if entry.is_file())
        except OSError:
            return frozenset()
