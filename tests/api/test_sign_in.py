"""One-time sign-in links for reps' phones (issue 20, item 2): made by a supervisor or with
``fieldroute token link``, used once to open a rep session of 30 days, revocable."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path

from .conftest import MONDAY, load_team, make_token, plan_and_publish

MONTH_S = 30 * 86400


def _code(url: str) -> str:
    return url.split("#code=", 1)[1]


def _sign_in(client, code: str):
    client.cookies.clear()
    return client.post("/app/sign-in", data={"code": code}, follow_redirects=False)


def test_a_link_signs_a_phone_in_once(client, admin):
    load_team(client, admin)
    r = client.post("/v1/reps/R1/sign-in-links", headers=admin)
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["status"] == "unused" and link["rep_id"] == "R1" and link["qr_svg"].startswith("<svg")
    assert re.fullmatch(r"http://testserver/app/sign-in#code=[\w-]{32}", link["url"]), link["url"]
    page = client.get("/app/sign-in")  # opening the link signs nobody in: the page has a button
    assert page.status_code == 200 and "Sign in" in page.text and "set-cookie" not in page.headers

    r = _sign_in(client, _code(link["url"]))
    assert r.status_code == 303 and r.headers["location"] == "/app"
    cookie = r.cookies.get("fieldroute_session")
    assert cookie and f"Max-Age={MONTH_S}" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    phone = {"Cookie": f"fieldroute_session={cookie}"}
    client.cookies.clear()
    # the phone is rep R1: another rep's route is forbidden, not unauthenticated
    assert client.get("/v1/reps/R2/routes/2026-12-01", headers=phone).status_code == 403
    assert client.get("/v1/reps/R2/routes/2026-12-01").status_code == 401

    again = _sign_in(client, _code(link["url"]))
    assert again.status_code == 410 and "used already" in again.text and "set-cookie" not in again.headers
    assert _sign_in(client, "not-a-code").status_code == 404
    listed = client.get("/v1/reps/R1/sign-in-links", headers=admin).json()
    assert [(x["id"], x["status"]) for x in listed] == [(link["id"], "used")] and listed[0]["token_id"]

    # revoking the used link signs the phone out
    r = client.delete(f"/v1/sign-in-links/{link['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    client.cookies.clear()
    assert client.get("/v1/reps/R2/routes/2026-12-01", headers=phone).status_code == 401


def test_links_expire_and_revoked_ones_do_not_work(client, admin):
    load_team(client, admin)
    short = client.post("/v1/reps/R1/sign-in-links", json={"hours": 0.0003}, headers=admin).json()  # about 1 s
    unused = client.post("/v1/reps/R2/sign-in-links", headers=admin).json()
    assert client.delete(f"/v1/sign-in-links/{unused['id']}", headers=admin).json()["status"] == "revoked"
    assert client.delete("/v1/sign-in-links/2036988588083", headers=admin).status_code == 422  # was a 500 on PostgreSQL
    r = _sign_in(client, _code(unused["url"]))
    assert r.status_code == 410 and "revoked" in r.text
    time.sleep(1.2)
    r = _sign_in(client, _code(short["url"]))
    assert r.status_code == 410 and "expired" in r.text
    for body in ({"hours": 0}, {"hours": 721}, {"hours": "72"}, {"days": 3}):
        assert client.post("/v1/reps/R1/sign-in-links", json=body, headers=admin).status_code == 422, body


def test_who_may_make_links(app, client, admin):
    load_team(client, admin)
    team = make_token(app, "supervisor", team=["R1", "R2"])
    assert client.post("/v1/reps/R2/sign-in-links", headers=team).status_code == 201
    assert client.post("/v1/reps/R3/sign-in-links", headers=team).status_code == 403
    assert client.post("/v1/reps/R1/sign-in-links", headers=make_token(app, "rep", rep_id="R1")).status_code == 403
    assert client.post("/v1/reps/R9/sign-in-links", headers=admin).status_code == 404
    link = client.post("/v1/reps/R3/sign-in-links", headers=admin).json()
    assert client.delete(f"/v1/sign-in-links/{link['id']}", headers=team).status_code == 403
    assert client.delete("/v1/sign-in-links/999", headers=admin).status_code == 404


def test_the_command_prints_a_link_that_works(client, admin, db_url):
    load_team(client, admin)
    command = [sys.executable, "-m", "api.cli", "token", "link", "--rep", "R3", "--db", db_url,
               "--base", "https://field.example.com/"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip().splitlines()[-1]
    assert url.startswith("https://field.example.com/app/sign-in#code="), done.stdout
    assert "\u2588" in done.stdout or "\u2580" in done.stdout  # the QR code, drawn in the terminal
    assert _sign_in(client, _code(url)).status_code == 303
    wrong = subprocess.run(command[:6] + ["R9"] + command[7:], capture_output=True, text=True, timeout=60,
                           cwd=Path(__file__).parents[2])
    assert wrong.returncode == 2 and "active rep" in wrong.stderr


def test_a_rep_reads_its_own_record_and_the_stores_it_may_visit(app, client, admin):
    """Issue 20, item 5: a rep's token (or its phone's session) reads its own rep record, and
    the stores of its territory and of its routes, for the urgent-visit search; nothing of
    other reps."""
    load_team(client, admin)
    plan_and_publish(client, admin)
    rep = make_token(app, "rep", rep_id="R1")
    end = (dt.date.fromisoformat(MONDAY) + dt.timedelta(days=6)).isoformat()
    routes = client.get("/v1/reps/R1/routes", params={"from": MONDAY, "to": end}, headers=admin).json()
    on_routes = {s["store_id"] for r in routes for s in r["stops"] if s.get("store_id")}
    everyone = [s["id"] for s in client.get("/v1/stores", params={"limit": 1000}, headers=admin).json()["items"]]
    owned, elsewhere = [s for s in everyone if s not in on_routes][:2]
    assert on_routes and client.patch(f"/v1/stores/{owned}", json={"rep_id": "R1"}, headers=admin).status_code == 200
    listed = client.get("/v1/stores", params={"limit": 1000}, headers=rep).json()
    assert {s["id"] for s in listed["items"]} == on_routes | {owned} and listed["count"] == len(on_routes) + 1
    assert client.get(f"/v1/stores/{owned}", headers=rep).status_code == 200
    assert client.get(f"/v1/stores/{elsewhere}", headers=rep).status_code == 404
    assert [r["id"] for r in client.get("/v1/reps", headers=rep).json()["items"]] == ["R1"]
    assert client.get("/v1/reps/R1", headers=rep).json()["shift_start"]
    assert client.get("/v1/reps/R2", headers=rep).status_code == 404
    assert client.patch("/v1/reps/R1", json={"name": "Me"}, headers=rep).status_code == 403
    assert client.get("/v1/stores", headers=make_token(app, "integrator")).json()["count"] == len(everyone)


def test_the_app_page_needs_a_reps_session(app, client, admin):
    """/app shows a signed-out page (how to sign in) without a rep's session, and the shell
    with the rep and its CSRF token with one; its files are served from the package."""
    load_team(client, admin)
    page = client.get("/app")
    assert page.status_code == 200 and "sign-in link" in page.text and "fr-config" not in page.text
    link = client.post("/v1/reps/R2/sign-in-links", headers=admin).json()
    assert _sign_in(client, _code(link["url"])).status_code == 303
    shell = client.get("/app")
    assert 'id="fr-config"' in shell.text and '"rep_id": "R2"' in shell.text and shell.headers["cache-control"] == "no-store"
    for name, media in (("app.js", "text/javascript"), ("words.js", "text/javascript"), ("app.css", "text/css"),
                        ("manifest.webmanifest", "application/manifest+json"), ("icon.svg", "image/svg+xml")):
        r = client.get(f"/app/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), name
    assert client.get("/app/..%2Fsign_in.py").status_code == 404
