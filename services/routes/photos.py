"""`GET /photos/{photo_id}`: an uploaded query photo the server keeps for shared links, so the page shows it again.

Like the product images, it needs no API key (an `<img>` sends none); its id is a digest of the photo, known only
to those given the link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from snapmode.pipeline.decode import sniff_format
from snapmode.services.deps import StateDep
from snapmode.services.problems import ApiError, problems

MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp", "TIFF": "image/tiff",
        "WEBP": "image/webp"}

router = APIRouter(prefix="/photos", tags=["search"])


@router.get("/{photo_id}", summary="An uploaded query photo, while the server keeps it", response_class=Response,
            responses={200: {"description": "the photo as it was uploaded",
                             "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in MIME.values()}},
                       **problems(404, 422)})
async def get_photo(state: StateDep,
                    photo_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a search's photo_id")]
                    ) -> Response:
    data = await run_in_threadpool(state.photos.get, photo_id)
    kind = sniff_format(data[:16]) if data else None
    if data is None or kind not in MIME:
        raise ApiError(404, "photo_expired", "The shared photo is no longer kept.")
    return Response(data, media_type=MIME[kind], headers={"Cache-Control": "private, max-age=600",
                                                          "X-Content-Type-Options": "nosniff"})
