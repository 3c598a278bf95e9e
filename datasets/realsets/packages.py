"""Debian packages as source material: fetched once with apt-get, unpacked in the cache, with version and licences."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

UNPACKED_MARKER = ".unpacked"


class PackageUnavailable(RuntimeError):
    """A package that apt-get cannot download here, or a machine without apt-get and dpkg."""


@dataclass(frozen=True, slots=True)
class SourcePackage:
    """An unpacked Debian package: its files lie under `root` as they would under `/`."""

    name: str
    version: str
    licences: tuple[str, ...]
    root: Path

    def record(self) -> dict[str, object]:
        """What a manifest keeps of it."""
        return {"package": self.name, "version": self.version, "licences": list(self.licences),
                "registry": "Debian (apt-get download)"}


def fetch_deb(name: str, cache: Path) -> SourcePackage:
    """The package from the cache, downloaded (`apt-get download`) and unpacked (`dpkg -x`) on first use."""
    cache = cache.resolve()
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not _cached_debs(debs, name):
        _run(["apt-get", "download", name], cwd=debs, what=f"apt-get download {name}")
    deb = _cached_debs(debs, name)[-1]
    version = _run(["dpkg-deb", "-f", str(deb), "Version"], cwd=debs, what=f"dpkg-deb -f {deb.name}").strip()
    root = cache / "unpacked" / f"{name}_{version}"
    if not (root / UNPACKED_MARKER).is_file():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        _run(["dpkg", "-x", str(deb), str(root)], cwd=debs, what=f"dpkg -x {deb.name}")
        (root / UNPACKED_MARKER).touch()
    return SourcePackage(name, version, read_licences(root / "usr/share/doc" / name / "copyright"), root)


def read_licences(copyright_file: Path) -> tuple[str, ...]:
    """The distinct `License:` short names of a Debian copyright file, in order of appearance."""
    if not copyright_file.is_file():
        return ()
    names = re.findall(r"^License:[ \t]*(\S.*?)\s*$", copyright_file.read_text(encoding="utf-8", errors="replace"),
                       flags=re.MULTILINE)
    return tuple(dict.fromkeys(names))


def directory_size(path: Path) -> int:
    """Bytes of the regular files under `path` (links not followed)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _cached_debs(debs: Path, name: str) -> list[Path]:
    return sorted(debs.glob(f"{name}_*.deb"))


def _run(command: list[str], *, cwd: Path, what: str) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise PackageUnavailable(f"{what}: {command[0]} not found (the sets are built from Debian packages)") from exc
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise PackageUnavailable(f"{what} failed: {detail[-1] if detail else f'exit {exc.returncode}'}") from exc
    return done.stdout
