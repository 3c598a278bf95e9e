"""The search page in a real browser: upload a photo and see its product first, filter from the facets, page,
"more like this", and words with the photo. Each step waits at most STEP_MS; a screenshot is kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.conftest import SITE, Server

STEP_MS = 10_000


def answered(page, path: str, action: Callable[[], object]) -> dict:  # type: ignore[no-untyped-def]
    """Do `action`, wait for the API's answer on `path` and for the page to show it; the answer's JSON."""
    with page.expect_response(lambda r: path in r.url and r.request.method in ("GET", "POST"),
                              timeout=STEP_MS) as info:
        action()
    response = info.value
    assert response.ok, f"{response.status} {response.text()}"
    page.wait_for_function("() => !/…$/.test(document.getElementById('status').textContent)", timeout=STEP_MS)
    return response.json()


def card_keys(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(".card", "cards => cards.map(c => c.dataset.key)")


@pytest.mark.timeout(120)
def test_search_page_end_to_end(server: Server, browser, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(STEP_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # Filters come from /facets: every category of the catalog, with its count.
        with page.expect_response(lambda r: r.url.endswith("/facets")):
            page.goto(server.base)
        page.wait_for_function("() => document.querySelectorAll('#category option').length > 1")
        categories = {p["category"] for p in server.products.values()}
        options = page.eval_on_selector_all("#category option", "os => os.map(o => o.value).filter(Boolean)")
        assert set(options) == categories

        # A photo of one product finds that product first.
        pid, product = next(iter(server.products.items()))
        page.fill("#k", "3")
        page.press("#k", "Tab")  # commits the change now, not on a later click
        answered(page, "/search", lambda: page.set_input_files("#file", str(server.catalog / product["images"][1])))
        keys = card_keys(page)
        assert len(keys) == 3 and keys[0] == f"{SITE}:{pid}"
        assert page.locator(".card.first .title").inner_text() == product["title"]

        # "More results" appends the next page, with no product twice.
        answered(page, "/search", lambda: page.click("#more"))
        paged = card_keys(page)
        assert len(paged) == 6 and paged[:3] == keys and len(set(paged)) == 6

        # A filter from the facets restricts the results.
        category = product["category"]
        answered(page, "/search", lambda: page.select_option("#category", category))
        shown = page.eval_on_selector_all(".card .category", "cs => cs.map(c => c.textContent)")
        assert shown and set(shown) == {category} and card_keys(page)[0] == f"{SITE}:{pid}"
        answered(page, "/search", lambda: page.select_option("#category", ""))

        # "More like this" on the first result: other products, from the stored vectors.
        body = answered(page, "/similar", lambda: page.locator(".card.first .more-like").click())
        assert body["results"] and f"{SITE}:{pid}" not in card_keys(page)
        assert re.search(r"More like “.+”", page.inner_text("#status"))

        # Words with the photo: a colour that the photo's product does not mention brings up one that has it.
        said = f"{product['title']} {product['description']}".lower()
        colour = next(p["colour"] for p in server.products.values() if p["colour"].split()[0] not in said)
        body = answered(page, "/search", lambda: (page.fill("#q", colour), page.press("#q", "Enter")))
        assert body["ranking"] == "hybrid"
        top = body["results"][0]
        described = f"{top['title']} {server.products[top['product_id']]['description']}".lower()
        assert top["product_id"] != pid and colour in described
        assert card_keys(page)[0] == top["product_key"]
    finally:
        page.screenshot(path=str(artifacts / "search-page.png"), full_page=True)
        page.close()
    assert not errors, errors
