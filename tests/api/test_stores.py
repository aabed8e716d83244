"""/v1/stores and /v1/reps: imports all or nothing, sync, dry run, paging, edits, deletes."""

from __future__ import annotations

from sqlalchemy import func, select

from api.models import StoreRow, StoreVersion

from .conftest import POLICY, REPS_CSV, STORES, load_team, plan_and_publish


def _counts(app) -> tuple[int, int]:
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(StoreRow)), s.scalar(select(func.count()).select_from(StoreVersion))


def test_import_json_then_list_get_and_filter(client, admin):
    """A JSON list is upserted by id; the list is paged and filters by class."""
    load_team(client, admin)
    page = client.get("/v1/stores?limit=5", headers=admin).json()
    assert page["count"] == len(STORES) and len(page["items"]) == 5
    assert [s["id"] for s in page["items"]] == sorted(s["id"] for s in STORES)[:5]
    second = client.get("/v1/stores?limit=5&offset=5", headers=admin).json()["items"]
    assert not {s["id"] for s in second} & {s["id"] for s in page["items"]}
    a = client.get("/v1/stores?class=A&limit=1000", headers=admin).json()
    assert a["count"] == sum(s["class"] == "A" for s in STORES) > 0 and all(s["class"] == "A" for s in a["items"])
    one = client.get(f"/v1/stores/{STORES[0]['id']}", headers=admin).json()
    assert one["name"] == STORES[0]["name"] and one["version"] == 1 and one["active"]
    assert client.get("/v1/stores/nope", headers=admin).status_code == 404


