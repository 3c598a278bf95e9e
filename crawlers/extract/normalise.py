"""Turn the many ways shops write prices, currencies, availability, text, lists and positions into plain values."""

from __future__ import annotations

import re
from typing import Any

_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF", "kr": "SEK",
                     "zł": "PLN", "US$": "USD", "A$": "AUD", "C$": "CAD"}
_NUMBER = re.compile(r"\d[\d.,'\s\u00a0]*")
_SPACES = re.compile(r"\s+")


def text(value: Any) -> str | None:
    """A stripped single-line string, or None for empty values; lists give their first non-empty item."""
    if isinstance(value, list):
        return next((t for t in (text(v) for v in value) if t), None)
    if isinstance(value, dict):
        return text(value.get("name") or value.get("@value") or value.get("value"))
    if value is None or isinstance(value, bool):
        return None
    cleaned = _SPACES.sub(" ", str(value)).strip()
    return cleaned or None


def price(value: Any) -> float | None:
    """A non-negative price from 49.9, "49.90", "€1.299,00", "1,299.00 USD"; None when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    raw = text(value)
    match = _NUMBER.search(raw or "")
    if not match:
        return None
    digits = re.sub(r"[\s\u00a0']", "", match.group()).rstrip(".,")
    if "." in digits and "," in digits:  # the last separator is the decimal one
        thousands = "." if digits.rfind(",") > digits.rfind(".") else ","
        digits = digits.replace(thousands, "").replace(",", ".")
    elif "," in digits:  # 49,90 is a decimal comma; 1,299 and 1,299,000 group thousands
        head, _, tail = digits.rpartition(",")
        digits = f"{head}.{tail}" if digits.count(",") == 1 and len(tail) in (1, 2) else digits.replace(",", "")
    elif digits.count(".") > 1:
        digits = digits.replace(".", "")
    try:
        return float(digits)
    except ValueError:
        return None


def currency(value: Any, price_text: Any = None) -> str | None:
    """An ISO 4217 code from "eur", "EUR" or a symbol; falls back on a symbol written in the price text."""
    for candidate in (text(value), text(price_text)):
        if not candidate:
            continue
        code = candidate.strip().upper()
        if re.fullmatch(r"[A-Z]{3}", code):
            return code
        for symbol, iso in sorted(_CURRENCY_SYMBOLS.items(), key=lambda kv: -len(kv[0])):
            if symbol in candidate:
                return iso
        found = re.search(r"\b([A-Z]{3})\b", candidate)
        if found:
            return found.group(1)
    return None


def availability(value: Any) -> str | None:
    """"https://schema.org/InStock", "instock", "in stock" -> "InStock"; other values are kept as written."""
    raw = text(value)
    if not raw:
        return None
    tail = raw.rstrip("/").rsplit("/", 1)[-1]
    squashed = re.sub(r"[\s_-]", "", tail).lower()
    known = {"instock": "InStock", "outofstock": "OutOfStock", "preorder": "PreOrder", "backorder": "BackOrder",
             "discontinued": "Discontinued", "limitedavailability": "LimitedAvailability",
             "soldout": "SoldOut", "onlineonly": "OnlineOnly", "instoreonly": "InStoreOnly"}
    return known.get(squashed, tail[:100])


def as_list(value: Any) -> list[Any]:
    """A property written once or many times, as a list: None is [], a single value is [value]."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def position(entry: Any) -> float:
    """A list entry's `position` as a number to sort by; an entry without a readable one sorts last."""
    try:
        return float(entry.get("position")) if isinstance(entry, dict) else float("inf")
    except (TypeError, ValueError):
        return float("inf")
