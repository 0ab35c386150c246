"""The resized copies of each thumbnail: 16:9, WebP in two widths and a JPEG fallback."""

from __future__ import annotations

import os

from PIL import Image

from aggregator.thumbnails import (
    ensure_variants,
    make_variants,
    thumbnail_variants,
    variant_path,
)
from aggregator.view import ThumbnailVariant


def original(folder, name="thumbs/youtube-abc.jpg", size=(640, 480)) -> str:
    (folder / "thumbs").mkdir(exist_ok=True)
    image = Image.new("RGB", size, (200, 80, 20))
    # YouTube's 4:3 images carry black bars above and below the 16:9 picture.
    bar = (size[1] - size[0] * 9 // 16) // 2
    for y in [*range(bar), *range(size[1] - bar, size[1])]:
        for x in range(size[0]):
            image.putpixel((x, y), (0, 0, 0))
    image.save(folder / name, "JPEG")
    return name


def test_variants_are_16_to_9_webp_in_two_widths_and_a_jpeg_fallback(tmp_path):
    name = original(tmp_path)

    assert make_variants(tmp_path, name)

    variants = thumbnail_variants(tmp_path, name)
    assert variants == (
        ThumbnailVariant("thumbs/youtube-abc.w320.webp", 320, 180, "image/webp"),
        ThumbnailVariant("thumbs/youtube-abc.w640.webp", 640, 360, "image/webp"),
        ThumbnailVariant("thumbs/youtube-abc.w320.jpg", 320, 180, "image/jpeg"),
    )
    for variant in variants:
        with Image.open(tmp_path / variant.path) as image:
            assert image.size == (variant.width, variant.height)
            assert image.format == {"image/webp": "WEBP", "image/jpeg": "JPEG"}[variant.mime]
            top_row = image.convert("RGB").getpixel((variant.width // 2, 1))
            assert top_row[0] > 150  # the black bar was cropped away


def test_no_variant_is_ever_blown_up(tmp_path):
    """Graph's `picture` is about 160 px (video_node_format_thumbnails.json: p160x160), and
    YouTube's `high` is 480x360 with black bars: a 16:9 crop 480 px wide."""
    tiny = original(tmp_path, "thumbs/facebook-1.jpg", size=(160, 90))
    high = original(tmp_path, "thumbs/youtube-high.jpg", size=(480, 360))
    narrow = original(tmp_path, "thumbs/website-1.jpg", size=(700, 300))  # crop: 533 wide

    for name in (tiny, high, narrow):
        make_variants(tmp_path, name)

    assert thumbnail_variants(tmp_path, tiny) == ()
    assert [v.width for v in thumbnail_variants(tmp_path, high)] == [320, 320]
    assert [v.width for v in thumbnail_variants(tmp_path, narrow)] == [320, 320]


def test_making_variants_again_leaves_existing_files_alone(tmp_path):
    name = original(tmp_path)
    make_variants(tmp_path, name)
    small = tmp_path / variant_path(name, 320, "webp")
    os.utime(small, (1, 1))

    make_variants(tmp_path, name)

    assert small.stat().st_mtime == 1


def test_ensure_variants_makes_only_the_missing_ones(tmp_path):
    done, missing = original(tmp_path, "thumbs/a.jpg"), original(tmp_path, "thumbs/b.jpg")
    make_variants(tmp_path, done)

    assert ensure_variants(tmp_path, [done, missing, "thumbs/gone.jpg"]) == 1
    assert len(thumbnail_variants(tmp_path, missing)) == 3


def test_an_unreadable_original_gets_no_variants(tmp_path):
    (tmp_path / "thumbs").mkdir()
    (tmp_path / "thumbs" / "broken.jpg").write_bytes(b"not an image")

    assert not make_variants(tmp_path, "thumbs/broken.jpg")
    assert thumbnail_variants(tmp_path, "thumbs/broken.jpg") == ()
