"""Territories: what each rep's share of the cycle actually costs, from the routed plan, and
the area each rep covers.

A rep's workload is read off the routes of a cycle plan (``routing.cycle``), not estimated:
the visit time, the driving and the waiting of every day it works, within opening hours and
its shift. Visits the plan could not fit are the work beyond the rep's shifts. The balance
figures compare reps on service plus travel hours, the time a rep is busy.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
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
              policy: Policy, cycle: Cycle, *, team: Sequence[Rep] | None = None) -> list[Workload]:
    """Each rep's workload over ``cycle`` from a plan's routes and missing visits. The
    missing visits of a store no rep owns or visits count at the rep of ``team`` (default
    ``reps``; give the whole team when asking of some reps) whose home is nearest, so no
    work beyond the shifts is left out."""

    owner = owners(stores, routes)
    by_store = {s.id: s for s in stores}
    nearest = _nearest_home([s for s in stores if owner.get(s.id) is None], team if team is not None else reps)
    out = []
    for rep in reps:
        mine = [r for r in routes if r.rep_id == rep.id]
        visits = [v for r in mine for v in r.visits]
        missing = [u for u in unassigned if u.reason in _FOR_LACK_OF_TIME and u.store_id in by_store
                   and (owner.get(u.store_id) or nearest.get(u.store_id)) == rep.id]
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
            beyond_h=_h(sum(policy.service_s(by_store[u.store_id]) for u in missing)),
        ))
    return out


def _nearest_home(stores: Sequence[Store], reps: Sequence[Rep]) -> dict[str, str]:
    """Each store's rep with the nearest home (straight line on the map's plane; ties: by id)."""
    out = {}
    for s in stores:
        scale = math.cos(math.radians(s.lat))
        near = min(reps, key=lambda r: (((r.start_lon - s.lon) * scale) ** 2 + (r.start_lat - s.lat) ** 2, r.id), default=None)
        if near is not None:
            out[s.id] = near.id
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


def with_owners(stores: Sequence[Store], owner: Mapping[str, str | None]) -> list[Store]:
    """The stores with ``owner``'s rep as their owner: a territory's routes then count a store
    none of whose visits fit as that rep's work beyond the shifts."""
    return [dataclasses.replace(s, rep_id=owner.get(s.id) or s.rep_id) for s in stores]


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

    return required_visits(policy.classes[store.store_class], cycle.weeks) * policy.service_s(store)


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
    gets one). A store may go to a rep that can drive there and back and visit it within a
    shift (if any can). An OR-Tools CP-SAT model: minimise the spread between the busiest and
    the idlest rep, plus the weighted driving from home and moves."""
    from ortools.sat.python import cp_model

    from .calendar import required_visits

    rep_ids = [r.id for r in reps]
    home = {r.id: r.start_key for r in reps}
    pinned_to: dict[str, list[str]] = defaultdict(list)
    for s, r in sorted(params.locked_pairs):
        if r in home:
            pinned_to[s].append(r)
    model = cp_model.CpModel()
    x: dict[tuple[str, str], cp_model.IntVar] = {}
    load_terms: dict[str, list] = {r: [] for r in rep_ids}
    cost_terms, moved_terms = [], []
    total = 0  # an upper bound of any rep's load: each store at its dearest rep
    for store in stores:
        now = current.get(store.id)
        visits = required_visits(policy.classes[store.store_class], cycle.weeks)
        base = store_work_s(store, policy, cycle)
        far = {r: travel.seconds(home[r], store.id) + travel.seconds(store.id, home[r]) for r in rep_ids}
        pinned = pinned_to.get(store.id)
        if store.id in params.locked_stores and now in home:
            options = [now]
        elif pinned:
            options = pinned[:1]
        elif store.rep_id is not None and store.rep_id in home and now is None:
            options = [store.rep_id]
        else:
            within = [r.id for r in reps if _reaches(r, store, policy, travel)] or rep_ids  # a day's reach, if any
            options = sorted(within, key=lambda r: (far[r], r))[: params.candidates]
            if now in home and now not in options:
                options.append(now)
        dearest = 0
        for r in options:
            var = x[store.id, r] = model.NewBoolVar(f"x[{store.id},{r}]")
            minutes = int(round((base + visits * per_visit_s.get(r, 0.0)) / 60))
            dearest = max(dearest, minutes)
            load_terms[r].append(minutes * var)
            cost_terms.append(int(round(params.distance_min * far[r] / 2 / 3600 * 60)) * var)
            if now in home and r != now:
                moved_terms.append(var)
        model.AddExactlyOne(x[store.id, r] for r in options)
        total += dearest
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
    if jobs <= 1 or len(tasks) <= 1:
        results = list(map(_plan_one, tasks))
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            results = list(pool.map(_plan_one, tasks))
    return [r for routes, _ in results for r in routes], [u for _, missing in results for u in missing]


# --- what-ifs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIf:
    """A change to try: reps to add (with their homes) or remove, and classes with another
    frequency or visit length (``ClassPolicy`` by name, replacing the policy's)."""

    add_reps: tuple[Rep, ...] = ()
    remove_reps: frozenset[str] = frozenset()
    classes: Mapping[str, ClassPolicy] = field(default_factory=dict)

    def apply(self, reps: Sequence[Rep], policy: Policy) -> tuple[list[Rep], Policy]:
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


# --- routed headcount ----------------------------------------------------------------------

#: Why a visit is missing that no team size changes (the store's hours against the shifts).
_NOT_A_TEAM_MATTER = frozenset({"closed_on_date", "window_too_short", "outside_shift", "lunch_break", "over_capacity"})


@dataclass(frozen=True)
class TeamTry:
    """One team size tried: its territories proposed and routed. ``missing``: required visits
    not routed for a reason more reps could change (lack of time, out of reach, no usable
    day...), ``beyond_h`` their visit hours; ``status``: the proposal's CP-SAT status (a size
    whose proposal found no assignment in its time does not fit)."""

    reps: int
    missing: int
    beyond_h: float
    cv_pct: float
    status: str

    @property
    def fits(self) -> bool:
        return self.missing == 0 and self.status in ("OPTIMAL", "FEASIBLE")

    def as_dict(self) -> dict:
        return {"reps": self.reps, "missing": self.missing, "beyond_h": self.beyond_h, "cv_pct": self.cv_pct,
                "status": self.status, "fits": self.fits}


@dataclass(frozen=True)
class Headcount:
    """The fewest reps found to route every required visit: ``reps`` (None: no size tried
    fits), the team of that size and its routed workloads, every size tried, and
    ``estimate`` (``headcount``'s, where the search started). ``settled``: the size below
    ``reps`` was tried and does not fit (else the time ran out first)."""

    estimate: int
    reps: int | None
    settled: bool
    team: tuple[Rep, ...]
    loads: tuple[Workload, ...]
    tries: tuple[TeamTry, ...]
    new_reps: frozenset[str] = frozenset()

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "reps": self.reps, "settled": self.settled,
                "new_homes": [{"id": r.id, "lat": r.start_lat, "lon": r.start_lon} for r in self.team if r.id in self.new_reps],
                "tries": [t.as_dict() for t in self.tries]}


