"""Debian packages in the cache: unpacked once, with version and licences; failures are one typed error."""

import pytest

from snapmode.datasets.realsets.packages import PackageUnavailable, fetch_deb, read_licences
from tests.datasets.realsets.conftest import make_deb


def test_a_cached_deb_is_unpacked_once_with_its_version_and_licences(cache):
    make_deb(cache, "demo-data", {"usr/share/demo/a.bin": b"abc"}, version="2:1.5-3", licence="LGPL-3+")
    package = fetch_deb("demo-data", cache)
    assert (package.name, package.version, package.licences) == ("demo-data", "2:1.5-3", ("LGPL-3+",))
    assert (package.root / "usr/share/demo/a.bin").read_bytes() == b"abc"
    (package.root / "usr/share/demo/a.bin").write_bytes(b"changed")  # a second use does not unpack again
    assert (fetch_deb("demo-data", cache).root / "usr/share/demo/a.bin").read_bytes() == b"changed"
    assert package.record()["version"] == "2:1.5-3"


def test_licences_are_the_distinct_short_names_in_order(tmp_path):
    copyright_file = tmp_path / "copyright"
    copyright_file.write_text("Files: *\nLicense: GPL-2+\n\nFiles: debian/*\nLicense: GPL-3+\n\nLicense: GPL-2+\n"
                              " text of the licence\n")
    assert read_licences(copyright_file) == ("GPL-2+", "GPL-3+")
    assert read_licences(tmp_path / "absent") == ()


def test_a_machine_without_apt_get_gets_one_clear_error(cache, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PackageUnavailable, match="apt-get download demo-data: apt-get not found"):
        fetch_deb("demo-data", cache)
