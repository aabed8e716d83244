"""Keep a day plan's promises: time a route exactly, find where a left-out visit fits, and
repair a plan so that no left-out visit fits any route and no visit is left out to keep a
lower-priority one.

The search (``routing.vrptw``) is good at short routes but, under a time limit, may leave
out a visit that fits or keep a low-priority visit in place of a high-priority one. The
repair closes those gaps, level by level from the highest priority: insert left-out visits
where they fit (cheapest added travel first), then, for each one still out, make room by
taking out lower-priority visits from one route. Each level outweighs any number of visits
of the levels below, as the drop penalties say.

Routes are timed by ``routing.timing`` (its rules; ``routing.check`` proves the same rules,
written independently there). With a fixed order a backward pass of latest start times makes
each insertion test O(1) (vectorised over all positions).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .timing import INF, _forward, _latest, _lunch
from .travel import TravelMatrix
from .vrptw import Job, Vehicle


# --- insertion ------------------------------------------------------------------------


class _Lane:
    """One vehicle's route with the arrays that make insertion tests O(1) per position:
    for each place between two stops, the earliest leave time of the stop before (lunch
    not yet taken / taken) and the latest start of the stop after (same two states)."""

    def __init__(self, vehicle: Vehicle, jobs: list[Job], index: Mapping[str, int], seconds: np.ndarray):
        self.vehicle, self.jobs, self._index, self._T = vehicle, jobs, index, seconds
        self.load = sum(j.demand for j in jobs)
        self.refresh()

    def refresh(self) -> None:
        veh, jobs, T = self.vehicle, self.jobs, self._T
        has_lunch, le, ll, dur = _lunch(veh)
        idx = [self._index[veh.start], *(self._index[j.place] for j in jobs), self._index[veh.end]]
        n = len(jobs)
        (first0, first1), steps = _forward(veh, jobs, [T[i, j] for i, j in zip(idx, idx[1:])])
        service = np.array([j.service_s for j in jobs], dtype=float)
        lv0 = np.array([first0, *(st[0] for st in steps[:n])]) + np.r_[0.0, service]
        lv1 = np.array([first1, *(st[1] for st in steps[:n])]) + np.r_[0.0, service]
        lt0 = np.full(n + 2, -INF)
        lt1 = np.full(n + 2, -INF)
        lt1[n + 1] = veh.latest_s
        lt0[n + 1] = min(veh.latest_s, ll - dur) if has_lunch else -INF
        for k in range(n, -1, -1):
            t = T[idx[k], idx[k + 1]]
            ml1 = lt1[k + 1] - t
            ml0 = lt0[k + 1] - t
            if has_lunch and le + dur <= lt1[k + 1]:
                ml0 = max(ml0, min(lt1[k + 1] - t - dur, ll - dur))
            if k == 0:
                lt0[0], lt1[0] = ml0, ml1
            else:
                w, svc = jobs[k - 1].windows, jobs[k - 1].service_s
                lt0[k], lt1[k] = _latest(w, ml0 - svc), _latest(w, ml1 - svc)
        self.prev = np.array(idx[:-1])
        self.next = np.array(idx[1:])
        self.lv0, self.lv1 = lv0, lv1
        self.lt0, self.lt1 = lt0[1:], lt1[1:]
        self.base = T[self.prev, self.next]

    def allows(self, job: Job) -> bool:
        veh = self.vehicle
        return ((job.vehicles is None or veh.key in job.vehicles)
                and (veh.max_jobs is None or len(self.jobs) < veh.max_jobs)
                and (veh.capacity is None or self.load + job.demand <= veh.capacity))


@dataclass
class _Pool:
    """Jobs to test at once: windows padded to one width, places as matrix indices."""

    jobs: list[Job]
    ws: np.ndarray
    we: np.ndarray
    svc: np.ndarray
    place: np.ndarray

    @classmethod
    def of(cls, jobs: list[Job], index: Mapping[str, int]) -> _Pool:
        width = max((len(j.windows) for j in jobs), default=1)
        ws = np.full((len(jobs), width), INF)
        we = np.full((len(jobs), width), -INF)
        for i, j in enumerate(jobs):
            for k, (a, b) in enumerate(j.windows):
                ws[i, k], we[i, k] = a, b
        return cls(jobs, ws, we, np.array([j.service_s for j in jobs], dtype=float),
                   np.array([index[j.place] for j in jobs], dtype=np.int64))


def _earliest_v(ws: np.ndarray, we: np.ndarray, arrival: np.ndarray) -> np.ndarray:
    """``_earliest`` for jobs x positions at once (windows: jobs x width)."""
    s = np.maximum(arrival[:, :, None], ws[:, None, :])
    return np.where(s <= we[:, None, :], s, INF).min(axis=2)


def insertion_costs(lane: _Lane, pool: _Pool, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each job of ``pool``: the least added travel of inserting it into ``lane`` where
    every window, the shift and the lunch still hold (inf: nowhere), and that position."""
    n_jobs = len(pool.jobs)
    if not n_jobs:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    has_lunch, le, ll, dur = _lunch(lane.vehicle)
    t_in = T[lane.prev[None, :], pool.place[:, None]]
    t_out = T[pool.place[:, None], lane.next[None, :]]
    lv0, lv1, lt0, lt1 = lane.lv0[None, :], lane.lv1[None, :], lane.lt0[None, :], lane.lt1[None, :]
    a0 = lv0 + t_in
    s0 = _earliest_v(pool.ws, pool.we, a0)
    s1 = _earliest_v(pool.ws, pool.we, lv1 + t_in)
    svc = pool.svc[:, None]
    if has_lunch:
        b = np.maximum(lv0, le)
        with np.errstate(invalid="ignore"):
            s1b = _earliest_v(pool.ws, pool.we, np.maximum(a0, b) + dur)
        s1 = np.minimum(s1, np.where(b + dur <= ll, s1b, INF))
    out0 = s0 + svc
    ok = s1 + svc + t_out <= lt1
    ok |= out0 + t_out <= lt0
    if has_lunch:
        ok |= (out0 + t_out + dur <= lt1) & (le + dur <= lt1) & (out0 + dur <= ll)
    allowed = np.array([lane.allows(j) for j in pool.jobs])
    ok &= allowed[:, None]
    added = np.where(ok, t_in + t_out - lane.base[None, :], INF)
    pos = added.argmin(axis=1)
    return added[np.arange(n_jobs), pos], pos


