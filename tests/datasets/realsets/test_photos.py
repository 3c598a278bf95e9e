"""The `photos` set from a fake Tux Paint stamps package: which stamps become products, the layout, determinism."""

import json

from snapmode.datasets.realsets.photos import PACKAGE, STAMPS, build_photos
from snapmode.model.data import load_split
from tests.datasets.realsets.conftest import drawing, make_deb, photo


def stamps_package(cache):
    files = {f"{STAMPS}/animals/cat{i}.png": photo(i) for i in range(4)}
    files.update({f"{STAMPS}/animals/cat0_mirror.png": photo(0).transpose(0),  # Tux Paint's mirrored copy
                  f"{STAMPS}/food/twin.png": photo(1),  # the same pixels as cat1 under another name
                  f"{STAMPS}/food/cartoon/apple.png": photo(9),  # in a folder of drawings
                  f"{STAMPS}/town/sign.png": drawing(1),  # a drawing outside them
                  f"{STAMPS}/animals/cat0.txt": b"a cat"})
    make_deb(cache, PACKAGE, files, version="2022.06.04-1")


def test_photographs_become_products_queried_by_each_distortion(cache, tmp_path):
    stamps_package(cache)
    manifest_path = build_photos(tmp_path / "set", cache=cache, seed=5)
    manifest = json.loads(manifest_path.read_text())
    assert [item["product"] for item in manifest["items"]] == ["animals-cat0", "animals-cat1", "animals-cat2",
                                                               "animals-cat3"]
    assert manifest["counts"] == {"products": 4, "gallery_images": 4, "queries": 24, "queries_by_kind": {
        "crop": 4, "rotate": 4, "colour": 4, "downscale": 4, "jpeg": 4, "occlusion": 4}}
    assert manifest["sources"] == [{"package": PACKAGE, "version": "2022.06.04-1", "licences": ["GPL-2+"],
                                    "registry": "Debian (apt-get download)", "files_used": 4}]
    assert manifest["seed"] == 5
    split = load_split(tmp_path / "set")
    assert len(split.gallery) == 4 and len(split.queries) == 24
    assert {label for label, _ in split.queries} == {label for label, _ in split.gallery}


def test_same_seed_same_bytes_and_a_limit_draws_with_the_seed(cache, tmp_path):
    stamps_package(cache)

    def files(out):
        return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    build_photos(tmp_path / "a", cache=cache, seed=5)
    build_photos(tmp_path / "b", cache=cache, seed=5)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    build_photos(tmp_path / "a", cache=cache, seed=6)  # a set built before is replaced
    assert files(tmp_path / "a") != files(tmp_path / "b")
    limited = json.loads(build_photos(tmp_path / "c", cache=cache, seed=5, limit=2).read_text())
    assert limited["counts"]["products"] == 2 and limited["limit"] == 2
