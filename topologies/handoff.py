"""Decoded images handed from the fetch bolt to the embed bolt through files on the worker's host: the tuple carries a
short name instead of the image, so the pixels never cross the worker JVM or the multilang JSON."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image

from snapmode.config import Settings

PREFIX = "handoff:"  # never starts a base64 payload (':' is not in its alphabet)


class ImageHandoff:
    """Raw RGB pixels in `directory`, one file per image; the reader removes the file as it loads it.

    A file is written under a temporary name and renamed, so a reader never sees half an image. Files whose reader
    died with its worker are removed by `sweep` (their records were replayed long since)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def put(self, image: Image.Image) -> str:
        """Store the image; returns the payload that names it."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        name = f"{uuid.uuid4().hex}-{rgb.width}x{rgb.height}"
        partial = self.directory / f".{name}"
        partial.write_bytes(rgb.tobytes())
        partial.rename(self.directory / name)
        return PREFIX + name

    def take(self, payload: str) -> Image.Image:
        """Load the image a `put` payload names and remove its file. FileNotFoundError when it is not on this host."""
        name = payload.removeprefix(PREFIX)
        if "/" in name or name.startswith("."):
            raise ValueError(f"not a handoff name: {name!r}")
        path = self.directory / name
        size = tuple(int(n) for n in name.rsplit("-", 1)[1].split("x"))
        image = Image.frombytes("RGB", size, path.read_bytes())  # type: ignore[arg-type]
        path.unlink(missing_ok=True)
        return image

    def sweep(self, older_than_s: float) -> int:
        """Remove files older than `older_than_s`; returns how many."""
        removed, limit = 0, time.time() - older_than_s
        for entry in os.scandir(self.directory):
            try:
                if entry.is_file() and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:  # another task took or swept it meanwhile
                continue
        return removed


def is_local(settings: Settings) -> bool:
    """Whether images go through local files (`image_handoff`, `auto` meaning one worker)."""
    return settings.image_handoff == "local" or (settings.image_handoff == "auto" and settings.topology_workers == 1)


def handoff_dir(settings: Settings) -> Path:
    if settings.handoff_dir is not None:
        return settings.handoff_dir
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / f"snapmode-handoff-{settings.topology_name}"


def build_handoff(settings: Settings) -> ImageHandoff | None:
    """The handoff of the topology's bolts on this host, or None when images travel in the tuples."""
    return ImageHandoff(handoff_dir(settings)) if is_local(settings) else None
