"""The search page as shoppers use it, in a real browser: by keyboard alone, cropping one object of a photo, on a
phone-sized screen, with Back, Forward and a shared link, while responses race, and when the API refuses; and an
axe-core scan of each state. Each step waits at most STEP_MS; screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import SITE, Server

STEP_MS = 10_000


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(STEP_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, errors


def answered(page, action: Callable[[], object], path: str = "/search") -> dict:  # type: ignore[no-untyped-def]
    """Do `action`, wait for the API's answer on `path` and for the page to show it; the answer's JSON."""
    with page.expect_response(lambda r: r.url.split("?")[0].endswith(path) and r.request.method in ("GET", "POST"),
                              timeout=STEP_MS) as info:
        action()
    response = info.value
    assert response.ok, f"{response.status} {response.text()}"
    page.wait_for_function("() => !document.getElementById('grid').hasAttribute('aria-busy')"
                           " && !/…$/.test(document.getElementById('status').textContent)", timeout=STEP_MS)
    return response.json()


def keys(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(".card", "cards => cards.map(c => c.dataset.key)")


def open_page(page, server: Server) -> None:  # type: ignore[no-untyped-def]
    with page.expect_response(lambda r: r.url.endswith("/facets")):
        page.goto(server.base)
    page.wait_for_function("() => document.querySelectorAll('#category option').length > 1")


def photo_of(server: Server, index: int) -> tuple[str, Path]:
    pid = sorted(server.products)[index]
    return pid, server.catalog / server.products[pid]["images"][1]


def side_by_side(server: Server, left: int, right: int, out: Path) -> tuple[str, str, Path]:
    """A photo of two products next to each other, as a shopper photographs an outfit."""
    (a, pa), (b, pb) = photo_of(server, left), photo_of(server, right)
    first, second = Image.open(pa).convert("RGB"), Image.open(pb).convert("RGB")
    both = Image.new("RGB", (first.width + second.width, max(first.height, second.height)), (255, 255, 255))
    both.paste(first, (0, 0))
    both.paste(second, (first.width, 0))
    both.save(out, quality=95)
    return a, b, out


def drag(page, x0: float, y0: float, x1: float, y1: float) -> None:  # type: ignore[no-untyped-def]
    """Draw a box on the photo from (x0, y0) to (x1, y1), in shares of its width and height."""
    area = page.locator("#crop").bounding_box()
    page.mouse.move(area["x"] + x0 * area["width"], area["y"] + y0 * area["height"])
    page.mouse.down()
    page.mouse.move(area["x"] + x1 * area["width"], area["y"] + y1 * area["height"], steps=6)
    page.mouse.up()


def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} - {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.timeout(120)
def test_keyboard_alone_chooses_a_photo_and_searches(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    choosers: list[object] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))  # intercepted from here on
    open_page(page, server)
    for _ in range(12):  # Tab from the top of the page to the photo button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "choose":
            break
    assert page.evaluate("document.activeElement.id") == "choose"
    outline = page.evaluate("(() => { const s = getComputedStyle(document.activeElement); "
                            "return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()")
    assert outline[0] != "none" and outline[1] >= 2  # a focus ring one can see
    pid, path = photo_of(server, 0)
    page.keyboard.press("Enter")
    for _ in range(100):
        if choosers:
            break
        page.wait_for_timeout(100)
    answered(page, lambda: choosers[0].set_files(str(path)))  # type: ignore[attr-defined]
    assert keys(page)[0] == f"{SITE}:{pid}"
    assert "found" in page.inner_text("#status")

    page.focus("#q")
    page.keyboard.type(server.products[pid]["category"])
    body = answered(page, lambda: page.keyboard.press("Enter"))
    assert body["ranking"] == "hybrid"
    assert page.locator(".card .match").count() == 0  # fused scores mean nothing to a shopper: none shown


@pytest.mark.timeout(120)
def test_a_crop_finds_the_object_in_it(server: Server, page, tmp_path: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    left, right, photo = side_by_side(server, 1, 5, tmp_path / "outfit.jpg")
    open_page(page, server)
    answered(page, lambda: page.set_input_files("#file", str(photo)))
    body = answered(page, lambda: drag(page, 0.53, 0.02, 0.98, 0.98))
    assert body["results"][0]["product_key"] == f"{SITE}:{right}" and keys(page)[0] == f"{SITE}:{right}"
    assert "bbox=0.5" in page.url and page.is_visible("#box")
    page.screenshot(path=str(artifacts / "crop.png"))
    body = answered(page, lambda: drag(page, 0.02, 0.02, 0.47, 0.98))
    assert keys(page)[0] == f"{SITE}:{left}"

    page.focus("#crop")  # by keyboard: the box moves right, Enter searches it
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    answered(page, lambda: page.keyboard.press("Enter"))
    assert keys(page)[0] == f"{SITE}:{right}"
    answered(page, lambda: page.click("#whole"))
    assert "bbox" not in page.url


@pytest.mark.timeout(120)
def test_a_phone_screen_has_camera_and_no_sideways_scrolling(server: Server, browser, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    phone = browser.new_page(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    phone.set_default_timeout(STEP_MS)
    try:
        open_page(phone, server)
        assert phone.get_attribute("#capture", "capture") == "environment"
        pid, path = photo_of(server, 2)
        with phone.expect_file_chooser() as chooser:
            phone.click("#camera")
        answered(phone, lambda: chooser.value.set_files(str(path)))
        assert keys(phone)[0] == f"{SITE}:{pid}"
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        phone.screenshot(path=str(artifacts / "phone-375.png"), full_page=True)
        assert serious_violations(phone) == []
        phone.click("#remove")  # no words: nothing left to search with
        assert not phone.is_visible("#stage") and "photo=" not in phone.url
    finally:
        phone.close()


@pytest.mark.timeout(120)
def test_large_photos_shrink_before_upload(server: Server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pid, path = photo_of(server, 3)
    big = tmp_path / "phone-photo.jpg"
    Image.open(path).convert("RGB").resize((3000, 3000)).save(big, quality=95)
    open_page(page, server)
    with page.expect_request(lambda r: r.url.endswith("/search") and r.method == "POST") as sent:
        answered(page, lambda: page.set_input_files("#file", str(big)))
    assert int(sent.value.all_headers()["content-length"]) < big.stat().st_size / 3
    assert keys(page)[0] == f"{SITE}:{pid}"


@pytest.mark.timeout(120)
def test_back_forward_and_a_shared_link_restore_the_results(server: Server, page, browser) -> None:  # type: ignore[no-untyped-def]
    open_page(page, server)
    pid, path = photo_of(server, 4)
    photo = answered(page, lambda: page.set_input_files("#file", str(path)))
    by_photo = keys(page)
    assert f"photo={photo['photo_id']}" in page.url
    category = server.products[sorted(server.products)[7]]["category"]
    answered(page, lambda: page.select_option("#category", category))
    filtered = keys(page)
    assert f"category={category}" in page.url and filtered != by_photo

    answered(page, lambda: page.go_back())
    assert keys(page) == by_photo and page.input_value("#category") == ""
    answered(page, lambda: page.go_forward())
    assert keys(page) == filtered and page.input_value("#category") == category

    shared = browser.new_page()
    try:
        with shared.expect_response(lambda r: r.url.endswith("/search")):
            shared.goto(page.url)
        shared.wait_for_function("() => document.querySelectorAll('.card').length > 0")
        assert keys(shared) == filtered and shared.input_value("#category") == category
        assert shared.get_attribute("#preview", "src") == f"/photos/{photo['photo_id']}"
        assert shared.evaluate("document.getElementById('preview').naturalWidth") > 0
    finally:
        shared.close()


@pytest.mark.timeout(120)
def test_a_stale_response_is_dropped(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    held: list[object] = []

    def hold_the_first(route) -> None:  # type: ignore[no-untyped-def]
        if not held:
            held.append(route)
        else:
            route.continue_()

    open_page(page, server)
    page.route("**/search", hold_the_first)
    (_, slow), (fast_id, fast) = photo_of(server, 5), photo_of(server, 6)
    page.set_input_files("#file", str(slow))
    page.wait_for_function("() => document.getElementById('status').textContent === 'Searching…'")
    answered(page, lambda: page.set_input_files("#file", str(fast)))
    assert keys(page)[0] == f"{SITE}:{fast_id}"
    try:
        held[0].continue_()  # the older answer arrives last, if the browser still wants it
    except Exception:  # noqa: BLE001 - the page already cancelled it
        pass
    page.wait_for_timeout(1500)
    assert keys(page)[0] == f"{SITE}:{fast_id}" and "found" in page.inner_text("#status")


ERRORS = [(413, "too_large", "too large"), (415, "not_an_image", "not a photo we can read"),
          (422, "corrupt", "damaged"), (422, "invalid_request", "not valid"),
          (429, "rate_limited", "wait a moment"), (503, "busy", "very busy"),
          (503, "store_unavailable", "unavailable for a moment"), (404, "photo_expired", "no longer available"),
          (504, "unreachable", "could not be reached"), (500, "internal_error", "Something went wrong")]


def refuse(status: int, reason: str) -> Callable[[object], None]:
    """A route handler that answers as the API refuses: a `Problem` with `reason`."""
    return lambda route: route.fulfill(status=status, json={"reason": reason, "detail": "for the log"},  # type: ignore[attr-defined]
                                       headers={"Retry-After": "2"})


@pytest.mark.timeout(120)
def test_each_api_error_is_a_message_a_shopper_reads(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    open_page(page, server)
    page.fill("#q", "dress")
    for status, reason, says in ERRORS:
        page.unroute("**/search")
        page.route("**/search", refuse(status, reason))
        page.click("#go")
        page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
        shown = page.inner_text("#status")
        assert says in shown and str(status) not in shown and "{" not in shown, (reason, shown)
        page.evaluate("document.getElementById('status').className = 'status'")
    page.unroute("**/search")
    page.route("**/search", lambda route: route.abort())
    page.click("#go")
    page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    assert "could not reach the server" in page.inner_text("#status")


@pytest.mark.timeout(180)
def test_no_serious_accessibility_violation_in_any_state(server: Server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    open_page(page, server)
    found = {"empty": serious_violations(page)}
    _, _, photo = side_by_side(server, 0, 2, tmp_path / "two.jpg")
    answered(page, lambda: page.set_input_files("#file", str(photo)))
    found["results"] = serious_violations(page)
    answered(page, lambda: drag(page, 0.5, 0.1, 0.95, 0.9))
    found["cropped"] = serious_violations(page)
    if page.is_visible("#more"):
        answered(page, lambda: page.click("#more"))
    found["more"] = serious_violations(page)
    answered(page, lambda: page.locator(".card.first .more-like").click(), path="/similar")
    found["similar"] = serious_violations(page)
    page.route("**/search", lambda route: route.fulfill(status=429, json={"reason": "rate_limited", "detail": "x"}))
    page.click("#go")
    page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    found["error"] = serious_violations(page)
    assert {state: v for state, v in found.items() if v} == {}