# --- repair ---------------------------------------------------------------------------


def _never() -> bool:
    return False


def _level(job: Job) -> float:
    return INF if job.penalty is None else job.penalty


def repair(
    vehicles: Sequence[Vehicle],
    routes: Mapping[str, Sequence[Job]],
    left_out: Sequence[Job],
    travel: TravelMatrix,
    *,
    deadline: float | None = None,
    best_effort: bool = False,
) -> tuple[dict[str, list[Job]], list[Job]]:
    """Insert left-out jobs and trade lower-priority visits for higher ones, level by level.

    ``routes``: vehicle key -> jobs in order (each route must be feasible; missing keys are
    empty routes). Returns the new routes of every vehicle and the jobs still left out.
    Afterwards no left-out job fits any route at any position, and none fits a route once
    that route's lower-priority jobs are taken out (the other jobs in their order). Jobs at
    equal priority are never traded. ``deadline`` (a ``time.perf_counter`` value) bounds
    the optional part, re-ordering a route to make room; that guarantee is always met (it
    takes milliseconds per route) unless ``best_effort`` lets the deadline cut everything
    short (a greedy construction under a time limit).
    """
    index = travel.index
    T = travel.seconds_array.astype(np.float64)
    lanes = [_Lane(v, list(routes.get(v.key, ())), index, T) for v in vehicles]
    out: list[Job] = []
    pending = sorted(left_out, key=_level, reverse=True)
    levels = sorted({_level(j) for j in pending}, reverse=True)

    def late() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    while levels:
        level = levels.pop(0)
        pool = [j for j in pending if _level(j) == level]
        pending = [j for j in pending if _level(j) != level]
        if best_effort and late():
            out += pool
            continue
        pool = _insert_all(lanes, pool, T, index, late if best_effort else _never)
        ejected: list[Job] = []
        # First with the kept visits in their order (what the checker proves; cheap, so
        # it always completes), then, while time is left, in a new order too; after each
        # such move the first kind is tried again on what is still out.
        still_out = pool if best_effort else _make_room_all(lanes, pool, level, T, index, ejected, resequence=False)
        tried: set[str] = set()
        while not best_effort and not late():
            job = next((j for j in still_out if j.key not in tried), None)
            if job is None:
                break
            tried.add(job.key)
            removed = _make_room(lanes, job, level, T, index, resequence=True)
            if removed is not None:
                ejected += removed
                still_out.remove(job)
                still_out = _make_room_all(lanes, still_out, level, T, index, ejected, resequence=False)
        out += still_out
        if ejected:
            pending = sorted(pending + ejected, key=_level, reverse=True)
            levels = sorted({_level(j) for j in pending}, reverse=True)
    return {lane.vehicle.key: lane.jobs for lane in lanes}, out


