"""Territories: what each rep's share of the cycle actually costs, from the routed plan, and
the area each rep covers.

A rep's workload is read off the routes of a cycle plan (``routing.cycle``), not estimated:
the visit time, the driving and the waiting of every day it works, within opening hours and
its shift. Visits the plan could not fit are the work beyond the rep's shifts. The balance
figures compare reps on service plus travel hours, the time a rep is busy.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .calendar import Cycle
from .model import ClassPolicy, Policy, Rep, Route, Store, Unassigned

#: Missing visits that more working time would have made (the others cannot be made at all).
_FOR_LACK_OF_TIME = frozenset({"not_enough_time", "max_visits_reached"})


@dataclass(frozen=True)
class Workload:
    """One rep's routed cycle: hours of visits, driving and waiting, visits, days with visits,
    the working hours its shifts offer, and the hours of the visits missing for lack of time
    (work beyond the shifts)."""

    rep_id: str
    stores: int
    visits: int
    service_h: float
    travel_h: float
    wait_h: float
    days_used: int
    available_h: float
    beyond_h: float

    @property
    def work_h(self) -> float:
        """Service plus travel: the hours the rep is busy."""
        return round(self.service_h + self.travel_h, 2)

    def as_dict(self) -> dict:
        return {"rep_id": self.rep_id, "stores": self.stores, "visits": self.visits, "service_h": self.service_h,
                "travel_h": self.travel_h, "wait_h": self.wait_h, "work_h": self.work_h, "days_used": self.days_used,
                "available_h": self.available_h, "beyond_h": self.beyond_h}


@dataclass(frozen=True)
class Balance:
    """How even the reps' service plus travel hours are: the busiest and the idlest rep, their
    ratio, and the coefficient of variation (standard deviation over the mean, in %)."""

    max_h: float
    min_h: float
    ratio: float | None
    cv_pct: float

    def as_dict(self) -> dict:
        return {"max_h": self.max_h, "min_h": self.min_h, "ratio": self.ratio, "cv_pct": self.cv_pct}


def owners(stores: Sequence[Store], routes: Sequence[Route]) -> dict[str, str | None]:
    """Each store's rep: its owner, else the rep the plan sends to it most (ties: the first
    rep by id), else None (a store the plan never visits)."""
    visits: dict[str, Counter] = defaultdict(Counter)
    for route in routes:
        for stop in route.visits:
            visits[stop.store_id][route.rep_id] += 1
    out = {}
    for store in stores:
        if store.rep_id is not None:
            out[store.id] = store.rep_id
        elif visits[store.id]:
            out[store.id] = min(visits[store.id].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        else:
            out[store.id] = None
    return out


def workloads(routes: Sequence[Route], unassigned: Sequence[Unassigned], stores: Sequence[Store], reps: Sequence[Rep],
              policy: Policy, cycle: Cycle) -> list[Workload]:
    """Each rep's workload over ``cycle`` from a plan's routes and missing visits."""
    from .daily import service_seconds

    owner = owners(stores, routes)
    by_store = {s.id: s for s in stores}
    out = []
    for rep in reps:
        mine = [r for r in routes if r.rep_id == rep.id]
        visits = [v for r in mine for v in r.visits]
        missing = [u for u in unassigned if u.reason in _FOR_LACK_OF_TIME and owner.get(u.store_id) == rep.id
                   and u.store_id in by_store]
        days = [d for d in cycle.dates if d not in cycle.holidays and rep.works_on(d)]
        shift_s = rep.shift_end_s - rep.shift_start_s - (rep.lunch.duration_s if rep.lunch else 0)
        out.append(Workload(
            rep_id=rep.id,
            stores=sum(1 for o in owner.values() if o == rep.id),
            visits=len(visits),
            service_h=_h(sum(v.end_s - v.start_s for v in visits)),
            travel_h=_h(sum(s.travel_s for r in mine for s in r.stops)),
            wait_h=_h(sum(s.wait_s for r in mine for s in r.stops)),
            days_used=sum(1 for r in mine if r.visits),
            available_h=_h(len(days) * shift_s),
            beyond_h=_h(sum(service_seconds(by_store[u.store_id], policy) for u in missing)),
        ))
    return out


def balance(loads: Sequence[Workload]) -> Balance:
    """The spread of the reps' service plus travel hours."""
    hours = [w.work_h for w in loads]
    if not hours:
        return Balance(0.0, 0.0, None, 0.0)
    mean = statistics.fmean(hours)
    cv = 100 * statistics.pstdev(hours) / mean if mean else 0.0
    return Balance(max(hours), min(hours), round(max(hours) / min(hours), 2) if min(hours) else None, round(cv, 1))


