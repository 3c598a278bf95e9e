"""Decoding untrusted bytes: refusals with the right reason, and every odd but valid image made upright RGB."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from snapmode.pipeline.decode import DecodeLimits, decode_image, decode_slots, jpeg_scans, sniff_format, to_rgb
from snapmode.pipeline.errors import ImageRejected
from tests.conftest import jpeg_bytes, png_bomb_bytes
from tests.imagefiles import (BLUE, HTML_PAGE, RED, cmyk_jpeg, encode, exif_rotated_jpeg, halves,
                              palette_png_with_transparency, png_16bit, progressive_scan_bomb, rgba_png,
                              truncated_jpeg)


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(int(p) - c) <= tolerance for p, c in zip(pixel, colour))


def reason_of(data: bytes, limits: DecodeLimits = DecodeLimits()) -> str:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data, limits)
    return caught.value.reason


@pytest.mark.parametrize(("data", "fmt"), [
    (jpeg_bytes(), "JPEG"), (encode(halves(), "PNG"), "PNG"), (encode(halves(), "GIF"), "GIF"),
    (encode(halves(), "BMP"), "BMP"), (encode(halves(), "TIFF"), "TIFF"), (encode(halves(), "WEBP"), "WEBP"),
    (HTML_PAGE, None), (b"", None), (b"RIFF\x00\x00\x00\x00WAVE", None),
])
def test_sniff_format_reads_magic_numbers(data: bytes, fmt: str | None) -> None:
    assert sniff_format(data) == fmt


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"])
def test_every_accepted_format_decodes_to_rgb(fmt: str) -> None:
    image = decode_image(encode(halves(), fmt))
    assert image.mode == "RGB" and image.size == (80, 40)
    assert near(image.getpixel((5, 20)), RED) and near(image.getpixel((75, 20)), BLUE)


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (HTML_PAGE, "not_an_image"),
    (b"just some text\n" * 10, "not_an_image"),
    (truncated_jpeg(), "corrupt"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt"),
    (png_bomb_bytes(), "pixel_bomb"),
])
def test_bad_input_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    assert reason_of(data) == reason


@pytest.mark.timeout(10)
def test_pixel_bomb_is_refused_from_the_header_alone() -> None:
    # 50,000 x 50,000 RGB would need 7.5 GB decoded; the refusal must come before any pixel is read.
    with pytest.raises(ImageRejected) as caught:
        decode_image(png_bomb_bytes(50_000, 50_000))
    assert caught.value.reason == "pixel_bomb"
    assert "50000" in str(caught.value)


def test_pixel_limit_comes_from_the_limits() -> None:
    data = encode(halves((100, 100)), "PNG")
    assert reason_of(data, DecodeLimits(max_pixels=99 * 100)) == "pixel_bomb"
    assert decode_image(data, DecodeLimits(max_pixels=100 * 100)).size == (100, 100)


def test_byte_limit_comes_from_the_limits() -> None:
    data = jpeg_bytes(size=(64, 64))
    assert reason_of(data, DecodeLimits(max_bytes=len(data) - 1)) == "too_large"
    assert decode_image(data, DecodeLimits(max_bytes=len(data))).size == (64, 64)


def test_exif_orientation_6_is_turned_upright() -> None:
    image = decode_image(exif_rotated_jpeg(6))
    # Stored 80x40 with red on the left; shown rotated 90 degrees clockwise the red half is on top.
    assert image.size == (40, 80)
    assert near(image.getpixel((20, 5)), RED) and near(image.getpixel((20, 75)), BLUE)


def test_exif_orientation_3_is_turned_upside_down() -> None:
    image = decode_image(exif_rotated_jpeg(3))
    assert image.size == (80, 40)
    assert near(image.getpixel((5, 20)), BLUE) and near(image.getpixel((75, 20)), RED)


def test_cmyk_jpeg_becomes_rgb() -> None:
    image = decode_image(cmyk_jpeg())
    assert image.mode == "RGB"
    assert near(image.getpixel((5, 20)), RED, 60) and near(image.getpixel((75, 20)), BLUE, 60)


def test_palette_transparency_becomes_white() -> None:
    image = decode_image(palette_png_with_transparency())
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == (255, 255, 255) and image.getpixel((35, 5)) == RED


def test_rgba_transparency_becomes_white() -> None:
    image = decode_image(rgba_png())
    assert image.getpixel((5, 5)) == (255, 255, 255) and image.getpixel((35, 5)) == BLUE


def test_16_bit_png_is_scaled_to_8_bits() -> None:
    image = decode_image(png_16bit())
    assert image.mode == "RGB" and image.size == (64, 32)
    assert image.getpixel((0, 0)) == (0, 0, 0) and image.getpixel((63, 0)) == (255, 255, 255)
    row = np.asarray(image)[0, :, 0].astype(int)
    assert (np.diff(row) >= 0).all()  # the gradient survives


def test_large_images_are_shrunk_to_max_side() -> None:
    image = decode_image(jpeg_bytes(size=(1200, 600)), DecodeLimits(max_side=128))
    assert max(image.size) == 128 and image.size[0] == 2 * image.size[1]


@pytest.mark.parametrize("mode", ["L", "LA", "I", "F", "1", "P"])
def test_to_rgb_handles_every_mode(mode: str) -> None:
    image = Image.new("L", (8, 8), 128).convert(mode)
    assert to_rgb(image).mode == "RGB"


def test_decoded_memory_is_bounded_from_the_header() -> None:
    """A header announcing an image whose decoded pixels exceed the memory limit is refused unread."""
    with pytest.raises(ImageRejected) as refused:  # an RGB header: Pillow keeps 4 bytes a pixel
        decode_image(png_bomb_bytes(4000, 4000), DecodeLimits(max_decode_bytes=32_000_000))
    assert refused.value.reason == "pixel_bomb" and "64000000 bytes decoded" in refused.value.detail


def test_a_decode_waits_for_a_slot_then_is_refused_as_busy() -> None:
    limits = DecodeLimits(concurrent_decodes=1, slot_wait_s=0.2)
    slots = decode_slots(1)
    assert slots.acquire(timeout=5)  # another request is decoding
    try:
        with pytest.raises(ImageRejected) as refused:
            decode_image(jpeg_bytes(), limits)
        assert refused.value.reason == "busy" and refused.value.retryable
    finally:
        slots.release()
    assert decode_image(jpeg_bytes(), limits).mode == "RGB"  # the slot is free again


def test_a_decode_past_its_time_limit_is_refused_and_stops_soon_after() -> None:
    """A 20 KB progressive JPEG of 2,000 empty scans takes seconds to decode: the caller is answered at the limit,
    and the decode, told to stop, gives its slot back at its next chunk of input."""
    limits = DecodeLimits(concurrent_decodes=5, time_limit_s=0.5, max_jpeg_scans=10_000)  # slots of their own
    slots = decode_slots(5)
    started = time.perf_counter()
    with pytest.raises(ImageRejected) as refused:
        decode_image(progressive_scan_bomb(), limits)
    answered = time.perf_counter() - started
    for _ in range(5):  # every slot comes back: the stopped decode released its own
        assert slots.acquire(timeout=10)
    stopped = time.perf_counter() - started
    for _ in range(5):
        slots.release()
    print(f"\nscan bomb, limit 0.5 s: refused after {answered:.2f} s, its decode ended after {stopped:.2f} s")
    assert refused.value.reason == "decode_timeout" and not refused.value.retryable
    assert "longer than 0.5 s" in refused.value.detail
    assert answered < 2.0 and stopped < 4.0  # generous: two shared cores; a full decode takes about 6 s


def test_a_jpeg_of_too_many_scans_is_refused_unread() -> None:
    started = time.perf_counter()
    assert reason_of(progressive_scan_bomb(scans=101), DecodeLimits(max_jpeg_scans=100)) == "scan_bomb"
    assert time.perf_counter() - started < 0.5  # counted from the markers, not decoded
    assert decode_image(progressive_scan_bomb(400, 400, scans=100), DecodeLimits(max_jpeg_scans=100)).mode == "RGB"


def test_scans_are_counted_by_the_jpeg_structure() -> None:
    progressive = encode(halves((800, 400)), "JPEG", progressive=True)
    assert (jpeg_scans(jpeg_bytes(), 100), jpeg_scans(progressive, 100)) == (1, 10)
    # 0xFF 0xDA inside a segment's payload (an APP segment, as an EXIF thumbnail would be) is not a scan
    baseline = jpeg_bytes()
    app15 = b"\xff\xef" + (2 + 400).to_bytes(2, "big") + b"\xff\xda" * 200
    assert jpeg_scans(baseline[:2] + app15 + baseline[2:], 100) == 1
    assert jpeg_scans(progressive_scan_bomb(scans=5000), 100) == 101  # stops counting past the limit


def test_within_the_limit_a_progressive_jpeg_decodes_as_before() -> None:
    data = encode(halves((800, 400)), "JPEG", progressive=True, quality=90)
    image = decode_image(data, DecodeLimits(time_limit_s=5.0, max_side=80))
    assert image.size == (80, 40) and near(image.getpixel((5, 20)), RED) and near(image.getpixel((75, 20)), BLUE)
    assert decode_image(data, DecodeLimits(time_limit_s=None, max_side=80)).size == (80, 40)  # no limit: inline


# Decode one image in a fresh process and print how far its peak RSS rose above its RSS before (KiB): the kernel's
# high-water mark is reset first (`5` to /proc/self/clear_refs), so import-time peaks do not hide the decode.
PEAK = """
import sys
from pathlib import Path
from snapmode.pipeline.decode import DecodeLimits, decode_image

