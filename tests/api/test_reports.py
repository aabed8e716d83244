"""The follow-up reports over HTTP (issue 21, items 2-3): the published routes are the planned
visits, the app's check-outs and imported visits the made ones; per rep as JSON and CSV; a
team supervisor sees its reps only; the stores not made; today per rep. The numbers
themselves are checked by hand in tests/test_followup.py."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from .conftest import busiest_rep_day, load_team, make_token, plan_and_publish


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_planned_against_made_per_rep(app, client, admin):
    load_team(client, admin)
    plan_and_publish(client, admin)
    date, rep_id, visits = busiest_rep_day(client, admin)
    first, second = visits[0], visits[1]
    now = dt.datetime.fromisoformat(first["start"]) + dt.timedelta(minutes=20)
    app.state.clock = lambda: now
    rep = make_token(app, "rep", rep_id)
    url = f"/v1/reps/{rep_id}/routes/{date}/events"
    r = client.post(url, headers=rep, json=[{"kind": "visit_started", "time": first["start"], "store_id": first["store_id"]},
                                            {"kind": "visit_done", "time": now.isoformat(), "store_id": first["store_id"],
                                             "outcome": "order", "order_value": 120}])
    assert r.status_code == 200, r.text
    r = client.post("/v1/visits/import", headers=admin, json=[  # the second stop, made and reported elsewhere
        {"id": "CRM-9", "rep_id": rep_id, "store_id": second["store_id"], "checked_in": second["start"],
         "checked_out": second["end"], "outcome": "no_order"}])
    assert r.json()["added"] == 1, r.text
    app.state.clock = lambda: now + dt.timedelta(days=1)  # the day is over
    planned = {}
    for rep in ("R1", "R2", "R3", "R4"):
        got = client.get(f"/v1/reps/{rep}/routes/{date}", headers=admin, params={"version": 1})
        planned[rep] = sum(s["type"] == "visit" for s in got.json()["stops"]) if got.status_code == 200 else 0
    r = client.get("/v1/reports/visits", headers=admin, params={"from": str(date), "to": str(date), "group": "rep"})
    assert r.status_code == 200, r.text
    rows = {row["key"]: row for row in r.json()}
    mine = rows[rep_id]
    assert (mine["planned"], mine["made"], mine["extra"]) == (planned[rep_id], 2, 0)
    assert mine["missed"] == planned[rep_id] - 2 and mine["missed_by_reason"] == {"not_reported": planned[rep_id] - 2}
    assert (mine["orders"], mine["sales"], mine["avg_order"], mine["active_rate"]) == (1, 120, 120, 0.5)
    assert {k: row["planned"] for k, row in rows.items() if row["planned"]} == {k: n for k, n in planned.items() if n}
    r = client.post("/v1/visits/import", headers=admin, json=[  # the CRM corrects its visit: an order after all
        {"id": "CRM-9", "rep_id": rep_id, "store_id": second["store_id"], "checked_in": second["start"],
         "checked_out": second["end"], "outcome": "order", "order_value": 30}])
    assert r.json()["changed"] == 1, r.text
    again = next(x for x in client.get("/v1/reports/visits", headers=admin, params={"from": str(date), "to": str(date)}).json()
                 if x["key"] == rep_id)
    assert (again["orders"], again["sales"]) == (2, 150)  # not a kept answer
    r = client.post("/v1/visits/import", headers=admin, json=[{"id": "CRM-9", "rep_id": rep_id, "store_id": second["store_id"],
                                                               "checked_in": second["start"], "checked_out": second["end"],
                                                               "outcome": "no_order"}])
    assert r.json()["changed"] == 1, r.text
    table = list(csv.DictReader(io.StringIO(client.get("/v1/reports/visits", headers=admin | {"Accept": "text/csv"},
                                                       params={"from": str(date), "to": str(date)}).text)))
    line = next(t for t in table if t["key"] == rep_id)
    assert (line["made"], line["sales"], line["missed_not_reported"]) == ("2", "120", str(planned[rep_id] - 2))

    other = next(k for k in rows if k != rep_id)
    team = make_token(app, "supervisor", team=[other])
    seen = client.get("/v1/reports/visits", headers=team, params={"from": str(date), "to": str(date)}).json()
    assert [row["key"] for row in seen] == [other]
    (whole,) = client.get("/v1/reports/visits", headers=admin, params={"from": str(date), "to": str(date), "group": "team"}).json()
    assert whole["made"] == 2 and whole["planned"] == sum(planned.values())
    assert client.get("/v1/reports/visits", headers=make_token(app, "rep", rep_id)).status_code == 403
    assert client.get("/v1/reports/visits", headers=admin, params={"group": "planet"}).status_code == 422

    month = date.strftime("%Y-%m")
    r = client.post("/v1/targets/import", headers=admin | {"Content-Type": "text/csv"},
                    content=f"month,rep_id,area,order_value,visits\n{month},{rep_id},,3100,62\n{month},,Centre,100,\n")
    assert r.json()["added"] == 2, r.text
    bad = client.post("/v1/targets/import", headers=admin, json=[{"month": "2026-13", "rep_id": rep_id, "area": "X"}])
    assert bad.status_code == 422 and {e["pointer"] for e in bad.json()["errors"]} == {"/0/month", "/0/rep_id"}, bad.text
    assert len(client.get("/v1/targets", headers=admin).json()) == 2
    days = (dt.date(date.year + date.month // 12, date.month % 12 + 1, 1) - dt.timedelta(days=1)).day
    row = next(x for x in client.get("/v1/reports/visits", headers=admin, params={"from": str(date), "to": str(date)}).json()
               if x["key"] == rep_id)
    assert (row["target_order_value"], row["target_visits"]) == (pytest.approx(3100 / days), pytest.approx(62 / days))
    assert row["gap_order_value"] == pytest.approx(120 - 3100 / days)

    plan_id = client.get(f"/v1/reps/{rep_id}/routes/{date}", headers=admin).json()["plan_id"]
    export = client.get(f"/v1/plans/{plan_id}/export.csv", headers=admin, params={"actuals": "true", "date": str(date)})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv"), export.text
    table = [t for t in csv.DictReader(io.StringIO(export.text)) if t["rep_id"] == rep_id]
    assert len(table) == planned[rep_id] and {t["status"] for t in table} == {"made", "missed"}
    done = next(t for t in table if t["store_id"] == first["store_id"])
    assert (done["outcome"], done["order_value"], done["planned_start"]) == ("order", "120.0", first["start"])
    assert dt.datetime.fromisoformat(done["checked_out"]) == now
    assert next(t for t in table if t["store_id"] == second["store_id"])["visit_id"] == "CRM-9"

    gaps = client.get("/v1/reports/unvisited", headers=admin, params={"from": str(date), "to": str(date)}).json()
    assert {first["store_id"], second["store_id"]}.isdisjoint(g["store_id"] for g in gaps) and len(gaps) > 10


def test_today_per_rep(app, client, admin):
    load_team(client, admin)
    plan_and_publish(client, admin)
    date, rep_id, visits = busiest_rep_day(client, admin)
    now = dt.datetime.fromisoformat(visits[0]["start"]) + dt.timedelta(minutes=1)
    app.state.clock = lambda: now
    r = client.post(f"/v1/reps/{rep_id}/routes/{date}/events", headers=make_token(app, "rep", rep_id),
                    json={"kind": "visit_started", "time": now.isoformat(), "store_id": visits[0]["store_id"]})
    assert r.status_code == 200, r.text
    today = {row["rep_id"]: row for row in client.get("/v1/reports/today", headers=admin).json()}
    assert (today[rep_id]["under_way"], today[rep_id]["planned"], today[rep_id]["made"]) == (1, len(visits) - 1, 0)
