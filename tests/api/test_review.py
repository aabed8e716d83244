"""Regressions found in review: erasing a store a queued job uses, unbounded paging offsets,
date ranges at the calendar's end, a policy that drops classes stores use, orphaned jobs."""

from __future__ import annotations

import datetime as dt

from api import records
from api.db import transaction
from api.jobs import new_job
from api.models import Job, StoreVersion, utcnow

from .conftest import POLICY, STORES, load_team


def test_a_store_a_pending_job_uses_is_deactivated_not_erased(client, admin, app):
    """A plan job snapshots the store versions when it is submitted; deleting one of those
    stores before the job writes its plan must keep the version the plan will name."""
    load_team(client, admin)
    sid = STORES[0]["id"]
    with transaction(app.state.sessions) as s:  # a submitted job, not yet started
        new_job(s, {"inputs": records.snapshot(s)}, None)
    r = client.delete(f"/v1/stores/{sid}", headers=admin)
    assert r.status_code == 200 and r.json()["result"] == "deactivated"
    with app.state.sessions() as s:
        assert s.get(StoreVersion, (sid, 1)) is not None
    r = client.delete("/v1/reps/R1", headers=admin)
    assert r.json()["result"] == "deactivated"


def test_paging_offsets_are_bounded(client, admin):
    for path in ("/v1/stores", "/v1/reps", "/v1/plans"):
        r = client.get(f"{path}?offset={10**20}", headers=admin)
        assert r.status_code == 422, (path, r.status_code)


def test_a_route_range_at_the_end_of_the_calendar_is_a_422(client, admin):
    r = client.get("/v1/reps/R1/routes?from=9999-12-31&to=9999-12-30", headers=admin)
    assert r.status_code == 422


def test_a_policy_must_keep_the_classes_active_stores_use(client, admin):
    load_team(client, admin)
    used = sorted({s["class"] for s in STORES})
    dropped = used[-1]
    bad = POLICY | {"classes": {k: v for k, v in POLICY["classes"].items() if k != dropped}}
    r = client.put("/v1/policy", json=bad, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["pointer"] == f"/classes/{dropped}"
    assert client.get("/v1/policy", headers=admin).json()["version"] == 1


def test_a_running_job_whose_worker_died_is_failed_when_read(client, admin, app):
    """A job whose worker stopped renewing its lease (its server was killed, it died) must not
    stay "running" until the next restart: reading it fails it."""
    with transaction(app.state.sessions) as s:
        s.add(Job(id="lost", status="running", phase="routing days", progress=0.4, params={},
                  lease_until=utcnow() - dt.timedelta(seconds=1)))
    job = client.get("/v1/jobs/lost", headers=admin).json()
    assert job["status"] == "failed" and "lease" in job["error"], job
