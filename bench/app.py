"""The rep's phone app (issue 20) in a real browser: what its first load weighs, and how fast
it shows today's route again, online and with the network cut.

    python bench/app.py [--repeat 5] [--rep R1] [--clock 2026-12-08T08:20:00+01:00] [--no-intercept] [--json FILE]

What it does: starts ``fieldroute serve --demo`` on 127.0.0.1 with the service's clock on a
working morning (``tests.api.conftest.serve_demo``, as ``tests/api/test_app.py`` does), then
``--repeat`` times, each time a new phone (a fresh Playwright context of Debian's chromium,
390 x 844, mobile, touch: empty caches, no service worker yet):

1. **First load.** A one-time sign-in link for the rep (``POST /v1/reps/{rep}/sign-in-links``
   with the supervisor's token); the phone opens it, taps "Sign in", lands on ``/app`` and
   shows the day's visits (the first ``.fr-stop``). Every request the page and its service
   worker made from the navigation to ``/app`` (the sign-in POST's 303 is left out) until the
   route is shown is counted: each response body's size, its size under Python's gzip -6
   (the sum is the budget's number, whatever the service itself compressed), and what came
   over the wire (``request.sizes()``: body as sent plus headers). Map tiles do not count
   towards the budget (counted apart; from another host they are aborted anyway). The
   requests made after the route was shown until the page is idle (a service worker's
   install and precache, what the app reads once the route is up) are counted apart, and
   the whole first visit is checked against the budget too.
2. **Service worker.** Once the page is idle: a registration (``getRegistrations()``), and
   if one covers ``/app``, ``navigator.serviceWorker.ready``. Without one the offline
   measurements are skipped and reported as "no service worker".
3. **Offline reload**, straight after the first load: the network cut (a route that aborts
   every request and ``context.set_offline(True)``), ``/app`` reloaded, time until the first
   ``.fr-stop``. Then an **online warm reload** the same way, and a second offline reload
   after it (a route GET the worker caches as the page reads it is only cached after a
   load the worker controls: the first load is not one unless the worker claims it).

Times: ``shown`` is measured in the page, ``performance.now()`` (from the navigation's start;
for the first load that is the sign-in POST, whose 303 leads to ``/app``)
at the first animation frame after a ``MutationObserver`` saw the first ``.fr-stop`` enter
the DOM (an init script); ``wall`` is the benchmark's clock around ``page.reload()`` plus
``wait_for_selector(".fr-stop", state="visible")`` (Playwright's round trips included).
Medians over the repeats are reported; every run is in the JSON.

Only 127.0.0.1 is contacted: a context route aborts (and counts) any other request, and the
browser resolves no other host name (``--host-resolver-rules``; its own background requests
included). A Playwright route disables the browser's HTTP cache and sends every request
through the script; ``--no-intercept`` measures without it (other hosts still fail to
resolve and are counted from the request events; the offline cut still uses a route; a body
the HTTP cache revalidated still counts at its gzip size, the wire column shows the 304).
Budget (issue 20): under 150 KB (150,000 bytes) gzipped on the first load, map tiles apart.
Exit status 1 if the first load is over it, or if a service worker is there and an offline
reload did not show the route.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
CLOCK = dt.datetime(2026, 12, 8, 8, 20, tzinfo=ZoneInfo("Europe/Monaco")).isoformat()  # a Tuesday morning, as test_app.py
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
BUDGET_BYTES = 150_000
#: Map tiles (none today): OSM-style z/x/y paths or a "tile" path; left out of the budget.
TILE = re.compile(r"/tiles?/|/\d+/\d+/\d+(@\dx)?\.(png|jpe?g|webp|pbf|mvt)$")

#: Records when the first .fr-stop entered the DOM, and the next animation frame (the one that
#: paints it), in performance.now() of the document: milliseconds from the navigation's start.
MARK_JS = """(() => {
  const mark = () => {
    if (window.__frStop || !document.querySelector(".fr-stop")) return false;
    window.__frStop = {dom: performance.now()};
    requestAnimationFrame(() => { window.__frStop.frame = performance.now(); });
    return true;
  };
  new MutationObserver((_, observer) => { if (mark()) observer.disconnect(); })
    .observe(document, {childList: true, subtree: true});
})();"""
SHOWN_JS = "() => window.__frStop ? Object.assign({origin: performance.timeOrigin}, window.__frStop) : null"
#: The service worker registrations of the origin, and whether one covers this page.
WORKER_JS = """async (waitMs) => {
  if (!("serviceWorker" in navigator)) return {state: "unsupported"};
  const until = performance.now() + waitMs;
  let all = await navigator.serviceWorker.getRegistrations();
  while (!all.length && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    all = await navigator.serviceWorker.getRegistrations();
  }
  if (!all.length) return {state: "none"};
  const scopes = all.map((r) => r.scope);
  const mine = await navigator.serviceWorker.getRegistration();
  if (!mine) return {state: "registered, does not cover this page", scopes};
  const ready = await Promise.race([navigator.serviceWorker.ready.then(() => true),
                                    new Promise((r) => setTimeout(() => r(false), 30000))]);
  const worker = mine.active || mine.waiting || mine.installing;
  return {state: ready ? "active" : (worker ? worker.state : "none"), scopes, scope: mine.scope,
          script: worker ? worker.scriptURL : null, controlled: Boolean(navigator.serviceWorker.controller)};
}"""


# --- the service ------------------------------------------------------------------------------


def api(base: str, token: str, path: str, method: str = "GET", body: dict | None = None):
    request = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bearer {token}"} | (
        {"Content-Type": "application/json"} if body is not None else {}), data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def serve_demo(db: Path, clock: str):
    """``fieldroute serve --demo --network demo --clock ...`` on 127.0.0.1 (the API tests' helper)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tests.api.conftest import serve_demo as serve
    return serve(db, "demo", clock=clock)


# --- what the browser fetched -------------------------------------------------------------------


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def described(request, base: str) -> tuple[dict, bytes]:
    """One request, finished: who made it, its answer and its sizes; and its body."""
    response = request.response()  # None if it failed
    url = request.url
    row = {"url": url[len(base):] if url.startswith(base) else url, "method": request.method, "type": request.resource_type,
           "by": "service worker" if request.service_worker else "page", "start_ms": request.timing.get("startTime", -1),
           "status": response.status if response else None, "failure": request.failure,
           "from_service_worker": bool(response and response.from_service_worker), "tile": bool(TILE.search(urlsplit(url).path))}
    body = b""
    if response is not None and not 300 <= response.status < 400:
        try:
            body = response.body()
        except Exception as exc:  # noqa: BLE001 - a body the browser no longer has: say so
            row["body_error"] = str(exc).splitlines()[0]
    row |= {"raw_bytes": len(body), "gzip6_bytes": gz(body) if body else 0, "encoding": response.headers.get("content-encoding")
            if response else None}
    try:
        sizes = request.sizes()
        row["wire_bytes"] = sizes["responseBodySize"] + sizes["responseHeadersSize"]
    except Exception:  # noqa: BLE001 - failed requests have no sizes
        row["wire_bytes"] = 0
    return row, body


def network(rows: list[dict]) -> list[dict]:
    """The requests that reached the network (not answered by a service worker, not failed)."""
    return [r for r in rows if r["status"] is not None and not r["from_service_worker"]]


def tally(rows: list[dict]) -> dict:
    net = [r for r in network(rows) if not r["tile"]]
    return {"requests": len(rows), "network_requests": len(net), "raw_bytes": sum(r["raw_bytes"] for r in net),
            "gzip6_bytes": sum(r["gzip6_bytes"] for r in net), "wire_bytes": sum(r["wire_bytes"] for r in net),
            "tiles": sum(r["tile"] for r in rows), "failed": sum(r["status"] is None for r in rows),
            "from_service_worker": sum(r["from_service_worker"] for r in rows)}


# --- one phone --------------------------------------------------------------------------------


class Phone:
    """A fresh browser context on the rep's phone; every request it makes, in order."""

    def __init__(self, browser, base: str, intercept: bool):
        self.base, self.intercept = base, intercept
        self.context = browser.new_context(**PHONE)
        self.context.add_init_script(MARK_JS)
        self.requests: list = []
        self.outside: list[str] = []
        self.cut: list[str] = []  # requests aborted while the network was cut
        self.bodies: dict[str, bytes] = {}  # response bodies by URL
        self.problems: list[str] = []  # the page's console errors and uncaught exceptions
        self.context.on("request", lambda request: self.requests.append(request))
        if intercept:
            self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"{m.text} ({m.location.get('url')})"))
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def _guard(self, route) -> None:
        if route.request.url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def _cut(self, route) -> None:
        self.cut.append(route.request.url)
        route.abort("internetdisconnected")

    def outside_seen(self) -> list[str]:
        """Requests to anywhere but the service (without the guard route: from the events)."""
        if self.intercept:
            return self.outside
        return [r.url for r in self.requests if not r.url.startswith((self.base + "/", "data:", "blob:"))]

    def rows(self, start: int, end: int | None = None) -> list[dict]:
        """The requests since ``start``, described. Playwright gives no body for a service worker's
        own requests: such a body is the page's copy of the same URL, else fetched apart."""
        requests = self.requests[start:end]
        rows = []
        for request in requests:
            row, body = described(request, self.base)
            rows.append(row)
            if body:
                self.bodies.setdefault(request.url, body)
        for row, request in zip(rows, requests):
            if row["by"] == "service worker" and row["status"] == 200 and not row["raw_bytes"] and row["method"] == "GET":
                body, row["body_from"] = self.bodies.get(request.url), "the page's copy"
                if body is None:
                    body, row["body_from"] = self.context.request.get(request.url).body(), "fetched apart"
                    self.bodies[request.url] = body
                row |= {"raw_bytes": len(body), "gzip6_bytes": gz(body) if body else 0}
        return rows

    def settle(self, timeout_ms: float = 10_000) -> None:
        try:
            self.page.wait_for_load_state("networkidle", timeout=timeout_ms)
        except Exception:  # noqa: BLE001 - a page still busy after the wait: measure what there is
            pass

    def shown(self, timeout_ms: float) -> dict | None:
        """The page's marks once the first .fr-stop is painted (its animation frame ran)."""
        self.page.wait_for_function("() => window.__frStop && window.__frStop.frame !== undefined", timeout=timeout_ms)
        return self.page.evaluate(SHOWN_JS)

    def first_load(self, link: str, timeout_ms: float) -> dict:
        page = self.page
        page.goto(link)
        button = page.get_by_role("button", name="Sign in")
        button.wait_for()
        start = len(self.requests)
        t0 = time.perf_counter()
        button.tap()
        try:
            page.wait_for_url(f"{self.base}/app", timeout=timeout_ms)
            page.wait_for_selector(".fr-stop", state="visible", timeout=timeout_ms)
        except Exception as exc:  # noqa: BLE001 - the app never showed the route: say what the page did
            status = page.locator("#fr-status").all_inner_texts()
            raise RuntimeError(f"the first load did not show the route: {str(exc).splitlines()[0]}\n  page {page.url}, "
                               f"#fr-status {status}\n  console: {self.problems}\n  requests: "
                               + ", ".join(f"{r['method']} {r['url']} {r['status'] or r['failure']}" for r in self.rows(start))) from None
        wall = (time.perf_counter() - t0) * 1000
        marks = self.shown(timeout_ms)
        seen = len(self.requests)
        stops = page.locator(".fr-stop").count()
        self.settle()
        worker = page.evaluate(WORKER_JS, 3000)
        if worker["state"] == "active":
            self.settle()
        rows = self.rows(start)
        sign_in = [r for r in rows if r["method"] == "POST" and r["url"].startswith("/app/sign-in")]
        rows = [r for r in rows if r not in sign_in]
        shown_at = marks["origin"] + marks["frame"]

        def before(k: int, r: dict) -> bool:  # started before the route was painted (by the browser's clock if known)
            return r["start_ms"] <= shown_at if r["start_ms"] > 0 else k < seen - start - len(sign_in)

        until = [r for k, r in enumerate(rows) if before(k, r)]
        after = [r for k, r in enumerate(rows) if not before(k, r)]
        sw_script = worker.get("script")
        if sw_script and not any(r["url"] == sw_script[len(self.base):] for r in rows):
            # the browser fetched the worker's script without telling Playwright: fetch it apart
            response = self.context.request.get(sw_script)
            body = response.body()
            after.append({"url": sw_script[len(self.base):], "method": "GET", "type": "script", "by": "browser (fetched apart)",
                          "start_ms": -1, "status": response.status, "failure": None, "from_service_worker": False, "tile": False,
                          "raw_bytes": len(body), "gzip6_bytes": gz(body), "encoding": response.headers.get("content-encoding"),
                          "wire_bytes": len(body)})
        return {"shown_ms": marks["frame"], "dom_ms": marks["dom"], "wall_ms": wall, "stops": stops, "worker": worker,
                "until_shown": tally(until), "after_shown": tally(after), "until_idle": tally(until + after), "sign_in_post": sign_in,
                "requests_until_shown": until, "requests_after_shown": after}

    def reload(self, offline: bool, timeout_ms: float) -> dict:
        """Reload /app (or go to it, from an error page) and time the first .fr-stop."""
        page, start = self.page, len(self.requests)
        if offline:
            self.context.route("**/*", self._cut)
            self.context.set_offline(True)
        cut_before = len(self.cut)
        how = "reload" if page.url == f"{self.base}/app" else "goto"
        result: dict = {"how": how, "shown": False}
        t0 = time.perf_counter()
        try:
            if how == "reload":
                page.reload(wait_until="commit", timeout=timeout_ms)
            else:
                page.goto(f"{self.base}/app", wait_until="commit", timeout=timeout_ms)
            page.wait_for_selector(".fr-stop", state="visible", timeout=timeout_ms)
            result["wall_ms"] = (time.perf_counter() - t0) * 1000
            marks = self.shown(timeout_ms)
            result |= {"shown": True, "shown_ms": marks["frame"], "dom_ms": marks["dom"]}
        except Exception as exc:  # noqa: BLE001 - not shown (offline without a cached route): record why
            result["error"] = str(exc).splitlines()[0]
            try:
                result["page_status"] = page.locator("#fr-status").inner_text(timeout=1000)
            except Exception:  # noqa: BLE001 - an error page has no #fr-status
                result["page_status"] = None
        self.settle(5000)
        try:
            result["controlled"] = page.evaluate("() => Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)")
        except Exception:  # noqa: BLE001
            result["controlled"] = None
        end = len(self.requests)  # what the app asks once the network is back is not this reload's
        if offline:
            self.context.set_offline(False)
            self.context.unroute("**/*", self._cut)
        rows = self.rows(start, end)
        result |= {"traffic": tally(rows), "cut_requests": self.cut[cut_before:], "requests": rows}
        return result

    def close(self) -> None:
        self.context.close()


