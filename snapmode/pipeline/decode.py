"""Validate and decode untrusted image bytes into an upright RGB image of bounded size."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from snapmode.pipeline.errors import ImageRejected

# Magic numbers of the formats we accept; anything else is refused before Pillow sees it.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 256


def sniff_format(data: bytes) -> str | None:
    """The image format that the leading bytes announce, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt in _SIGNATURES:
        if data.startswith(magic):
            return fmt
    return None


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits()) -> Image.Image:
    """Decode `data` to an RGB image no larger than `limits.max_side`, upright per EXIF.

    Raises `ImageRejected` for empty, oversized, non-image, corrupt or decompression-bomb input. The pixel count is
    checked from the header, before any pixel is decoded.
    """
    if not data:
        raise ImageRejected("empty", "no bytes")
    if len(data) > limits.max_bytes:
        raise ImageRejected("too_large", f"{len(data)} bytes > limit {limits.max_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected("not_an_image", f"unrecognised content starting with {data[:12]!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("pixel_bomb", str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected("corrupt", f"{fmt} header unreadable: {exc}") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected("corrupt", f"invalid size {width}x{height}")
    if width * height > limits.max_pixels:
        raise ImageRejected("pixel_bomb", f"{width}x{height} exceeds {limits.max_pixels} pixels")
    try:
        if fmt == "JPEG":  # let libjpeg decode at a reduced scale when the image is much larger than needed
            image.draft("RGB", (limits.max_side, limits.max_side))
        image.load()
        image = ImageOps.exif_transpose(image)
        image = to_rgb(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected("corrupt", f"{fmt} data unreadable: {exc}") from exc
    image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode (palette, alpha, CMYK, 16-bit, float) to 8-bit RGB; transparency becomes white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        image = Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image
