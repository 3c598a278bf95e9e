"""A region of a photo, in coordinates relative to its upright width and height: what a shopper crops to search for
one object of a photo (`bbox=x0,y0,x1,y1`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_SIDE = 0.02  # a region narrower or lower than this share of the photo holds too few pixels to search with


@dataclass(frozen=True, slots=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) and 0 <= v <= 1 for v in (self.x0, self.y0, self.x1, self.y1)):
            raise ValueError("each of x0,y0,x1,y1 is a share of the photo's width or height, from 0 to 1")
        if self.x1 - self.x0 < MIN_SIDE or self.y1 - self.y0 < MIN_SIDE:
            raise ValueError(f"x0 < x1 and y0 < y1, the region at least {MIN_SIDE:g} of the photo each way")

    @classmethod
    def parse(cls, text: str) -> Box:
        """`"0.1,0.2,0.6,0.9"` -> Box; a `ValueError` that says what is wrong."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("bbox is four numbers x0,y0,x1,y1 (shares of the photo's width and height, 0 to 1)")
        try:
            return cls(*(float(p) for p in parts))
        except ValueError as exc:
            raise ValueError(f"bbox {text!r}: {exc}") from None

    @property
    def smaller_side(self) -> float:
        return min(self.x1 - self.x0, self.y1 - self.y0)

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region of a `width` x `height` image, at least one pixel each way."""
        left, top = math.floor(self.x0 * width), math.floor(self.y0 * height)
        right, bottom = max(left + 1, math.ceil(self.x1 * width)), max(top + 1, math.ceil(self.y1 * height))
        return left, top, min(right, width), min(bottom, height)

    def __str__(self) -> str:
        return ",".join(f"{v:g}" for v in (self.x0, self.y0, self.x1, self.y1))
