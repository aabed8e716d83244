"""What the browser tests share: Debian's chromium, where their screenshots go, a token-bearing
API call, and the route handler that checks every API answer a page gets against the
published schema on its way.

A test module calls ``need_browser()`` at import: skipped when Playwright or
/usr/bin/chromium is missing, unless ``FIELDROUTE_REQUIRE_BROWSER=1`` (CI installs both and
sets it, so there the tests run or fail)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from .conftest import CONFORMANCE
from .openapi_check import SchemaViolation

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("FIELDROUTE_ARTIFACTS", "out/test-artifacts"))
#: A 1x1 transparent PNG: what map tiles from the internet get here (the machine is offline).
BLANK_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                          "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def need_browser():
    """Playwright's ``sync_playwright``, or skip the module (fail under FIELDROUTE_REQUIRE_BROWSER=1)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        if os.environ.get("FIELDROUTE_REQUIRE_BROWSER") == "1":
            raise RuntimeError("FIELDROUTE_REQUIRE_BROWSER=1 but Playwright or /usr/bin/chromium is missing "
                               "(apt-get install chromium; pip install -e '.[test]')")
        pytest.skip("browser test: needs /usr/bin/chromium (apt-get install chromium) and Playwright", allow_module_level=True)
    return sync_playwright


def api(base: str, token: str, path: str, method: str = "GET", body: dict | None = None):
    """An API call with a bearer token, its JSON answer (checked by the conformance fixture)."""
    request = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bearer {token}"} | (
        {"Content-Type": "application/json"} if body is not None else {}), data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def pass_checked(route) -> None:
    """Let a page's request to a test server through; an API answer is checked against the
    published schema on its way (a violation fails the test at teardown; the page gets its
    answer meanwhile)."""
    if not CONFORMANCE.covers(route.request.url):  # pages, the app's files
        return route.continue_()
    answer = route.fetch(max_redirects=0)
    try:
        CONFORMANCE.received(route.request.method, route.request.url, answer.status,
                             [(h["name"], h["value"]) for h in answer.headers_array], answer.body(), route.request.headers)
    except SchemaViolation:
        pass
    route.fulfill(response=answer)
