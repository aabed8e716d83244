"""Suggestions over HTTP (issue 22, items 2 and 4): visits imported for two published weeks,
where one A store's 4 visits all take 30 min (planned by its class) and R1 always reaches its
first store 20 min late, make a store-minutes and a start-time suggestion; applying one writes
the store's next version and the next plan uses it; a suggestion is decided once; a team's
supervisor sees its reps' only. The learning itself is checked by hand in tests/test_learn.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

from .conftest import MONDAY, load_team, make_token, plan_and_publish

LATE = dt.timedelta(minutes=20)


def _visits(client, admin, plan_id: int, slow: str | None = None) -> list[dict]:
    """Each planned visit made as planned, but R1's first of each day 20 min late, and the
    store ``slow`` (else the most visited A store) 30 minutes long."""
    rows = list(csv.DictReader(io.StringIO(client.get(f"/v1/plans/{plan_id}/export.csv", headers=admin).text)))
    if slow is None:
        per_store = defaultdict(int)
        for r in rows:
            per_store[r["store_id"], r["class"]] += 1
        slow = max((k for k in per_store if k[1] == "A"), key=lambda k: (per_store[k], k))[0]
    out = []
    for r in rows:
        start = dt.datetime.fromisoformat(r["start"]) + (LATE if r["rep_id"] == "R1" and r["sequence"] == "1" else dt.timedelta(0))
        end = start + (dt.timedelta(minutes=30) if r["store_id"] == slow else
                       dt.datetime.fromisoformat(r["end"]) - dt.datetime.fromisoformat(r["start"]))
        out.append({"id": f"v-{r['date']}-{r['rep_id']}-{r['store_id']}", "rep_id": r["rep_id"], "store_id": r["store_id"],
                    "checked_in": start.isoformat(), "checked_out": end.isoformat(), "outcome": "no_order"})
    return out, slow


def test_learned_minutes_and_start_times_are_suggested_applied_once_and_planned_with(app, client, admin):
    load_team(client, admin)
    plan = plan_and_publish(client, admin, weeks=2)
    made, slow = _visits(client, admin, plan["id"])
    assert client.post("/v1/visits/import", headers=admin, json=made).json()["added"] == len(made)
    app.state.clock = lambda: dt.datetime.fromisoformat(MONDAY + "T07:00:00+01:00") + dt.timedelta(days=14)

    r = client.get("/v1/suggestions", headers=admin)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["count"] == len(page["items"]) and page["limit"] == 100
    got = {(s["kind"], s["target"]): s for s in page["items"]}
    start = got["rep_start", "R1"]
    assert start["evidence"]["median"] == 20 and start["evidence"]["visits"] >= 5
    assert start["proposed"] == "08:50" and start["current"] == "08:30"  # 20 min later
    assert start["effect"]["available_hours_per_cycle"] < 0
    minutes = got["store_service", slow]
    assert (minutes["current"], minutes["evidence"]["median"], minutes["evidence"]["visits"]) == (25, 30, 4)
    assert 25 < minutes["proposed"] == round(minutes["evidence"]["learned"]) < 30  # 4 visits: shrunk toward the class's
    assert minutes["effect"]["hours_per_cycle"] > 0 and minutes["status"] == "open"
    assert not [s for s in page["items"] if s["kind"] == "store_service" and s["target"] != slow]  # the others as planned

    version = client.get(f"/v1/stores/{slow}", headers=admin).json()["version"]
    done = client.post(f"/v1/suggestions/{minutes['id']}/apply", headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "applied" and done.json()["changed"] == {"store": slow, "version": version + 1}
    store = client.get(f"/v1/stores/{slow}", headers=admin).json()
    assert (store["service_min"], store["version"]) == (minutes["proposed"], version + 1)
    again = client.post(f"/v1/suggestions/{minutes['id']}/apply", headers=admin)
    assert again.status_code == 409 and "already applied" in again.json()["detail"]
    assert client.post("/v1/suggestions/sg-000000000000/apply", headers=admin).status_code == 404
    assert client.post(f"/v1/suggestions/{start['id']}/dismiss", headers=admin).json()["status"] == "dismissed"
    open_now = {s["id"] for s in client.get("/v1/suggestions", headers=admin).json()["items"]}
    assert not open_now & {minutes["id"], start["id"]}
    decided = client.get("/v1/suggestions", headers=admin, params={"status": "all"}).json()["items"]
    assert {(s["id"], s["status"]) for s in decided} >= {(minutes["id"], "applied"), (start["id"], "dismissed")}
    assert client.get("/v1/suggestions", headers=admin, params={"kind": "planet"}).status_code == 422

    team = make_token(app, "supervisor", team=["R2"])
    mine = {s["id"] for s in client.get("/v1/suggestions", headers=admin).json()["items"]
            if s["kind"] != "class_service" and (s["target"] if s["kind"] == "rep_start" else s["evidence"]["rep_id"]) == "R2"}
    assert mine and {s["id"] for s in client.get("/v1/suggestions", headers=team).json()["items"]} == mine
    assert client.get("/v1/suggestions", headers=make_token(app, "rep", "R1")).status_code == 403

    nxt = plan_and_publish(client, admin, start=str(dt.date.fromisoformat(MONDAY) + dt.timedelta(days=14)), weeks=1)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/v1/plans/{nxt['id']}/export.csv", headers=admin).text)))
    lengths = {dt.datetime.fromisoformat(r["end"]) - dt.datetime.fromisoformat(r["start"]) for r in rows if r["store_id"] == slow}
    assert lengths == {dt.timedelta(minutes=minutes["proposed"])}


def test_a_batch_is_applied_all_or_nothing(app, client, admin):
    load_team(client, admin)
    plan = plan_and_publish(client, admin, weeks=2)
    made, _ = _visits(client, admin, plan["id"])
    client.post("/v1/visits/import", headers=admin, json=made)
    app.state.clock = lambda: dt.datetime.fromisoformat(MONDAY + "T07:00:00+01:00") + dt.timedelta(days=14)
    ids = [s["id"] for s in client.get("/v1/suggestions", headers=admin).json()["items"]]
    second = client.get("/v1/suggestions", headers=admin, params={"offset": 1, "limit": 1}).json()
    assert [s["id"] for s in second["items"]] == ids[1:2] and second["count"] == len(ids)
    assert len(ids) >= 2
    r = client.post("/v1/suggestions/apply", headers=admin, json={"ids": [ids[0], "sg-000000000000"]})
    assert r.status_code == 404
    assert {s["id"] for s in client.get("/v1/suggestions", headers=admin).json()["items"]} == set(ids)  # nothing applied
    r = client.post("/v1/suggestions/apply", headers=admin, json={"ids": ids})
    assert r.status_code == 200 and [s["status"] for s in r.json()] == ["applied"] * len(ids), r.text
    assert not {s["id"] for s in client.get("/v1/suggestions", headers=admin).json()["items"]} & set(ids)