#: Id prefix of the reps a headcount search adds (numbered past any id the team has).
NEW_REP = "new-"


def team_of(size: int, stores: Sequence[Store], reps: Sequence[Rep], loads: Sequence[Workload], policy: Policy,
            cycle: Cycle, travel=None) -> list[Rep]:
    """A team of ``size``. Fewer than ``reps``: the idlest go first, but (with ``travel``) not
    a rep without whom some store would be out of every remaining home's reach in a shift.
    More: all of them and new reps shaped like the first (shift, lunch, working days), each
    living where the work is far from every home: weighted k-means of the stores' visit time
    with the existing homes held fixed (straight-line, on the map's plane)."""
    import numpy as np

    if not reps:
        raise ValueError("a team needs at least one rep (new reps are shaped like the first)")
    work = {w.rep_id: w.work_h + w.beyond_h for w in loads}
    if size <= len(reps):
        team = sorted(reps, key=lambda r: (-work.get(r.id, 0.0), r.id))
        reached = {s.id: {r.id for r in reps if _reaches(r, s, policy, travel)} for s in stores} if travel else {}
        while len(team) > size:
            ids = {r.id for r in team}
            spare = [r for r in reversed(team)  # idlest first: one whose every store another rep left reaches
                     if all((who & ids) - {r.id} for who in reached.values() if r.id in who)]
            team.remove(spare[0] if spare else team[-1])
        return team
    if not stores:
        raise ValueError("a team larger than today's needs stores to place the new reps' homes")
    lat0 = math.radians(statistics.fmean(s.lat for s in stores))
    xy = np.array([(s.lon * math.cos(lat0), s.lat) for s in stores])
    weight = np.array([max(1, store_work_s(s, policy, cycle)) for s in stores], dtype=float)
    fixed = np.array([(r.start_lon * math.cos(lat0), r.start_lat) for r in reps]).reshape(-1, 2)
    centres = list(fixed)
    for _ in range(size - len(reps)):  # farthest weighted point from the homes so far
        gap = np.min(((xy[:, None, :] - np.array(centres)[None, :, :]) ** 2).sum(axis=2), axis=1)
        centres.append(xy[int(np.argmax(weight * gap))])
    centres = np.array(centres)
    for _ in range(20):  # Lloyd's steps moving only the new centres
        nearest = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
        for k in range(len(fixed), len(centres)):
            mine = nearest == k
            if mine.any():
                centres[k] = (xy[mine] * weight[mine, None]).sum(axis=0) / weight[mine].sum()
    taken = {r.id for r in reps}
    ids = (f"{NEW_REP}{n}" for n in range(1, 10 * size + len(taken) + 2) if f"{NEW_REP}{n}" not in taken)
    new = []
    for (x, y), rep_id in zip(centres[len(fixed):], ids):
        lon = float(x / math.cos(lat0))
        new.append(dataclasses.replace(reps[0], id=rep_id, name=f"New rep {rep_id[len(NEW_REP):]}", start_lat=float(y),
                                       start_lon=lon, end_lat=float(y), end_lon=lon, days_off=frozenset()))
    return [*reps, *new]


