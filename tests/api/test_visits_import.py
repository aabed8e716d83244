"""Visits made elsewhere come in through ``POST /v1/visits/import`` and ``fieldroute visits
import`` (issue 21, item 1): CSV or JSON, by id (importing again changes nothing; a changed
row replaces its visit), all or nothing with each bad row and field named, past dates
allowed, a team supervisor for its reps only; an imported visit is a store's last visit as
the app's are."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from api.cli import main
from api.models import Visit

from .conftest import STORES, busiest_rep_day, load_team, make_token, plan_and_publish

CSV = ("id,rep_id,store_id,checked_in,checked_out,outcome,order_value,currency,note,steps\n"
       "CRM-1,R1,{s1},2026-11-02T09:05,2026-11-02T09:27,order,182.50,EUR,new display,check_shelf;take_order\n"
       "CRM-2,R2,{s2},2026-11-02T10:00:00+01:00,2026-11-02T10:12:00+01:00,no_order,,,,\n")


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _count(app) -> int:
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Visit))


def test_visits_from_a_crm_are_imported_by_id(app, client, admin):
    load_team(client, admin)
    s1, s2 = STORES[0]["id"], STORES[1]["id"]
    csv = CSV.format(s1=s1, s2=s2)
    headers = admin | {"Content-Type": "text/csv"}
    r = client.post("/v1/visits/import?dry_run=true", content=csv, headers=headers)
    assert r.status_code == 200 and r.json() == {"received": 2, "added": 2, "changed": 0, "unchanged": 0, "dry_run": True}
    assert _count(app) == 0
    r = client.post("/v1/visits/import", content=csv, headers=headers)
    assert r.json() == {"received": 2, "added": 2, "changed": 0, "unchanged": 0, "dry_run": False}, r.text
    r = client.post("/v1/visits/import", content=csv, headers=headers)  # again: nothing changes
    assert r.json() | {"dry_run": None} == {"received": 2, "added": 0, "changed": 0, "unchanged": 2, "dry_run": None}
    r = client.post("/v1/visits/import", json=[{"id": "CRM-2", "rep_id": "R2", "store_id": s2, "checked_in": "2026-11-02T10:00",
                                                "checked_out": "2026-11-02T10:20", "outcome": "order", "order_value": 40}],
                    headers=admin)
    assert r.json()["changed"] == 1, r.text
    with app.state.sessions() as s:
        crm1, crm2 = s.scalars(select(Visit).order_by(Visit.id)).all()
    assert (crm1.date, crm1.outcome, crm1.order_value, crm1.currency, crm1.steps, crm1.source) == (
        "2026-11-02", "order", 182.5, "EUR", ["check_shelf", "take_order"], "import")
    assert crm1.checked_in_at == dt.datetime(2026, 11, 2, 8, 5, tzinfo=dt.timezone.utc)  # 09:05 in Monaco
    assert (crm2.outcome, crm2.order_value, crm2.checked_out_at.minute) == ("order", 40, 20)


def test_a_bad_row_changes_nothing_and_is_named(app, client, admin):
    load_team(client, admin)
    s1 = STORES[0]["id"]
    bad = ("id,rep_id,store_id,checked_in,checked_out,outcome,order_value\n"
           f"A,R1,{s1},2026-11-02T09:05,2026-11-02T09:27,order,10\n"
           f"B,R9,{s1},2026-11-02T09:05,2026-11-02T08:00,maybe,\n"
           f"C,R1,NOPE,yesterday,2026-11-02T09:27,no_order,5\n")
    r = client.post("/v1/visits/import", content=bad, headers=admin | {"Content-Type": "text/csv"})
    assert r.status_code == 422, r.text
    named = {(e.get("line"), e.get("column")) for e in r.json()["errors"]}
    assert named == {(3, "rep_id"), (3, "checked_out"), (3, "outcome"), (4, "store_id"), (4, "checked_in"),
                     (4, "order_value")}, r.json()["errors"]
    assert _count(app) == 0
    r = client.post("/v1/visits/import", json=[{"id": "A", "rep_id": "R1"}], headers=admin)
    assert r.status_code == 422 and {e["pointer"] for e in r.json()["errors"]} == {
        "/0/store_id", "/0/checked_in", "/0/checked_out"}, r.text


def test_who_may_import(app, client, admin):
    load_team(client, admin)
    s1 = STORES[0]["id"]
    team = make_token(app, "supervisor", team=["R1"])
    row = {"id": "T1", "rep_id": "R2", "store_id": s1, "checked_in": "2026-11-02T09:05", "checked_out": "2026-11-02T09:20"}
    r = client.post("/v1/visits/import", json=[row], headers=team)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/0/rep_id", r.text
    assert client.post("/v1/visits/import", json=[row | {"rep_id": "R1"}], headers=team).json()["added"] == 1
    assert client.post("/v1/visits/import", json=[row], headers=make_token(app, "rep", "R1")).status_code == 403
    assert client.post("/v1/visits/import", json=[row], headers=make_token(app, "integrator")).status_code == 200


def test_an_imported_visit_is_the_stores_last_visit(app, client, admin):
    load_team(client, admin)
    plan_and_publish(client, admin)
    date, rep_id, visits = busiest_rep_day(client, admin)
    store = visits[0]["store_id"]
    r = client.post("/v1/visits/import", headers=admin, json=[
        {"id": "OLD", "rep_id": "R3", "store_id": store, "checked_in": "2026-11-10T09:00", "checked_out": "2026-11-10T09:20",
         "outcome": "refused", "note": "owner away"}])
    assert r.status_code == 200, r.text
    last = client.get(f"/v1/reps/{rep_id}/routes/{date}/last-visits", headers=admin).json()
    mine = next(x for x in last if x["store_id"] == store)
    assert (mine["date"], mine["rep_id"], mine["outcome"], mine["note"]) == ("2026-11-10", "R3", "refused", "owner away")


def test_the_command_line_imports_a_file(app, client, admin, db_url, tmp_path, capsys):
    load_team(client, admin)
    path = tmp_path / "visits.json"
    path.write_text(json.dumps([{"id": "F1", "rep_id": "R1", "store_id": STORES[0]["id"], "checked_in": "2026-11-03T09:00",
                                 "checked_out": "2026-11-03T09:10"}]))
    assert main(["visits", "import", str(path), "--db", db_url]) == 0
    assert "1 added" in capsys.readouterr().out and _count(app) == 1
    path.write_text(json.dumps([{"id": "F2", "rep_id": "R1", "store_id": "NOPE", "checked_in": "2026-11-03T09:00",
                                 "checked_out": "2026-11-03T09:10"}]))
    assert main(["visits", "import", str(path), "--db", db_url]) == 1
    assert "field 'store_id'" in capsys.readouterr().err and _count(app) == 1
