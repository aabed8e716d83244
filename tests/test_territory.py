"""Territories: workload read off routed plans, balance figures, outlines."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely

from routing.calendar import Cycle
from routing.model import Route, Stop, Unassigned
from routing.territory import balance, outlines, outlines_geojson, owners, workloads

from .conftest import POLICY, rep, store

MONDAY = dt.date(2026, 11, 30)


def _route(rep_id: str, date: dt.date, visits: list[tuple[str, int, int, int, int]]) -> Route:
    """visits: (store, travel_s, wait_s, start_s, end_s)."""
    stops = [Stop("start", 8 * 3600, 8 * 3600, 8 * 3600)]
    stops += [Stop("visit", s - w, s, e, sid, t, 0, w) for sid, t, w, s, e in visits]
    stops.append(Stop("end", 17 * 3600, 17 * 3600, 17 * 3600, travel_s=600))
    return Route(rep_id, date.isoformat(), tuple(stops))


def test_workload_is_read_off_the_routes_and_the_missing_visits():
    stores = [store("A1", 0.01, 0.0, cls="A"), store("B1", 0.0, 0.01, cls="B", rep_id="R2"), store("C1", -0.01, 0.0, cls="C")]
    reps = [rep("R1", lunch=(12, 14, 30)), rep("R2")]
    routes = [
        _route("R1", MONDAY, [("A1", 300, 60, 9 * 3600, 9 * 3600 + 1800), ("C1", 400, 0, 10 * 3600, 10 * 3600 + 900)]),
        _route("R1", MONDAY + dt.timedelta(days=2), [("A1", 300, 0, 9 * 3600, 9 * 3600 + 1800)]),
        _route("R2", MONDAY, []),
    ]
    missing = [Unassigned("B1", "not_enough_time", "full", MONDAY.isoformat()),
               Unassigned("C1", "closed_on_date", "closed", MONDAY.isoformat())]
    loads = {w.rep_id: w for w in workloads(routes, missing, stores, reps, POLICY, Cycle(MONDAY, 1))}
    r1, r2 = loads["R1"], loads["R2"]
    assert (r1.visits, r1.days_used, r1.stores) == (3, 2, 2)
    assert r1.service_h == round((1800 + 900 + 1800) / 3600, 2)
    assert r1.travel_h == round((300 + 400 + 600 + 300 + 600) / 3600, 2)
    assert r1.wait_h == round(60 / 3600, 2)
    assert r1.available_h == 5 * 8.5  # Mo-Fr, 9 h shifts less a 30 min lunch
    assert r1.beyond_h == 0  # C1's missing visit could not be made at all: not work beyond the shift
    assert (r2.visits, r2.stores, r2.days_used) == (0, 1, 0)
    assert r2.beyond_h == round(20 * 60 / 3600, 2)  # B1 (class B, 20 min) missing for lack of time
    assert r1.work_h == round(r1.service_h + r1.travel_h, 2)


def test_balance_figures():
    from routing.territory import Workload

    loads = [Workload(f"R{i}", 1, 1, h, 0.0, 0.0, 1, 40.0, 0.0) for i, h in enumerate([10.0, 20.0, 30.0])]
    b = balance(loads)
    assert (b.max_h, b.min_h, b.ratio) == (30.0, 10.0, 3.0)
    assert b.cv_pct == pytest.approx(100 * (200 / 3) ** 0.5 / 20, abs=0.05)
    assert balance([]).cv_pct == 0.0
    from routing.territory import travel_per_visit_s

    routed = [Workload("R1", 1, 10, 1.0, 0.5, 0.0, 1, 40.0, 0.0), Workload("R2", 1, 0, 0.0, 0.0, 0.0, 0, 40.0, 0.0)]
    per_visit = travel_per_visit_s(routed, ["R1", "R2", "R9"])
    assert per_visit == {"R1": 180.0, "R2": 180.0, "R9": 180.0}  # the team's for a rep without visits, or new


def test_owners_and_outlines():
    stores = [store("S1", 0.0, 0.0, rep_id="R2"), store("S2", 0.01, 0.0), store("S3", 0.0, 0.02), store("S4", 0.03, 0.03),
              store("S5", 0.02, 0.01)]
    reps = [rep("R1"), rep("R2")]
    routes = [_route("R1", MONDAY, [("S1", 0, 0, 9 * 3600, 9 * 3600 + 60), ("S2", 0, 0, 10 * 3600, 10 * 3600 + 60)]),
              _route("R2", MONDAY, [("S2", 0, 0, 9 * 3600, 9 * 3600 + 60), ("S3", 0, 0, 10 * 3600, 10 * 3600 + 60)]),
              _route("R2", MONDAY + dt.timedelta(days=1), [("S3", 0, 0, 9 * 3600, 9 * 3600 + 60),
                                                           ("S5", 0, 0, 10 * 3600, 10 * 3600 + 60)])]
    owner = owners(stores, routes)
    # The owner wins over the visits; a tie goes to the first rep by id; a store never visited has none.
    assert owner == {"S1": "R2", "S2": "R1", "S3": "R2", "S4": None, "S5": "R2"}
    polygons = outlines(stores, reps, owner)
    assert set(polygons) == {"R1", "R2"}  # R1 has one store: a small disc
    for s in stores:
        if owner[s.id]:
            assert polygons[owner[s.id]].contains(shapely.Point(s.lon, s.lat))
    assert not polygons["R2"].contains(shapely.Point(stores[3].lon, stores[3].lat))
    loads = workloads(routes, [], stores, reps, POLICY, Cycle(MONDAY, 1))
    collection = outlines_geojson(polygons, loads)
    assert collection["type"] == "FeatureCollection"
    props = {f["properties"]["rep_id"]: f["properties"] for f in collection["features"]}
    assert props["R2"]["visits"] == 4 and props["R1"]["stores"] == 1
    assert all(f["geometry"]["type"] == "Polygon" for f in collection["features"])


def test_a_proposal_balances_work_moves_few_stores_and_keeps_locks():
    from routing.territory import ProposalParams, propose, store_work_s
    from routing.travel import places_of, straight_line_matrix

    reps = [rep("R1", 60.17, 24.90), rep("R2", 60.17, 24.96), rep("R3", 60.20, 24.93)]
    stores = [store(f"S{i:02d}", 0.004 * (i % 6), 0.008 * (i // 6) - 0.02, cls="AB"[i % 2]) for i in range(24)]
    travel = straight_line_matrix(places_of(stores, reps), speed_kmh=30, circuity=1.3)
    cycle = Cycle(MONDAY, 2)
    current = {s.id: ("R1" if i < 18 else "R2") for i, s in enumerate(stores)}  # R1 has most, R3 none
    current["S23"] = None  # a store without a rep gets one
    per_visit = {"R1": 300.0, "R2": 300.0, "R3": 300.0}
    work = {s.id: store_work_s(s, POLICY, cycle) for s in stores}

    def spread(owner) -> float:
        hours = [sum(work[s] + 300 * (work[s] // 1200) for s, r in owner.items() if r == rid) for rid in ("R1", "R2", "R3")]
        return max(hours) - min(hours)

    free = propose(stores, reps, POLICY, cycle, travel, current, per_visit, ProposalParams(time_limit_s=5, workers=1))
    assert free.status in ("OPTIMAL", "FEASIBLE") and set(free.owners.values()) == {"R1", "R2", "R3"}
    assert spread(free.owners) < spread({k: v or "R2" for k, v in current.items()}) / 3
    assert free.owners["S23"] in ("R1", "R2", "R3")
    capped = propose(stores, reps, POLICY, cycle, travel, current, per_visit,
                     ProposalParams(max_moves=3, time_limit_s=5, workers=1,
                                    locked_stores=frozenset({"S00", "S01"}), locked_pairs=frozenset({("S20", "R3")})))
    moved = [m for m in capped.moves if m[1] is not None]
    assert len(moved) <= 3
    assert capped.owners["S00"] == capped.owners["S01"] == "R1" and capped.owners["S20"] == "R3"


def test_routed_headcount_finds_the_fewest_reps_that_fit_every_visit():
    """One rep with three hours a day and two clusters of A stores (twice a week, 30 min):
    16 hours of visits a week do not fit in 15 hours. The search routes team sizes from the
    estimate: the answer fits (no visit missing for lack of time), the size below does not,
    and the new rep lives by the far cluster."""
    from routing.model import SolveParams
    from routing.territory import NEW_REP, plan_territories, routed_headcount, team_of
    from routing.travel import places_of, straight_line_matrix

    reps = [rep("R1", 60.17, 24.94, shift=(8, 11))]
    near = [store(f"N{i}", 0.002 * (i % 4), 0.002 * (i // 4), cls="A") for i in range(8)]
    far = [store(f"F{i}", 0.05 + 0.002 * (i % 4), 0.06 + 0.002 * (i // 4), cls="A") for i in range(8)]
    stores = near + far
    travel = straight_line_matrix(places_of(stores, reps), speed_kmh=30, circuity=1.3)
    cycle = Cycle(MONDAY, 1)
    solve = SolveParams(time_limit_s=10, solution_limit=50)
    current = {s.id: "R1" for s in stores}
    routes, missing = plan_territories(stores, reps, POLICY, cycle, travel, current, solve, jobs=1)
    loads = workloads(routes, missing, stores, reps, POLICY, cycle)
    assert loads[0].beyond_h > 0  # today's team does not fit
    found = routed_headcount(stores, reps, POLICY, cycle, travel, current, loads, time_limit_s=120, solve=solve)
    by_size = {t.reps: t for t in found.tries}
    assert found.reps is not None and found.settled and found.reps >= 2
    assert by_size[found.reps].fits and by_size[found.reps].beyond_h == 0
    assert not by_size[found.reps - 1].fits and by_size[found.reps - 1].beyond_h > 0
    assert len(found.team) == found.reps and sum(w.beyond_h for w in found.loads) == 0
    assert sum(w.visits for w in found.loads) == 2 * len(stores)  # every required visit is routed
    new = [r for r in found.team if r.id.startswith(NEW_REP)]
    assert new and min(abs(r.start_lat - 60.22) + abs(r.start_lon - 25.0) for r in new) < 0.02  # by the far cluster
    assert [r.id for r in team_of(1, stores, [*reps, rep("R2")], loads, POLICY, cycle)] == ["R1"]  # the idlest go first


def test_a_store_out_of_every_homes_reach_is_not_a_fit():
    """One rep with time to spare, and one store 170 km away that no one can reach, visit and
    get home from within a shift: one rep does not fit (that visit is missing, though no
    hour is missing for lack of time); a second rep living out there does."""
    from routing.model import SolveParams
    from routing.territory import plan_territories, routed_headcount, team_of
    from routing.travel import places_of, straight_line_matrix

    reps = [rep("R1", 60.17, 24.94)]
    stores = [store(f"S{i}", 0.002 * i, 0.001 * i) for i in range(4)] + [store("FAR", 1.5, 0.0)]
    travel = straight_line_matrix(places_of(stores, reps), speed_kmh=30, circuity=1.3)
    cycle = Cycle(MONDAY, 1)
    solve = SolveParams(time_limit_s=10, solution_limit=30)
    current = {s.id: "R1" for s in stores}
    routes, missing = plan_territories(stores, reps, POLICY, cycle, travel, current, solve, jobs=1)
    loads = workloads(routes, missing, stores, reps, POLICY, cycle)
    assert {u.store_id for u in missing} == {"FAR"} and loads[0].beyond_h == 0  # not a matter of hours
    found = routed_headcount(stores, reps, POLICY, cycle, travel, current, loads, time_limit_s=120, solve=solve)
    by_size = {t.reps: t for t in found.tries}
    assert not by_size[1].fits and by_size[1].missing == 1
    assert found.reps == 2 and found.settled
    new = next(r for r in found.team if r.id != "R1")
    assert abs(new.start_lat - (60.17 + 1.5)) < 0.05  # living by the far store
    assert sum(w.visits for w in found.loads) == len(stores)  # weekly B stores: every visit routed
    # fewer reps: the idlest go first, but not the only rep who reaches the far store
    from routing.territory import Workload

    three = [rep("R1", 60.17, 24.94), rep("R2", 60.17 + 1.5, 24.94), rep("R3", 60.171, 24.941)]
    wide = straight_line_matrix(places_of(stores, three), speed_kmh=30, circuity=1.3)
    idle = [Workload(r, 1, 1, h, 0.0, 0.0, 1, 40.0, 0.0) for r, h in (("R1", 9.0), ("R2", 1.0), ("R3", 5.0))]
    assert [r.id for r in team_of(2, stores, three, idle, POLICY, cycle)] == ["R1", "R3"]  # without travel: by work
    assert [r.id for r in team_of(2, stores, three, idle, POLICY, cycle, wide)] == ["R1", "R2"]
    # new reps never take an id the team has
    clash = [rep("new-1"), rep("new-3", 60.18, 24.95)]
    assert len({r.id for r in team_of(5, stores, clash, [], POLICY, cycle)}) == 5
    with pytest.raises(ValueError, match="at least one rep"):
        routed_headcount(stores, [], POLICY, cycle, travel, {}, [], time_limit_s=5)
    with pytest.raises(ValueError, match="finite"):
        routed_headcount(stores, reps, POLICY, cycle, travel, current, loads, time_limit_s=float("inf"))
