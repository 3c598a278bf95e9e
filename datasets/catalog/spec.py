"""What one synthetic product is: drawn from a seeded generator, so the same (seed, index) gives the same product."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snapmode.datasets.catalog.vocabulary import BRANDS, CATEGORIES, COLOURS, LOGOS, PATTERNS, RGB, Category

CURRENCY = "EUR"
_COLOUR_NAMES = tuple(COLOURS)
_PATTERN_NAMES = tuple(PATTERNS)
# Solid products are common in real shops; the rest share the remaining probability evenly.
_PATTERN_P = np.array([0.15] + [0.85 / (len(PATTERNS) - 1)] * (len(PATTERNS) - 1))


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """Everything needed to draw a product and describe it."""

    index: int
    product_id: str
    category: str
    colour: str
    rgb: RGB
    pattern: str
    second_colour: str  # the pattern's other colour (stripes, dots, ...)
    second_rgb: RGB
    pattern_scale: float  # period of the pattern, as a fraction of the product canvas
    pattern_angle: float  # degrees
    trim_colour: str  # collar, cuffs, waistband, sole, hat band, handle
    trim_rgb: RGB
    buttons: int
    pockets: int
    logo: str | None
    logo_colour: str
    logo_rgb: RGB
    style: tuple[float, ...]  # silhouette proportions in [0, 1], read by the category's drawing
    material: str
    brand: str
    price: float
    currency: str
    availability: str
    title: str
    description: str
    details: dict[str, object] = field(default_factory=dict)


def product_id_of(index: int) -> str:
    return f"SM{index + 1:05d}"


def spec_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of a product's design; views draw from their own streams (see `view_rng`)."""
    return np.random.default_rng([seed, index, 0])


def view_rng(seed: int, index: int, view: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, 1, view])


def make_spec(seed: int, index: int) -> ProductSpec:
    """Design product number `index` of the catalog of `seed`."""
    rng = spec_rng(seed, index)
    category: Category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
    colour = _pick(rng, _COLOUR_NAMES)
    second = _pick_contrasting(rng, COLOURS[colour])
    trim = _pick_contrasting(rng, COLOURS[colour])
    logo_colour = _pick_contrasting(rng, COLOURS[colour])
    pattern = str(rng.choice(_PATTERN_NAMES, p=_PATTERN_P))
    buttons = int(rng.integers(2, 7)) if category.buttons and rng.random() < 0.6 else 0
    pockets = int(rng.integers(1, 3)) if category.pockets and rng.random() < 0.6 else 0
    logo = str(_pick(rng, LOGOS)) if category.logo and rng.random() < 0.7 else None
    low, high = category.price_range
    price = float(np.floor(rng.uniform(low, high))) + float(rng.choice([0.0, 0.5, 0.95, 0.99]))
    availability = "InStock" if rng.random() < 0.9 else "OutOfStock"
    spec = dict(
        index=index, product_id=product_id_of(index), category=category.name,
        colour=colour, rgb=_jitter(rng, COLOURS[colour]), pattern=pattern,
        second_colour=second, second_rgb=COLOURS[second],
        pattern_scale=float(rng.uniform(0.05, 0.16)), pattern_angle=float(rng.choice([0, 0, 90, 45, -45, 30])),
        trim_colour=trim, trim_rgb=COLOURS[trim], buttons=buttons, pockets=pockets,
        logo=logo, logo_colour=logo_colour, logo_rgb=COLOURS[logo_colour],
        style=tuple(float(v) for v in rng.random(4)),
        material=_pick(rng, category.materials), brand=_pick(rng, BRANDS),
        price=round(price, 2), currency=CURRENCY, availability=availability,
    )
    details = {"trim": trim, "buttons": buttons, "pockets": pockets, "logo": logo,
               "logo_colour": logo_colour if logo else None,
               "pattern_colour": second if pattern != "solid" else None}
    return ProductSpec(**spec, title=_title(spec), description=_description(spec), details=details)


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _pick_contrasting(rng: np.random.Generator, base: RGB, min_distance: float = 90.0) -> str:
    """A colour clearly different from `base`, so patterns and details stay visible."""
    far = [name for name, rgb in COLOURS.items() if np.linalg.norm(np.subtract(rgb, base)) >= min_distance]
    return _pick(rng, tuple(far))


def _jitter(rng: np.random.Generator, rgb: RGB, amount: int = 10) -> RGB:
    values = np.clip(np.asarray(rgb) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return (int(values[0]), int(values[1]), int(values[2]))


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _title(s: dict) -> str:
    words = [s["colour"], PATTERNS[s["pattern"]], s["material"], s["category"]]
    title = " ".join(w for w in words if w)
    return title[0].upper() + title[1:]


def _description(s: dict) -> str:
    parts = []
    if s["pattern"] == "gradient":
        parts.append(f"a gradient from {s['colour']} to {s['second_colour']}")
    elif s["pattern"] != "solid":
        parts.append(f"{_a(s['second_colour'])} {s['second_colour']} {PATTERNS[s['pattern']]} pattern")
    parts.append(f"{s['trim_colour']} trim")
    if s["buttons"]:
        parts.append(f"{s['buttons']} buttons")
    if s["pockets"]:
        parts.append(f"{s['pockets']} pocket{'s' if s['pockets'] > 1 else ''}")
    if s["logo"]:
        parts.append(f"{_a(s['logo_colour'])} {s['logo_colour']} {s['logo']} emblem")
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"A {s['colour']} {s['material']} {s['category']} by {s['brand']}, with {listed}."
