"""Sign-in links from the supervisor's territory page (issue 20, item 2) in a real browser:
Debian's chromium driven by Playwright, against ``fieldroute serve --demo`` on uvicorn
(127.0.0.1). A supervisor makes a link for a rep's phone from the page, on a desktop and on a
phone; the phone opens it and signs in, once. Every API answer the browsers get is checked
against the schema (conftest), as in ``test_page.py``.

Skipped when Playwright or /usr/bin/chromium is missing, unless ``FIELDROUTE_REQUIRE_BROWSER=1``."""

from __future__ import annotations

import re

import pytest

from api import auth
from api.routes.sign_in import qr_svg

from .browser import ARTIFACTS, BLANK_PNG, CHROMIUM, api, need_browser, pass_checked
from .conftest import load_team, make_token, serve_demo

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "permissions": ["clipboard-read", "clipboard-write"]}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

sync_playwright = need_browser()



def _modules(svg: str) -> str:
    """A QR code's dark modules: the path of segno's SVG."""
    (path,) = re.findall(r' d="([^"]+)"', svg)
    return path


def _context(browser, base: str, problems: list[str], **options):
    """A browser context whose answers from the service are checked against its schema (map
    tiles from the internet are answered blank: the machine is offline)."""
    context = browser.new_context(**options)

    def route(r):
        if not r.request.url.startswith(base + "/"):
            return r.fulfill(status=200, content_type="image/png", body=BLANK_PNG)
        return pass_checked(r)

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return context, tab


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("links") / "fieldroute.db", "demo") as running:
        yield running


def test_a_supervisor_makes_a_sign_in_link_on_the_territory_page_and_the_phone_signs_in_once(server):
    base, tokens, _ = server
    sup = tokens["supervisor"]
    problems: list[str] = []
    urls = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu",
                                                                         "--disable-background-networking"])
        for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
            context, tab = _context(browser, base, problems, **options)
            press = (lambda target: target.tap()) if options.get("has_touch") else (lambda target: target.click())
            tab.goto(f"{base}/login?next=/v1/territories/map")
            tab.fill("input[name=token]", sup)
            tab.click("button[type=submit]")
            tab.wait_for_selector("#fr-workload tbody tr")
            button = tab.get_by_role("button", name="Sign-in link for R1", exact=True)
            assert tab.locator(".fr-phone button").count() == len(api(base, sup, "/v1/territories")["reps"])
            press(button)
            dialog = tab.get_by_role("dialog", name="Sign-in link for")
            dialog.wait_for()
            url = dialog.locator("#fr-link-url").inner_text()
            assert url.startswith(f"{base}/app/sign-in#code=")
            qr = dialog.get_by_role("img", name="QR code of the sign-in link for")
            tab.wait_for_function("() => document.getElementById('fr-link-qr').naturalWidth > 0")  # the image shows
            shown = qr.evaluate("(img) => decodeURIComponent(img.src.split(',')[1])")
            assert _modules(shown) == _modules(qr_svg(url))  # the QR code of this very link, as an image
            assert tab.locator("#fr-link svg").count() == 0
            box, view = qr.bounding_box(), tab.viewport_size
            assert box["width"] >= 150 and 0 <= box["x"] and box["x"] + box["width"] <= view["width"]
            assert dialog.locator("#fr-link-expires").inner_text().startswith("It works once, until ")
            if name == "desktop":
                dialog.get_by_role("button", name="Copy").click()
                dialog.get_by_role("button", name="Copied").wait_for()
                assert tab.evaluate("() => navigator.clipboard.readText()") == url
            else:
                assert dialog.get_by_role("button", name="Copy").is_visible()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"sign-in-link-{name}.png"))
            press(dialog.get_by_role("button", name="Close"))
            dialog.wait_for(state="hidden")
            urls.append(url)
            if name == "desktop":
                desktop = tab
            else:
                context.close()
        made = api(base, sup, "/v1/reps/R1/sign-in-links")
        assert [link["status"] for link in made[:2]] == ["unused", "unused"] and len(set(urls)) == 2

        # the rep's phone opens the link, taps "Sign in" and is in its app
        _, tab = _context(browser, base, [], **PHONE)  # the app's own test (test_app.py) watches its errors
        tab.goto(urls[-1])
        tab.get_by_role("button", name="Sign in").tap()
        tab.wait_for_url(f"{base}/app")
        assert tab.locator("#fr-config").count() == 1
        # its session is a page's: it may post what its app posts, and makes no sign-in link
        made_by_rep = tab.evaluate("""async () => {
            const csrf = JSON.parse(document.getElementById("fr-config").textContent).csrf;
            const r = await fetch("/v1/reps/R1/sign-in-links", {method: "POST", headers: {"X-CSRF-Token": csrf}});
            return [r.status, (await r.json()).detail]; }""")
        assert made_by_rep[0] == 403 and "rep" in made_by_rep[1]
        # the link again, on another phone: used already
        _, again = _context(browser, base, problems, **PHONE)
        again.goto(urls[-1])
        again.get_by_role("button", name="Sign in").tap()
        again.wait_for_selector(".error")
        assert "used already" in again.inner_text(".error")
        assert api(base, sup, "/v1/reps/R1/sign-in-links")[0]["status"] == "used"

        # an error is said in the problem's words: a rep deactivated since the page was opened
        api(base, sup, "/v1/reps/R4", "DELETE")
        desktop.get_by_role("button", name="Sign-in link for R4", exact=True).click()
        error = desktop.get_by_role("dialog").locator("#fr-link-error")
        error.wait_for()
        assert error.inner_text() == "No link made: 404: no active rep 'R4'"
        assert not desktop.locator("#fr-link-made").is_visible()
        browser.close()
    refused = [f"console: Failed to load resource: the server responded with a status of {status}"
               for status in ("410 (Gone)", "404 (Not Found)")]  # the link again, R4's
    assert problems == refused, problems


def test_a_signed_in_page_makes_links_for_the_reps_its_supervisor_may(app, client, admin):
    """The page's cookie and X-CSRF-Token make a link where the caller's token could: a team's
    supervisor for its reps only; a rep's phone none; without the header, nothing."""
    load_team(client, admin)

    def signed_in(headers: dict) -> dict:
        client.cookies.clear()
        secret = headers["Authorization"].split()[1]
        assert client.post("/login", data={"token": secret, "next": "/v1/territories/map"},
                           follow_redirects=False).status_code == 303
        return {"X-CSRF-Token": auth.csrf_token(client.cookies["fieldroute_session"])}

    page = signed_in(make_token(app, "supervisor", team=["R1", "R2"]))
    assert client.post("/v1/reps/R2/sign-in-links", headers=page).status_code == 201
    assert client.post("/v1/reps/R3/sign-in-links", headers=page).status_code == 403
    assert client.post("/v1/reps/R2/sign-in-links").status_code == 401  # the cookie alone
    assert client.post("/v1/reps/R2/sign-in-links", headers={"X-CSRF-Token": "0" * 64}).status_code == 401
    assert client.delete("/v1/sign-in-links/1", headers=page).status_code == 401  # revoking: a bearer token's
    link = client.post("/v1/reps/R1/sign-in-links", headers=admin).json()
    client.cookies.clear()
    assert client.post("/app/sign-in", data={"code": link["url"].split("#code=")[1]}, follow_redirects=False).status_code == 303
    phone = {"X-CSRF-Token": auth.csrf_token(client.cookies["fieldroute_session"])}
    assert client.post("/v1/reps/R1/sign-in-links", headers=phone).status_code == 403
