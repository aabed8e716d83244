"""Time a rep's route exactly and turn the timing into stops: the one timing rule of the
planner (the search's answers, the repair's insertions and the re-plan are timed here).

Timing rules (the same as ``routing.check`` proves, written independently there):

* a visit starts inside one of its start windows, no earlier than the arrival;
* the lunch is taken once: before leaving home (the day then starts after it), on a leg, or
  after getting home; on a leg it starts when the rep leaves the previous stop or when the
  lunch window opens, whichever is later, and the arrival is
  ``max(leave + travel, break start) + break length`` (lunch first, then drive; or drive,
  wait and have lunch on arrival): the break never lies after the arrival it precedes;
* the rep gets home by the end of the shift.

With a fixed order, starting everything as early as possible is best for what follows, so
one forward pass with two states (lunch taken or not) decides feasibility.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .model import Route, Stop
from .travel import TravelMatrix
from .vrptw import Job, Vehicle

INF = math.inf


@dataclass(frozen=True)
class Timing:
    """When a route's stops happen. ``break_leg`` is the leg the lunch is taken on (k: the
    leg into the k-th visit; ``len(jobs)``: the leg home); None: no lunch on the route (no
    lunch at all, or taken before leaving or after getting home)."""

    depart_s: int
    starts_s: tuple[int, ...]
    arrive_s: int
    break_leg: int | None = None
    break_start_s: int | None = None


def _earliest(windows: Sequence[tuple[int, int]], arrival: float) -> float:
    """First start at or after ``arrival`` inside a start window (inf: none)."""
    for a, b in windows:
        s = max(arrival, a)
        if s <= b:
            return s
    return INF


def _latest(windows: Sequence[tuple[int, int]], bound: float) -> float:
    """Last start at or before ``bound`` inside a start window (-inf: none)."""
    for a, b in reversed(windows):
        s = min(bound, b)
        if s >= a:
            return s
    return -INF


def _lunch(vehicle: Vehicle) -> tuple[bool, float, float, float]:
    b = vehicle.lunch
    return (True, b.earliest_s, b.latest_s, b.duration_s) if b is not None else (False, 0.0, 0.0, 0.0)


def feasible(vehicle: Vehicle, jobs: Sequence[Job], travel: TravelMatrix) -> bool:
    """Can ``jobs`` be done in this order (windows, shift, lunch rule)? One forward pass."""
    return _earliest_timing(vehicle, jobs, travel) is not None


def time_route(vehicle: Vehicle, jobs: Sequence[Job], travel: TravelMatrix) -> Timing | None:
    """The schedule of ``jobs`` in this order that gets home earliest and, among those,
    leaves latest (the shortest day: least waiting), or None when the order breaks a
    window, the shift or the lunch rule. For a yes/no answer ``feasible`` is cheaper."""
    timing = _earliest_timing(vehicle, jobs, travel)
    if timing is None or not jobs:
        return timing
    best, lo, hi = timing, timing.depart_s, vehicle.latest_s
    while lo < hi:  # the home-coming time never falls as the departure moves later
        mid = (lo + hi + 1) // 2
        later = _earliest_timing(replace(vehicle, earliest_s=mid), jobs, travel)
        if later is not None and later.arrive_s <= timing.arrive_s:
            best, lo = later, mid
        else:
            hi = mid - 1
    return best


def _forward(vehicle: Vehicle, jobs: Sequence[Job], legs: Sequence[float]):
    """The earliest-start pass with two states (lunch not yet taken / taken). ``legs``:
    the travel time into each job and then home. Returns the leave times at the start and,
    per node after it (the jobs, then home), (start in state 0, start in state 1, whether
    state 1 got there by taking the lunch on this leg, that lunch's start)."""
    has_lunch, le, ll, dur = _lunch(vehicle)
    lv0 = float(vehicle.earliest_s) if has_lunch else INF
    lv1 = float(max(vehicle.earliest_s, le + dur)) if has_lunch else float(vehicle.earliest_s)
    first = (lv0, lv1)
    steps = []
    n = len(jobs)
    for k, t in enumerate(legs):
        windows = jobs[k].windows if k < n else ((-INF, INF),)
        s0 = _earliest(windows, lv0 + t)
        s1 = _earliest(windows, lv1 + t)
        took, b = False, None
        if has_lunch and lv0 < INF:
            b = max(lv0, le)
            if b + dur <= ll:
                s1b = _earliest(windows, max(lv0 + t, b) + dur)
                if s1b < s1:
                    s1, took = s1b, True
        steps.append((s0, s1, took, b))
        service = jobs[k].service_s if k < n else 0
        lv0, lv1 = s0 + service, s1 + service
    return first, steps


def _earliest_timing(vehicle: Vehicle, jobs: Sequence[Job], travel: TravelMatrix) -> Timing | None:
    """The earliest schedule of ``jobs`` in this order (None: infeasible); the departure
    is put off as long as the first visit's start allows."""
    has_lunch, le, ll, dur = _lunch(vehicle)
    places = [vehicle.start, *(j.place for j in jobs), vehicle.end]
    _, steps = _forward(vehicle, jobs, [travel.seconds(a, b) for a, b in zip(places, places[1:])])
    n = len(jobs)
    end0, end1 = steps[-1][0], steps[-1][1]
    if has_lunch and end0 <= min(vehicle.latest_s, ll - dur):
        state = 0  # no lunch on the route: it fits after getting home
    elif end1 <= vehicle.latest_s:
        state = 1
    else:
        return None
    starts, break_leg, break_start = [0.0] * (n + 1), None, None
    for k in range(n, -1, -1):
        s0, s1, took, b = steps[k]
        starts[k] = s0 if state == 0 else s1
        if state == 1 and took:
            break_leg, break_start, state = k, b, 0
    depart = vehicle.earliest_s if (state == 0 or not has_lunch) else max(vehicle.earliest_s, le + dur)
    if n and break_leg != 0:
        depart = max(depart, starts[0] - travel.seconds(vehicle.start, jobs[0].place))
    return Timing(int(depart), tuple(int(s) for s in starts[:n]), int(starts[n]), break_leg,
                  None if break_start is None else int(break_start))


def build_route(vehicle: Vehicle, jobs: Sequence[Job], timing: Timing, *, date: str,
                travel: TravelMatrix) -> Route:
    """Turn an order and its timing (``time_route``) into stops.

    A lunch on a leg is listed before the stop it precedes and is over when the rep is
    listed as arrived (see ``routing.check``), so stop times never go backwards.
    """
    lunch = vehicle.lunch
    stops = [Stop("start", timing.depart_s, timing.depart_s, timing.depart_s)]
    place, leave = vehicle.start, timing.depart_s
    legs = [(j.place, s, j.service_s) for j, s in zip(jobs, timing.starts_s)] + [(vehicle.end, None, 0)]
    for k, (key, start, service_s) in enumerate(legs):
        travel_s, metres = travel.seconds(place, key), travel.metres(place, key)
        arrival, idle = leave + travel_s, 0
        if timing.break_leg == k and lunch is not None:
            b0, b1 = timing.break_start_s, timing.break_start_s + lunch.duration_s
            stops.append(Stop("break", b0, b0, b1))
            arrival = max(leave + travel_s, b0) + lunch.duration_s
            idle = arrival - leave - travel_s - lunch.duration_s
        if start is None:
            stops.append(Stop("end", arrival, arrival, arrival, travel_s=travel_s, distance_m=metres))
            break
        stops.append(Stop("visit", arrival, start, start + service_s, key, travel_s, metres, start - arrival + idle))
        place, leave = key, start + service_s
    return Route(vehicle.key, date, tuple(stops))


def timed_route(vehicle: Vehicle, jobs: Sequence[Job], travel: TravelMatrix, *, date: str) -> Route:
    """``jobs`` in this order as a route of stops (the order must be feasible)."""
    return build_route(vehicle, jobs, time_route(vehicle, jobs, travel), date=date, travel=travel)
