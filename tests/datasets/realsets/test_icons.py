"""The `icons` set from fake icon themes: aliases, shared query drawings, skipped contexts and sizes."""

import json

from snapmode.datasets.realsets.icons import GALLERY, QUERIES, build_icons
from snapmode.model.data import load_split
from tests.datasets.realsets.conftest import drawing, make_deb


def themes(cache):
    gnome, oxygen, nuove = GALLERY.icons, QUERIES[0].icons, QUERIES[1].icons
    make_deb(cache, GALLERY.package, {
        f"{gnome}/256x256/places/folder.png": drawing(1), f"{gnome}/48x48/places/folder.png": drawing(2),
        f"{gnome}/256x256/places/inode-directory.png": drawing(1),  # an alias of folder
        f"{gnome}/256x256/devices/printer.png": drawing(3),
        f"{gnome}/256x256/devices/camera.png": drawing(4),
        f"{gnome}/256x256/devices/mouse.png": drawing(5),
        f"{gnome}/256x256/emotes/face-smile.png": drawing(6),  # emotes are left out
        f"{gnome}/32x32/apps/tiny.png": drawing(7)})  # below the smallest size used
    make_deb(cache, QUERIES[0].package, {
        f"{oxygen}/128x128/places/inode-directory.png": drawing(11),  # found through the alias
        f"{oxygen}/256x256/devices/printer.png": drawing(13), f"{oxygen}/64x64/devices/printer.png": drawing(14),
        f"{oxygen}/256x256/devices/camera.png": drawing(15), f"{oxygen}/256x256/devices/mouse.png": drawing(15),
        f"{oxygen}/256x256/emotes/face-smile.png": drawing(16), f"{oxygen}/32x32/apps/tiny.png": drawing(17)})
    make_deb(cache, QUERIES[1].package, {f"{nuove}/96x96/devices/printer.png": drawing(23)})


def test_gallery_of_one_theme_queries_from_the_others(cache, tmp_path):
    themes(cache)
    manifest = json.loads(build_icons(tmp_path / "set", cache=cache, seed=0).read_text())
    items = {item["product"]: item for item in manifest["items"]}
    assert set(items) == {"folder", "printer"}  # camera and mouse share their oxygen drawing: no right answer
    assert [q["kind"] for q in items["printer"]["queries"]] == ["oxygen", "lxde"]
    assert items["printer"]["queries"][0]["source"].endswith("256x256/devices/printer.png")  # the largest
    assert items["folder"]["queries"][0]["source"].endswith("places/inode-directory.png")
    assert items["folder"]["source"].endswith("256x256/places/folder.png")
    assert manifest["counts"]["queries"] == 3
    assert {s["package"]: s["files_used"] for s in manifest["sources"]} == {
        GALLERY.package: 2, QUERIES[0].package: 2, QUERIES[1].package: 1}
    split = load_split(tmp_path / "set")
    assert sorted(label for label, _ in split.queries) == ["folder", "printer", "printer"]
