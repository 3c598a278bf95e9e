"""Bounded decoding of content codings: exact output fed in any chunking, refusal past the limit."""

from __future__ import annotations

import zlib

import brotli
import pytest

from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.inflate import decoder_for

DATA = bytes(range(256)) * 400  # 100 KiB


def deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


ENCODED = {"gzip": zlib.compress(DATA, wbits=31), "deflate": zlib.compress(DATA), "br": brotli.compress(DATA),
           "identity": DATA, "gzip, br": brotli.compress(zlib.compress(DATA, wbits=31))}


def decode(coding: str, body: bytes, limit: int, chunk: int) -> bytes:
    decoder = decoder_for(coding, limit)
    out = b"".join(decoder.feed(body[i:i + chunk]) for i in range(0, len(body), chunk))
    return out + decoder.flush()


@pytest.mark.parametrize("coding", list(ENCODED))
@pytest.mark.parametrize("chunk", [7, 4096, 1 << 20])
def test_every_coding_decodes_exactly_in_any_chunking(coding: str, chunk: int) -> None:
    assert decode(coding, ENCODED[coding], len(DATA), chunk) == DATA


def test_deflate_without_its_zlib_header_is_read_too() -> None:
    assert decode("deflate", deflate_raw(DATA), len(DATA), 4096) == DATA


@pytest.mark.parametrize("coding", list(ENCODED))
def test_one_byte_past_the_limit_is_refused(coding: str) -> None:
    with pytest.raises(ImageRejected, match="too_large"):
        decode(coding, ENCODED[coding], len(DATA) - 1, 4096)


def test_a_corrupt_body_is_refused() -> None:
    with pytest.raises(ImageRejected, match="corrupt"):
        decode("br", b"not brotli at all" * 10, len(DATA), 64)
