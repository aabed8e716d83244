"""The route map: one colour per rep, numbered stops, start/end, unassigned apart, attribution,
and the streets of the road network under the routes so it reads without tiles."""

import math
import re

import folium
import pytest

from maps.routes import PALETTE, route_map
from routing.daily import solve_day
from routing.io import load_inputs
from routing.model import SolveParams
from routing.travel import places_of

from .conftest import DEMO, POLICY, THURSDAY, rep, store

METRIC_SCALE = "L.control.scale({imperial: false})"


def test_route_map_contents(tmp_path):
    stores = [store(f"S{i}", 0.002 * i, 0.001 * i) for i in range(6)] + [store("closed", 0.01, hours="Sa 10:00-12:00")]
    reps = [rep("R1", 60.17, 24.94, max_visits=3), rep("R2", 60.18, 24.95, max_visits=3)]
    plan = solve_day(THURSDAY, stores, reps, POLICY, params=SolveParams(solution_limit=20, time_limit_s=5))
    path = tmp_path / "map.html"
    route_map(plan, stores, reps).save(str(path))
    html = path.read_text()
    assert len(plan.routes) == 2
    for n in range(len(plan.routes)):
        assert html.count(f'"color": "{PALETTE[n]}"') >= 1  # each route's line has its own colour
    numbers = re.findall(r'box-shadow:0 0 3px #000\\"\\u003e(\d+)\\u003c/div', html)  # JSON-escaped in the page
    assert sorted(map(int, numbers)) == sorted(k for r in plan.routes for k in range(1, len(r.visits) + 1))
    assert "not visited: Store closed (closed_on_date)" in html
    assert "OpenStreetMap</a> contributors" in html
    assert "Rep R1" in html and "fieldroute-legend" in html
    # One self-contained file: Leaflet inline, no script or style sheet fetched from elsewhere.
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html
    assert "L.map(" in html and "Leaflet" in html
    assert METRIC_SCALE in html and "L.control.scale()" not in html  # metres only, no miles
    # planned without roads: no street layer
    assert _streets(route_map(plan, stores, reps)) is None
    assert '"Streets"' not in html and '"pane": "streets"' not in html


def test_names_cannot_break_the_page():
    """A store name with a backtick, ${...} and HTML is escaped in tooltips and popups."""
    evil = "Bar `Le Zinc` ${alert(1)} <b>x</b>"
    stores = [store("S1", 0.001)]
    stores[0] = stores[0].__class__(**{**stores[0].__dict__, "name": evil})
    reps = [rep("R1")]
    plan = solve_day(THURSDAY, stores, reps, POLICY, params=SolveParams(solution_limit=5, time_limit_s=2))
    page = route_map(plan, stores, reps).get_root().render()
    assert "`Le Zinc`" not in page and "<b>x</b>" not in page and "${alert" not in page


def test_clock_shows_local_time_and_the_offset_in_the_repeated_hour():
    """Plan seconds are real time since midnight; the map shows the local clock. Paris,
    2026-03-29: midnight 23:00Z, real 2 h = 01:00Z = 03:00+02:00. 2026-10-25: midnight 22:00Z,
    real 2 h = 00:00Z = 02:00+02:00, real 3 h = 01:00Z = 02:00+01:00. 2026-06-15: no change."""
    from maps.routes import _clock
    from routing.model import DayPlan

    def shown(date, seconds):
        return _clock(DayPlan(date, "Europe/Paris", (), ()), seconds)

    assert shown("2026-03-29", 7200) == "03:00"  # no other 03:00 that day
    assert shown("2026-10-25", 7200) == "02:00+02:00"
    assert shown("2026-10-25", 10800) == "02:00+01:00"
    assert shown("2026-06-15", 7200) == "02:00"


@pytest.fixture(scope="module")
def demo_day(demo_roads):
    """The demo day (classes A and B) planned on the Monaco roads, as ``fieldroute demo`` does."""
    stores, reps, policy = load_inputs(DEMO / "stores.csv", DEMO / "reps.csv", DEMO / "policy.toml")
    stores = [s for s in stores if s.store_class in ("A", "B")]
    travel = demo_roads.matrix(places_of(stores, reps))
    plan = solve_day(THURSDAY, stores, reps, policy, travel=travel, params=SolveParams(solution_limit=20, time_limit_s=5))
    return plan, stores, reps


def _streets(fmap: folium.Map) -> list[list[tuple[float, float]]] | None:
    """The coordinates of the map's "Streets" layer, or None when it has none."""
    groups = [c for c in fmap._children.values() if isinstance(c, folium.FeatureGroup) and c.layer_name == "Streets"]
    if not groups:
        return None
    (group,) = groups
    (line,) = group._children.values()
    return line.locations