def _insert_all(lanes: list[_Lane], jobs: list[Job], T: np.ndarray, index, late) -> list[Job]:
    """Cheapest insertion, globally cheapest (job, place) first, until nothing fits."""
    if not jobs or not lanes:
        return list(jobs)
    pool = _Pool.of(list(jobs), index)
    cost = np.full((len(jobs), len(lanes)), INF)
    pos = np.zeros((len(jobs), len(lanes)), dtype=np.int64)
    for r, lane in enumerate(lanes):
        cost[:, r], pos[:, r] = insertion_costs(lane, pool, T)
    alive = np.ones(len(jobs), dtype=bool)
    while alive.any() and not late():
        masked = np.where(alive[:, None], cost, INF)
        k = int(masked.argmin())
        j, r = divmod(k, len(lanes))
        if masked[j, r] == INF:
            break
        lane = lanes[r]
        lane.jobs.insert(int(pos[j, r]), pool.jobs[j])
        lane.load += pool.jobs[j].demand
        lane.refresh()
        alive[j] = False
        live = np.flatnonzero(alive)
        if live.size:
            sub = _Pool([pool.jobs[i] for i in live], pool.ws[live], pool.we[live], pool.svc[live], pool.place[live])
            cost[live, r], pos[live, r] = insertion_costs(lane, sub, T)
    return [pool.jobs[i] for i in np.flatnonzero(alive)]


def _fits(lane: _Lane, job: Job, T: np.ndarray, index) -> tuple[float, int]:
    cost, pos = insertion_costs(lane, _Pool.of([job], index), T)
    return float(cost[0]), int(pos[0])


def _make_room_all(lanes, jobs: list[Job], level: float, T, index, ejected: list[Job], *, resequence: bool) -> list[Job]:
    """``_make_room`` for each job in turn; the jobs taken out go to ``ejected``; returns
    the jobs still out."""
    out = []
    for job in jobs:
        removed = _make_room(lanes, job, level, T, index, resequence=resequence)
        if removed is None:
            out.append(job)
        else:
            ejected += removed
    return out


def _make_room(lanes: list[_Lane], job: Job, level: float, T: np.ndarray, index, *, resequence: bool) -> list[Job] | None:
    """Put ``job`` on the route where it fits once that route's lower-priority jobs are
    out, taking out as few and as low as practical; return the jobs taken out (None: it
    fits nowhere even then). Taken-out jobs that still fit beside ``job`` go back."""
    best = None
    for lane in lanes:
        lower = [j for j in lane.jobs if _level(j) < level]
        if not lower or (job.vehicles is not None and lane.vehicle.key not in job.vehicles):
            continue
        kept = [j for j in lane.jobs if _level(j) >= level]
        trial = _Lane(lane.vehicle, kept, index, T)
        if _fits(trial, job, T, index)[0] == INF:
            if not resequence:
                continue
            # The kept visits in another order may leave room: rebuild by cheapest insertion.
            rebuilt = _Lane(lane.vehicle, [], index, T)
            if _insert_all([rebuilt], [*kept, job], T, index, _never):
                continue
            trial = rebuilt
        # Prefer the route that gives up the least: lowest levels, then fewest visits.
        value = sorted((_level(j) for j in lower), reverse=True)
        if best is None or value < best[0]:
            best = (value, lane, trial)
    if best is None:
        return None
    _, lane, trial = best
    lower = sorted((j for j in lane.jobs if _level(j) < level), key=_level)
    if job in trial.jobs:  # fits only in a new order of the kept visits
        kept, removed = list(trial.jobs), lower
    else:
        # Take out the lowest first until the job fits; then put back what still fits.
        removed, kept = [], list(lane.jobs)
        for victim in lower:
            kept.remove(victim)
            removed.append(victim)
            cost, pos = _fits(_Lane(lane.vehicle, kept, index, T), job, T, index)
            if cost < INF:
                kept.insert(pos, job)
                break
    lane.jobs = kept
    lane.load = sum(j.demand for j in kept)
    lane.refresh()
    back = _insert_all([lane], sorted(removed, key=_level, reverse=True), T, index, _never)
    return back


def insert_one(vehicle: Vehicle, jobs: Sequence[Job], job: Job, travel: TravelMatrix) -> list[Job] | None:
    """``jobs`` with ``job`` inserted where it adds the least travel and every window, the
    shift, the lunch and the vehicle's limits still hold (the others kept in order); None
    when it fits nowhere."""
    T = travel.seconds_array.astype(np.float64)
    lane = _Lane(vehicle, list(jobs), travel.index, T)
    if not lane.allows(job):
        return None
    cost, pos = _fits(lane, job, T, travel.index)
    if cost == INF:
        return None
    return [*jobs[:pos], job, *jobs[pos:]]
