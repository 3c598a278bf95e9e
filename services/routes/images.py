"""`GET /images/{image_id}?product=KEY`: a product image, as the file itself or a redirect to the shop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlparse

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from snapmode.pipeline.decode import sniff_format
from snapmode.services.deps import MetadataDep
from snapmode.services.problems import ApiError, problems

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "image/webp")

router = APIRouter(prefix="/images", tags=["images"])


@router.get("/{image_id}", summary="A product image by id",
            response_class=Response,
            responses={200: {"description": "the image file",
                             "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES}},
                       307: {"description": "the image on its shop",
                             "headers": {"Location": {"schema": {"type": "string"}, "required": True}}},
                       **problems(404, 422, 503)})
def get_image(image_id: str, metadata: MetadataDep,
              product: Annotated[str, Query(description="the product key, site:product_id")]) -> Response:
    record = metadata.get([product]).get(product)
    if record is None:
        raise ApiError(404, "not_found", f"no product {product!r}")
    ref = next((r for r in record.images() if r.image_id == image_id), None)
    if ref is None:
        raise ApiError(404, "not_found", f"product {product!r} has no image {image_id!r}")
    parsed = urlparse(ref.url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        if not path.is_file() or not _looks_like_image(path):
            raise ApiError(404, "not_found", f"image file of {image_id} is missing or not an image")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
    return RedirectResponse(ref.url, status_code=307)


def _looks_like_image(path: Path) -> bool:
    """Only files that start like an image are served, whatever a record points at."""
    with path.open("rb") as head:
        return sniff_format(head.read(16)) is not None
