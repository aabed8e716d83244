"""The service on OSRM: ``fieldroute serve --demo --network osrm:demo`` on a real uvicorn plans
the demo cycle on OSRM's matrix (its data prepared into the cache on first use), and a rep's
route as GeoJSON follows OSRM's roads; every answer is checked against the published schema."""

from __future__ import annotations

import math

from .browser import api
from .conftest import serve_demo

DAY = "2026-12-08"  # a Tuesday of the demo's cycle


def _metres(line: list[list[float]]) -> float:
    return sum(math.hypot((b[1] - a[1]) * 111_320, (b[0] - a[0]) * 111_320 * math.cos(math.radians(a[1])))
               for a, b in zip(line, line[1:]))


def test_the_demo_served_on_osrm(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDROUTE_CACHE", str(tmp_path / "cache"))
    with serve_demo(tmp_path / "fieldroute.db", "osrm:demo") as (base, tokens, _):
        sup = tokens["supervisor"]
        (plan,) = api(base, sup, "/v1/plans")["items"]
        assert plan["network"] == "osrm:demo" and plan["result"]["check"]["ok"] is True
        assert plan["result"]["params"]["travel"].startswith("OSRM 26")
        geo = api(base, sup, f"/v1/reps/R1/routes/{DAY}?format=geojson")
        points = [f for f in geo["features"] if f["geometry"]["type"] == "Point"]
        (line,) = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
        coords = line["geometry"]["coordinates"]
        assert len(points) >= 4 and len(coords) > 5 * len(points)  # along the streets, not stop to stop
        assert coords[0] == points[0]["geometry"]["coordinates"]
        # the line is the route's driving: about as long as the plan's distance (snapping aside)
        assert abs(_metres(coords) - line["properties"]["distance_m"]) < 0.1 * line["properties"]["distance_m"] + 300
    assert any(p.name.startswith("osrm-") and p.is_dir() for p in (tmp_path / "cache").iterdir())