def status(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field))
    return int(line.split()[1])

data = Path(sys.argv[1]).read_bytes()
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS:")
image = decode_image(data, DecodeLimits(max_side=256))
print(image.mode, image.size[0], image.size[1], status("VmHWM:") - before)
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode, side", [("I;16", 6300), ("RGBA", 6300)])
def test_a_big_16_bit_or_rgba_image_decodes_within_its_own_size(tmp_path, mode: str, side: int) -> None:  # type: ignore[no-untyped-def]
    """40 MP at the pixel limit: the decode takes about the decoded image itself (2 or 4 bytes a pixel) and no
    full-size float or RGBA copies (the earlier conversion took over 1 GB for the 16-bit one)."""
    import subprocess
    import sys

    path = tmp_path / "big.png"
    canvas = Image.new(mode, (side, side), 3000 if mode == "I;16" else (40, 90, 200, 128))
    canvas.save(path, "PNG")
    del canvas
    done = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got_mode, width, height, grown_kib = done.stdout.split()
    decoded_mb = side * side * (2 if mode == "I;16" else 4) / 1e6
    grown_mb = int(grown_kib) * 1024 / 1e6
    print(f"\n{mode} {side}x{side}: peak RSS grew {grown_mb:.0f} MB for a {decoded_mb:.0f} MB decoded image")
    assert (got_mode, int(width), int(height)) == ("RGB", 256, 256)
    assert grown_mb < decoded_mb * 1.5 + 50


@pytest.mark.parametrize("mode, fill", [("P", 1), ("1", 1), ("LA", (200, 255)), ("I", 40000), ("F", 0.5),
                                        ("RGBA", (0, 0, 255, 255)), ("L", 90)])
def test_large_images_of_every_mode_are_reduced_then_converted(mode: str, fill: object) -> None:
    canvas = Image.new(mode, (1500, 1000), fill)  # type: ignore[arg-type]
    if mode == "P":
        canvas.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    fmt = "TIFF" if mode in ("I", "F") else "PNG"
    image = decode_image(encode(canvas, fmt), DecodeLimits(max_side=128))
    assert image.mode == "RGB" and image.size == (128, 85)
    expected = {"P": (10, 200, 30), "1": (255, 255, 255), "RGBA": (0, 0, 255), "L": (90, 90, 90)}
    if mode in expected:
        assert near(image.getpixel((60, 40)), expected[mode], tolerance=3)
