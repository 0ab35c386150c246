"""The resized copies of a thumbnail, by name: what the renderer needs, without Pillow or
the HTTP stack (`thumbnails` makes the copies)."""

from __future__ import annotations

from pathlib import Path

from aggregator.view import ThumbnailVariant

PROGRESS_LABEL = "Vorschaubilder"  # what a terminal shows while thumbnails are copied
SMALL_WIDTH, LARGE_WIDTH = 320, 640
WEBP, JPEG = ("webp", "image/webp"), ("jpg", "image/jpeg")
VARIANTS = ((SMALL_WIDTH, WEBP), (LARGE_WIDTH, WEBP), (SMALL_WIDTH, JPEG))


def variant_path(original: str, width: int, extension: str) -> str:
    """thumbs/youtube-ID.jpg -> thumbs/youtube-ID.w320.webp (a stem never holds a dot)."""
    return f"{original.rsplit('.', 1)[0]}.w{width}.{extension}"


def thumbnail_variants(output_dir: Path, original: str) -> tuple[ThumbnailVariant, ...]:
    """The resized copies of `original` that exist in `output_dir`."""
    found = []
    for width, (extension, mime) in VARIANTS:
        path = variant_path(original, width, extension)
        if (output_dir / path).is_file():
            found.append(ThumbnailVariant(path, width, width * 9 // 16, mime))
    return tuple(found)
