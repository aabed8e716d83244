"""Periodic vehicle routing: pick each client's visit days among its allowed day
combinations and route every day, as one search (the PVRP of Cordeau, Gendreau & Laporte).

A client needs visits on one of its ``options`` (each a set of day indices, e.g. Mo+Th or
Tu+Fr); each day has its own vehicles. The search is ruin and recreate with simulated
annealing, as in SISR (Christiaens & Vanden Berghe, 2020): remove strings of visits near a
seed visit (one string per route, on the seed's day or the neighbours' other days), and for
most removed clients all their visits, so they can change days; re-insert each at its
cheapest place, choosing the day combination by the sum of its days' insertion costs.
Capacity, route duration and visits per route are soft in the search (with a penalty that
adapts, as in HGS) and hard in the result: only feasible plans are kept as the best, and
``Solution.feasible`` says whether one was found. The last part of the time re-routes each
day of the best plan with the OR-Tools core (``routing.vrptw``).

Pure Python and NumPy: the moves are cheap enough that tens of thousands fit in a minute.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import vrptw
from .search import Annealing, Budget, iterate, string_at
from .travel import TravelMatrix

Option = tuple[int, ...]


@dataclass(frozen=True)
class Client:
    """A place to visit on every day of one of its ``options`` (sets of day indices)."""

    key: str
    place: str
    options: tuple[Option, ...]
    demand: int = 0
    service_s: int = 0
    option_costs: tuple[float, ...] = ()
    """Extra cost of choosing each option (same order; empty: none), in cost units."""


@dataclass(frozen=True)
class Vehicle:
    """A vehicle on one day. ``max_duration_s`` bounds travel plus service from start to end."""

    key: str
    start: str
    end: str
    capacity: int | None = None
    max_duration_s: int | None = None
    max_jobs: int | None = None
    group: str | None = None
    """Vehicles of one group (a rep's days) share ``Problem.group_weight``'s workload term."""


@dataclass(frozen=True)
class Problem:
    """Clients, the vehicles of each day (``days[d]``), a matrix; ``cost`` is
    ``"seconds"`` or ``"metres"`` of the matrix. Durations always use seconds.

    ``balance_weight`` adds, per route of a vehicle with a ``max_duration_s``, that weight
    times duration² / max duration: the same work costs more on a fuller day, so days even
    out (0: travel only). ``group_weight`` does the same per group of vehicles, with the
    group's total duration and total max duration, so work evens out between groups (reps).
    """

    clients: Sequence[Client]
    days: Sequence[Sequence[Vehicle]]
    matrix: TravelMatrix
    cost: str = "seconds"
    balance_weight: float = 0.0
    group_weight: float = 0.0


@dataclass(frozen=True)
class Search:
    """Ruin-and-recreate settings (defaults screened on the PVRP benchmark, bench/pvrp.py)."""

    min_removed: int = 5
    """Fewest visits removed per iteration."""
    max_removed: int = 20
    """Most visits removed per iteration."""
    max_string: int = 10
    """Longest string of consecutive visits removed from one route."""
    release: float = 0.8
    """Chance that a removed client also loses its other days and may change its combination."""
    start_temperature: float = 0.3
    """Annealing temperature at the start, as a share of the mean cost per visit."""
    end_temperature: float = 0.003
    """Annealing temperature at the end, same unit."""
    polish_share: float = 0.1
    """Share of the time limit left, at the end, to re-route each day's visits with the
    OR-Tools core (``routing.vrptw``), starting from the search's routes (0: no polish)."""
    penalty: float = 3.0
    """Start cost of exceeding a capacity by one mean demand, a duration by one mean
    nearest-neighbour leg, or a route's visits by one, as a multiple of the mean
    nearest-neighbour leg cost. Adapted during the search (as in HGS, Vidal 2012) so that
    about ``feasible_share`` of the candidates are feasible: cheap enough to cross
    infeasible ground on tight instances, dear enough to come back."""
    feasible_share: float = 0.3
    """Target share of feasible candidates for the penalty adaptation."""


@dataclass(frozen=True)
class Solution:
    """The chosen combination per client, routes per day (vehicle key -> client keys in
    order; only vehicles with visits), the cost and what the search did."""

    options: dict[str, Option]
    routes: tuple[dict[str, tuple[str, ...]], ...]
    cost: int
    feasible: bool
    iterations: int
    wall_s: float


def solve(problem: Problem, *, time_limit_s: float, iterations: int | None = None, seed: int = 0,
          search: Search = Search()) -> Solution:
    """Search for ``time_limit_s`` seconds or ``iterations`` ruin-and-recreate steps,
    whichever ends first. The same problem, seed and ``iterations`` give the same result
    when the time limit does not bind."""
    started = time.perf_counter()
    state = _State(problem, np.random.default_rng(seed))
    state.set_penalties(100 * search.penalty)  # a feasible start where one is easy
    state.construct()
    state.set_penalties(search.penalty)
    # The best plan is the cheapest feasible one by objective (travel, balance, option
    # costs: all independent of the penalties, which are 0 on a feasible plan).
    best = state.snapshot() if state.excess == 0 else None
    best_obj = state.objective if best is not None else math.inf
    per_visit = max(1.0, state.cost / max(1, state.n_visits))
    accept = Annealing(search.start_temperature * per_visit, search.end_temperature * per_visit, draw_each=True)
    budget = Budget(started + time_limit_s * (1 - search.polish_share), iterations, started=started)
    penalty, feasible_recent = search.penalty, []

    def step(it: int) -> float:
        state.begin()
        state.recreate(state.ruin(search))
        feasible_recent.append(state.excess == 0)
        return state.objective

    def keep(objective: float) -> None:
        nonlocal best, best_obj
        if state.excess == 0 and objective < best_obj - 1e-9:
            best, best_obj = state.snapshot(), objective

    def adapt(it: int, current: float) -> float:
        """Every 100 steps, the penalty moves towards ``feasible_share`` feasible candidates."""
        nonlocal penalty
        if len(feasible_recent) < 100:
            return current
        share = sum(feasible_recent) / 100
        feasible_recent.clear()
        if best is None:  # nothing feasible yet: get there first
            penalty *= 2
        elif abs(share - search.feasible_share) > 0.05:
            penalty *= 1.2 if share < search.feasible_share else 0.85
        else:
            return current
        penalty = min(max(penalty, 0.1), 1e6)
        state.set_penalties(penalty)
        return state.objective

    it = iterate(step, accept, budget, state.rng, state.objective, keep=keep, undo=state.rollback, after=adapt) \
        if state.n_visits else 0
    if best is None:
        return state.solution(False, it, time.perf_counter() - started)
    state.restore(best)
    if search.polish_share > 0:
        state.polish(started + time_limit_s, seed, iterations is not None)
    return state.solution(True, it, time.perf_counter() - started)


#: A client choosing among this many days or more is priced on all days in one vectorised
#: pass (``_State._all``) instead of day by day: measured faster from about 4 days on
#: (demo cycle, 80 rep-days: 5x the iterations; PVRP with 2 days: slower).
_ALL_DAYS_FROM = 4


class _Stats(NamedTuple):
    """A route's totals: travel cost, duration (travel + service), load, penalised excess
    (0 when feasible) and its balance term."""

    cost: float = 0.0
    dur: float = 0.0
    load: float = 0.0
    excess: float = 0.0
    balance: float = 0.0


class _Day:
    """One day's insertion places as arrays: the nodes before and after each place, the
    arc's cost and time, and per place its route's load room, duration and visit room."""

    __slots__ = ("ends", "before", "after", "base_c", "base_t", "room_load", "over_load",
                 "max_dur", "dur", "over_dur", "weight", "group", "room_jobs", "over_jobs")

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, None)


