"""Validate and decode untrusted image bytes into an upright RGB image of bounded size."""

from __future__ import annotations

import io
import math
import re
import threading
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from snapmode.logs import get_logger
from snapmode.pipeline.box import Box
from snapmode.pipeline.errors import ImageRejected

log = get_logger(__name__)

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


# Bytes per pixel that Pillow keeps in memory for a decoded image of each mode (multi-band 8-bit modes use 4).
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_DEFAULT_STORED_BYTES = 4  # RGB, RGBA, CMYK, YCbCr, LA, PA, I, F, ...
# Bytes handed to a progressive JPEG's decoder at a time: each of its scans walks every block, so a few bytes can
# cost milliseconds; small chunks let a stopped decode end soon after its time limit (others read 64 KiB at a time).
_PROGRESSIVE_CHUNK = 1024


# In a JPEG's entropy-coded data a 0xFF byte is followed by 0x00 (stuffing), a restart marker or more 0xFF fill;
# any other byte after it is the next marker.
_NEXT_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")


def jpeg_scans(data: bytes, stop_after: int) -> int:
    """How many scans (SOS segments) a JPEG holds, counting no further than `stop_after` + 1: segments are skipped
    by their length (an EXIF thumbnail's scans are not counted) and entropy-coded data up to the next marker."""
    at, scans = 2, 0  # after SOI
    while at + 4 <= len(data) and scans <= stop_after:
        if data[at] != 0xFF:
            break  # not a marker where one belongs: the decoder will say what is wrong
        marker = data[at + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # fill byte, or a marker without a length
            at += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9:  # EOI
            break
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xDA:
            scans += 1
            found = _NEXT_MARKER.search(data, at)
            if found is None:
                break
            at = found.start()
    return scans


class DecodeStopped(Exception):
    """Raised inside a decode that ran past its time limit, at its next read or strip, to end it early."""


class _StoppableBytes(io.BytesIO):
    """The encoded bytes, refusing to hand out more once `stop` is set: Pillow reads them chunk by chunk."""

    def __init__(self, data: bytes, stop: threading.Event) -> None:
        super().__init__(data)
        self.stop = stop

    def read(self, size: int | None = -1, /) -> bytes:
        if self.stop.is_set():
            raise DecodeStopped("decode time limit passed")
        return super().read(size)


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 256
    max_decode_bytes: int = 160_000_000  # memory one decode may take, from the header (pixels x stored bytes)
    concurrent_decodes: int = 2  # decodes at once in this process; more wait for a slot
    slot_wait_s: float = 10.0  # the longest a decode waits for a slot before it is refused as busy (retryable)
    time_limit_s: float | None = 10.0  # a decode that runs longer is refused (`decode_timeout`); None: no limit
    max_jpeg_scans: int = 100  # each scan of a progressive JPEG walks every block: more are refused (`scan_bomb`)


def decode_footprint(mode: str, width: int, height: int) -> int:
    """Bytes that Pillow allocates for the decoded image of this header; conversion happens after reduction."""
    return width * height * _STORED_BYTES.get(mode, _DEFAULT_STORED_BYTES)


@cache
def decode_slots(count: int) -> threading.BoundedSemaphore:
    """The process-wide slots of `count` concurrent decodes (one semaphore per count)."""
    return threading.BoundedSemaphore(count)


def sniff_format(data: bytes) -> str | None:
    """The image format that the leading bytes announce, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt in _SIGNATURES:
        if data.startswith(magic):
            return fmt
    return None


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits(), box: Box | None = None) -> Image.Image:
    """Decode `data` to an RGB image no larger than `limits.max_side`, upright per EXIF; with `box`, only that region
    of the upright photo, decoded at the resolution that keeps it `limits.max_side` pixels.

    Raises `ImageRejected` for empty, oversized, non-image, corrupt or decompression-bomb input. The pixel count and
    the memory of the decoded image are checked from the header, before any pixel is decoded; at most
    `limits.concurrent_decodes` decodes run at once in a process, and one that waits longer than `slot_wait_s` for
    its turn is refused as `busy` (retryable). One that runs longer than `time_limit_s` is refused as
    `decode_timeout`: it is told to stop, and keeps its slot until it has (so the memory bound holds).
    """
    if not data:
        raise ImageRejected("empty", "no bytes")
    if len(data) > limits.max_bytes:
        raise ImageRejected("too_large", f"{len(data)} bytes > limit {limits.max_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected("not_an_image", f"unrecognised content starting with {data[:12]!r}")
    stop = threading.Event()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(_StoppableBytes(data, stop), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("pixel_bomb", str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected("corrupt", f"{fmt} header unreadable: {exc}") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected("corrupt", f"invalid size {width}x{height}")
    if width * height > limits.max_pixels:
        raise ImageRejected("pixel_bomb", f"{width}x{height} exceeds {limits.max_pixels} pixels")
    footprint = decode_footprint(image.mode, width, height)
    if footprint > limits.max_decode_bytes:
        raise ImageRejected("pixel_bomb", f"{width}x{height} {image.mode} takes {footprint} bytes decoded > limit "
                                          f"{limits.max_decode_bytes}")
    if fmt == "JPEG" and jpeg_scans(data, limits.max_jpeg_scans) > limits.max_jpeg_scans:
        raise ImageRejected("scan_bomb", f"{width}x{height} JPEG with more than {limits.max_jpeg_scans} scans")
    if fmt == "JPEG" and image.info.get("progressive"):
        image.decodermaxblock = _PROGRESSIVE_CHUNK
    slots = decode_slots(limits.concurrent_decodes)
    if not slots.acquire(timeout=limits.slot_wait_s):
        raise ImageRejected("busy", f"no decode slot free within {limits.slot_wait_s} s", retryable=True)
    if limits.time_limit_s is None:
        try:
            return _decode(image, fmt, limits.max_side, stop, box)
        finally:
            slots.release()
    return _decode_within(image, fmt, limits, stop, slots, box)


def _decode_within(image: Image.Image, fmt: str, limits: DecodeLimits, stop: threading.Event,
                   slots: threading.BoundedSemaphore, box: Box | None = None) -> Image.Image:
    """`_decode` in a thread of its own, waited for at most `limits.time_limit_s`: the caller (a request, a fetch
    worker) is answered at the limit whatever the decoder does; the decode holds `slots` until it has ended."""
    done = threading.Event()
    outcome: list[Image.Image | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_decode(image, fmt, limits.max_side, stop, box))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome.append(exc)
        finally:
            slots.release()
            done.set()

    size, mode = f"{image.width}x{image.height}", image.mode  # the header's, before the decode shrinks them
    try:
        threading.Thread(target=work, name="snapmode-decode", daemon=True).start()
    except RuntimeError:  # no thread to be had: the slot is not lost
        slots.release()
        raise
    if not done.wait(limits.time_limit_s):
        stop.set()
        log.warning("decode.timeout", format=fmt, size=size, mode=mode, limit_s=limits.time_limit_s)
        raise ImageRejected("decode_timeout", f"{fmt} {size} {mode} took longer than {limits.time_limit_s} s to decode")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _decode(image: Image.Image, fmt: str, side: int, stop: threading.Event, box: Box | None = None) -> Image.Image:
    """Load, shrink to about twice `side` (or what keeps `box` that large) before any conversion (so no full-size
    copy is made), upright, cropped to `box`, RGB."""
    need = side if box is None else math.ceil(side / box.smaller_side)
    try:
        if fmt == "JPEG":  # let libjpeg decode at a reduced scale when the image is much larger than needed
            image.draft("RGB", (need, need))
        image.load()
        if (factor := max(image.size) // (2 * need)) >= 2:
            image = _reduce(image, factor, stop)
        image = ImageOps.exif_transpose(image)
        if box is not None:
            image = image.crop(box.pixels(*image.size))
        image = to_rgb(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected("corrupt", f"{fmt} data unreadable: {exc}") from exc
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def _reduce(image: Image.Image, factor: int, stop: threading.Event, strip_rows: int = 256) -> Image.Image:
    """Box-reduce by an integer factor, a strip of rows at a time: Pillow's own `reduce` makes a full-size
    premultiplied copy of an image with alpha, and refuses 16-bit modes (a box resize does those). Palette and
    1-bit strips are expanded first, as they cannot be averaged."""
    mode = {"1": "L", "P": "RGBA" if "transparency" in image.info else "RGB"}.get(image.mode, image.mode)
    width, height = image.width // factor * factor, image.height // factor * factor
    out = Image.new(mode, (width // factor, height // factor))
    rows = factor * max(1, strip_rows // factor)
    for top in range(0, height, rows):
        if stop.is_set():
            raise DecodeStopped("decode time limit passed")
        strip = image.crop((0, top, width, min(top + rows, height)))
        strip = strip.convert(mode) if strip.mode != mode else strip
        try:
            small = strip.reduce(factor)
        except ValueError:
            small = strip.resize((strip.width // factor, strip.height // factor), Image.Resampling.BOX)
        out.paste(small, (0, top // factor))
    return out


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode (palette, alpha, CMYK, 16-bit, float) to 8-bit RGB; transparency becomes white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.array(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        array *= 255.0 / top
        image = Image.fromarray(np.clip(array, 0, 255, out=array).astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image
