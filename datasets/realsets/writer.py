"""Write a retrieval set: `gallery/<product>/*.jpg`, `queries/<product>/*.jpg` and `manifest.json`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from PIL import Image

from snapmode.datasets.realsets.distort import GALLERY_QUALITY, Query

MANIFEST = "manifest.json"


def product_id(text: str) -> str:
    """A folder-safe product id: lower case, runs of other characters as one `-`."""
    return re.sub(r"[^a-z0-9_.]+", "-", text.lower()).strip("-.") or "product"


class SetWriter:
    """Writes one set into `out`, which must be empty, absent, or a set built before (then it is replaced)."""

    def __init__(self, out: Path) -> None:
        if out.exists() and any(out.iterdir()):
            if not (out / MANIFEST).is_file():
                raise FileExistsError(f"{out} is not empty and holds no {MANIFEST}: refusing to replace it")
            shutil.rmtree(out)
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.items: list[dict[str, object]] = []

    def add(self, product: str, source: str, gallery: list[Image.Image], queries: list[Query]) -> None:
        """One product: its clean photo(s) and its queries, with where they came from."""
        written_gallery = [self._save("gallery", product, f"{i}.jpg", image, GALLERY_QUALITY)
                           for i, image in enumerate(gallery)]
        written_queries = [{"file": self._save("queries", product, f"{i}-{q.kind}.jpg", q.image, q.quality),
                            "kind": q.kind, **q.params} for i, q in enumerate(queries)]
        self.items.append({"product": product, "source": source, "gallery": written_gallery,
                           "queries": written_queries})

    def finish(self, header: dict[str, object]) -> Path:
        """`manifest.json`: the header (name, seed, sources...), the counts and every item."""
        kinds: dict[str, int] = {}
        for item in self.items:
            for query in item["queries"]:  # type: ignore[union-attr]
                kinds[query["kind"]] = kinds.get(query["kind"], 0) + 1  # type: ignore[index]
        counts = {"products": len(self.items),
                  "gallery_images": sum(len(i["gallery"]) for i in self.items),  # type: ignore[arg-type]
                  "queries": sum(kinds.values()), "queries_by_kind": kinds}
        path = self.out / MANIFEST
        path.write_text(json.dumps({**header, "counts": counts, "items": self.items}, indent=1) + "\n",
                        encoding="utf-8")
        return path

    def _save(self, folder: str, product: str, name: str, image: Image.Image, quality: int) -> str:
        target = self.out / folder / product / name
        target.parent.mkdir(parents=True, exist_ok=True)
        image.convert("RGB").save(target, "JPEG", quality=quality)
        return str(target.relative_to(self.out))
