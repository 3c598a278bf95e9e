"""A region of a photo (`bbox`): parsed and refused with a clear message, and decoded sharp."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from snapmode.pipeline.box import Box
from snapmode.pipeline.decode import DecodeLimits, decode_image


def test_a_box_is_four_shares_of_the_photo() -> None:
    box = Box.parse("0.1, 0.2,0.6,0.9")
    assert (box.x0, box.y0, box.x1, box.y1) == (0.1, 0.2, 0.6, 0.9)
    assert str(box) == "0.1,0.2,0.6,0.9" and box.pixels(100, 50) == (10, 10, 60, 45)


@pytest.mark.parametrize("text, says", [("0.1,0.2,0.6", "four numbers"), ("a,b,c,d", "bbox 'a,b,c,d'"),
                                        ("0.5,0,0.2,1", "x0 < x1"), ("0,0,1.5,1", "from 0 to 1"),
                                        ("0,0,nan,1", "from 0 to 1"), ("0,0,0.01,1", "at least")])
def test_a_bad_box_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Box.parse(text)


def two_halves(width: int = 2400, height: int = 1200) -> bytes:
    """A red left half and a blue right half, with a fine black grid on the right (detail a shrink would lose)."""
    image = Image.new("RGB", (width, height), (220, 30, 30))
    right = Image.new("RGB", (width // 2, height), (30, 30, 220))
    for x in range(0, width // 2, 8):
        right.paste((0, 0, 0), (x, 0, x + 2, height))
    image.paste(right, (width // 2, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_the_region_is_decoded_at_the_resolution_the_model_gets() -> None:
    limits = DecodeLimits(max_side=256)
    whole = decode_image(two_halves(), limits)
    left = decode_image(two_halves(), limits, Box(0, 0, 0.5, 1))
    right = decode_image(two_halves(), limits, Box(0.5, 0, 1, 1))
    assert max(whole.size) == 256 and max(left.size) == 256 and max(right.size) == 256
    assert left.getpixel((128, 128))[0] > 150 and right.getpixel((10, 128))[2] > 100
    # the grid's lines (2 px of every 8 at full size) survive in the region decoded at its own resolution
    dark = sum(1 for x in range(right.width) if sum(right.getpixel((x, 128))) < 200)
    assert dark >= right.width // 8