def _reaches(rep: Rep, store: Store, policy: Policy, travel) -> bool:
    """Whether ``rep`` can drive from home to ``store``, visit it and drive back within a shift."""

    trip = travel.seconds(rep.start_key, store.id) + travel.seconds(store.id, rep.start_key)
    return trip + policy.service_s(store) <= rep.shift_end_s - rep.shift_start_s


def routed_headcount(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle, travel,
                     current: Mapping[str, str | None], loads: Sequence[Workload], *, time_limit_s: float, seed: int = 0,
                     solve=None, progress=None, jobs: int = 1) -> Headcount:
    """Search the fewest reps that route every required visit (none missing for a reason a
    team changes: lack of time, out of reach of every home, no usable day...), each size
    checked by routing: a team of that size (``team_of``) gets balanced territories
    (``propose``, no cap on moves) and every territory's cycle is routed.

    From ``headcount(loads)``, the estimate: while no size is known to fit, a quarter more
    reps each time; while none is known not to, a quarter fewer; then halving the gap. A size
    is started only if the time left is at least what the last one took (the first: a
    third of ``time_limit_s``), and a size gets at most a third of it, so the search returns
    by its limit but for the fixed cost of building one territory's model. ``travel`` must hold the
    stores and the reps' homes; new homes are added to it. ``solve`` (``SolveParams``): each
    territory's search (default: its share of the size's time); ``jobs``: territories routed
    at once and CP-SAT workers. ``progress(size, tried)`` is told of each size before it is
    tried."""
    from .model import SolveParams
    from .travel import places_of, with_places

    if not reps:
        raise ValueError("a headcount search needs at least one rep (new reps are shaped like the first)")
    if not (time_limit_s >= 0 and math.isfinite(time_limit_s)):
        raise ValueError(f"time_limit_s: a finite number of seconds, got {time_limit_s!r}")
    deadline = time.monotonic() + time_limit_s
    estimate = headcount(loads)
    tried: dict[int, tuple[TeamTry, list[Rep], list[Workload]]] = {}
    size, last_s = max(1, estimate), time_limit_s / 3
    most = max(len(stores), len(reps), 1)
    known = {r.id for r in reps}
    by_store = {s.id: s for s in stores}
    while size is not None and deadline - time.monotonic() >= last_s:
        if progress is not None:
            progress(size, len(tried))
        began = time.monotonic()
        share = max(0.1, min(deadline - began, time_limit_s / 3))
        team = team_of(size, stores, reps, loads, policy, cycle, travel)
        new = [r for r in team if r.id not in known]
        matrix = with_places(travel, places_of([], new), places_of(stores, reps),
                             speed_kmh=policy.speed_kmh, circuity=policy.circuity) if new else travel
        ids = {r.id for r in team}
        now = {s: (r if r in ids else None) for s, r in current.items()}
        proposal = propose(stores, team, policy, cycle, matrix, now, travel_per_visit_s(loads, list(ids)),
                           ProposalParams(time_limit_s=0.3 * share, seed=seed, workers=jobs))
        if proposal.status in ("OPTIMAL", "FEASIBLE"):
            routes, missing = plan_territories(stores, team, policy, cycle, matrix, proposal.owners,
                                               solve or SolveParams(time_limit_s=max(0.1, 0.6 * share * jobs / size),
                                                                    seed=seed), jobs=jobs)
            team_loads = workloads(routes, missing, with_owners(stores, proposal.owners), team, policy, cycle)
            lost = [u for u in missing if u.reason not in _NOT_A_TEAM_MATTER]
            beyond = _h(sum(policy.service_s(by_store[u.store_id]) for u in lost if u.store_id in by_store))
            result = TeamTry(size, len(lost), beyond, balance(team_loads).cv_pct, proposal.status)
        else:
            team_loads, result = [], TeamTry(size, -1, 0.0, 0.0, proposal.status)
        tried[size] = (result, team, team_loads)
        last_s = time.monotonic() - began
        size = _next_size(tried, most)
    fitting = sorted(n for n, (t, _, _) in tried.items() if t.fits)
    best = fitting[0] if fitting else None
    settled = best is not None and (best == 1 or (best - 1 in tried and not tried[best - 1][0].fits))
    team, team_loads = (tried[best][1], tried[best][2]) if best is not None else ((), ())
    return Headcount(estimate, best, settled, tuple(team), tuple(team_loads), tuple(tried[n][0] for n in tried),
                     frozenset(r.id for r in team) - known)


def _next_size(tried: Mapping[int, tuple], most: int) -> int | None:
    """The next team size: a quarter more while none fits, a quarter fewer while all fit,
    then the middle of the gap; None when the fewest is known (or no more reps can help)."""
    fits = [n for n, (t, _, _) in tried.items() if t.fits]
    short = [n for n, (t, _, _) in tried.items() if not t.fits]
    hi = min(fits) if fits else None
    lo = max((n for n in short if hi is None or n < hi), default=None)
    if hi is None:
        size = lo + max(1, math.ceil(lo / 4))
        return size if size <= most and size not in tried else None
    if lo is None:
        size = hi - max(1, hi // 4)
        return size if size >= 1 and size not in tried else None
    return (lo + hi) // 2 if hi - lo > 1 else None
