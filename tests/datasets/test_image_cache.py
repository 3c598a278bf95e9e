"""The image cache: one file per distinct picture, found again by the URL that gave it."""

from PIL import Image

from snapmode.datasets.image_cache import ImageCache, pixel_digest


def test_the_same_picture_from_two_urls_is_stored_once_and_found_by_either(tmp_path):
    red = Image.new("RGB", (8, 6), (200, 0, 0))
    with ImageCache(tmp_path / "cache") as cache:
        assert cache.lookup("https://a.example/red.jpg") is None
        digest = cache.write(red)
        assert cache.write(red.copy()) == digest == pixel_digest(red)
        cache.remember("https://a.example/red.jpg", digest)
        cache.remember("https://b.example/copy.png", digest)
    with ImageCache(tmp_path / "cache") as cache:  # the index outlives the process that wrote it
        path = cache.lookup("https://b.example/copy.png")
        assert path == cache.lookup("https://a.example/red.jpg") == cache.path_of(digest)
        assert path.name == f"{digest}.png"
        with Image.open(path) as stored:
            assert stored.size == (8, 6) and stored.getpixel((0, 0)) == (200, 0, 0)
        assert len(list((tmp_path / "cache").rglob("*.png"))) == 1


def test_a_picture_of_other_pixels_gets_another_name_and_a_lost_file_is_a_miss(tmp_path):
    with ImageCache(tmp_path) as cache:
        first = cache.write(Image.new("RGB", (8, 6), (200, 0, 0)))
        second = cache.write(Image.new("RGB", (6, 8), (200, 0, 0)))
        assert first != second
        cache.remember("file:///x.jpg", first)
        cache.path_of(first).unlink()
        assert cache.lookup("file:///x.jpg") is None
