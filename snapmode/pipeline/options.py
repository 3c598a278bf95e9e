"""Settings become the pipeline's plain values in one place: how images are fetched, and the limits of a decode."""

from __future__ import annotations

from snapmode.config import Settings
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.fetch import FetchOptions


def decode_limits(settings: Settings) -> DecodeLimits:
    return DecodeLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels,
                        max_side=settings.max_image_side, max_decode_bytes=settings.max_decode_bytes,
                        concurrent_decodes=settings.concurrent_decodes, slot_wait_s=settings.decode_wait_s,
                        time_limit_s=settings.decode_timeout_s, max_jpeg_scans=settings.max_jpeg_scans)


def fetch_options(settings: Settings, *, allow_files: bool = False) -> FetchOptions:
    """How images are fetched; `allow_files` only for local ingestion of the user's own folders."""
    return FetchOptions(timeout_s=settings.fetch_timeout_s, deadline_s=settings.fetch_deadline_s,
                        allow_private=settings.allow_private_urls, allow_files=allow_files,
                        file_roots=tuple(settings.file_roots),
                        per_host=settings.fetch_per_host, max_redirects=settings.crawl_max_redirects)
