"""Image URLs from `<img>`/`<source>` elements: the largest variant among srcset, data-srcset, data-src and src."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin

from parsel import Selector

_LAZY_SRC = ("data-zoom-image", "data-large", "data-original", "data-lazy-src", "data-src", "src")
_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wx])$")
_PLACEHOLDER = re.compile(r"(^data:|blank\.gif|placeholder|spacer\.gif|1x1\.)", re.I)


def parse_srcset(srcset: str) -> list[tuple[str, float]]:
    """`(url, size)` pairs from a srcset, tokenised as browsers do (a URL may hold commas; "a 1x,b 2x" is valid).

    `w` widths and `x` densities both rank; a candidate without descriptor counts as 1x.
    """
    candidates, position = [], 0
    while position < len(srcset):
        match = re.compile(r"[\s,]*(\S+)").match(srcset, position)
        if not match or not match.group(1):
            break
        url, position = match.group(1), match.end()
        if url.endswith(","):
            candidates.append((url.rstrip(","), 1.0))
            continue
        descriptor_end = srcset.find(",", position)
        descriptor_end = len(srcset) if descriptor_end < 0 else descriptor_end
        descriptors = srcset[position:descriptor_end].split()
        position = descriptor_end + 1
        size = 1.0
        for descriptor in descriptors:
            if found := _DESCRIPTOR.match(descriptor):
                size = float(found.group(1))
        candidates.append((url, size))
    return candidates


def largest_variant(element: Selector) -> str | None:
    """The best URL of one image element, relative as written; None for placeholders and empty elements."""
    for attribute in ("data-srcset", "srcset"):
        srcset = element.attrib.get(attribute)
        if srcset and (candidates := [c for c in parse_srcset(srcset) if not _PLACEHOLDER.search(c[0])]):
            return max(candidates, key=lambda c: c[1])[0]
    for attribute in _LAZY_SRC + ("href", "content"):
        value = (element.attrib.get(attribute) or "").strip()
        if value and not _PLACEHOLDER.search(value):
            return value
    return None


def image_urls(elements: Iterable[Selector], base_url: str) -> list[str]:
    """Absolute, deduplicated, in page order: the largest variant of each image.

    An `<img>` or `<source>` inside a `<picture>` stands for the whole picture, which counts once.
    """
    urls: list[str] = []
    seen: set[str] = set()
    for element in elements:
        if element.root.tag in ("img", "source"):  # lxml nests <img> inside <source>: look at every ancestor
            picture = next(element.root.iterancestors("picture"), None)
            element = element if picture is None else Selector(root=picture)
        path = element.root.getroottree().getpath(element.root)
        if path in seen:
            continue
        seen.add(path)
        sources = element.xpath(".//source | .//img") if element.root.tag == "picture" else [element]
        best = [u for u in (largest_variant(s) for s in sources) if u]
        if best:
            urls.append(absolute(best[0], base_url))
    return list(dict.fromkeys(u for u in urls if u.startswith(("http://", "https://"))))


def absolute(url: str, base_url: str) -> str:
    return urljoin(base_url, url.strip())
