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
from dataclasses import dataclass

from .calendar import Cycle
from .model import Policy, Rep, Route, Store, Unassigned

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
