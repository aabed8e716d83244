"""Inputs are validated whole: every problem is reported with file, row and field."""

import json
import shutil
import subprocess
import sys

import pytest

from routing.errors import InputError
from routing.io import load_inputs, plan_from_dict, plan_to_dict

from .conftest import DATA, DEMO


def _problems(stores=DEMO / "stores.csv", reps=DEMO / "reps.csv", policy=DEMO / "policy.toml"):
    with pytest.raises(InputError) as info:
        load_inputs(stores, reps, policy)
    return info.value.problems


def test_demo_inputs_load():
    """The built-in demo team is valid."""
    stores, reps, policy = load_inputs(DEMO / "stores.csv", DEMO / "reps.csv", DEMO / "policy.toml")
    assert len(stores) == 179 and len(reps) == 4
    assert set(policy.classes) == {"A", "B", "C", "D"} and {s.store_class for s in stores} == {"A", "B", "C", "D"}
    assert reps[0].lunch is not None and reps[0].lunch.duration_s == 45 * 60


def test_bad_stores_every_problem_named_by_line_and_field():
    """Each bad row is reported with its line and field, all in one error."""
    found = {(p.row, p.field) for p in _problems(stores=DATA / "bad_stores.csv")}
    assert found == {
        ("line 3", "lat"),
        ("line 4", "class"),
        ("line 5", "opening_hours"),
        ("line 6", "id"),
        ("line 7", "name"),
        ("line 8", "rep_id"),
        ("line 9", "service_min"),
        ("line 10", "lon"),
    }


def test_bad_store_messages_say_what_was_expected():
    """Messages quote the bad value and what was expected."""
    text = {(p.row, p.field): str(p) for p in _problems(stores=DATA / "bad_stores.csv")}
    assert "bad_stores.csv: line 3, field 'lat': expected a number, got 'abc'" == text[("line 3", "lat")]
    assert "expected one of the policy's classes (A, B, C, D), got 'Z'" in text[("line 4", "class")]
    assert "duplicate id 'S1' (first at line 2)" in text[("line 6", "id")]
    assert "no rep with id 'R9'" in text[("line 8", "rep_id")]


def test_bad_reps_every_problem_named():
    """Shift order, partial breaks, half an end point, clock syntax, limits, working days."""
    found = {(p.row, p.field) for p in _problems(reps=DATA / "bad_reps.csv")}
    assert found == {
        ("line 3", "shift_end"),
        ("line 4", "break_end"),
        ("line 5", "end_lon"),
        ("line 6", "shift_start"),
        ("line 7", "max_visits"),
        ("line 8", "working_days"),
    }


def test_bad_policy_every_problem_named():
    """Unknown time zone, negative speed, a missing priority, a non-numeric frequency."""
    found = {(p.row, p.field) for p in _problems(policy=DATA / "bad_policy.toml")}
    assert found == {
        (None, "time_zone"),
        (None, "speed_kmh"),
        ("classes.A", "priority"),
        ("classes.B", "visits_per_week"),
    }


def test_missing_columns_reported_once():
    """A header without required columns is one problem naming them."""
    problems = _problems(stores=DATA / "missing_columns.csv")
    assert len(problems) == 1
    assert "lat, lon, opening_hours" in problems[0].message and problems[0].row == "line 1"


def test_missing_file():
    """A path that does not exist is named."""
    problems = _problems(reps=DATA / "nope.csv")
    assert problems[0].source.endswith("nope.csv") and "no such file" in problems[0].message


def test_geojson_stores_match_csv(tmp_path):
    """The same stores as a GeoJSON FeatureCollection load to the same objects."""
    stores, _, _ = load_inputs(DEMO / "stores.csv", DEMO / "reps.csv", DEMO / "policy.toml")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
            "properties": {
                "id": s.id, "name": s.name, "class": s.store_class, "opening_hours": s.opening_hours,
                "service_min": s.service_min, "rep_id": s.rep_id,
            },
        }
        for s in stores
    ]
    path = tmp_path / "stores.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    again, _, _ = load_inputs(path, DEMO / "reps.csv", DEMO / "policy.toml")
    assert again == stores


def test_geojson_bad_feature_named(tmp_path):
    """A feature without a point geometry or with a bad property is named by number."""
    good = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.9, 60.1]},
            "properties": {"id": "S1", "name": "a", "class": "A", "opening_hours": ""}}
    no_geometry = {"type": "Feature", "geometry": None, "properties": good["properties"]}
    bad_class = {**good, "properties": {**good["properties"], "id": "S3", "class": "Q"}}
    path = tmp_path / "stores.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, no_geometry, bad_class]}))
    found = {(p.row, p.field) for p in _problems(stores=path)}
    assert found == {("feature 2", "geometry"), ("feature 3", "class")}


def test_cli_rejects_bad_input_and_writes_nothing(tmp_path):
    """The CLI exits 2, prints every problem, and creates no plan or map."""
    out, html = tmp_path / "plan.json", tmp_path / "plan.html"
    result = subprocess.run(
        [sys.executable, "-m", "routing.cli", "solve-day", "--stores", str(DATA / "bad_stores.csv"),
         "--reps", str(DEMO / "reps.csv"), "--policy", str(DEMO / "policy.toml"), "--date", "2026-12-03",
         "--out", str(out), "--map", str(html)],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("bad_stores.csv: line") == 8
    assert not out.exists() and not html.exists()


def test_plan_json_round_trip(ok_small):
    """A plan survives JSON unchanged, with ISO 8601 local times carrying the offset."""
    from routing.daily import solve_day
    from routing.model import SolveParams

    from .conftest import THURSDAY

    stores, reps, policy = ok_small
    plan = solve_day(THURSDAY, stores, reps, policy, params=SolveParams(solution_limit=20))
    data = json.loads(json.dumps(plan_to_dict(plan)))
    assert data["routes"][0]["stops"][0]["start"].endswith("+02:00")
    assert set(data["summary"]) >= set(data["routes"][0]["summary"])
    again = plan_from_dict(data)
    assert again.routes == plan.routes and again.unassigned == plan.unassigned


def test_times_survive_daylight_saving_days():
    """Plan times are wall-clock seconds: they read back unchanged on the days clocks change."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from routing.io import _iso, _seconds

    zone = ZoneInfo("Europe/Monaco")
    for day in (dt.date(2026, 3, 29), dt.date(2026, 10, 25)):
        for seconds in (3600, 10 * 3600, 22 * 3600):
            assert _seconds(day, _iso(day, seconds, zone), zone) == seconds
    with pytest.raises(ValueError, match="no UTC offset"):
        _seconds(dt.date(2026, 12, 3), "2026-12-03T08:30:00", zone)