def one_run(browser, base: str, tokens: dict, rep: str, intercept: bool, timeout_s: float) -> dict:
    link = api(base, tokens["supervisor"], f"/v1/reps/{rep}/sign-in-links", "POST", {"hours": 1})["url"]
    phone = Phone(browser, base, intercept)
    try:
        run = {"first": phone.first_load(link, timeout_s * 1000)}
        run["console_first_load"] = list(phone.problems)
        has_worker = run["first"]["worker"]["state"] == "active"
        if has_worker:
            run["offline"] = phone.reload(True, min(timeout_s, 10) * 1000)
        run["online"] = phone.reload(False, timeout_s * 1000)
        if has_worker:
            run["offline_after_online"] = phone.reload(True, min(timeout_s, 10) * 1000)
        run["outside"] = phone.outside_seen()
        run["console"] = phone.problems
    finally:
        phone.close()
    return run


# --- main -------------------------------------------------------------------------------------


def med(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def summary(runs: list[dict], key: str) -> dict | None:
    """Medians of one kind of reload over the runs that made it."""
    made = [r[key] for r in runs if key in r]
    if not made:
        return None
    ok = [m for m in made if m["shown"]]
    return {"runs": len(made), "shown": len(ok), "shown_ms": med([m["shown_ms"] for m in ok]),
            "shown_ms_min": min((m["shown_ms"] for m in ok), default=None), "shown_ms_max": max((m["shown_ms"] for m in ok), default=None),
            "wall_ms": med([m["wall_ms"] for m in ok]), "requests": med([m["traffic"]["requests"] for m in made]),
            "network_requests": med([m["traffic"]["network_requests"] for m in made]),
            "wire_bytes": med([m["traffic"]["wire_bytes"] for m in made]),
            "errors": sorted({m["error"] for m in made if "error" in m}),
            "page_status": sorted({m["page_status"] for m in made if m.get("page_status")})}


def resources(runs: list[dict]) -> list[dict]:
    """The first visit's network requests by (method, url, by): sizes as medians over the runs, how often
    a run made it, and in how many of those it started before the route was shown."""
    by: dict[tuple, list[tuple[bool, dict]]] = {}
    for run in runs:
        for part, before in (("requests_until_shown", True), ("requests_after_shown", False)):
            for r in network(run["first"][part]):
                by.setdefault((r["method"], r["url"], r["by"]), []).append((before, r))
    out = []
    for (method, url, who), seen in by.items():
        rows = [r for _, r in seen]
        out.append({"method": method, "url": url, "by": who, "type": rows[0]["type"], "status": rows[0]["status"],
                    "from_service_worker": rows[0]["from_service_worker"], "encoding": rows[0]["encoding"],
                    "per_run": round(len(rows) / len(runs), 2), "before_shown": sum(b for b, _ in seen),
                    "raw_bytes": med([r["raw_bytes"] for r in rows]), "gzip6_bytes": med([r["gzip6_bytes"] for r in rows]),
                    "wire_bytes": med([r["wire_bytes"] for r in rows]), "body_from": rows[0].get("body_from")})
    return sorted(out, key=lambda r: (-(r["gzip6_bytes"] or 0), r["url"]))


def kb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1000:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="phones (fresh browser contexts), medians reported (default 5)")
    parser.add_argument("--rep", default="R1", help="the demo rep whose phone it is (default R1)")
    parser.add_argument("--clock", default=CLOCK, help=f"the service's clock (default {CLOCK}, Europe/Monaco)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for a route to show (offline: at most 10)")
    parser.add_argument("--no-intercept", action="store_true", help="no Playwright route while online (keeps the HTTP cache; "
                        "other hosts still fail to resolve)")
    parser.add_argument("--top", type=int, default=10, help="biggest resources listed (default 10)")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM, help=f"the browser (default {CHROMIUM})")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        parser.error("needs Playwright (pip install -e '.[test]')")
    if not args.chromium.exists():
        parser.error(f"no browser at {args.chromium}")

    runs: list[dict] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fieldroute-app-") as tmp:
        print(f"Starting fieldroute serve --demo (clock {args.clock}) ...", file=sys.stderr, flush=True)
        with serve_demo(Path(tmp) / "fieldroute.db", args.clock) as (base, tokens, _):
            route = api(base, tokens["supervisor"], f"/v1/reps/{args.rep}/routes/today")
            visits = sum(s["type"] == "visit" for s in route["stops"])
            print(f"Server on {base}; {args.rep} on {route['date']}: {visits} visits", file=sys.stderr, flush=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(args.chromium), args=[
                    "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
                version = browser.version
                for k in range(args.repeat):
                    runs.append(one_run(browser, base, tokens, args.rep, not args.no_intercept, args.timeout))
                    _progress(k, runs[-1])
                browser.close()
    load_after = os.getloadavg()[0]

    first = [r["first"] for r in runs]
    worker_states = sorted({f["worker"]["state"] for f in first})
    result = {
        "rep": args.rep, "date": route["date"], "clock": args.clock, "visits": visits, "repeat": args.repeat,
        "browser": f"chromium {version}", "intercept": not args.no_intercept, "budget_bytes": BUDGET_BYTES,
        "service_worker": worker_states[0] if len(worker_states) == 1 else worker_states,
        "service_worker_detail": first[-1]["worker"],
        "first_load": {part: {k: med([f[part][k] for f in first]) for k in first[0][part]}
                       for part in ("until_shown", "after_shown", "until_idle")} | {
                       "shown_ms": med([f["shown_ms"] for f in first]), "wall_ms": med([f["wall_ms"] for f in first]),
                       "stops_shown": med([f["stops"] for f in first])},
        "resources": resources(runs),
        "online": summary(runs, "online"), "offline": summary(runs, "offline"),
        "offline_after_online": summary(runs, "offline_after_online"),
        "outside_requests": sum(len(r["outside"]) for r in runs), "outside_urls": sorted({u for r in runs for u in r["outside"]}),
        "cpus": os.cpu_count(), "loadavg_before": round(load_before, 2), "loadavg_after": round(load_after, 2),
        "when": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "runs": runs,
    }
    result["within_budget"] = result["first_load"]["until_shown"]["gzip6_bytes"] < BUDGET_BYTES
    result["within_budget_until_idle"] = result["first_load"]["until_idle"]["gzip6_bytes"] < BUDGET_BYTES
    _table(result, args.top)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    offline_failed = any(s and s["shown"] < s["runs"] for s in (result["offline"], result["offline_after_online"]))
    return 1 if not result["within_budget"] or offline_failed else 0


def _progress(k: int, run: dict) -> None:
    f = run["first"]
    parts = [f"first load {f['until_shown']['gzip6_bytes'] / 1000:.1f} KB gz, shown {f['shown_ms']:.0f} ms",
             f"worker {f['worker']['state']}"]
    for key in ("offline", "online", "offline_after_online"):
        if key in run:
            parts.append(f"{key} " + (f"{run[key]['shown_ms']:.0f} ms" if run[key]["shown"] else "not shown"))
    print(f"  run {k + 1}: " + ", ".join(parts), file=sys.stderr, flush=True)


def _table(r: dict, top: int) -> None:
    fl = r["first_load"]
    print(f"\nThe rep's app: {r['rep']} on {r['date']} (clock {r['clock']}, {r['visits']} visits), {r['browser']}, "
          f"390x844 touch; medians of {r['repeat']} phones" + ("" if r["intercept"] else "; no Playwright route while online"))
    print(f"\n{'first load (network requests only)':<44} {'requests':>8} {'raw KB':>7} {'gzip6 KB':>8} {'wire KB':>7}  "
          f"budget {BUDGET_BYTES / 1000:.0f} KB gzipped")
    for part, label, verdict in (("until_shown", "navigation to /app until the route is shown", r["within_budget"]),
                                 ("after_shown", "after it, until idle", None),
                                 ("until_idle", "the whole first visit", r["within_budget_until_idle"])):
        t = fl[part]
        print(f"{label:<44} {t['network_requests']:>8.0f} {kb(t['raw_bytes']):>7} {kb(t['gzip6_bytes']):>8} {kb(t['wire_bytes']):>7}  "
              + ("" if verdict is None else f"{'within' if verdict else 'OVER'} ({t['gzip6_bytes'] / BUDGET_BYTES:.0%})"))
    print(f"route shown {fl['shown_ms']:.0f} ms after the sign-in tap's navigation started (wall {fl['wall_ms']:.0f} ms); "
          f"map tiles: {fl['until_idle']['tiles']:.0f}")
    rows = r["resources"]
    print(f"\n{'biggest resources of the first visit':<56} {'by':<4} {'type':<10} {'status':>6} {'raw B':>7} {'gzip6 B':>7} "
          f"{'wire B':>7} {'sent as':>7} {'per run':>7} {'shown':>5}")
    for x in rows[:top]:
        print(f"{x['method'] + ' ' + x['url']:<56.56} {'sw' if x['by'] == 'service worker' else x['by'][:4]:<4} {x['type']:<10.10} "
              f"{x['status']!s:>6} {x['raw_bytes']:>7.0f} {x['gzip6_bytes']:>7.0f} {x['wire_bytes']:>7.0f} "
              f"{x['encoding'] or 'plain':>7} {x['per_run']:>7g} {x['before_shown']:>5}")
    if len(rows) > top:
        print(f"... {len(rows) - top} more (in the JSON)")
    print("by: the page or its service worker (sw); wire: as the browser reports it, headers included; per run: times a "
          "run fetched it; shown: in how many of those it started before the route was shown")
    worker = r["service_worker_detail"]
    print(f"\nService worker: {r['service_worker']}" + (f" ({worker.get('script')}, scope {worker.get('scope')}, "
                                                         f"controls the first load's page once active: {worker.get('controlled')})"
                                                         if worker.get("script") else "")
          + (f" scopes {worker['scopes']}" if worker["state"].startswith("registered") else ""))
    print(f"\n{'/app reload until the first .fr-stop':<40} {'shown ms':>9} {'min':>7} {'max':>7} {'wall ms':>8} "
          f"{'shown':>6} {'requests':>8} {'network':>8} {'wire KB':>8}")
    for key, label in (("online", "online, warm"), ("offline", "offline, after the first load"),
                       ("offline_after_online", "offline, after an online reload")):
        s = r[key]
        if s is None:
            print(f"{label:<40} skipped: no service worker")
            continue
        fmt = lambda v, f=".0f": "-" if v is None else format(v, f)  # noqa: E731
        print(f"{label:<40} {fmt(s['shown_ms']):>9} {fmt(s['shown_ms_min']):>7} {fmt(s['shown_ms_max']):>7} "
              f"{fmt(s['wall_ms']):>8} {s['shown']:>3}/{s['runs']:<2} {fmt(s['requests']):>8} {fmt(s['network_requests']):>8} "
              f"{kb(s['wire_bytes']):>8}")
        for e in s["errors"] + [f"the page said: {t}" for t in s["page_status"]]:
            print(f"    {e}")
    print("shown: performance.now() in the page (from the navigation's start) at the first frame after the first .fr-stop "
          "entered the DOM; wall: page.reload + wait_for_selector; requests: the page's and the worker's")
    errors = sorted({e for run in r["runs"] for e in run["console_first_load"]})
    if errors:
        print(f"\nConsole errors during the first load: {errors}")
    print(f"\nRequests to other hosts, aborted: {r['outside_requests']}" + (f" {r['outside_urls']}" if r["outside_urls"] else ""))
    print(f"load average {r['loadavg_before']} -> {r['loadavg_after']} on {r['cpus']} CPUs")


if __name__ == "__main__":
    raise SystemExit(main())
