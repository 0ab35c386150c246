"""Generated thumbnails: a JPEG whose colour and size follow from its name."""

from __future__ import annotations

import colorsys
import hashlib
import io
import re
from functools import lru_cache

from PIL import Image, ImageDraw

from aggregator.fakeapi.world import YOUTUBE_THUMBNAIL_SIZES

_YOUTUBE_VARIANT = re.compile(r"-(?P<variant>default|mqdefault|hqdefault|sddefault|maxresdefault)$")
_SQUARE = re.compile(r"-s(?P<px>\d{2,4})$")
# Facebook: "-p160x160" is a 16:9 picture fitted into that box, "-n1280x720" a native size.
_BOX = re.compile(r"-p(?P<px>\d{2,4})x\d{2,4}$")
_NATIVE = re.compile(r"-n(?P<w>\d{2,4})x(?P<h>\d{2,4})$")
_MAX_SIDE = 2048
_VARIANT_SIZES = {variant: (w, h) for variant, w, h in YOUTUBE_THUMBNAIL_SIZES.values()}


def thumbnail_size(name: str) -> tuple[int, int]:
    """yt-ID-hqdefault → 480x360 (each i.ytimg.com variant its own size), ...-s88 → 88x88
    (channel avatars), fb-ID-p160x160 → 160x90, fb-ID-n1280x720 → 1280x720, anything else
    640x360."""
    if match := _YOUTUBE_VARIANT.search(name):
        return _VARIANT_SIZES[match["variant"]]
    if match := _NATIVE.search(name):
        return min(int(match["w"]), _MAX_SIDE), min(int(match["h"]), _MAX_SIDE)
    if match := _BOX.search(name):
        px = min(int(match["px"]), _MAX_SIDE)
        return px, px * 9 // 16
    if match := _SQUARE.search(name):
        px = min(int(match["px"]), 1024)
        return px, px
    return 640, 360


@lru_cache(maxsize=512)
def render_thumbnail(name: str) -> bytes:
    width, height = thumbnail_size(name)
    digest = hashlib.sha256(name.encode()).digest()
    hue = digest[0] / 255
    background = _rgb(hue, 0.45, 0.55)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    # A lighter band and a portrait's silhouette, placed by the name, so neighbouring
    # thumbnails are told apart at a glance (and no play symbol competes with the page's).
    band = int(height * (0.2 + digest[1] / 255 * 0.4))
    draw.rectangle((0, band, width, band + height // 6), fill=_rgb(hue, 0.3, 0.75))
    figure = _rgb(hue, 0.55, 0.3)
    cx = int(width * (0.25 + digest[2] / 255 * 0.5))
    r = max(3, height // 7)
    draw.ellipse((cx - r, height * 0.3, cx + r, height * 0.3 + 2 * r), fill=figure)
    draw.ellipse((cx - 2.2 * r, height * 0.3 + 2.3 * r, cx + 2.2 * r, height * 1.3), fill=figure)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
    return int(red * 255), int(green * 255), int(blue * 255)
