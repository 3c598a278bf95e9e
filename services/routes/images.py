"""`GET /images/{image_id}?product=KEY`: a product image, as the file itself or a redirect to the shop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlparse

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from snapmode.pipeline.decode import sniff_format
from snapmode.services.deps import MetadataDep

router = APIRouter(prefix="/images", tags=["images"])


@router.get("/{image_id}", summary="A product image by id",
            responses={200: {"content": {"image/jpeg": {}}}, 307: {"description": "the image on its shop"}})
def get_image(image_id: str, metadata: MetadataDep,
              product: Annotated[str, Query(description="the product key, site:product_id")]) -> Response:
    record = metadata.get([product]).get(product)
    if record is None:
        raise HTTPException(404, detail=f"no product {product!r}")
    ref = next((r for r in record.images() if r.image_id == image_id), None)
    if ref is None:
        raise HTTPException(404, detail=f"product {product!r} has no image {image_id!r}")
    parsed = urlparse(ref.url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        if not path.is_file() or not _looks_like_image(path):
            raise HTTPException(404, detail=f"image file of {image_id} is missing or not an image")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
    return RedirectResponse(ref.url, status_code=307)


def _looks_like_image(path: Path) -> bool:
    """Only files that start like an image are served, whatever a record points at."""
    with path.open("rb") as head:
        return sniff_format(head.read(16)) is not None
