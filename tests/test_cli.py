"""The fieldroute command as other tools use it: solve-day, check, demo."""

import json
import os
import subprocess
import sys

from .conftest import DEMO

INPUTS = ["--stores", str(DEMO / "stores.csv"), "--reps", str(DEMO / "reps.csv"), "--policy", str(DEMO / "policy.toml")]


def _run(*args, cwd=None, cache=None):
    env = dict(os.environ, **({"FIELDROUTE_CACHE": str(cache)} if cache else {}))
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_solve_day_then_check(tmp_path):
    """solve-day writes a plan and a map; check accepts the plan (exit 0, 'ok')."""
    plan, html = tmp_path / "plan.json", tmp_path / "plan.html"
    r = _run("solve-day", *INPUTS, "--date", "2026-12-03", "--classes", "A,B", "--solution-limit", "50", "--seed", "1",
             "--out", str(plan), "--map", str(html))
    assert r.returncode == 0, r.stderr
    data = json.loads(plan.read_text())
    assert data["params"]["seed"] == 1 and data["params"]["solution_limit"] == 50
    assert {"date", "params", "summary", "routes", "unassigned"} <= set(data)
    assert set(data["summary"]) >= {"visits", "travel_s", "service_s", "wait_s", "distance_m", "span_s"}
    assert html.stat().st_size > 1000
    c = _run("check", *INPUTS, "--classes", "A,B", "--plan", str(plan))
    assert c.returncode == 0 and c.stdout.strip() == "ok", c.stdout
    every = _run("check", *INPUTS, "--plan", str(plan))  # without --classes the C and D stores are missing
    assert every.returncode == 1 and "lost_visit" in every.stdout


def test_check_lists_violations_of_an_edited_plan(tmp_path):
    """Editing a visit time by hand makes check exit 1 and name the violation."""
    plan = tmp_path / "plan.json"
    assert _run("solve-day", *INPUTS, "--date", "2026-12-03", "--classes", "A", "--solution-limit", "20", "--out", str(plan)).returncode == 0
    data = json.loads(plan.read_text())
    route = max(data["routes"], key=lambda r: len(r["stops"]))
    route["stops"][1]["travel_s"] += 100
    dropped = route["stops"].pop(2)
    assert dropped["type"] == "visit"
    plan.write_text(json.dumps(data))
    c = _run("check", *INPUTS, "--classes", "A", "--plan", str(plan))
    assert c.returncode == 1
    assert "travel:" in c.stdout and f"lost_visit: store {dropped['store_id']}" in c.stdout


def test_demo_on_roads_writes_plan_and_map_and_checks(tmp_path):
    """`fieldroute demo` plans the demo day on the bundled road network; the plan passes
    `check --network demo`, and a second run takes the graph and matrix from the cache."""
    cache = tmp_path / "cache"
    r = _run("demo", "--day-only", "--out-dir", str(tmp_path), "--solution-limit", "30", cache=cache)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "plan.json").exists() and (tmp_path / "plan.html").exists()
    assert str(tmp_path / "plan.json") in r.stdout and "Checked:" in r.stdout
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["params"]["travel"].startswith("roads monaco.osm.pbf")
    assert 0 < data["params"]["snapping"]["median_m"] <= data["params"]["snapping"]["max_m"]
    kinds = sorted(kind for p in cache.iterdir() for kind in ("matrix-", "roads-") if kind in p.name)
    assert kinds == ["matrix-", "roads-"]
    c = _run("check", *INPUTS, "--network", "demo", "--classes", "A,B", "--plan", str(tmp_path / "plan.json"), cache=cache)
    assert c.returncode == 0 and c.stdout.strip() == "ok", c.stdout
    # the same plan checked against straight-line travel does not hold: the checker really uses the matrix
    s = _run("check", *INPUTS, "--network", "straight", "--classes", "A,B", "--plan", str(tmp_path / "plan.json"))
    assert s.returncode == 1 and "travel:" in s.stdout


