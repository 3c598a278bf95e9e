"""The unlabeled drawings that the CBIR-GAN's whitening is learned from: a seeded draw, flattened, kept small."""

import pytest
from PIL import Image

from snapmode.datasets.realsets import clipart
from tests.datasets.realsets.conftest import make_deb


def drawing(size: tuple[int, int], colour: tuple[int, int, int, int]) -> Image.Image:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste(colour, (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    return image


def test_drawings_are_a_seeded_draw_of_small_flattened_pictures_without_posters(cache, monkeypatch):
    monkeypatch.setattr(clipart, "MAX_PIXELS", 500 * 500)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 600_000)  # Pillow refuses images over twice this: 1,200,000
    files = {f"usr/share/openclipart/png/things/d{i}.png": drawing((300 + i, 200), (i * 20, 0, 0, 255))
             for i in range(6)}
    files["usr/share/openclipart/png/posters/huge.png"] = drawing((600, 600), (0, 0, 255, 255))
    files["usr/share/openclipart/png/posters/bomb.png"] = drawing((1200, 1200), (0, 0, 255, 255))
    make_deb(cache, clipart.PACKAGE, files, version="1:0.18+dfsg-19")
    images, package = clipart.drawings(cache, 6, seed=3)
    assert package.version == "1:0.18+dfsg-19"
    assert len(images) == 6 and all(im.mode == "RGB" and max(im.size) <= clipart.SIDE for im in images)
    assert all((0, 0, 255) not in [c for _, c in im.getcolors(1 << 16)] for im in images), "the poster is passed over"
    assert images[0].getpixel((0, 0)) == (255, 255, 255), "transparency becomes white"
    again, _ = clipart.drawings(cache, 6, seed=3)
    assert [im.tobytes() for im in again] == [im.tobytes() for im in images]
    assert len(clipart.drawings(cache, 3, seed=4)[0]) == 3
    with pytest.raises(ValueError, match="fewer than the 7 asked for"):
        clipart.drawings(cache, 7)
