"""Bounded, incremental decoding of HTTP content codings: inflating stops at the byte limit, so a bomb never grows."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Protocol

import brotli

from snapmode.pipeline.errors import ImageRejected

ACCEPT_ENCODING = "gzip, deflate, br"  # what `decoder_for` can bound; nothing else is asked for
MAX_CODINGS = 2  # "gzip, br" is legitimate; a longer stack is refused rather than unwound


class Decoder(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class _Budget:
    """Counts output against a limit; the output that crosses it raises `too_large`."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, out: bytes) -> bytes:
        if len(out) > self.left:
            raise ImageRejected("too_large", "the decoded body exceeds the limit")
        self.left -= len(out)
        return out


class Identity(_Budget):
    def feed(self, data: bytes) -> bytes:
        return self.take(data)

    def flush(self) -> bytes:
        return b""


class ZlibDecoder(_Budget):
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), never producing more than the limit plus one."""

    def __init__(self, limit: int, *, gzip: bool) -> None:
        super().__init__(limit)
        self._raw_fallback = not gzip
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        try:
            out = self._inflater.decompress(data, self.left + 1)
        except zlib.error as exc:
            if not self._raw_fallback:
                raise ImageRejected("corrupt", f"bad compressed body: {exc}") from exc
            self._raw_fallback = False  # deflate without its zlib header
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data)
        self._raw_fallback = False
        return self.take(out)

    def flush(self) -> bytes:
        return self.take(self._inflater.flush(self.left + 1))


class BrotliDecoder(_Budget):
    """brotli, with the output buffer capped at the limit plus one on every call."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._inflater = brotli.Decompressor()

    def feed(self, data: bytes) -> bytes:
        try:
            out = [self.take(self._inflater.process(data, output_buffer_limit=self.left + 1))]
            while not self._inflater.can_accept_more_data():
                out.append(self.take(self._inflater.process(b"", output_buffer_limit=self.left + 1)))
        except brotli.error as exc:
            raise ImageRejected("corrupt", f"bad brotli body: {exc}") from exc
        return b"".join(out)

    def flush(self) -> bytes:
        return b""


class Chain:
    """Codings applied in order, decoded in reverse; each stage bounded, the inner ones with a little slack."""

    def __init__(self, stages: Sequence[Decoder]) -> None:
        self.stages = stages

    def feed(self, data: bytes) -> bytes:
        for stage in self.stages:
            data = stage.feed(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for stage in self.stages:
            data = stage.feed(data) + stage.flush()
        return data


def decoder_for(content_encoding: str | None, limit: int) -> Decoder:
    """The bounded decoder for a Content-Encoding header (`gzip`, `deflate`, `br`, stacked as `gzip, br`);
    an unknown or too deep coding is refused as `bad_encoding`."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > MAX_CODINGS:
        raise ImageRejected("bad_encoding", f"{len(codings)} stacked content codings: {content_encoding!r}")
    stages: list[Decoder] = []
    for i, coding in enumerate(reversed(codings)):
        bound = limit if i == len(codings) - 1 else limit + limit // 64 + 1024  # compressed data may grow a little
        if coding in ("gzip", "x-gzip"):
            stages.append(ZlibDecoder(bound, gzip=True))
        elif coding == "deflate":
            stages.append(ZlibDecoder(bound, gzip=False))
        elif coding == "br":
            stages.append(BrotliDecoder(bound))
        else:
            raise ImageRejected("bad_encoding", f"unsupported content coding {coding!r}")
    if not stages:
        return Identity(limit)
    return stages[0] if len(stages) == 1 else Chain(stages)
