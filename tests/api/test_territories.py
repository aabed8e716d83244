"""Territories over the API: routed workload per rep, balance, outlines; supervisors only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from api.models import OwnerEdit
from routing.territory import plan_territories

from .conftest import MONDAY, POLICY, STORES, load_team, make_token, plan_and_publish

REPS = ("R1", "R2", "R3", "R4")


def test_territories_show_each_reps_routed_workload(app, client, admin):
    load_team(client, admin)
    plan = plan_and_publish(client, admin)
    r = client.get("/v1/territories", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plan_id"] == plan["id"] and {w["rep_id"] for w in body["reps"]} == set(REPS)
    routed = {rep: 0 for rep in REPS}
    for n in range(7):
        date = dt.date.fromisoformat(MONDAY) + dt.timedelta(days=n)
        for rep in REPS:
            answer = client.get(f"/v1/reps/{rep}/routes/{date}", headers=admin)
            if answer.status_code == 200:
                routed[rep] += sum(s["type"] == "visit" for s in answer.json()["stops"])
    assert {w["rep_id"]: w["visits"] for w in body["reps"]} == routed
    hours = [w["work_h"] for w in body["reps"]]
    assert body["balance"]["max_h"] == max(hours) and body["balance"]["min_h"] == min(hours)
    geo = client.get("/v1/territories", headers=admin, params={"format": "geojson"})
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    assert {f["properties"]["rep_id"] for f in geo.json()["features"]} == {rep for rep, n in routed.items() if n}
    assert client.get("/v1/territories", headers=make_token(app, "rep", "R1")).status_code == 403
    team = client.get("/v1/territories", headers=make_token(app, "supervisor", team=["R2"])).json()
    assert [w["rep_id"] for w in team["reps"]] == ["R2"]
    assert client.get("/v1/territories", headers=admin, params={"plan_id": 999}).status_code == 404


def test_territories_need_a_published_plan(client, admin):
    r = client.get("/v1/territories", headers=admin)
    assert r.status_code == 404 and "published" in r.json()["detail"]


def test_a_proposal_is_a_job_with_routed_workloads_and_applies_as_store_versions(app, client, admin):
    from .conftest import wait_job

    load_team(client, admin)
    plan = plan_and_publish(client, admin)
    r = client.post("/v1/territories/proposals", json={"max_moves": 8, "time_limit_s": 8}, headers=admin)
    assert r.status_code == 202, r.text
    proposal = r.json()
    assert proposal["plan_id"] == plan["id"] and proposal["status"] == "running"
    job = wait_job(client, admin, proposal["job"]["id"])
    assert job["status"] == "succeeded", job
    done = client.get(f"/v1/territories/proposals/{proposal['id']}", headers=admin).json()
    result = done["result"]
    assert done["status"] == "proposed" and len(result["moves"]) <= 8
    assert {w["rep_id"] for w in result["after"]} == set(REPS)
    assert sum(w["visits"] for w in result["after"]) >= sum(w["visits"] for w in result["before"]) - 5
    assert result["balance_after"]["cv_pct"] <= result["balance_before"]["cv_pct"] + 1e-9 or not result["moves"]
    supervisor = make_token(app, "supervisor", team=["R1"])
    theirs = client.get(f"/v1/territories/proposals/{proposal['id']}", headers=supervisor).json()["result"]
    assert [w["rep_id"] for w in theirs["before"]] == [w["rep_id"] for w in theirs["after"]] == ["R1"]  # its reps only
    assert theirs["moves"] == [m for m in result["moves"] if "R1" in (m["from"], m["to"])]
    assert client.post(f"/v1/territories/proposals/{proposal['id']}/apply", headers=supervisor).status_code == 403
    applied = client.post(f"/v1/territories/proposals/{proposal['id']}/apply", headers=admin)
    assert applied.status_code == 200 and applied.json()["status"] == "applied", applied.text
    for store_id, rep_id in result["owners"].items():  # every store now has the proposal's rep as owner
        assert client.get(f"/v1/stores/{store_id}", headers=admin).json()["rep_id"] == rep_id
    again = client.post(f"/v1/territories/proposals/{proposal['id']}/apply", headers=admin)
    assert again.status_code == 409
    assert client.post("/v1/territories/proposals", json={"time_limit_s": 1}, headers=make_token(app, "rep", "R1")).status_code == 403


def test_what_ifs_answer_routed_workloads_and_headcount(app, client, admin):
    from .conftest import wait_job

    load_team(client, admin)
    plan_and_publish(client, admin)
    extra = {"id": "R9", "name": "New rep", "start_lat": 43.74, "start_lon": 7.42, "shift_start": "08:00", "shift_end": "17:00"}
    r = client.post("/v1/territories/proposals", json={"time_limit_s": 6, "max_moves_pct": 100,
                                                      "what_if": {"add_reps": [extra], "remove_reps": ["R4"]}}, headers=admin)
    assert r.status_code == 202, r.text
    assert wait_job(client, admin, r.json()["job"]["id"])["status"] == "succeeded"
    result = client.get(f"/v1/territories/proposals/{r.json()['id']}", headers=admin).json()["result"]
    assert {w["rep_id"] for w in result["after"]} == {"R1", "R2", "R3", "R9"}
    assert result["what_if"] and result["headcount"] >= 1
    assert not any(to == "R4" for to in result["owners"].values())
    assert client.post(f"/v1/territories/proposals/{r.json()['id']}/apply", headers=admin).status_code == 409
    # A class twice as often: the same territories, more visit hours.
    r = client.post("/v1/territories/proposals", json={"time_limit_s": 4, "what_if": {"classes": {"B": {"visits_per_week": 2}}}},
                    headers=admin)
    assert wait_job(client, admin, r.json()["job"]["id"])["status"] == "succeeded"
    result = client.get(f"/v1/territories/proposals/{r.json()['id']}", headers=admin).json()["result"]
    assert not result["moves"]
    assert sum(w["service_h"] + w["beyond_h"] for w in result["after"]) > sum(w["service_h"] for w in result["before"])
    # The team size, routed: the fewest reps found that fit every visit (today's team, no other change).
    r = client.post("/v1/territories/proposals", json={"time_limit_s": 4, "what_if": {"headcount_time_s": 15}}, headers=admin)
    assert r.status_code == 202, r.text
    assert wait_job(client, admin, r.json()["job"]["id"])["status"] == "succeeded"
    routed = client.get(f"/v1/territories/proposals/{r.json()['id']}", headers=admin).json()["result"]["headcount_routed"]
    tries = {t["reps"]: t for t in routed["tries"]}
    assert routed["reps"] == min(n for n, t in tries.items() if t["fits"]) and routed["estimate"] in tries
    assert all((t["beyond_h"] == 0) == t["fits"] for t in tries.values())
    assert len(routed["loads"]) == routed["reps"] and sum(w["beyond_h"] for w in routed["loads"]) == 0
    assert not routed["settled"] or routed["reps"] == 1 or not tries[routed["reps"] - 1]["fits"]
    too_long = client.post("/v1/territories/proposals", json={"time_limit_s": 3000, "what_if": {"headcount_time_s": 3000}},
                           headers=admin)
    assert too_long.status_code == 422 and "headcount_time_s" in too_long.json()["detail"]
    nobody = client.post("/v1/territories/proposals", json={"what_if": {"remove_reps": list(REPS)}}, headers=admin)
    assert nobody.status_code == 422 and "at least one rep must stay" in nobody.text
    # Bad changes are refused with the field.
    bad = client.post("/v1/territories/proposals", json={"what_if": {"remove_reps": ["R7"], "classes": {"B": {"service_min": -3}}}},
                      headers=admin)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_moving_stores_previews_routed_workloads_and_applies_only_without_dry_run(app, client, admin, monkeypatch):
    from api import proposals

    routed = []
    monkeypatch.setattr(proposals, "plan_territories", lambda *a, **k: routed.append(a) or plan_territories(*a, **k))
    load_team(client, admin)
    plan_and_publish(client, admin)
    route = next(r for r in (client.get(f"/v1/reps/{rep}/routes/{MONDAY}", headers=admin) for rep in REPS)
                 if r.status_code == 200 and any(s["type"] == "visit" for s in r.json()["stops"]))
    giver = route.json()["rep_id"]
    taker = next(r for r in REPS if r != giver)
    moved = [s["store_id"] for s in route.json()["stops"] if s["type"] == "visit"][:2]
    body = {"store_ids": moved, "rep_id": taker}
    preview = client.post("/v1/stores/move", json=body, headers=admin, params={"dry_run": True})
    assert preview.status_code == 200, preview.text
    answer = preview.json()
    assert not answer["applied"] and {m["store_id"] for m in answer["moves"]} == set(moved)
    before = {w["rep_id"]: w for w in answer["before"]}
    after = {w["rep_id"]: w for w in answer["after"]}
    assert set(after) == {giver, taker}  # only the reps the move touches
    assert after[taker]["stores"] == before[taker]["stores"] + 2 and after[giver]["stores"] == before[giver]["stores"] - 2
    assert all(client.get(f"/v1/stores/{s}", headers=admin).json()["rep_id"] is None for s in moved)  # nothing changed
    done = client.post("/v1/stores/move", json=body, headers=admin)
    assert done.status_code == 200 and done.json()["applied"]
    assert done.json()["after"] == answer["after"]  # applying what was previewed answers the previewed numbers
    assert all(client.get(f"/v1/stores/{s}", headers=admin).json()["rep_id"] == taker for s in moved)
    assert len(routed) == 1  # the preview's routed territories, kept for the apply
    assert client.post("/v1/stores/move", json=body | {"rep_id": "R99"}, headers=admin).status_code == 422

    assert client.post("/v1/stores/move", json=body, headers=make_token(app, "rep", "R1")).status_code == 403


def test_later_proposals_keep_stores_moved_by_hand_unless_told_otherwise(app, client, admin):
    from .conftest import STORES, wait_job

    load_team(client, admin)
    plan_and_publish(client, admin)
    everything = [s["id"] for s in STORES]
    assert client.post("/v1/stores/move", json={"store_ids": everything, "rep_id": "R1"}, headers=admin).status_code == 200

    def proposed(**body) -> dict:
        r = client.post("/v1/territories/proposals", json={"max_moves_pct": 100, "time_limit_s": 4} | body, headers=admin)
        assert wait_job(client, admin, r.json()["job"]["id"])["status"] == "succeeded"
        return client.get(f"/v1/territories/proposals/{r.json()['id']}", headers=admin).json()["result"]["owners"]

    assert set(proposed().values()) == {"R1"}  # every store was given to R1 by hand: kept
    assert len(set(proposed(keep_edits=False).values())) > 1  # otherwise the work is shared out


def _page_config(html: str) -> dict:
    import json
    import re

    (config,) = re.findall(r"fieldrouteTerritories\(\w+, \w+, \w+, (\{.*\})\);", html)
    return json.loads(config)


def test_the_territory_page_is_for_supervisors_and_posts_with_its_csrf_token(app, client, admin):
    from api import auth
    from api.deps import SESSION_COOKIE

    load_team(client, admin)
    plan = plan_and_publish(client, admin)
    assert client.get("/v1/territories/map", headers=make_token(app, "rep", "R1")).status_code == 403
    page = client.get("/v1/territories/map", headers=admin)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"  # it carries a token; and it is never framed (clickjacking)
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'" and page.headers["x-frame-options"] == "DENY"
    config = _page_config(page.text)
    assert config["plan_id"] == plan["id"] and config["csrf"] is None and config["can_propose"]  # a bearer token: read only
    loads = client.get("/v1/territories", headers=admin).json()["reps"]
    assert {w["rep_id"]: w["work_h"] for w in config["loads"]} == {w["rep_id"]: w["work_h"] for w in loads}
    assert page.text.count('"type": "Point"') == len(STORES)
    # a supervisor limited to a team: its reps' stores (theirs by the plan when they have no owner), and it moves them
    limited = make_token(app, "supervisor", team=["R2", "R3"])
    team_page = client.get("/v1/territories/map", headers=limited).text
    team = _page_config(team_page)
    assert [r["id"] for r in team["reps"]] == ["R2", "R3"] and not team["can_propose"] and team["can_move"]
    mine = {w["rep_id"]: w["stores"] for w in client.get("/v1/territories", headers=limited).json()["reps"]}
    assert team_page.count('"type": "Point"') == mine["R2"] + mine["R3"] > 0
    r2_store = next(r for r in STORES if f'"id": "{r["id"]}", "name"' in team_page and
                    client.post("/v1/stores/move", json={"store_ids": [r["id"]], "rep_id": "R3"}, params={"dry_run": True},
                                headers=limited).status_code == 200)
    assert client.post("/v1/stores/move", json={"store_ids": [r2_store["id"]], "rep_id": "R1"}, params={"dry_run": True},
                       headers=limited).status_code == 403  # not to another team's rep
    outsider = next(s["id"] for s in STORES if f'"id": "{s["id"]}", "name"' not in team_page)
    assert client.post("/v1/stores/move", json={"store_ids": [outsider], "rep_id": "R2"}, params={"dry_run": True},
                       headers=limited).status_code == 403  # nor another team's store
    # an older plan's page shows it, but moves act on the last published plan: none offered there
    newer = plan_and_publish(client, admin)
    old_page = _page_config(client.get("/v1/territories/map", headers=admin, params={"plan_id": plan["id"]}).text)
    assert old_page["plan_id"] == plan["id"] and not old_page["can_move"]
    assert _page_config(client.get("/v1/territories/map", headers=admin).text)["plan_id"] == newer["id"]
    assert client.get("/v1/territories/map", headers=admin, params={"proposal_id": 999}).status_code == 404

    # signed in (the /login cookie): the page carries the token its POSTs must send back
    secret = make_token(app, "supervisor")["Authorization"].split()[1]
    assert client.post("/login", data={"token": secret, "next": "/v1/territories/map"}, follow_redirects=False).status_code == 303
    cookie = client.cookies[SESSION_COOKIE]
    signed_in = _page_config(client.get("/v1/territories/map").text)
    assert signed_in["csrf"] == auth.csrf_token(cookie) and signed_in["csrf"] != auth.digest(cookie)
    store = STORES[0]["id"]
    body = {"store_ids": [store], "rep_id": "R3"}
    assert client.post("/v1/stores/move", json=body, params={"dry_run": True}).status_code == 401  # the cookie alone
    wrong = client.post("/v1/stores/move", json=body, params={"dry_run": True}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 401 and "X-CSRF-Token" in wrong.json()["detail"]
    right = client.post("/v1/stores/move", json=body, params={"dry_run": True}, headers={"X-CSRF-Token": signed_in["csrf"]})
    assert right.status_code == 200, right.text
    not_ascii = client.post("/v1/stores/move", json=body, params={"dry_run": True}, headers={"X-CSRF-Token": b"\xff"})
    assert not_ascii.status_code == 401
    # the cookie and the token make only the page's writes: nothing else (here, tokens and the policy)
    page_headers = {"X-CSRF-Token": signed_in["csrf"]}
    assert client.post("/v1/tokens", json={"name": "x", "role": "admin"}, headers=page_headers).status_code == 401
    assert client.put("/v1/policy", json=POLICY, headers=page_headers).status_code == 401
    client.post("/logout")
    assert client.post("/v1/stores/move", json=body, params={"dry_run": True},
                       headers={"X-CSRF-Token": signed_in["csrf"]}).status_code == 401  # the session is over


def test_a_team_supervisor_gives_stores_to_its_reps_only_by_patch_as_by_move(app, client, admin):
    """One rule for PATCH /v1/stores/{id} {"rep_id"} and POST /v1/stores/move."""
    load_team(client, admin)
    plan_and_publish(client, admin)
    mine, other = STORES[0]["id"], STORES[1]["id"]
    for store_id, rep_id in ((mine, "R1"), (other, "R3")):
        assert client.patch(f"/v1/stores/{store_id}", json={"rep_id": rep_id}, headers=admin).status_code == 200
    team = make_token(app, "supervisor", team=["R1", "R2"])
    before = client.get(f"/v1/stores/{mine}", headers=admin).json()
    out = client.patch(f"/v1/stores/{mine}", json={"rep_id": "R3"}, headers=team)
    assert out.status_code == 403 and "between its reps only" in out.json()["detail"]
    moved = client.post("/v1/stores/move", json={"store_ids": [mine], "rep_id": "R3"}, params={"dry_run": True}, headers=team)
    assert moved.status_code == 403 and moved.json()["detail"] == out.json()["detail"]
    assert client.get(f"/v1/stores/{mine}", headers=admin).json() == before  # nothing changed
    assert client.patch(f"/v1/stores/{other}", json={"rep_id": "R1"}, headers=team).status_code == 404  # not its store
    # within the team: a move by hand, kept by later proposals like one through /v1/stores/move
    inside = client.patch(f"/v1/stores/{mine}", json={"rep_id": "R2"}, headers=team)
    assert inside.status_code == 200 and inside.json()["rep_id"] == "R2" and inside.json()["version"] == before["version"] + 1
    assert client.patch(f"/v1/stores/{mine}", json={"name": "Renamed"}, headers=team).status_code == 200
    with app.state.sessions() as session:
        edits = [(e.store_id, e.rep_id, e.by) for e in session.scalars(select(OwnerEdit))]
    assert edits == [(mine, "R1", "admin:test admin"), (other, "R3", "admin:test admin"), (mine, "R2", "supervisor:test supervisor")]
