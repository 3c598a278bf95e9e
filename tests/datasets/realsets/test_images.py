"""The photograph test and the flattening of cut-out images onto white."""

from PIL import Image

from snapmode.datasets.realsets.images import PhotoTest, open_flat, pixel_digest
from tests.datasets.realsets.conftest import drawing, photo


def test_photographs_pass_and_drawings_and_tiny_images_do_not():
    is_photo = PhotoTest()
    assert all(is_photo(photo(seed)) for seed in range(5))
    assert not any(is_photo(drawing(seed)) for seed in range(5))
    assert not is_photo(photo(1, size=(40, 40)))  # below min_side


def test_transparency_is_flattened_onto_white(tmp_path):
    path = tmp_path / "cut.png"
    photo(3).save(path)
    flat = open_flat(path)
    assert flat.mode == "RGB" and flat.getpixel((0, 0)) == (255, 255, 255)
    assert flat.getpixel((40, 32)) != (255, 255, 255)


def test_pixel_digest_tells_equal_pixels_from_different_ones():
    assert pixel_digest(photo(1).convert("RGB")) == pixel_digest(photo(1).convert("RGB"))
    assert pixel_digest(photo(1).convert("RGB")) != pixel_digest(photo(2).convert("RGB"))
    assert pixel_digest(Image.new("RGB", (4, 8))) != pixel_digest(Image.new("RGB", (8, 4)))
