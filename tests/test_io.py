"""Inputs are validated whole: every problem is reported with file, row and field."""

import datetime as dt
import json
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
        [sys.executable, "-m", "api.cli", "solve-day", "--stores", str(DATA / "bad_stores.csv"),
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
    """Plan times are real seconds since local midnight: they read back unchanged on the days
    clocks change; a time without offset is local wall-clock time."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from routing.io import _iso, _seconds

    zone = ZoneInfo("Europe/Monaco")
    for day in (dt.date(2026, 3, 29), dt.date(2026, 10, 25)):
        for seconds in (3600, 10 * 3600, 22 * 3600):
            assert _seconds(day, _iso(day, seconds, zone), zone) == seconds
    # Ordinary day, no offset: 08:30 on the clock is 8.5 h after midnight.
    assert _seconds(dt.date(2026, 12, 3), "2026-12-03T08:30:00", zone) == 30600
    # Autumn day, no offset: 02:30 is the first 02:30 (+02:00), midnight 22:00Z -> 00:30Z = 2.5 h.
    assert _seconds(dt.date(2026, 10, 25), "2026-10-25T02:30:00", zone) == 9000


def _policy_problems(tmp_path, text):
    path = tmp_path / "policy.toml"
    path.write_text('time_zone = "Europe/Monaco"\n' + text)
    return _problems(policy=path)


def test_day_patterns_and_same_weekday_parse(tmp_path):
    """Allowed weekday sets become weekday numbers (0 = Monday); same_weekday defaults to prefer."""
    from routing.io import load_policy

    path = tmp_path / "policy.toml"
    path.write_text('time_zone = "Europe/Monaco"\n'
                    '[classes.A]\nvisits_per_week = 2\nservice_min = 20\npriority = 3\nmin_gap_days = 2\n'
                    'day_patterns = ["Mo,Th", "Tu, Fr", "We,Sa"]\nsame_weekday = "require"\n'
                    '[classes.C]\nvisits_per_week = 0.5\nservice_min = 10\npriority = 1\nday_patterns = ["Tu", "Th"]\n')
    policy = load_policy(path)
    a, c = policy.classes["A"], policy.classes["C"]
    assert a.day_patterns == (frozenset({0, 3}), frozenset({1, 4}), frozenset({2, 5})) and a.same_weekday == "require"
    assert c.day_patterns == (frozenset({1}), frozenset({3})) and c.same_weekday == "prefer"


def test_bad_day_patterns_named_by_class_and_field(tmp_path):
    """Unknown weekday, a weekday twice, an entry twice, the wrong number of days for the
    frequency, days closer than min_gap_days, a bad same_weekday: each named with its class."""
    head = 'service_min = 20\npriority = 3\n'
    problems = _policy_problems(tmp_path, (
        f'[classes.A]\nvisits_per_week = 2\n{head}day_patterns = ["Mo,Xy", "Tu,Tu"]\n'
        f'[classes.B]\nvisits_per_week = 1\n{head}day_patterns = ["Mo", "Mo"]\n'
        f'[classes.C]\nvisits_per_week = 2\n{head}day_patterns = ["Mo,We,Fr"]\n'
        f'[classes.D]\nvisits_per_week = 2\nmin_gap_days = 3\n{head}day_patterns = ["Mo,Th", "Fr,Mo", "Mo,We"]\n'
        f'[classes.E]\nvisits_per_week = 0.5\n{head}day_patterns = "Mo,Th"\nsame_weekday = "always"\n'
        f'[classes.F]\nvisits_per_week = 0.5\n{head}day_patterns = ["Mo,Th"]\n'
    ))
    text: dict = {}
    for p in problems:
        text[(p.row, p.field)] = text.get((p.row, p.field), "") + p.message + "\n"
    assert sorted(text) == [("classes.A", "day_patterns"), ("classes.B", "day_patterns"), ("classes.C", "day_patterns"),
                            ("classes.D", "day_patterns"), ("classes.E", "day_patterns"), ("classes.E", "same_weekday"),
                            ("classes.F", "day_patterns")]
    assert len([p for p in problems if p.row == "classes.A"]) == 2
    assert "unknown weekday(s) 'Xy'" in text[("classes.A", "day_patterns")]
    assert "'Tu,Tu' names a weekday twice" in text[("classes.A", "day_patterns")]
    assert "'Mo' is given twice" in text[("classes.B", "day_patterns")]
    assert "'Mo,We,Fr' has 3 weekday(s); visits_per_week = 2" in text[("classes.C", "day_patterns")]
    assert len([p for p in problems if p.row == "classes.D"]) == 1  # Mo+Th and Fr+Mo keep 3 days, week after week
    assert "'Mo,We' has visits 2 day(s) apart week after week; min_gap_days is 3" in text[("classes.D", "day_patterns")]
    assert "expected \"prefer\" or \"require\", got 'always'" in text[("classes.E", "same_weekday")]
    assert "needs 1" in text[("classes.F", "day_patterns")]
    assert "policy.toml: classes.A, field 'day_patterns'" in str(next(p for p in problems if p.row == "classes.A"))


def test_days_off_parse_and_errors_named_by_line_and_field(tmp_path):
    """days_off: dates and ranges separated by ';' or spaces; a bad date or a backwards
    range is reported with its line and field."""
    head = "id,name,start_lat,start_lon,days_off\n"
    good = tmp_path / "reps.csv"
    good.write_text(head + "R1,A,60.17,24.94,2026-12-07;2026-12-21..2026-12-24 2026-12-31\nR2,B,60.17,24.94,\n")
    _, (r1, r2), _ = load_inputs(DATA / "one_store.csv", good, DEMO / "policy.toml")
    assert r1.days_off == {dt.date(2026, 12, 7), dt.date(2026, 12, 21), dt.date(2026, 12, 22), dt.date(2026, 12, 23),
                           dt.date(2026, 12, 24), dt.date(2026, 12, 31)}
    assert r2.days_off == frozenset()
    assert r1.works_on(dt.date(2026, 12, 8)) and not r1.works_on(dt.date(2026, 12, 7)) and not r1.works_on(dt.date(2026, 12, 5))
    bad = tmp_path / "bad_reps.csv"
    bad.write_text(head + "R1,A,60.17,24.94,2026-12-07\nR2,B,60.17,24.94,2026-13-01\nR3,C,60.17,24.94,2026-12-24..2026-12-21\n"
                   "R4,D,60.17,24.94,tomorrow;2026-12-01\nR5,E,60.17,24.94,2026-12-01..\n")
    text = {(p.row, p.field): p.message for p in _problems(stores=DATA / "one_store.csv", reps=bad)}
    assert sorted(text) == [("line 3", "days_off"), ("line 4", "days_off"), ("line 5", "days_off"), ("line 6", "days_off")]
    assert "got '2026-13-01'" in text[("line 3", "days_off")]
    assert "'2026-12-24..2026-12-21' ends before it starts" in text[("line 4", "days_off")]
    assert "got 'tomorrow'" in text[("line 5", "days_off")]


def test_visits_per_cycle_instead_of_per_week(tmp_path):
    """A class gives its visits per week or per cycle, exactly one of the two."""
    from routing.calendar import required_visits
    from routing.io import load_policy

    head = 'service_min = 20\npriority = 3\n'
    path = tmp_path / "policy.toml"
    path.write_text(f'time_zone = "Europe/Monaco"\n[classes.X]\nvisits_per_cycle = 3\n{head}')
    x = load_policy(path).classes["X"]
    assert (x.visits_per_cycle, x.visits_per_week) == (3, None)
    assert required_visits(x, 4) == 3 and required_visits(x, 6) == 3
    problems = _policy_problems(tmp_path, (
        f'[classes.A]\nvisits_per_week = 1\nvisits_per_cycle = 4\n{head}'
        f'[classes.B]\n{head}'
        f'[classes.C]\nvisits_per_cycle = 0.5\n{head}'
    ))
    fields = sorted((p.row, p.field) for p in problems)
    assert fields == [("classes.A", "visits_per_week"), ("classes.B", "visits_per_week"), ("classes.C", "visits_per_cycle")]
    assert "exactly one of visits_per_week" in next(p.message for p in problems if p.row == "classes.B")


def test_a_class_checklist_and_its_focus_step():
    """Issue 20, item 4: the in-store steps default to the method's (进店 查 做 说 销 训 出); a
    class may have its own, with one step for the focus product; bad ones are named."""
    from routing.io import parse_policy
    from routing.model import DEFAULT_CHECKLIST

    base = {"time_zone": "Europe/Monaco", "classes": {"A": {"visits_per_week": 1, "service_min": 20, "priority": 2}}}
    assert parse_policy(base).classes["A"].checklist == DEFAULT_CHECKLIST == (
        "enter", "check_shelf", "fix_display", "tell_promotions", "take_order", "train_staff", "leave")
    custom = parse_policy(base | {"classes": {"A": base["classes"]["A"] | {"checklist": ["enter", "push_yoghurt", "leave"],
                                                                           "focus_step": "push_yoghurt"}}}).classes["A"]
    assert custom.checklist == ("enter", "push_yoghurt", "leave") and custom.focus_step == "push_yoghurt"
    for bad, field in (({"checklist": ["Enter"]}, "checklist"), ({"checklist": ["a", "a"]}, "checklist"),
                       ({"checklist": []}, "checklist"), ({"focus_step": "dance"}, "focus_step")):
        with pytest.raises(InputError) as err:
            parse_policy(base | {"classes": {"A": base["classes"]["A"] | bad}})
        assert [(p.row, p.field) for p in err.value.problems] == [("classes.A", field)], bad