def test_demo_map_draws_the_streets_under_the_routes(demo_day, demo_roads):
    """On roads, the map carries the network's streets around the places (500 m margin) as one
    grey multi-polyline under the routes, simplified so the page stays small."""
    plan, stores, reps = demo_day
    fmap = route_map(plan, stores, reps, roads=demo_roads)
    lines = _streets(fmap)
    points = [p for line in lines for p in line]
    assert len(lines) > 1000 and len(points) > 5000  # Monaco: 1,564 lines, 7,563 points at 3 m
    assert len(points) < 9000  # simplified: 14,010 points as the network has them, 10,545 at 1 m
    lats = [s.lat for s in stores] + [r.start_lat for r in reps] + [r.end_lat for r in reps]
    lons = [s.lon for s in stores] + [r.start_lon for r in reps] + [r.end_lon for r in reps]
    dlat, dlon = 500 / 111_195 + 1e-5, 500 / 111_195 / math.cos(math.radians(max(lats))) + 1e-5
    assert all(min(lats) - dlat <= lat <= max(lats) + dlat and min(lons) - dlon <= lon <= max(lons) + dlon for lat, lon in points)
    assert min(lon for _, lon in points) < min(lons) - dlon / 2  # the margin is drawn, not only the places' box
    assert all(lat == round(lat, 5) and lon == round(lon, 5) for lat, lon in points)  # short numbers in the page
    page = fmap.get_root().render()
    assert METRIC_SCALE in page and "L.control.scale()" not in page
    assert '"Streets"' in page and '"pane": "streets", ' in page and '"interactive": false' in page
    assert page.index('"pane": "streets", ') < page.index(f'"color": "{PALETTE[0]}"')  # drawn before the routes
    assert len(page) < 650_000  # 407 KB without streets (Leaflet inline), about 567 KB with them


# --- the territory page ---------------------------------------------------------------------


def _territory_page(moves=None, name="Store S2", rep_name="Rep R2"):
    from maps.territories import territory_map
    from routing.territory import Workload, outlines, outlines_geojson

    stores = [store("S1", 0.001), store("S2", 0.002), store("S3", -0.002, 0.003)]
    stores[1] = stores[1].__class__(**{**stores[1].__dict__, "name": name})
    reps = [rep("R1"), rep("R2", 60.16, 24.95)]
    reps[1] = reps[1].__class__(**{**reps[1].__dict__, "name": rep_name})
    owner = {"S1": "R1", "S2": "R1", "S3": "R2"}
    loads = [Workload("R1", 2, 8, 4.0, 1.5, 0.2, 4, 160.0, 0.0), Workload("R2", 1, 4, 2.0, 1.0, 0.0, 4, 160.0, 0.5)]
    areas = outlines_geojson(outlines(stores, reps, owner), loads)
    fmap = territory_map(stores, reps, owner, loads, areas, moves=moves, config={"plan_id": 7, "csrf": None})
    return fmap.get_root().render()


def _config(page: str) -> dict:
    """What the page tells its script (the call that starts it)."""
    import json
    import re

    (config,) = re.findall(r"fieldrouteTerritories\(\w+, \w+, \w+, (\{.*\})\);", page)
    return json.loads(config)


def test_territory_page_colours_stores_by_rep_and_rings_a_proposals_moves():
    from maps.territories import MOVED_RADIUS, STORE_RADIUS, rep_colours, store_style

    colours = rep_colours(["R1", "R2"])
    page = _territory_page()
    # folium's styler gives each store its rep's fill; nothing is moved
    assert page.count(f'"fillColor": "{colours["R1"]}"') >= 1 and f'"fillColor": "{colours["R2"]}"' in page
    assert f'"radius": {MOVED_RADIUS}' not in page
    assert page.count('"type": "Point"') == 3 and page.count("L.marker(") == 2  # three stores, two homes
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page  # works offline
    assert "function fieldrouteTerritories(" in page and 'id="fr-panel"' in page
    config = _config(page)
    assert config["plan_id"] == 7 and [r["id"] for r in config["reps"]] == ["R1", "R2"]
    assert {w["rep_id"]: w["work_h"] for w in config["loads"]} == {"R1": 5.5, "R2": 3.0}
    moved = _territory_page({"S2": "R2"})
    ring = store_style("R1", colours, "R2")
    assert ring["color"] == colours["R2"] and ring["fillColor"] == colours["R1"] and ring["radius"] == MOVED_RADIUS
    assert f'"radius": {MOVED_RADIUS}' in moved and f'"color": "{colours["R2"]}", "fillColor": "{colours["R1"]}"' in moved
    assert store_style("R1", colours)["radius"] == STORE_RADIUS
    assert len(set(rep_colours([f"R{n}" for n in range(30)]).values())) == 30  # a colour per rep beyond the palette


def test_territory_page_data_cannot_close_its_script():
    """Store and rep names are data: in the page's JSON they cannot end the script or open a tag."""
    evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    page = _territory_page(name=evil, rep_name=evil)
    assert _config(page)["reps"][1]["name"] == evil
    assert "</script><script>alert(1)" not in page and "<img src=x" not in page
    assert _territory_page(name="Plain")  # and the ordinary page renders