def test_csv_error_names_line_and_column_and_changes_nothing(client, admin, app):
    """A bad CSV row is refused with its line and column and the CLI's message; nothing is written."""
    load_team(client, admin)
    before = _counts(app)
    csv_text = "id,name,lat,lon,class,opening_hours\nS1,New shop,43.73,7.42,A,Mo-Sa 08:00-19:00\nS2,Bad shop,95,7.42,A,Mo-Fr 08:00-12:00\n"
    r = client.post("/v1/stores/import", content=csv_text, headers=admin | {"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and "nothing was changed" in body["detail"]
    (item,) = body["errors"]
    assert item["line"] == 3 and item["column"] == "lat"
    assert item["detail"] == "stores: line 3, field 'lat': expected a value in [-90, 90], got '95'"
    assert _counts(app) == before
    assert client.get("/v1/stores/S1", headers=admin).status_code == 404  # the good row was not kept either


def test_json_error_names_the_field_path(client, admin):
    """A JSON body's problems point at the item and field (JSON pointer)."""
    load_team(client, admin)
    bad = [STORES[0] | {"id": "X1", "class": "Z"}, {"id": "X2", "name": "n", "lat": 1, "lon": 2, "class": "A", "opening_hours": "nonsense"}]
    r = client.post("/v1/stores/import", json=bad, headers=admin)
    assert r.status_code == 422
    pointers = [e["pointer"] for e in r.json()["errors"]]
    assert pointers == ["/0/class", "/1/opening_hours"]
    assert "expected one of the policy's classes (A, B, C, D), got 'Z'" in r.json()["errors"][0]["detail"]


def test_store_owner_must_be_a_rep(client, admin):
    load_team(client, admin)
    r = client.post("/v1/stores/import", json=[STORES[0] | {"rep_id": "R99"}], headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/0/rep_id"


def test_dry_run_reports_and_changes_nothing_then_sync_deactivates(client, admin, app):
    """dry_run says what would be added, changed and deactivated; sync does it."""
    load_team(client, admin)
    before = _counts(app)
    upload = [STORES[0] | {"name": "Renamed"}, *STORES[2:], {**STORES[0], "id": "NEW1"}]
    r = client.post("/v1/stores/import?sync=true&dry_run=true", json=upload, headers=admin)
    assert r.status_code == 200
    report = r.json()
    assert report == {"added": ["NEW1"], "changed": [STORES[0]["id"]], "deactivated": [STORES[1]["id"]],
                      "unchanged": len(STORES) - 2, "dry_run": True}
    assert _counts(app) == before
    r = client.post("/v1/stores/import?sync=true", json=upload, headers=admin)
    assert r.json() | {"dry_run": True} == report
    assert client.get(f"/v1/stores/{STORES[1]['id']}", headers=admin).json()["active"] is False
    assert client.get(f"/v1/stores/{STORES[0]['id']}", headers=admin).json() | {"updated_at": None} == \
        client.get(f"/v1/stores/{STORES[0]['id']}", headers=admin).json() | {"updated_at": None}
    renamed = client.get(f"/v1/stores/{STORES[0]['id']}", headers=admin).json()
    assert renamed["name"] == "Renamed" and renamed["version"] == 2
    assert client.get("/v1/stores?limit=1000", headers=admin).json()["count"] == len(STORES)  # -1 deactivated +1 new
    assert client.get("/v1/stores?active=false", headers=admin).json()["count"] == 1


def test_geojson_and_multipart_uploads(client, admin):
    """The same rows as GeoJSON features or a multipart CSV file."""
    load_team(client, admin)
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
               "properties": {"id": "G1", "name": "Geo shop", "class": "B", "opening_hours": ""}}
    r = client.post("/v1/stores/import", json={"type": "FeatureCollection", "features": [feature]},
                    headers=admin | {"Content-Type": "application/geo+json"})
    assert r.status_code == 200 and r.json()["added"] == ["G1"]
    files = {"file": ("stores.csv", "id,name,lat,lon,class,opening_hours\nM1,Form shop,43.7,7.4,C,\n", "text/csv")}
    r = client.post("/v1/stores/import", files=files, headers=admin)
    assert r.status_code == 200 and r.json()["added"] == ["M1"]
    r = client.post("/v1/stores/import", content="x", headers=admin | {"Content-Type": "text/plain"})
    assert r.status_code == 415


def test_patch_validates_and_versions(client, admin):
    load_team(client, admin)
    sid = STORES[0]["id"]
    r = client.patch(f"/v1/stores/{sid}", json={"service_min": 40, "class": "B"}, headers=admin)
    assert r.status_code == 200 and r.json()["service_min"] == 40 and r.json()["class"] == "B" and r.json()["version"] == 2
    r = client.patch(f"/v1/stores/{sid}", json={"lon": "east"}, headers=admin)
    assert r.status_code == 422 and "field 'lon': expected a number, got 'east'" in r.json()["errors"][0]["detail"]
    assert client.get(f"/v1/stores/{sid}", headers=admin).json()["version"] == 2
    assert client.patch(f"/v1/stores/{sid}", json={"id": "other"}, headers=admin).status_code == 422


def test_delete_erases_unless_a_plan_used_it(client, admin, app):
    """A store no plan used is erased; one in a published plan is deactivated and the plan keeps it."""
    load_team(client, admin)
    plan = plan_and_publish(client, admin)
    client.post("/v1/stores/import", json=[{**STORES[0], "id": "LATE"}], headers=admin)
    assert client.delete("/v1/stores/LATE", headers=admin).json() == {"id": "LATE", "result": "deleted"}
    assert client.get("/v1/stores/LATE", headers=admin).status_code == 404
    used = STORES[0]["id"]
    assert client.delete(f"/v1/stores/{used}", headers=admin).json()["result"] == "deactivated"
    assert client.get(f"/v1/stores/{used}", headers=admin).json()["active"] is False
    export = client.get(f"/v1/plans/{plan['id']}/export.csv", headers=admin).text
    assert used in export or client.get(f"/v1/plans/{plan['id']}", headers=admin).json()["inputs"]["stores"] == len(STORES)


def test_reps_import_sync_and_errors(client, admin):
    """Reps: the same import rules; a rep row error names its line and column."""
    client.put("/v1/policy", json=POLICY, headers=admin)
    r = client.post("/v1/reps/import", content=REPS_CSV, headers=admin | {"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["added"] == ["R1", "R2", "R3", "R4"]
    bad = REPS_CSV.replace("08:30,17:30", "18:30,17:30", 1)
    r = client.post("/v1/reps/import", content=bad, headers=admin | {"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 2 and r.json()["errors"][0]["column"] == "shift_end"
    keep = "\n".join(REPS_CSV.splitlines()[:3]) + "\n"
    r = client.post("/v1/reps/import?sync=true", content=keep, headers=admin | {"Content-Type": "text/csv"})
    assert r.json()["deactivated"] == ["R3", "R4"] and r.json()["unchanged"] == 2
    assert client.get("/v1/reps", headers=admin).json()["count"] == 2
    r = client.patch("/v1/reps/R1", json={"max_visits": 5}, headers=admin)
    assert r.status_code == 200 and r.json()["max_visits"] == 5


def test_policy_get_put_validated(client, admin):
    assert client.get("/v1/policy", headers=admin).status_code == 404
    bad = POLICY | {"classes": {"A": {"visits_per_week": 2, "service_min": 25}}}
    r = client.put("/v1/policy", json=bad, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/classes/A/priority"
    assert client.put("/v1/policy", json=POLICY, headers=admin).json()["version"] == 1
    assert client.put("/v1/policy", json=POLICY | {"speed_kmh": 20}, headers=admin).json()["version"] == 2
    assert client.get("/v1/policy", headers=admin).json()["policy"]["speed_kmh"] == 20
