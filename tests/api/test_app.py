"""The rep's phone app (issue 20) in a real browser: Debian's chromium on a phone-sized touch
context, against ``fieldroute serve --demo`` on uvicorn (127.0.0.1) with the service's clock
on a working morning. The rep signs in with a one-time link, sees the day's visits, checks in
(with the phone's position), checks out with an order, and reports a closed store; the
server's events log has each once, with the check-out's report."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from .browser import ARTIFACTS, CHROMIUM, api, need_browser, pass_checked
from .conftest import serve_demo

ZONE = ZoneInfo("Europe/Monaco")
DAY = dt.date(2026, 12, 8)  # a Tuesday of the demo's cycle
CLOCK = dt.datetime(2026, 12, 8, 8, 20, tzinfo=ZONE)  # before the reps leave home
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}

sync_playwright = need_browser()



HOSTILE = '<img src=x onerror="window.pwned=1">Kiosk & "Co"'


def _log(base: str, token: str, plan_id: int) -> list[tuple[str, str | None]]:
    items = api(base, token, f"/v1/plans/{plan_id}/events?date={DAY}&rep_id=R1&limit=500")["items"]
    return [(e["kind"], e.get("store_id")) for e in items]


def _state(tab, store_id: str) -> str:
    return tab.locator(f'.fr-stop[data-store="{store_id}"] .fr-state').inner_text()


def test_a_reps_morning_on_the_phone(tmp_path):
    """Sign in with a link (a second use refused); the day as the API has it; check in and out
    with an order; a closed store leaves the route and says where it went; offline, two
    visits checked in and out (and the app reloaded from the phone's cache), sent once each
    when the network is back; an urgent visit to a new place with a hostile name; a
    supervisor's change shown after a poll. No console errors; nothing leaves 127.0.0.1."""
    with serve_demo(tmp_path / "fieldroute.db", "demo", clock=CLOCK.isoformat()) as (base, tokens, _):
        started = time.monotonic()
        sup = tokens["supervisor"]
        route = api(base, sup, "/v1/reps/R1/routes/today")
        assert route["date"] == DAY.isoformat() and route["day_off"] is False
        visits = [s for s in route["stops"] if s["type"] == "visit"]
        assert len(visits) >= 6
        link = api(base, sup, "/v1/reps/R1/sign-in-links", "POST", {"hours": 1})
        v = [s["store_id"] for s in visits]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu",
                                                                             "--disable-background-networking"])
            phone = browser.new_context(**PHONE, geolocation={"latitude": visits[0]["lat"], "longitude": visits[0]["lon"]},
                                        permissions=["geolocation"])
            outside: list[str] = []
            offline = [False]

            def network(r):
                if not r.request.url.startswith(base + "/"):
                    outside.append(r.request.url)
                    r.abort()
                elif offline[0]:
                    r.abort("internetdisconnected")
                else:
                    pass_checked(r)

            phone.route("**/*", network)
            tab = phone.new_page()
            tab.clock.install(time=CLOCK + dt.timedelta(minutes=1))
            problems: list[str] = []
            tab.on("console", lambda m: m.type == "error" and not (offline[0] and "net::ERR" in m.text)
                   and problems.append(m.text))
            tab.on("pageerror", lambda e: problems.append(str(e)))
            tab.goto(link["url"])
            tab.get_by_role("button", name="Sign in").tap()
            tab.wait_for_url(f"{base}/app")
            tab.wait_for_selector(".fr-stop")
            assert tab.locator(".fr-stop").count() == len(visits)
            assert tab.locator(".fr-stop .fr-name").first.inner_text() == visits[0]["name"]
            assert tab.get_by_role("button", name="Sign out").is_visible()
            tab.wait_for_selector("#fr-map svg polyline")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / "app-morning.png"))
            again = phone.new_page()  # the link works once
            again.goto(link["url"])
            again.get_by_role("button", name="Sign in").tap()
            again.get_by_text("This sign-in link was used already.").wait_for()
            again.close()
            # another rep's route is not the phone's to read
            assert phone.request.get(f"{base}/v1/reps/R2/routes/today").status == 403
            tab.wait_for_function("navigator.serviceWorker.controller !== null")
            installable = phone.new_cdp_session(tab).send("Page.getInstallabilityErrors")["installabilityErrors"]
            assert {e["errorId"] for e in installable} <= {"in-incognito"}, installable  # the context is incognito

            stop = tab.locator(f'.fr-stop[data-store="{v[0]}"]')
            stop.get_by_role("button", name="Check in").tap()
            stop.get_by_role("button", name="Check out").tap()
            stop.get_by_label("Outcome").select_option("order")
            stop.get_by_label("Order value").fill("120.5")
            stop.get_by_label("Take the order (销)").check()
            stop.get_by_role("button", name="Send").tap()
            tab.wait_for_selector(f'.fr-stop[data-store="{v[0]}"] .fr-state-done')
            tab.locator(f'.fr-stop[data-store="{v[1]}"]').get_by_role("button", name="Store closed").tap()
            tab.wait_for_selector(f'.fr-gone[data-store="{v[1]}"]')  # listed as having left the route, and where to
            assert not tab.locator(f'.fr-stop[data-store="{v[1]}"]').count()
            assert tab.locator("#fr-status").inner_text() and not tab.locator("#fr-status.error").count()
            tab.screenshot(path=str(ARTIFACTS / "app-after-events.png"))

            offline[0] = True  # page.route/context.route as well: set_offline does not cut a service worker's traffic
            phone.set_offline(True)
            for store_id, outcome in ((v[2], "no_order"), (v[3], "order")):
                item = tab.locator(f'.fr-stop[data-store="{store_id}"]')
                item.get_by_role("button", name="Check in").tap()
                item.get_by_role("button", name="Check out").tap()
                item.get_by_label("Outcome").select_option(outcome)
                item.get_by_role("button", name="Send").tap()
                tab.wait_for_selector(f'.fr-stop[data-store="{store_id}"] .fr-state-done')
            assert "4 reports waiting" in tab.locator("#fr-queue").inner_text()
            tab.reload()  # offline: the app and the route from the phone's cache, the reports still waiting
            tab.wait_for_selector(".fr-stop")
            assert "4 reports waiting" in tab.locator("#fr-queue").inner_text()
            assert "No network" in tab.locator("#fr-status").inner_text()
            assert _state(tab, v[3]) == "done"
            tab.screenshot(path=str(ARTIFACTS / "app-offline.png"))
            plan_id = route["plan_id"]
            assert len(_log(base, sup, plan_id)) == 3  # nothing reached the service

            offline[0] = False
            phone.set_offline(False)
            tab.wait_for_function("!document.querySelector('#fr-queue p')", timeout=60000)
            assert _log(base, sup, plan_id) == [
                ("visit_started", v[0]), ("visit_done", v[0]), ("store_closed", v[1]),
                ("visit_started", v[2]), ("visit_done", v[2]), ("visit_started", v[3]), ("visit_done", v[3])]

            tab.get_by_role("button", name="Urgent visit").tap()
            tab.get_by_label("Search your stores").fill(visits[4]["name"][:3])
            tab.locator(".fr-results li").first.wait_for()
            found = tab.locator(".fr-results li").all_inner_texts()
            assert found and all("class" in f for f in found)
            tab.get_by_label("Or a new place here: its name").fill(HOSTILE)
            tab.get_by_role("button", name="Add the new place").tap()
            tab.wait_for_function("!document.querySelector('#fr-queue p') && !document.querySelector('.fr-urgent')")
            names = tab.locator(".fr-stop .fr-name").all_inner_texts()
            assert HOSTILE in names or "fits on no route" in tab.locator("#fr-status").inner_text()
            assert tab.evaluate("window.pwned") is None

            left = [s["store_id"] for s in api(base, sup, "/v1/reps/R1/routes/today")["stops"]
                    if s["type"] == "visit" and not s.get("status") and s["store_id"] in v]
            now = CLOCK + dt.timedelta(seconds=time.monotonic() - started)  # the service's clock, a little behind
            api(base, sup, f"/v1/plans/{plan_id}/events", "POST",
                 {"kind": "store_closed", "rep_id": "R1", "store_id": left[-1], "time": now.isoformat()})
            assert tab.locator(f'.fr-stop[data-store="{left[-1]}"]').count()
            tab.clock.run_for(61_000)  # the 60 s poll
            tab.get_by_text("Your route changed").wait_for()
            assert not tab.locator(f'.fr-stop[data-store="{left[-1]}"]').count()
            tab.screenshot(path=str(ARTIFACTS / "app-changed.png"))
            for button in tab.locator("button").all():
                box = button.bounding_box()
                if box:
                    assert box["height"] >= 44, button.inner_text()
            for width, height in ((360, 740), (430, 932), (820, 1180)):  # small and large phones, a tablet
                tab.set_viewport_size({"width": width, "height": height})
                assert tab.evaluate("document.documentElement.scrollWidth") <= width
            tab.screenshot(path=str(ARTIFACTS / "app-tablet.png"))
            tab.get_by_role("button", name="Sign out").tap()
            tab.wait_for_url(f"{base}/app")
            tab.get_by_text("open the sign-in link").wait_for()

            link = api(base, sup, "/v1/reps/R1/sign-in-links", "POST", {"hours": 1})
            chinese = browser.new_context(**PHONE, locale="zh-CN")  # the words of the phone's language
            chinese.route("**/*", network)
            zh = chinese.new_page()
            zh.goto(link["url"])
            zh.get_by_role("button", name="Sign in").tap()
            zh.get_by_role("button", name="退出登录").wait_for()
            assert zh.locator("html").get_attribute("lang") == "zh"
            zh.get_by_role("button", name="紧急拜访").wait_for()
            zh.screenshot(path=str(ARTIFACTS / "app-zh.png"))
            browser.close()
        done = api(base, sup, f"/v1/plans/{plan_id}/events?date={DAY}&rep_id=R1")["items"][1]
        assert (done["outcome"], done["order_value"], done["steps"]) == ("order", 120.5, ["take_order"])
        assert problems == [] and outside == []