class _State:
    """Routes of every day as lists of client indices, with cached loads and costs."""

    def __init__(self, problem: Problem, rng: np.random.Generator):
        self.problem, self.rng = problem, rng
        clients = problem.clients
        depots = list(dict.fromkeys(p for day in problem.days for v in day for p in (v.start, v.end)))
        places = [c.place for c in clients] + depots
        seconds, metres = problem.matrix.sub(places)
        self.C = (metres if problem.cost == "metres" else seconds).astype(np.float64)
        self.T = seconds.astype(np.float64)
        self.Cl, self.Tl = self.C.tolist(), self.T.tolist()
        self.CT, self.TT = np.ascontiguousarray(self.C.T), np.ascontiguousarray(self.T.T)
        n = len(clients)
        node = {p: n + i for i, p in enumerate(depots)}
        self.demand = [c.demand for c in clients]
        self.service = [c.service_s for c in clients]
        self.options = [tuple(tuple(o) for o in c.options) for c in clients]
        self.option_costs = [tuple(c.option_costs) or (0.0,) * len(c.options) for c in clients]
        self.option_total = 0.0
        self.balance = float(problem.balance_weight)
        self.vehicles = [list(day) for day in problem.days]
        self.start = [[node[v.start] for v in day] for day in self.vehicles]
        self.end = [[node[v.end] for v in day] for day in self.vehicles]
        inf = float("inf")
        self.cap = [[v.capacity if v.capacity is not None else inf for v in day] for day in self.vehicles]
        self.max_dur = [[v.max_duration_s if v.max_duration_s is not None else inf for v in day] for day in self.vehicles]
        self.max_jobs = [[v.max_jobs if v.max_jobs is not None else inf for v in day] for day in self.vehicles]
        self.has_dur = any(v.max_duration_s is not None for day in self.vehicles for v in day)
        self.has_jobs = any(v.max_jobs is not None for day in self.vehicles for v in day)
        # Groups: index per vehicle; the last index is "no group" (weight 0).
        names = sorted({v.group for day in self.vehicles for v in day if v.group is not None})
        index = {g: i for i, g in enumerate(names)}
        self.group_of = [[index.get(v.group, len(names)) for v in day] for day in self.vehicles]
        group_cap = np.zeros(len(names) + 1)
        for d, day in enumerate(self.vehicles):
            for v, veh in enumerate(day):
                if veh.max_duration_s is not None:
                    group_cap[self.group_of[d][v]] += veh.max_duration_s
        self.group_w = np.divide(problem.group_weight, group_cap, out=np.zeros_like(group_cap), where=group_cap > 0)
        self.group_w[len(names)] = 0.0
        self.has_groups = bool(problem.group_weight) and bool(names) and self.has_dur
        self.group_total = np.zeros(len(names) + 1)  # duration of each group's routes
        self.pen_load = self.pen_dur = self.pen_jobs = 0.0
        self.routes: list[list[list[int]]] = [[[] for _ in day] for day in self.vehicles]
        self.chosen: list[int | None] = [None] * n
        self.n_visits = 0
        sym = np.minimum(self.C[:n, :n], self.C[:n, :n].T)
        k = min(n, 60)
        self.near = np.argsort(sym, axis=1, kind="stable")[:, :k].tolist() if n else []
        self._stats: list[list[_Stats]] = [[_Stats()] * len(day) for day in self.vehicles]
        self._arrays: list[list[tuple]] = [[()] * len(day) for day in self.vehicles]
        self._cache: dict[int, _Day] = {}
        self._all_days: _Day | None = None
        self._undo: dict[tuple[int, int], tuple] = {}
        self._undo_chosen: dict[int, int | None] = {}
        self._refresh()

    def set_penalties(self, factor: float) -> None:
        """Excess load, duration or visits per route, priced against a typical visit's cost."""
        n = len(self.demand)
        if not n:
            return
        per_visit = float(np.mean(np.sort(self.C[:n, :n], axis=1)[:, 1 if n > 1 else 0]))  # nearest-neighbour leg
        per_visit = max(per_visit, 1.0)
        self.pen_load = factor * per_visit / max(1.0, float(np.mean(self.demand)))
        self.pen_dur = factor * per_visit / max(1.0, float(np.mean(np.sort(self.T[:n, :n], axis=1)[:, 1 if n > 1 else 0])) + float(np.mean(self.service)))
        self.pen_jobs = factor * per_visit
        self._refresh()

    # --- bookkeeping ---

    def begin(self) -> None:
        """Start a move that ``rollback`` can undo."""
        self._undo.clear()
        self._undo_chosen.clear()

    def rollback(self) -> None:
        for (d, v), (route, stats, arrays) in self._undo.items():
            self.group_total[self.group_of[d][v]] += stats.dur - self._stats[d][v].dur
            self.routes[d][v], self._stats[d][v], self._arrays[d][v] = route, stats, arrays
            self._changed(d)
        for c, k in self._undo_chosen.items():
            self.option_total += self._option_cost(c, k) - self._option_cost(c, self.chosen[c])
            self.chosen[c] = k
        self.begin()

    def _set(self, d: int, v: int, route: list[int]) -> None:
        """Replace a route, remembering the old one for ``rollback``."""
        if (d, v) not in self._undo:
            self._undo[d, v] = (self.routes[d][v], self._stats[d][v], self._arrays[d][v])
        self.routes[d][v] = route
        self._update(d, v)

    def _choose(self, c: int, k: int | None) -> None:
        self._undo_chosen.setdefault(c, self.chosen[c])
        self.option_total += self._option_cost(c, k) - self._option_cost(c, self.chosen[c])
        self.chosen[c] = k

    def _option_cost(self, c: int, k: int | None) -> float:
        return 0.0 if k is None else self.option_costs[c][k]

    def _update(self, d: int, v: int) -> None:
        """Recompute a route's cost, duration, load, penalised excess and insertion arrays."""
        route, C, T = self.routes[d][v], self.Cl, self.Tl
        prev, cost, dur = self.start[d][v], 0.0, 0.0
        for c in route:
            cost += C[prev][c]
            dur += T[prev][c] + self.service[c]
            prev = c
        if route:
            cost += C[prev][self.end[d][v]]
            dur += T[prev][self.end[d][v]]
        load = sum(self.demand[c] for c in route)
        excess = (self.pen_load * max(0, load - self.cap[d][v])
                  + self.pen_dur * max(0.0, dur - self.max_dur[d][v])
                  + self.pen_jobs * max(0, len(route) - self.max_jobs[d][v]))
        max_dur = self.max_dur[d][v]
        balance = self.balance * dur * dur / max_dur if self.balance and max_dur != math.inf else 0.0
        self.group_total[self.group_of[d][v]] += dur - self._stats[d][v].dur
        self._stats[d][v] = _Stats(cost, dur, load, excess, balance)
        nodes = np.array([self.start[d][v], *route, self.end[d][v]])
        before, after = nodes[:-1], nodes[1:]
        live = 1.0 if route else 0.0  # an empty route costs nothing until used
        self._arrays[d][v] = (before, after, self.C[before, after] * live, self.T[before, after] * live)
        self._changed(d)

    @property
    def cost(self) -> float:
        return sum(st.cost for day in self._stats for st in day)

    @property
    def excess(self) -> float:
        """Penalised excess capacity, duration and visits: 0 when every route is feasible."""
        return sum(st.excess for day in self._stats for st in day)

    @property
    def objective(self) -> float:
        """What the search minimises: travel, penalised excess, balance and option costs."""
        groups = float(self.group_w @ (self.group_total * self.group_total)) if self.has_groups else 0.0
        return sum(st.cost + st.excess + st.balance for day in self._stats for st in day) + self.option_total + groups

    def snapshot(self):
        return ([[list(r) for r in day] for day in self.routes], list(self.chosen))

    def restore(self, snap) -> None:
        routes, chosen = snap
        self.routes = [[list(r) for r in day] for day in routes]
        self.chosen = list(chosen)
        self._refresh()

    def _changed(self, d: int) -> None:
        self._cache.pop(d, None)
        self._all_days = None

    def _refresh(self) -> None:
        self._cache.clear()
        self._all_days = None
        for d in range(len(self.routes)):
            for v in range(len(self.routes[d])):
                self._update(d, v)

    # --- insertion ---

    def _positions(self, d: int) -> _Day:
        """Every insertion place on day ``d`` as arrays (cached until the day changes)."""
        day = self._cache.get(d)
        if day is None:
            arrays, stats, routes = self._arrays[d], self._stats[d], self.routes[d]
            lengths = np.array([len(r) + 1 for r in routes])
            day = _Day()
            day.ends = np.cumsum(lengths)
            day.before = np.concatenate([a[0] for a in arrays])
            day.after = np.concatenate([a[1] for a in arrays])
            day.base_c = np.concatenate([a[2] for a in arrays])
            day.room_load = np.repeat(np.array(self.cap[d]) - np.array([st.load for st in stats]), lengths)
            day.over_load = np.maximum(0, -day.room_load)
            if self.has_dur:
                day.base_t = np.concatenate([a[3] for a in arrays])
                day.max_dur = np.repeat(np.array(self.max_dur[d]), lengths)
                day.dur = np.repeat(np.array([st.dur for st in stats]), lengths)
                day.over_dur = np.maximum(0, day.dur - day.max_dur)
                day.weight = self.balance / day.max_dur if self.balance else None  # 0 where unbounded
                day.group = np.repeat(np.array(self.group_of[d]), lengths) if self.has_groups else None
            if self.has_jobs:
                day.room_jobs = np.repeat(np.array(self.max_jobs[d]) - (lengths - 1), lengths)
                day.over_jobs = np.maximum(0, -day.room_jobs)
            self._cache[d] = day
        return day

    def _all(self) -> _Day:
        """Every day's insertion places in one set of arrays, days in order (``ends``: where
        each day's places end), so a client's cost on every day is one vectorised pass."""
        if self._all_days is None:
            days = [self._positions(d) for d in range(len(self.routes))]
            merged = _Day()
            merged.ends = np.cumsum([len(day.before) for day in days])
            for name in _Day.__slots__[1:]:
                parts = [getattr(day, name) for day in days]
                setattr(merged, name, None if parts[0] is None else np.concatenate(parts))
            self._all_days = merged
        return self._all_days

    def _deltas(self, c: int, day: _Day) -> np.ndarray:
        """Penalised cost of inserting client ``c`` at each place of ``day``."""
        delta = self.CT[c].take(day.before) + self.C[c].take(day.after) - day.base_c
        delta += self.pen_load * (np.maximum(0, self.demand[c] - day.room_load) - day.over_load)
        if self.has_dur:
            extra = self.TT[c].take(day.before) + self.T[c].take(day.after) - day.base_t + self.service[c]
            new_dur = day.dur + extra
            delta += self.pen_dur * (np.maximum(0, new_dur - day.max_dur) - day.over_dur)
            if day.weight is not None:
                delta += day.weight * (new_dur * new_dur - day.dur * day.dur)
            if day.group is not None:
                total = self.group_total.take(day.group)
                delta += self.group_w.take(day.group) * (extra * (2 * total + extra))
        if self.has_jobs:
            delta += self.pen_jobs * (np.maximum(0, 1 - day.room_jobs) - day.over_jobs)
        return delta

    def _best_on_day(self, c: int, d: int) -> tuple[float, int, int]:
        """Cheapest (penalised) insertion of client ``c`` on day ``d``: (delta, vehicle, index)."""
        day = self._positions(d)
        delta = self._deltas(c, day)
        k = int(np.argmin(delta))
        v = int(np.searchsorted(day.ends, k, side="right"))
        return float(delta[k]), v, k - (int(day.ends[v - 1]) if v else 0)

    def _insert(self, c: int, d: int, v: int, i: int) -> None:
        route = self.routes[d][v]
        self._set(d, v, route[:i] + [c] + route[i:])

    def _place(self, c: int, days: Sequence[int] | None) -> None:
        """Insert ``c`` on each of ``days``, or, when None, choose its cheapest option."""
        if days is None:
            options = self.options[c]
            candidates = {d for o in options for d in o}
            if len(candidates) >= _ALL_DAYS_FROM:
                merged = self._all()
                per_day = np.minimum.reduceat(self._deltas(c, merged), np.r_[0, merged.ends[:-1]]).tolist()
            else:
                per_day = {d: self._best_on_day(c, d)[0] for d in candidates}
            costs = self.option_costs[c]
            k = min(range(len(options)), key=lambda j: costs[j] + sum(per_day[d] for d in options[j]))
            self._choose(c, k)
            days = options[k]
        moves = [(d, self._best_on_day(c, d)) for d in days]
        for d, (_, v, i) in moves:
            self._insert(c, d, v, i)

    def construct(self) -> None:
        """Greedy start: clients with fewest options and most visits first."""
        order = sorted(range(len(self.options)),
                       key=lambda c: (len(self.options[c]), -len(self.options[c][0]) if self.options[c] else 0, self.rng.random()))
        for c in order:
            if self.options[c]:
                self._place(c, None)
                self.n_visits += len(self.options[c][self.chosen[c]])

    # --- ruin and recreate ---

    def ruin(self, search: Search) -> list[tuple[int, Sequence[int] | None]]:
        """Remove strings of visits near a random seed visit, one string per route, from
        the seed's day where the neighbour is visited that day, else from another of its
        days. Return (client, days to put it back on, or None to choose its days again)."""
        rng = self.rng
        where: dict[int, list[tuple[int, int, int]]] = {}
        for d, day in enumerate(self.routes):
            for v, route in enumerate(day):
                for i, c in enumerate(route):
                    where.setdefault(c, []).append((d, v, i))
        clients = list(where)
        seed = clients[int(rng.integers(len(clients)))]
        seed_day = where[seed][int(rng.integers(len(where[seed])))][0]
        target = int(rng.integers(search.min_removed, search.max_removed + 1))
        removed: dict[int, set[int]] = {}
        ruined: set[tuple[int, int]] = set()
        count = 0
        for c in self.near[seed]:
            if count >= target:
                break
            visits = where.get(c)
            if not visits:
                continue
            same = [w for w in visits if w[0] == seed_day]
            d, v, i = same[0] if same else visits[int(rng.integers(len(visits)))]
            if (d, v) in ruined:
                continue
            ruined.add((d, v))
            route = self.routes[d][v]
            cut = string_at(rng, len(route), i, min(search.max_string, target - count))
            for x in route[cut]:
                removed.setdefault(x, set()).add(d)
            count += cut.stop - cut.start
        for d, v in ruined:
            self._set(d, v, [x for x in self.routes[d][v] if d not in removed.get(x, ())])
        out: list[tuple[int, Sequence[int] | None]] = []
        for c, days in removed.items():
            if len(self.options[c]) > 1 and rng.random() < search.release:
                for d, v, _ in where[c]:
                    if d not in days:
                        self._set(d, v, [x for x in self.routes[d][v] if x != c])
                out.append((c, None))
            else:
                out.append((c, tuple(sorted(days))))
        return out

    def recreate(self, removed: list[tuple[int, Sequence[int] | None]]) -> None:
        """Greedy re-insertion in a random order of SISR's kinds (random, demand, far, close)."""
        kind = int(self.rng.integers(4))
        if kind == 0:
            self.rng.shuffle(removed)
        elif kind == 1:
            removed.sort(key=lambda t: -self.demand[t[0]])
        else:
            ref = self.start[0][0] if self.start and self.start[0] else 0
            sign = -1 if kind == 2 else 1
            removed.sort(key=lambda t: sign * self.Cl[ref][t[0]])
        for c, days in removed:
            self._place(c, days)

    # --- OR-Tools polish ---

    def polish(self, deadline: float, seed: int, bounded: bool) -> None:
        """Re-route each day with ``routing.vrptw`` from the current routes, days in
        turn, each with a share of the time left in proportion to its visits (``bounded``:
        a solution limit instead, for repeatable runs). Keeps the combination of every
        client; a day is replaced only by a feasible route set that costs less."""
        keys = [c.key for c in self.problem.clients]
        by_key = {k: i for i, k in enumerate(keys)}
        days = [d for d in range(len(self.routes)) if any(self.routes[d])]
        left = sum(len(r) for d in days for r in self.routes[d])
        for d in days:
            visits = sum(len(r) for r in self.routes[d])
            budget = (deadline - time.perf_counter()) * visits / max(1, left)
            left -= visits
            if budget < 0.05 and not bounded:
                continue
            problem = self._day_problem(d)
            initial = {self.vehicles[d][v].key: [keys[c] for c in r] for v, r in enumerate(self.routes[d])}
            result = vrptw.solve(problem, time_limit_s=max(budget, 0.05), seed=seed,
                                 solution_limit=100 if bounded else None, initial=initial)
            if result.dropped or not result.routes:
                continue
            before = sum(st.cost for st in self._stats[d])
            old = [list(r) for r in self.routes[d]]
            slot = {veh.key: v for v, veh in enumerate(self.vehicles[d])}
            new = [[] for _ in self.routes[d]]
            for vr in result.routes:
                new[slot[vr.vehicle]] = [by_key[k] for k in vr.jobs]
            self.begin()
            for v, route in enumerate(new):
                self._set(d, v, route)
            after = sum(st.cost for st in self._stats[d])
            if after > before or any(st.excess > 0 for st in self._stats[d]):
                for v, route in enumerate(old):
                    self._set(d, v, route)

    def _day_problem(self, d: int) -> vrptw.Problem:
        clients = self.problem.clients
        on_day = [c for r in self.routes[d] for c in r]
        horizon = int(self.T.max() * (len(on_day) + 1) + sum(self.service[c] for c in on_day)) + 1
        jobs = [vrptw.Job(clients[c].key, clients[c].place, ((0, horizon),), self.service[c], demand=self.demand[c]) for c in on_day]
        vehicles = [vrptw.Vehicle(v.key, v.start, v.end, 0, v.max_duration_s if v.max_duration_s is not None else horizon,
                                  max_jobs=v.max_jobs, capacity=v.capacity) for v in self.vehicles[d]]
        return vrptw.Problem(jobs, vehicles, self.problem.matrix, cost=self.problem.cost)

    # --- result ---

    def solution(self, feasible: bool, iterations: int, wall_s: float) -> Solution:
        keys = [c.key for c in self.problem.clients]
        routes = tuple(
            {self.vehicles[d][v].key: tuple(keys[c] for c in route) for v, route in enumerate(day) if route}
            for d, day in enumerate(self.routes)
        )
        options = {keys[c]: self.options[c][k] for c, k in enumerate(self.chosen) if k is not None}
        return Solution(options, routes, int(round(self.cost)), feasible, iterations, wall_s)