def test_solve_day_on_osrm_then_check(tmp_path):
    """`--network osrm:demo`: the demo extract prepared by OSRM into the cache, the day planned
    on its matrix, checked on the same network; the embedded engine's matrix differs (car.lua's
    speeds and turn costs), so the same plan does not hold there."""
    cache, plan, html = tmp_path / "cache", tmp_path / "plan.json", tmp_path / "plan.html"
    r = _run("solve-day", *INPUTS, "--date", "2026-12-03", "--classes", "A,B", "--network", "osrm:demo",
             "--solution-limit", "30", "--out", str(plan), "--map", str(html), cache=cache)
    assert r.returncode == 0, r.stderr
    data = json.loads(plan.read_text())
    assert data["params"]["travel"].startswith("OSRM 26") and "car.lua on monaco.osm.pbf" in data["params"]["travel"]
    assert 0 <= data["params"]["snapping"]["median_m"] <= data["params"]["snapping"]["max_m"] < 250
    assert sum(1 for p in cache.iterdir() if p.name.startswith("osrm-") and p.is_dir()) == 1
    c = _run("check", *INPUTS, "--network", "osrm:demo", "--classes", "A,B", "--plan", str(plan), cache=cache)
    assert c.returncode == 0 and c.stdout.strip() == "ok", c.stdout
    e = _run("check", *INPUTS, "--network", "demo", "--classes", "A,B", "--plan", str(plan), cache=cache)
    assert e.returncode == 1 and "travel:" in e.stdout
    bad = _run("solve-day", *INPUTS, "--date", "2026-12-03", "--network", "osrm+http://127.0.0.1:9/x")
    assert bad.returncode == 2 and "osrm+http://HOST:PORT" in bad.stderr


def test_far_from_roads_is_warned(tmp_path):
    """A rep living 1 km out at sea is snapped to the shore road with a warning naming the point."""
    reps = tmp_path / "reps.csv"
    reps.write_text("id,name,start_lat,start_lon\nR9,Boat,43.7300,7.4400\n")
    r = _run("solve-day", "--stores", str(DEMO / "stores.csv"), "--reps", str(reps), "--policy", str(DEMO / "policy.toml"),
             "--date", "2026-12-03", "--classes", "A", "--network", "demo", "--solution-limit", "5", cache=tmp_path / "cache")
    assert r.returncode == 0, r.stderr
    assert "warning: rep:R9:start is" in r.stderr and "m from the nearest road" in r.stderr


def test_bad_network_file_is_refused(tmp_path):
    """A --network path that is not an OSM file exits 2 with its name."""
    bad = tmp_path / "roads.txt"
    bad.write_text("nothing")
    r = _run("solve-day", *INPUTS, "--date", "2026-12-03", "--network", str(bad))
    assert r.returncode == 2 and "roads.txt" in r.stderr


def test_plan_cycle_then_check(tmp_path):
    """plan-cycle writes a cycle plan (same route objects, dated missing visits, KPIs,
    capacity) and per-date maps; check verifies it, frequencies included."""
    out, maps = tmp_path / "cycle.json", tmp_path / "maps"
    r = _run("plan-cycle", *INPUTS, "--start", "2026-11-30", "--weeks", "2", "--holidays", "2026-12-08",
             "--time-limit", "4", "--solution-limit", "10", "--out", str(out), "--maps", str(maps))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["cycle"] == {"start": "2026-11-30", "weeks": 2, "holidays": ["2026-12-08"]}
    assert "2026-12-08" not in {route["date"] for route in data["routes"]}
    assert {"frequency_compliance", "coverage", "visits_per_day", "travel_share", "workload_spread_h"} <= set(data["summary"])
    assert all(u["date"] and u["reason"] for u in data["unassigned"])
    assert len(list(maps.glob("2026-*.html"))) == len({route["date"] for route in data["routes"]})
    c = _run("check", *INPUTS, "--plan", str(out))
    assert c.returncode == 0 and c.stdout.strip() == "ok", c.stdout
    first = data["routes"][0]
    first["stops"] = [s for s in first["stops"] if s["type"] != "visit"][:1] + first["stops"][-1:]
    out.write_text(json.dumps(data))
    c = _run("check", *INPUTS, "--plan", str(out))
    assert c.returncode == 1 and "frequency:" in c.stdout


def test_bad_options_and_plan_files_exit_2(tmp_path):
    """Bad --weeks/--holidays are argparse errors; a missing or broken plan file exits 2 naming it."""
    r = _run("plan-cycle", *INPUTS, "--start", "2026-11-30", "--weeks", "0")
    assert r.returncode == 2 and "weeks" in r.stderr
    r = _run("plan-cycle", *INPUTS, "--start", "2026-11-30", "--holidays", "2026-13-01")
    assert r.returncode == 2 and "2026-13-01" in r.stderr
    broken = tmp_path / "plan.json"
    broken.write_text('{"date": "2026-12-03"}')
    for path in (broken, tmp_path / "missing.json"):
        r = _run("check", *INPUTS, "--plan", str(path))
        assert r.returncode == 2 and path.name in r.stderr and "Traceback" not in r.stderr
