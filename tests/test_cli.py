"""The fieldroute command as other tools use it: solve-day, check, demo."""

import json
import subprocess
import sys

from .conftest import DEMO

INPUTS = ["--stores", str(DEMO / "stores.csv"), "--reps", str(DEMO / "reps.csv"), "--policy", str(DEMO / "policy.toml")]


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "routing.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_solve_day_then_check(tmp_path):
    """solve-day writes a plan and a map; check accepts the plan (exit 0, 'ok')."""
    plan, html = tmp_path / "plan.json", tmp_path / "plan.html"
    r = _run("solve-day", *INPUTS, "--date", "2026-12-03", "--solution-limit", "50", "--seed", "1",
             "--out", str(plan), "--map", str(html))
    assert r.returncode == 0, r.stderr
    data = json.loads(plan.read_text())
    assert data["params"]["seed"] == 1 and data["params"]["solution_limit"] == 50
    assert {"date", "params", "summary", "routes", "unassigned"} <= set(data)
    assert set(data["summary"]) >= {"visits", "travel_s", "service_s", "wait_s", "distance_m", "span_s"}
    assert html.stat().st_size > 1000
    c = _run("check", *INPUTS, "--plan", str(plan))
    assert c.returncode == 0 and c.stdout.strip() == "ok"


def test_check_lists_violations_of_an_edited_plan(tmp_path):
    """Editing a visit time by hand makes check exit 1 and name the violation."""
    plan = tmp_path / "plan.json"
    assert _run("solve-day", *INPUTS, "--date", "2026-12-03", "--solution-limit", "20", "--out", str(plan)).returncode == 0
    data = json.loads(plan.read_text())
    visit = data["routes"][0]["stops"][1]
    visit["start"] = visit["start"].replace("T", "T0").replace("T0", "T", 1)  # unchanged: keep format
    data["routes"][0]["stops"][1]["travel_s"] += 100
    dropped = data["routes"][0]["stops"].pop(2)
    plan.write_text(json.dumps(data))
    c = _run("check", *INPUTS, "--plan", str(plan))
    assert c.returncode == 1
    assert "travel:" in c.stdout and f"lost_visit: store {dropped['store_id']}" in c.stdout


def test_demo_writes_plan_and_map(tmp_path):
    """`fieldroute demo` plans the demo team and says where the files are."""
    r = _run("demo", "--out-dir", str(tmp_path), "--solution-limit", "30")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "plan.json").exists() and (tmp_path / "plan.html").exists()
    assert str(tmp_path / "plan.json") in r.stdout and "Checked:" in r.stdout
