"""The rep's phone app (issue 20) in a real browser: Debian's chromium on a phone-sized touch
context, against ``fieldroute serve --demo`` on uvicorn (127.0.0.1) with the service's clock
on a working morning. The rep signs in with a one-time link, sees the day's visits, checks in
(with the phone's position), checks out with an order, and reports a closed store; the
server's events log has each once, with the check-out's report."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .conftest import serve_demo

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("FIELDROUTE_ARTIFACTS", "out/test-artifacts"))
ZONE = ZoneInfo("Europe/Monaco")
DAY = dt.date(2026, 12, 8)  # a Tuesday of the demo's cycle
CLOCK = dt.datetime(2026, 12, 8, 8, 20, tzinfo=ZONE)  # before the reps leave home
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

if sync_playwright is None or not CHROMIUM.exists():
    if os.environ.get("FIELDROUTE_REQUIRE_BROWSER") == "1":
        raise RuntimeError("FIELDROUTE_REQUIRE_BROWSER=1 but Playwright or /usr/bin/chromium is missing")
    pytest.skip("browser test: needs /usr/bin/chromium and Playwright", allow_module_level=True)


def _api(base: str, token: str, path: str, method: str = "GET", body: dict | None = None):
    request = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bearer {token}"} | (
        {"Content-Type": "application/json"} if body is not None else {}), data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_a_reps_morning_on_the_phone(tmp_path):
    with serve_demo(tmp_path / "fieldroute.db", "demo", clock=CLOCK.isoformat()) as (base, tokens, _):
        sup = tokens["supervisor"]
        route = _api(base, sup, "/v1/reps/R1/routes/today")
        assert route["date"] == DAY.isoformat()
        visits = [s for s in route["stops"] if s["type"] == "visit"]
        assert len(visits) >= 3
        link = _api(base, sup, "/v1/reps/R1/sign-in-links", "POST", {"hours": 1})
        first, second = visits[0], visits[1]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu",
                                                                             "--disable-background-networking"])
            phone = browser.new_context(**PHONE, geolocation={"latitude": first["lat"], "longitude": first["lon"]},
                                        permissions=["geolocation"])
            outside: list[str] = []
            phone.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base + "/")
                        else (outside.append(r.request.url), r.abort()))
            tab = phone.new_page()
            tab.clock.install(time=CLOCK + dt.timedelta(minutes=1))
            problems: list[str] = []
            tab.on("console", lambda m: m.type == "error" and problems.append(m.text))
            tab.on("pageerror", lambda e: problems.append(str(e)))
            tab.goto(link["url"])
            tab.get_by_role("button", name="Sign in").tap()
            tab.wait_for_url(f"{base}/app")
            tab.wait_for_selector(".fr-stop")
            assert tab.locator(".fr-stop").count() == len(visits)
            assert tab.locator(".fr-stop .fr-name").first.inner_text() == first["name"]
            assert tab.get_by_role("button", name="Sign out").is_visible()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / "app-morning.png"), full_page=False)

            stop = tab.locator(f'.fr-stop[data-store="{first["store_id"]}"]')
            stop.get_by_role("button", name="Check in").tap()
            stop.get_by_role("button", name="Check out").wait_for()
            stop.get_by_role("button", name="Check out").tap()
            stop.get_by_label("Outcome").select_option("order")
            stop.get_by_label("Order value").fill("120.5")
            stop.get_by_label("Take the order (销)").check()
            stop.get_by_role("button", name="Send").tap()
            tab.wait_for_selector(f'.fr-stop[data-store="{first["store_id"]}"] .fr-state-done')
            nxt = tab.locator(f'.fr-stop[data-store="{second["store_id"]}"]')
            nxt.get_by_role("button", name="Store closed").tap()
            tab.wait_for_function("(id) => !document.querySelector(`.fr-stop[data-store=\"${id}\"]`)", arg=second["store_id"])
            assert tab.locator("#fr-status").inner_text() and not tab.locator("#fr-status.error").count()
            tab.screenshot(path=str(ARTIFACTS / "app-after-events.png"))
            for button in tab.locator("button").all():
                box = button.bounding_box()
                if box:
                    assert box["height"] >= 44, button.inner_text()
            browser.close()
        log = _api(base, sup, f"/v1/plans/{route['plan_id']}/events?date={DAY}&rep_id=R1")["items"]
        kinds = [(e["kind"], e.get("store_id")) for e in log]
        assert kinds == [("visit_started", first["store_id"]), ("visit_done", first["store_id"]),
                         ("store_closed", second["store_id"])], kinds
        done = log[1]
        assert (done["outcome"], done["order_value"], done["steps"]) == ("order", 120.5, ["take_order"])
        assert log[0]["lat"] == pytest.approx(first["lat"])
        assert problems == [] and outside == []