def outlines(stores: Sequence[Store], reps: Sequence[Rep], owner: Mapping[str, str | None], *, margin_m: float = 150.0):
    """Each rep's territory as a polygon (shapely): the concave hull of its stores, widened by
    ``margin_m`` so that a single store or a line of stores is an area too. Rep id -> geometry
    in lon/lat (WGS84)."""
    import shapely

    out = {}
    for rep in reps:
        points = [(s.lon, s.lat) for s in stores if owner.get(s.id) == rep.id]
        if not points:
            continue
        lat = statistics.fmean(p[1] for p in points)
        degrees = margin_m / (111_320 * max(0.1, math.cos(math.radians(lat))))  # of longitude; latitude is finer
        hull = shapely.concave_hull(shapely.MultiPoint(points), ratio=0.4)
        out[rep.id] = shapely.buffer(hull, degrees, quad_segs=4)
    return out


def outlines_geojson(polygons: Mapping[str, object], loads: Sequence[Workload]) -> dict:
    """The outlines as a GeoJSON FeatureCollection (through geopandas, so GIS tools read the
    same areas), each with the rep's workload as properties."""
    import geopandas

    by_rep = {w.rep_id: w for w in loads}
    rows = [{"rep_id": rep_id, **{k: v for k, v in by_rep[rep_id].as_dict().items() if k != "rep_id"}}
            if rep_id in by_rep else {"rep_id": rep_id} for rep_id in polygons]
    frame = geopandas.GeoDataFrame(rows, geometry=list(polygons.values()), crs="EPSG:4326")
    return frame.__geo_interface__


def _h(seconds: float) -> float:
    return round(seconds / 3600, 2)


# --- balanced proposals --------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalParams:
    """What a proposal may do. ``max_moves``: at most this many stores change rep (None: no
    cap). ``locked_stores`` keep their rep; ``locked_pairs`` (store id, rep id) keep that
    store with that rep. ``candidates``: besides its current rep, a store may go to this
    many reps whose homes are nearest. Weights, in minutes of imbalance: ``move_min`` per
    store moved, ``distance_min`` per hour of driving from the rep's home to its stores
    (compact territories)."""

    max_moves: int | None = None
    locked_stores: frozenset[str] = frozenset()
    locked_pairs: frozenset[tuple[str, str]] = frozenset()
    candidates: int = 4
    move_min: float = 2.0
    distance_min: float = 3.0
    time_limit_s: float = 20.0
    seed: int = 0
    workers: int = 2


@dataclass(frozen=True)
class Proposal:
    """A new rep for each store, the stores that change rep, and the estimated work hours of
    each rep (service + travel) the assignment balanced; ``status`` is CP-SAT's."""

    owners: dict[str, str]
    moves: tuple[tuple[str, str | None, str], ...]
    estimated_h: dict[str, float]
    status: str


def store_work_s(store: Store, policy: Policy, cycle: Cycle) -> int:
    """A store's visit time over the cycle: required visits x visit length."""
    from .calendar import required_visits
    from .daily import service_seconds

    return required_visits(policy.classes[store.store_class], cycle.weeks) * service_seconds(store, policy)


def travel_per_visit_s(loads: Sequence[Workload], rep_ids: Sequence[str] = ()) -> dict[str, float]:
    """Each rep's routed driving per visit (the plan's own figure, to price a store's visits
    in travel); reps without visits, and ``rep_ids`` not in ``loads`` (new reps), get the team's."""
    team = sum(w.travel_h for w in loads) / max(1, sum(w.visits for w in loads)) * 3600
    out = {w.rep_id: (w.travel_h * 3600 / w.visits if w.visits else team) for w in loads}
    return {r: team for r in rep_ids} | out


