"""The supervisor's follow-up page (issue 22) in a real browser: Debian's chromium driven by
Playwright at 1366x900 and on a 390x844 phone, against the service on uvicorn (127.0.0.1).

A small team (the demo's policy, reps and first 24 stores, a 2-week cycle) whose first week is
imported by hand (four visits of R1: two orders and two without) shows numbers a test can
work out on paper; ``fieldroute serve --demo`` (a played month, learned suggestions) has a
suggestion applied from the page. Every API answer the page gets is checked against the
published schema; nothing is asked of the internet but map tiles (answered blank here).

Skipped when Playwright or /usr/bin/chromium is missing, unless ``FIELDROUTE_REQUIRE_BROWSER=1``."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from .browser import ARTIFACTS, BLANK_PNG, CHROMIUM, api, need_browser, pass_checked
from .conftest import CONFORMANCE, MONDAY, POLICY, REPS_CSV, STORES, _free_port, _healthy, plan_and_publish, serve_demo

sync_playwright = need_browser()

PAGE = "/v1/reports/page"
TILES = "https://tile.openstreetmap.org/"
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
WEEK = [dt.date.fromisoformat(MONDAY) + dt.timedelta(days=n) for n in range(7)]  # the cycle's first week
CLOCK = "2026-12-07T12:00:00+01:00"  # the second week's Monday, noon in Monaco
HOSTILE = '<img src=x onerror="window.pwned=1">Kiosk & "Co"'
REPS = ("R1", "R2", "R3", "R4")


@contextlib.contextmanager
def serve_team(folder: Path):
    """``fieldroute serve`` on an empty database with the clock at ``CLOCK``: (base URL, an
    admin's headers), the server stopped when the block ends."""
    db = folder / "fieldroute.db"
    made = subprocess.run([sys.executable, "-m", "api.cli", "token", "create", "--name", "test admin", "--role", "admin",
                           "--db", str(db)], capture_output=True, text=True, check=True)
    admin = {"Authorization": f"Bearer {made.stdout.rsplit(': ', 1)[1].strip()}"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with open(folder / "server.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", str(db), "--port", str(port),
                                   "--network", "straight", "--clock", CLOCK], stdout=log, stderr=subprocess.STDOUT)
    CONFORMANCE.serve(base)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            assert time.monotonic() < deadline and server.poll() is None, (folder / "server.log").read_text()
            time.sleep(0.2)
        yield base, admin
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """The small team planned for two weeks from MONDAY and published; in the first week R1
    made four of its planned visits: three at stores with one planned visit that week (not of
    class A), an order of 120.00, one of 30.50 and one without an order, and one of the two
    visits of a store planned twice, without an order. An A store has a hostile name. Yields
    (base, admin headers, supervisor token, what the test knows by hand)."""
    folder = tmp_path_factory.mktemp("followup")
    with serve_team(folder) as (base, admin), httpx.Client(base_url=base, timeout=60) as client:
        stores = [dict(s) for s in STORES]
        hostile = next(s for s in stores if s["class"] == "A")
        hostile["name"] = HOSTILE
        assert client.put("/v1/policy", json=POLICY, headers=admin).status_code == 200
        assert client.post("/v1/reps/import", content=REPS_CSV, headers=admin | {"Content-Type": "text/csv"}).status_code == 200
        assert client.post("/v1/stores/import", json=stores, headers=admin).status_code == 200
        plan_and_publish(client, admin, weeks=2)
        planned = []  # (date, rep, visit stop) in the order the reports read them: date, rep, route
        for date in WEEK:
            for rep in REPS:
                r = client.get(f"/v1/reps/{rep}/routes/{date}", headers=admin)
                planned += [(date, rep, s) for s in r.json()["stops"] if s["type"] == "visit"] if r.status_code == 200 else []
        times = Counter(s["store_id"] for _, _, s in planned)
        classes = {s["id"]: s["class"] for s in stores}
        once = [(date, s) for date, rep, s in planned if rep == "R1" and times[s["store_id"]] == 1
                and classes[s["store_id"]] != "A"][:3]
        twice = next((date, s) for date, rep, s in planned if rep == "R1" and times[s["store_id"]] == 2
                     and s["store_id"] != hostile["id"])
        chosen = [*once, twice]
        assert len({s["store_id"] for _, s in chosen}) == 4
        outcomes = [("order", 120.0), ("order", 30.5), ("no_order", None), ("no_order", None)]
        visits = [{"id": f"CRM-{n}", "rep_id": "R1", "store_id": s["store_id"], "checked_in": s["start"], "checked_out": s["end"],
                   "outcome": outcome, "order_value": value} for n, ((_, s), (outcome, value)) in enumerate(zip(chosen, outcomes))]
        r = client.post("/v1/visits/import", json=visits, headers=admin)
        assert r.status_code == 200 and r.json()["added"] == 4, r.text
        sup = client.post("/v1/tokens", json={"name": "supervisor", "role": "supervisor"}, headers=admin).json()["token"]
        today = [s for s in client.get("/v1/reps/R1/routes/2026-12-07", headers=admin).json()["stops"] if s["type"] == "visit"]
        often = Counter((s["store_id"], rep) for _, rep, s in planned)  # a store's rep: the one the plan sends most
        rep_of: dict[str, str] = {}
        for (store, rep), _ in often.most_common():
            rep_of.setdefault(store, rep)
        made = {s["store_id"] for _, s in chosen}
        known = {"planned": planned, "once": {s["store_id"] for _, s in once}, "twice": twice[1]["store_id"], "rep_of": rep_of,
                 "today_r1": len(today), "a_not_made": sorted(s["id"] for s in stores if s["class"] == "A" and s["id"] not in made),
                 "hostile": hostile["id"]}
        yield base, admin, sup, known


@contextlib.contextmanager
def browser_tab(base: str, token: str, context: dict, *, first: str = "#fr-kpi-table tbody tr"):
    """A chromium tab signed in (``/login``) on the follow-up page, once ``first`` shows: (tab,
    the console errors and page errors it had, the URLs it asked of anything but ``base``)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        ctx = browser.new_context(**context)
        outside: list[str] = []

        def route(r):
            if r.request.url.startswith(base + "/"):
                return pass_checked(r)
            outside.append(r.request.url)
            return r.fulfill(status=200, content_type="image/png", body=BLANK_PNG)

        ctx.route("**/*", route)
        tab = ctx.new_page()
        problems: list[str] = []
        tab.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console {m.type}: {m.text}"))
        tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        tab.goto(f"{base}/login?next={PAGE}")
        tab.fill("input[name=token]", token)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"**{PAGE}**")
        tab.wait_for_selector(first)
        try:
            yield tab, problems, outside
        finally:
            browser.close()


def _period(tab, quick: str, start: dt.date, end: dt.date) -> None:
    """Pick a quick period and wait until the page shows it."""
    tab.click(f"[data-quick={quick}]")
    tab.wait_for_function("(t) => document.getElementById('fr-status').textContent.startsWith(t)",
                          arg=f"{start.day} {start:%b %Y} to {end.day} {end:%b %Y}")


def _cells(tab, row: str) -> dict[str, str]:
    return {c.get_attribute("data-col"): c.inner_text() for c in tab.locator(f"{row} td[data-col]").all()}


def test_a_reps_numbers_on_the_page_equal_the_hand_computed_case(team):
    """At 1366x900, "Last week" (the cycle's first week): R1 planned P visits and made 4 of
    them, so 4 stores covered of its N, 2 with an order (active rate 50 %), orders of 120.00
    and 30.50 (average 75.25, sales 150.50), 4 visits in 5 working days; the team's row adds
    the others' missed visits. The charts carry the same numbers; the map colours made the
    three stores whose one visit was made, missed the store planned twice and made once and
    every other store planned, the rest not due; the A stores not made are listed, never
    visited (a hostile name stays text); today's table has R1's route of the day. No console
    error, nothing but tiles asked of the internet."""
    base, _, sup, known = team
    planned = known["planned"]
    p_r1 = sum(rep == "R1" for _, rep, _ in planned)
    n_r1 = sum(rep == "R1" for rep in known["rep_of"].values())
    with browser_tab(base, sup, DESKTOP) as (tab, problems, outside):
        _period(tab, "last-week", WEEK[0], WEEK[-1])
        assert tab.input_value("#fr-from") == str(WEEK[0]) and tab.input_value("#fr-to") == str(WEEK[-1])
        assert tab.get_attribute("[data-quick=last-week]", "aria-pressed") == "true"
        assert [r.get_attribute("data-rep") for r in tab.locator("#fr-kpi-table tbody tr").all()] == list(REPS)
        assert _cells(tab, '#fr-kpi-table tr[data-rep="R1"]') == {
            "planned": str(p_r1), "made": "4", "missed": str(p_r1 - 4), "due": "0", "extra": "0", "stores": str(n_r1),
            "covered": "4", "coverage": f"{100 * 4 / n_r1:.1f} %", "active_rate": "50.0 %", "avg_order": "75.25",
            "sales": "150.50", "sales_change": "–", "visits_per_day": "0.8", "late_arrivals": "0"}
        team_row = _cells(tab, "#fr-kpi-table tfoot tr")
        assert (team_row["planned"], team_row["made"], team_row["missed"], team_row["sales"]) == (
            str(len(planned)), "4", str(len(planned) - 4), "150.50")
        # the charts: the week's bars, R1's coverage, the formula's factors
        week = WEEK[0].isoformat()
        bars = {b.get_attribute("data-series"): b.get_attribute("data-value")
                for b in tab.locator(f'#fr-weekly rect[data-week="{week}"]').all()}
        assert bars == {"planned": str(len(planned)), "made": "4"}
        assert float(tab.get_attribute('#fr-coverage rect[data-rep="R1"]', "data-value")) == pytest.approx(4 / n_r1)
        assert [float(tab.get_attribute(f'#{box} circle[data-week="{week}"]', "data-value"))
                for box in ("fr-covered", "fr-active", "fr-avg")] == pytest.approx([4, 0.5, 75.25])
        assert f"week of 30 Nov: 4 made of {len(planned)} planned" in tab.locator("#fr-weekly desc").text_content()
        # the map: made, missed, not due
        states = dict(tab.evaluate("() => [...document.querySelectorAll('path.fr-store')]"
                                   ".map((p) => [p.dataset.store, p.dataset.state])"))
        assert len(states) == len(STORES)
        missed = {s["store_id"] for _, _, s in planned} - known["once"]
        assert known["twice"] in missed
        assert {s for s, v in states.items() if v == "made"} == known["once"]
        assert {s for s, v in states.items() if v == "missed"} == missed
        assert tab.inner_text('#fr-legend li[data-state="made"]') == "Made: 3"
        # the A stores not made, never visited; the hostile name as text
        gaps = tab.locator("#fr-unvisited tbody tr")
        assert sorted(r.get_attribute("data-store") for r in gaps.all()) == known["a_not_made"]
        row = tab.locator(f'#fr-unvisited tr[data-store="{known["hostile"]}"]')
        assert row.locator("td").first.inner_text() == f"{HOSTILE} ({known['hostile']})"
        assert row.locator("td").nth(3).inner_text() == "never"
        row.get_by_role("button").click()
        tooltip = tab.locator(".leaflet-tooltip").first
        tooltip.wait_for()
        assert HOSTILE in tooltip.inner_text() and tab.locator("#fr-unvisited img, .leaflet-tooltip img").count() == 0
        assert tab.evaluate("() => window.pwned") is None
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= 1366  # nothing sticks out
        # today (the clock: the second week's Monday): R1's route, nothing done yet
        tab.wait_for_selector('#fr-today tr[data-rep="R1"]')
        today = tab.locator('#fr-today tr[data-rep="R1"] td').all_inner_texts()
        assert (today[0], today[3], today[4]) == ("0", str(known["today_r1"]), "0")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "followup-desktop.png"), full_page=True)
        assert problems == []
        assert all(url.startswith(TILES) for url in outside), outside


def test_a_team_supervisor_sees_its_reps_only(team):
    """A supervisor limited to R2 sees R2's row, R2's stores on the map, and the team row is R2's."""
    base, admin, _, known = team
    limited = api(base, admin["Authorization"].split()[1], "/v1/tokens", "POST",
                  {"name": "R2's supervisor", "role": "supervisor", "team": ["R2"]})["token"]
    with browser_tab(base, limited, DESKTOP) as (tab, problems, _):
        _period(tab, "last-week", WEEK[0], WEEK[-1])
        assert [r.get_attribute("data-rep") for r in tab.locator("#fr-kpi-table tbody tr").all()] == ["R2"]
        shown = set(tab.evaluate("() => [...document.querySelectorAll('path.fr-store')].map((p) => p.dataset.store)"))
        assert shown == {s for s, rep in known["rep_of"].items() if rep == "R2"}
        r2 = sum(rep == "R2" for _, rep, _ in known["planned"])
        assert _cells(tab, "#fr-kpi-table tfoot tr")["planned"] == str(r2)
        assert tab.inner_text("#fr-subtitle").startswith("Your team: 1 rep,")
        assert problems == []


def _fits_the_phone(tab) -> None:
    """At 390 px: nothing wider than the screen, the map wide and high, the KPI table scrolling
    inside its box, every visible button, select and date field at least 44 px high."""
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= 390
    map_box = tab.locator("#fr-map").bounding_box()
    assert map_box["width"] > 300 and map_box["height"] >= 300
    scroller = tab.locator("#fr-kpis .fr-scroll")
    assert scroller.bounding_box()["width"] <= 390
    assert tab.evaluate("(e) => e.scrollWidth > e.clientWidth", scroller.element_handle())
    small = tab.evaluate("() => [...document.querySelectorAll('button, select, input')].filter((e) => e.offsetParent)"
                         ".map((e) => [e.textContent || e.id, e.getBoundingClientRect().height]).filter(([, h]) => h < 44)")
    assert small == []


def _decided(tab, item) -> str:
    """The suggestion's status once the page has the service's answer (its result line says it)."""
    tab.wait_for_function("(e) => e.textContent !== ''", arg=item.locator(".fr-sug-result").element_handle())
    return item.get_attribute("data-status")


def test_the_page_on_a_phone_and_a_suggestion_applied_from_it(tmp_path):
    """On the demo (a played month): at 390x844 the page fits the phone; a store's learned visit
    minutes applied from the page make a new version of the store (the page says which); a
    dismissed suggestion is listed as dismissed. At 1366x900 too, no console error."""
    with serve_demo(tmp_path / "fieldroute.db", "demo") as (base, tokens, _):
        sup = tokens["supervisor"]
        with browser_tab(base, sup, PHONE, first=".fr-suggestion") as (tab, problems, outside):
            tab.wait_for_selector("#fr-kpi-table tbody tr")
            _fits_the_phone(tab)
            assert tab.locator(".fr-suggestion").count() == 20 and tab.is_visible("#fr-sug-more")  # the first page
            tab.select_option("#fr-sug-kind", "store_service")
            tab.wait_for_function("() => { const all = [...document.querySelectorAll('.fr-suggestion')];"
                                  " return all.length > 0 && all.every((li) => li.dataset.kind === 'store_service'); }")
            first = tab.locator('.fr-suggestion[data-kind="store_service"]').first
            sid, store = first.get_attribute("data-id"), first.get_attribute("data-target")
            item = tab.locator(f'.fr-suggestion[data-id="{sid}"]')
            before = api(base, sup, f"/v1/stores/{store}")
            item.get_by_role("button", name="Apply").tap()
            assert _decided(tab, item) == "applied", item.locator(".fr-sug-result").inner_text()
            after = api(base, sup, f"/v1/stores/{store}")
            assert after["version"] == before["version"] + 1 and after["service_min"] != before["service_min"]
            assert f"store {store} is now version {after['version']}" in item.inner_text()
            other_id = tab.locator('.fr-suggestion[data-status="open"]').first.get_attribute("data-id")
            other = tab.locator(f'.fr-suggestion[data-id="{other_id}"]')
            other.get_by_role("button", name="Dismiss").tap()
            assert _decided(tab, other) == "dismissed", other.locator(".fr-sug-result").inner_text()
            assert other_id in {s["id"] for s in api(base, sup, "/v1/suggestions?status=dismissed")["items"]}
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.evaluate("() => window.scrollTo(0, 0)")
            tab.screenshot(path=str(ARTIFACTS / "followup-phone.png"))
            tab.screenshot(path=str(ARTIFACTS / "followup-phone-full.png"), full_page=True)
            assert problems == []
            assert all(url.startswith(TILES) for url in outside), outside
        with browser_tab(base, sup, DESKTOP) as (tab, problems, _):
            tab.click("[data-quick=last-4-weeks]")
            tab.wait_for_function("() => document.querySelectorAll('#fr-weekly rect[data-series=made]').length === 4")
            tab.wait_for_selector(".fr-suggestion")
            tab.screenshot(path=str(ARTIFACTS / "followup-demo-desktop.png"))  # docs/followup.png
            tab.screenshot(path=str(ARTIFACTS / "followup-demo-desktop-full.png"), full_page=True)
            assert problems == []
