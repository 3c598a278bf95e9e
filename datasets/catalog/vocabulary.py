"""The words and values a synthetic product is made of: categories, colours, patterns, details and brands."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Category:
    name: str  # as in the metadata and titles, e.g. "t-shirt"
    materials: tuple[str, ...]
    price_range: tuple[float, float]
    buttons: bool  # whether buttons fit this category
    pockets: bool
    logo: bool


CATEGORIES: tuple[Category, ...] = (
    Category("t-shirt", ("cotton", "organic cotton", "jersey", "linen"), (9, 45), False, True, True),
    Category("sweater", ("wool", "merino", "cashmere", "cotton knit"), (29, 140), False, False, True),
    Category("jacket", ("denim", "leather", "wool", "nylon", "corduroy"), (49, 320), True, True, True),
    Category("dress", ("silk", "cotton", "viscose", "linen", "satin"), (25, 220), True, True, False),
    Category("skirt", ("cotton", "denim", "wool", "pleated satin"), (19, 120), True, True, False),
    Category("trousers", ("cotton twill", "denim", "wool", "linen", "corduroy"), (29, 160), True, True, False),
    Category("shorts", ("cotton", "denim", "linen", "nylon"), (15, 70), True, True, True),
    Category("shoe", ("leather", "canvas", "suede", "mesh"), (39, 260), False, False, True),
    Category("bag", ("leather", "canvas", "nylon", "suede"), (29, 450), True, True, True),
    Category("hat", ("wool felt", "straw", "cotton", "knit"), (15, 95), False, False, True),
)
CATEGORY_BY_NAME = {c.name: c for c in CATEGORIES}

COLOURS: dict[str, RGB] = {
    "black": (28, 28, 30),
    "white": (236, 236, 232),
    "charcoal": (66, 68, 72),
    "grey": (140, 142, 146),
    "navy": (28, 40, 92),
    "royal blue": (40, 80, 190),
    "sky blue": (120, 180, 230),
    "teal": (20, 128, 128),
    "forest green": (34, 96, 52),
    "olive": (112, 118, 48),
    "mint": (150, 220, 180),
    "mustard": (220, 170, 40),
    "orange": (236, 112, 30),
    "red": (200, 30, 40),
    "burgundy": (110, 20, 40),
    "pink": (240, 140, 180),
    "lavender": (176, 150, 220),
    "purple": (104, 46, 140),
    "brown": (110, 70, 40),
    "camel": (190, 140, 90),
    "beige": (222, 204, 170),
}

# Pattern name -> the adjective used in titles ("" for solid).
PATTERNS: dict[str, str] = {
    "solid": "",
    "stripes": "striped",
    "pinstripes": "pinstriped",
    "dots": "polka-dot",
    "checks": "checked",
    "zigzag": "zigzag",
    "gradient": "ombre",
    "floral": "floral",
    "camo": "camo",
    "colour-block": "colour-block",
}

LOGOS: tuple[str, ...] = ("circle", "star", "triangle", "diamond", "square", "cross", "crescent", "ring", "bolt")

BRANDS: tuple[str, ...] = (
    "Northwind Atelier", "Maison Lumen", "Kestrel & Co", "Velvet Harbor", "Oakline", "Studio Marrow",
    "Fable Thread", "Cobalt Row", "Lindqvist", "Marigold Supply", "Tessellate", "Aurora Mills",
)