def propose(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle, travel, current: Mapping[str, str | None],
            per_visit_s: Mapping[str, float], params: ProposalParams = ProposalParams()) -> Proposal:
    """A rep for every store that evens out the reps' work (visit time at the class
    frequencies plus driving per visit as routed, ``per_visit_s``), keeps each rep's stores
    near its home and moves few stores from ``current`` (store -> rep; None: no rep yet, it
    gets one). An OR-Tools CP-SAT model: minimise the spread between the busiest and the
    idlest rep, plus the weighted driving from home and moves."""
    from ortools.sat.python import cp_model

    from .calendar import required_visits

    rep_ids = [r.id for r in reps]
    home = {r.id: r.start_key for r in reps}
    model = cp_model.CpModel()
    x: dict[tuple[str, str], cp_model.IntVar] = {}
    load_terms: dict[str, list] = {r: [] for r in rep_ids}
    cost_terms, moved_terms = [], []
    work_min: dict[tuple[str, str], int] = {}
    for store in stores:
        now = current.get(store.id)
        visits = required_visits(policy.classes[store.store_class], cycle.weeks)
        base = store_work_s(store, policy, cycle)
        far = {r: travel.seconds(home[r], store.id) + travel.seconds(store.id, home[r]) for r in rep_ids}
        pinned = [r for (s, r) in params.locked_pairs if s == store.id and r in home]
        if store.id in params.locked_stores and now in home:
            options = [now]
        elif pinned:
            options = pinned[:1]
        elif store.rep_id is not None and store.rep_id in home and now is None:
            options = [store.rep_id]
        else:
            options = sorted(rep_ids, key=lambda r: (far[r], r))[: params.candidates]
            if now in home and now not in options:
                options.append(now)
        for r in options:
            var = x[store.id, r] = model.NewBoolVar(f"x[{store.id},{r}]")
            minutes = int(round((base + visits * per_visit_s.get(r, 0.0)) / 60))
            work_min[store.id, r] = minutes
            load_terms[r].append(minutes * var)
            cost_terms.append(int(round(params.distance_min * far[r] / 2 / 3600 * 60)) * var)
            if now in home and r != now:
                moved_terms.append(var)
        model.AddExactlyOne(x[store.id, r] for r in options)
    total = sum(max(v for (s, _), v in work_min.items() if s == store.id) for store in stores)
    loads = {r: model.NewIntVar(0, total, f"load[{r}]") for r in rep_ids}
    for r in rep_ids:
        model.Add(loads[r] == sum(load_terms[r]))
    top, bottom = model.NewIntVar(0, total, "top"), model.NewIntVar(0, total, "bottom")
    model.AddMaxEquality(top, list(loads.values()))
    model.AddMinEquality(bottom, list(loads.values()))
    if params.max_moves is not None and moved_terms:
        model.Add(sum(moved_terms) <= params.max_moves)
    # Minutes: the spread weighs 100 per minute, so balance comes first, then compactness and moves.
    model.Minimize(100 * (top - bottom) + sum(cost_terms) + int(round(params.move_min * 100)) * sum(moved_terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = params.time_limit_s
    solver.parameters.num_search_workers = params.workers
    solver.parameters.random_seed = params.seed
    status = solver.Solve(model)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Proposal({s.id: current.get(s.id) for s in stores}, (), {}, name)
    owners = {s: r for (s, r), var in x.items() if solver.Value(var)}
    moves = tuple((s.id, current.get(s.id), owners[s.id]) for s in stores if current.get(s.id) != owners[s.id])
    return Proposal(owners, moves, {r: round(solver.Value(loads[r]) / 60, 2) for r in rep_ids}, name)


def _plan_one(args):
    from .cycle import plan_cycle

    stores, rep, policy, cycle, travel, params = args
    plan = plan_cycle(stores, [rep], policy, cycle, travel=travel, params=params)
    return list(plan.routes), list(plan.unassigned)


def plan_territories(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle, travel,
                     owners: Mapping[str, str], params, *, jobs: int = 2) -> tuple[list[Route], list[Unassigned]]:
    """Route the cycle of each rep's territory (``owners``: store -> rep, hard), each on its
    own (with owners fixed, territories do not interact), ``jobs`` at a time in worker
    processes; ``params`` (``SolveParams``) is each territory's. The routed check of a
    proposal: its workloads come from these routes."""
    import dataclasses
    from concurrent.futures import ProcessPoolExecutor

    from .travel import TravelMatrix

    tasks = []
    for rep in reps:
        mine = [dataclasses.replace(s, rep_id=rep.id) for s in stores if owners.get(s.id) == rep.id]
        if not mine:
            continue
        keys = [s.id for s in mine] + [rep.start_key, rep.end_key]
        keys = list(dict.fromkeys(keys))
        seconds, metres = travel.sub(keys)
        tasks.append((mine, rep, policy, cycle, TravelMatrix(keys, seconds, metres, source=travel.source), params))
    routes: list[Route] = []
    unassigned: list[Unassigned] = []
    if jobs <= 1:
        results = map(_plan_one, tasks)
    else:
        pool = ProcessPoolExecutor(max_workers=jobs)
        results = pool.map(_plan_one, tasks)
    for r, u in results:
        routes += r
        unassigned += u
    if jobs > 1:
        pool.shutdown()
    return routes, unassigned


# --- what-ifs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIf:
    """A change to try: reps to add (with their homes) or remove, and classes with another
    frequency or visit length (``ClassPolicy`` by name, replacing the policy's)."""

    add_reps: tuple[Rep, ...] = ()
    remove_reps: frozenset[str] = frozenset()
    classes: Mapping[str, ClassPolicy] = field(default_factory=dict)

    def apply(self, reps: Sequence[Rep], policy: Policy) -> tuple[list[Rep], Policy]:
        import dataclasses

        reps = [r for r in reps if r.id not in self.remove_reps] + list(self.add_reps)
        if self.classes:
            policy = dataclasses.replace(policy, classes={**policy.classes, **self.classes})
        return reps, policy


def headcount(loads: Sequence[Workload], utilisation: float = 0.85) -> int:
    """Reps needed for every required visit: the routed work plus the work beyond the shifts,
    over one rep's working hours at ``utilisation`` (the rest goes to waiting, lunch windows
    and opening hours that do not line up)."""
    need = sum(w.work_h + w.beyond_h for w in loads)
    per_rep = statistics.fmean(w.available_h for w in loads) if loads else 0.0
    return max(1, math.ceil(need / (per_rep * utilisation))) if per_rep else 0
