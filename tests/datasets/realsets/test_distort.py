"""Query distortions: every kind, their documented ranges, and the same queries for the same seed."""

import io

from PIL import Image

from snapmode.datasets.realsets.distort import DISTORTIONS, queries_of
from tests.datasets.realsets.conftest import photo

PHOTO = photo(7, size=(160, 120), cut_out=False).convert("RGB")


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_one_query_of_each_kind_within_its_ranges():
    queries = queries_of(PHOTO, seed=0, index=0)
    assert [q.kind for q in queries] == ["crop", "rotate", "colour", "downscale", "jpeg", "occlusion"]
    assert len(queries) == len(DISTORTIONS)
    by_kind = {q.kind: q for q in queries}
    crop_w, crop_h = by_kind["crop"].image.size
    assert 0.55 * 160 - 1 <= crop_w <= 0.85 * 160 + 1 and 0.55 * 120 - 1 <= crop_h <= 0.85 * 120 + 1
    assert 10 <= abs(by_kind["rotate"].params["degrees"]) <= 35
    assert by_kind["rotate"].image.size[0] > 160  # expanded, corners filled
    assert by_kind["downscale"].image.size == (20, 15)
    assert 35 <= by_kind["jpeg"].quality <= 70 and by_kind["jpeg"].image.tobytes() == PHOTO.tobytes()
    assert by_kind["occlusion"].image.tobytes() != PHOTO.tobytes()
    assert by_kind["colour"].image.size == PHOTO.size and by_kind["colour"].image.tobytes() != PHOTO.tobytes()


def test_same_seed_and_index_same_queries_another_seed_other_queries():
    def encoded(seed: int, index: int) -> list[bytes]:
        return [jpeg(q.image, q.quality) for q in queries_of(PHOTO, seed=seed, index=index)]

    assert encoded(3, 1) == encoded(3, 1)
    assert encoded(3, 1) != encoded(4, 1)
    assert encoded(3, 1) != encoded(3, 2)
