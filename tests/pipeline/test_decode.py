"""Decoding untrusted bytes: refusals with the right reason, and every odd but valid image made upright RGB."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from snapmode.pipeline.decode import DecodeLimits, decode_image, sniff_format, to_rgb
from snapmode.pipeline.errors import ImageRejected
from tests.conftest import jpeg_bytes, png_bomb_bytes
from tests.imagefiles import (BLUE, HTML_PAGE, RED, cmyk_jpeg, encode, exif_rotated_jpeg, halves,
                              palette_png_with_transparency, png_16bit, rgba_png, truncated_jpeg)


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
