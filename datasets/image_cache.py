"""A content-addressed store of decoded images on disk, with an index from each source URL to its content's digest."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path

from PIL import Image


def pixel_digest(image: Image.Image) -> str:
    """The SHA-256 of an RGB image's size and pixels: the same picture gets the same name, whatever served it."""
    return hashlib.sha256(f"{image.width}x{image.height}:".encode() + image.convert("RGB").tobytes()).hexdigest()


class ImageCache:
    """`<root>/<aa>/<digest>.png` files (lossless) and `<root>/index.sqlite`, which maps a URL to the digest of what it
    gave; a URL found in the index whose file exists is never fetched again."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.root / "index.sqlite", check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS urls (url TEXT PRIMARY KEY, digest TEXT NOT NULL)")

    def path_of(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.png"

    def lookup(self, url: str) -> Path | None:
        """The cached file of `url`, or None when it was never stored (or its file is gone)."""
        row = self._db.execute("SELECT digest FROM urls WHERE url = ?", (url,)).fetchone()
        path = self.path_of(row[0]) if row else None
        return path if path is not None and path.is_file() else None

    def write(self, image: Image.Image) -> str:
        """Store the image under its digest (atomically, once) and return the digest; safe from several threads."""
        digest = pixel_digest(image)
        path = self.path_of(digest)
        if not path.is_file():
            path.parent.mkdir(exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")
            os.close(handle)
            image.convert("RGB").save(partial, "PNG")
            os.replace(partial, path)
        return digest

    def remember(self, url: str, digest: str) -> None:
        """Record that `url` gave the image stored under `digest`."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO urls (url, digest) VALUES (?, ?)", (url, digest))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ImageCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
