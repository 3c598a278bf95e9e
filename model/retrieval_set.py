"""A retrieval set given as `gallery/<product>/` and `queries/<product>/` folders or as a TSV, checked and split."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError

from snapmode.model.data import IMAGE_SUFFIXES, RetrievalSplit

Role = Literal["gallery", "query"]
ROLES: tuple[Role, ...] = ("gallery", "query")
FOLDERS: dict[Role, str] = {"gallery": "gallery", "query": "queries"}
TSV_HEADER = ("path", "product", "role")


def is_retrieval_folder(path: Path) -> bool:
    """A folder holding both `gallery/` and `queries/`."""
    return all((path / folder).is_dir() for folder in FOLDERS.values())


def read_retrieval_folder(root: Path) -> list[tuple[str, Path, Role]]:
    """`(product, image, role)` rows of `root/gallery/<product>/*` and `root/queries/<product>/*`, in name order."""
    rows: list[tuple[str, Path, Role]] = []
    for role, folder in FOLDERS.items():
        for product in sorted(p for p in (root / folder).iterdir() if p.is_dir()):
            rows += [(product.name, image, role) for image in sorted(product.iterdir())
                     if image.suffix.lower() in IMAGE_SUFFIXES]
    return rows


def read_retrieval_tsv(path: Path) -> list[tuple[str, Path, Role]]:
    """`(product, image, role)` rows of a `path<TAB>product<TAB>role` file (role gallery or query; paths relative to
    the file's folder; an optional `path product role` header, blank lines and `#` comments are skipped)."""
    rows: list[tuple[str, Path, Role]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = tuple(f.strip() for f in line.split("\t"))
        if number == 1 and fields == TSV_HEADER:
            continue
        if len(fields) != 3 or not fields[0] or not fields[1] or fields[2] not in ROLES:
            raise ValueError(f"{path}:{number}: expected 'path<TAB>product<TAB>gallery|query', got {line!r}")
        rows.append((fields[1], path.parent / fields[0], fields[2]))  # type: ignore[arg-type]
    return rows


def unreadable(image: Path) -> str | None:
    """Why an image cannot be decoded, or None when it can."""
    try:
        with Image.open(image) as opened:
            opened.load()
    except UnidentifiedImageError:
        return "not an image that Pillow can identify"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


def retrieval_split(rows: Iterable[tuple[str, Path, Role]], source: Path) -> RetrievalSplit:
    """The split of checked rows: unreadable images are skipped and counted; no queries, or a query product with no
    gallery image, is a ValueError naming the cause."""
    queries, gallery, skipped = [], [], []
    for product, image, role in rows:
        reason = unreadable(image)
        if reason is not None:
            skipped.append((image, reason))
        else:
            (gallery if role == "gallery" else queries).append((product, image))
    if not queries:
        raise ValueError(f"{source}: no readable query images (queries/<product>/*.jpg, or rows with role query)")
    in_gallery = {product for product, _ in gallery}
    missing = sorted({product for product, _ in queries} - in_gallery)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"{source}: {len(missing)} query product(s) have no readable gallery image: {shown}")
    return RetrievalSplit(queries, gallery, skipped=tuple(skipped))


def load_retrieval_set(path: Path) -> RetrievalSplit:
    """The split of a `gallery/` + `queries/` folder or of a TSV file."""
    rows = read_retrieval_tsv(path) if path.is_file() else read_retrieval_folder(path)
    return retrieval_split(rows, path)
