"""Image files in the awkward shapes real uploads come in: EXIF-rotated, CMYK, palette, 16-bit, alpha, broken."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

RED, BLUE = (220, 30, 30), (30, 30, 220)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def halves(size: tuple[int, int] = (80, 40), left: tuple[int, int, int] = RED,
           right: tuple[int, int, int] = BLUE) -> Image.Image:
    """An RGB image whose left half is `left` and right half is `right`."""
    image = Image.new("RGB", size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def exif_rotated_jpeg(orientation: int = 6) -> bytes:
    """80x40 stored pixels, red left and blue right, tagged to be shown rotated (6: 90 degrees clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(halves(), "JPEG", exif=exif.tobytes(), quality=95)


def cmyk_jpeg() -> bytes:
    return encode(halves().convert("CMYK"), "JPEG", quality=95)


def palette_png_with_transparency() -> bytes:
    """A palette PNG: index 0 fully transparent on the left half, index 1 opaque red on the right."""
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, *RED] + [0] * (256 - 2) * 3)
    image.paste(1, (20, 0, 40, 40))
    return encode(image, "PNG", transparency=0)


def png_16bit() -> bytes:
    """A 16-bit greyscale gradient from 0 to 65535 across the width."""
    row = np.linspace(0, 65535, 64).astype(np.uint16)
    return encode(Image.fromarray(np.tile(row, (32, 1))), "PNG")


def rgba_png() -> bytes:
    """Left half fully transparent, right half opaque blue."""
    image = Image.new("RGBA", (40, 40), (*BLUE, 255))
    image.paste((0, 0, 0, 0), (0, 0, 20, 40))
    return encode(image, "PNG")


def truncated_jpeg() -> bytes:
    data = encode(Image.effect_noise((128, 128), 60).convert("RGB"), "JPEG", quality=90)
    return data[: len(data) // 2]


HTML_PAGE = b"<!doctype html><html><head><title>Not found</title></head><body>404</body></html>"


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def progressive_scan_bomb(width: int = 4000, height: int = 4000, scans: int = 2000) -> bytes:
    """A grayscale progressive JPEG whose scans are all the same empty DC scan: 10 bytes each, and libjpeg walks
    every block of the image for each (4000 x 4000 x 2000 scans: 20 KB that take about 6 s to decode)."""
    quantisation = _segment(0xDB, b"\x00" + bytes([1] * 64))
    frame = _segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")  # SOF2: progressive
    huffman = _segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")  # DC table 0: one code, for category 0
    scan = _segment(0xDA, b"\x01\x01\x00\x00\x00\x00")  # SOS: component 1, DC only, first pass
    return b"\xff\xd8" + quantisation + frame + huffman + scan * scans + b"\xff\xd9"
