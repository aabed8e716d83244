"""End to end over HTTP: ``fieldroute serve --demo`` on a real uvicorn bound to 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.error
import urllib.request

import pytest

from .conftest import serve_demo


def _get(url: str, token: str | None = None, *, method: str = "GET", body: dict | None = None,
         headers: dict | None = None, replies: dict | None = None) -> tuple[int, dict | str]:
    """``replies``, if given, receives the answer's headers."""
    headers = dict(headers or {}) | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, headers=headers, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, kind = response.read(), response.status, response.headers["content-type"]
            if replies is not None:
                replies.update(response.headers)
    except urllib.error.HTTPError as exc:
        raw, status, kind = exc.read(), exc.code, exc.headers["content-type"]
    return status, json.loads(raw) if "json" in kind else raw.decode()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo service (straight-line travel) on a free port: its base URL and the tokens it printed."""
    with serve_demo(tmp_path_factory.mktemp("serve") / "fieldroute.db", "straight") as server:
        yield server


def test_demo_service_over_http(demo_server):
    """Health, a rep's route for tomorrow (from the published demo cycle), 403 for another
    rep's, the printed URLs, and a plan job that runs in a worker while routes answer."""
    base, tokens, printed = demo_server
    status, health = _get(f"{base}/healthz")
    assert status == 200 and health["database"] == "ok"
    for path in re.findall(r"http://127\.0\.0\.1:\d+(/\S+)", printed):
        assert _get(base + path.rstrip("'"))[0] in (200, 401), path  # pages answer; maps want a login
    status, route = _get(f"{base}/v1/reps/R1/routes/today", tokens["R1"])
    assert status in (200, 404)
    today = dt.date.today()  # the demo's weeks before today, played as a team would
    status, weeks = _get(f"{base}/v1/reports/visits?group=week&from={today - dt.timedelta(days=35)}&to={today}",
                         tokens["supervisor"])
    assert status == 200 and sum(w["made"] for w in weeks) > 100 and sum(w["sales"] for w in weeks) > 0, weeks
    status, routes = _get(f"{base}/v1/reps/R1/routes?from=today&to=tomorrow", tokens["R1"])
    assert status == 200 and all(r["rep_id"] == "R1" for r in routes)
    week = _get(f"{base}/v1/plans", tokens["supervisor"])[1]["items"][0]
    status, route = _get(f"{base}/v1/reps/R2/routes/{week['start']}", tokens["R2"])
    assert status == 200 and route["date"] == week["start"] and route["stops"][0]["type"] == "start"
    assert _get(f"{base}/v1/reps/R2/routes/{week['start']}", tokens["R1"])[0] == 403
    status, job = _get(f"{base}/v1/plans", tokens["supervisor"], method="POST",
                       body={"start": week["start"], "weeks": 1, "time_limit_s": 3})
    assert status == 202
    deadline = time.monotonic() + 60
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        assert _get(f"{base}/v1/reps/R2/routes/{week['start']}", tokens["R2"])[0] == 200  # routes answer meanwhile
        job = _get(f"{base}/v1/jobs/{job['id']}", tokens["supervisor"])[1]
        time.sleep(0.2)
    assert job["status"] == "succeeded" and job["plan"]["result"]["check"]["ok"]


def test_an_event_over_http_is_applied_once(demo_server):
    """A rep's phone posts an event of today with an Idempotency-Key and retries it: one new
    route version, the same answer twice; the route read shows the new version."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    base, tokens, _ = demo_server
    now = (dt.datetime.now(ZoneInfo("Europe/Monaco")) - dt.timedelta(seconds=5)).replace(microsecond=0)
    body = {"kind": "position", "time": now.isoformat()}
    answered = []
    for rep in ("R1", "R2", "R3", "R4"):
        url = f"{base}/v1/reps/{rep}/routes/today/events"
        status, answer = _get(url, tokens[rep], method="POST", body=body, headers={"Idempotency-Key": f"e2e-{rep}"})
        if status != 200:  # a rep who does not work today (or whose plan misses today) is refused, with a reason
            assert status in (404, 409) and answer["detail"], answer
            continue
        replies: dict = {}
        again = _get(url, tokens[rep], method="POST", body=body, headers={"Idempotency-Key": f"e2e-{rep}"}, replies=replies)
        assert again == (200, answer) and {k.lower(): v for k, v in replies.items()}.get("idempotent-replayed") == "true"
        status, route = _get(f"{base}/v1/reps/{rep}/routes/today", tokens[rep])
        assert status == 200 and route["version"] == answer["route"]["version"] == 2
        answered.append(rep)
    today = dt.datetime.now(ZoneInfo("Europe/Monaco")).date()
    if today.weekday() < 5:
        assert answered  # on a working day some rep works
