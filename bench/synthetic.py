"""Synthetic field-sales territories, generated deterministically from a seed (no files).

A city of plausible size (about 15 km across for 100 stores, 25 km for 2,000): a dense
centre, a handful of towns around it and some scattered stores; classes A/B/C/D with the
usual frequencies, visit lengths and priorities; mixed opening hours in the OpenStreetMap
syntax (some of them short or outside the shift); reps living across the city, 08:30-17:30
Monday to Friday with a 45 min lunch between 12:00 and 14:00; straight-line travel.

    from bench.synthetic import synthetic_day, synthetic_cycle
    stores, reps, policy, date = synthetic_day(100, 2, seed=0)
    stores, reps, policy, cycle = synthetic_cycle(600, 6, seed=0)

Used by ``bench/scale.py``; small instances are cheap enough for tests.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from routing.calendar import Cycle, required_visits  # noqa: E402
from routing.model import Break, ClassPolicy, Policy, Rep, Store  # noqa: E402

#: Centre of the synthetic city (any mid-latitude place will do; this one is Lyon).
CENTRE_LAT, CENTRE_LON = 45.76, 4.84
TIME_ZONE = "Europe/Paris"
#: The date a synthetic day is planned for (a Tuesday) and the first day of a synthetic cycle (a Monday).
DAY_DATE = dt.date(2026, 12, 1)
CYCLE_START = dt.date(2026, 11, 30)

POLICY = Policy(
    time_zone=TIME_ZONE,
    classes={
        "A": ClassPolicy("A", 2, 25, 4, min_gap_days=2),
        "B": ClassPolicy("B", 1, 15, 3),
        "C": ClassPolicy("C", 0.5, 12, 2),
        "D": ClassPolicy("D", 0.25, 10, 1),
    },
    speed_kmh=27.0,
    circuity=1.3,
)

#: Share of the stores in each class.
CLASS_MIX = {"A": 0.12, "B": 0.33, "C": 0.30, "D": 0.25}

#: Opening hours per class: (OSM expression, weight). A: supermarkets and convenience
#: stores; B: kiosks, bakeries, cafes; C: restaurants, pharmacies; D: other shops. A few are
#: short (a morning slot, two afternoons a week) and a few lie outside the shift (bars).
HOURS = {
    "A": [("Mo-Sa 07:30-20:00", 5), ("Mo-Su 08:00-21:00", 2), ("Mo-Sa 08:30-19:30; Su 09:00-12:30", 2),
          ("Mo-Fr 08:00-17:00", 1)],
    "B": [("Mo-Su 10:00-22:00", 2), ("Mo-Sa 06:30-13:00", 2), ("Mo-Sa 07:00-19:00", 3),
          ("Tu-Su 07:00-13:00,15:30-19:30", 2), ("Mo-Fr 07:00-09:30", 1), ("Mo-Su 18:00-24:00", 1)],
    "C": [("Mo-Fr 09:00-12:00,14:00-19:00", 3), ("Mo-Sa 08:30-19:30", 3), ("Mo-Sa 11:30-14:30,18:30-23:00", 3),
          ("Tu-Sa 12:00-14:00,19:00-22:30", 1), ("Mo,We,Fr 14:00-16:00", 1)],
    "D": [("Mo-Fr 08:00-17:00", 3), ("Tu-Sa 09:30-19:00", 3), ("Mo-Fr 09:00-12:00,14:00-19:00", 2),
          ("Mo-Sa 10:00-19:00", 2), ("Tu,Th 14:00-16:00", 1)],
}

SHIFT_START_S, SHIFT_END_S = 8 * 3600 + 1800, 17 * 3600 + 1800
LUNCH = Break(12 * 3600, 14 * 3600, 45 * 60)
MAX_VISITS = 40

#: Rough minutes of driving per visit, to size the reps' territories (owners).
_DRIVE_MIN_PER_VISIT = 6.0


def city_extent_km(n_stores: int) -> float:
    """Width of the city: 15 km at 100 stores or fewer, up to 25 km at 2,000 or more."""
    return 15.0 + 10.0 * min(1.0, max(0.0, (n_stores - 100) / 1900))


def _to_latlon(xy_km: np.ndarray) -> np.ndarray:
    lat = CENTRE_LAT + xy_km[:, 1] / 111.2
    lon = CENTRE_LON + xy_km[:, 0] / (111.2 * math.cos(math.radians(CENTRE_LAT)))
    return np.column_stack([lat, lon])


def _store_positions(n: int, extent_km: float, rng: np.random.Generator) -> np.ndarray:
    """Positions in km from the centre: 45 % in the centre, 40 % in 4-8 towns, 15 % anywhere."""
    half = extent_km / 2
    n_towns = int(rng.integers(4, 9))
    angles = rng.uniform(0, 2 * math.pi, n_towns)
    radii = rng.uniform(0.35, 0.8, n_towns) * half
    towns = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
    sizes = rng.uniform(0.5, 1.5, n_towns)
    kind = rng.choice(3, size=n, p=[0.45, 0.40, 0.15])
    xy = np.empty((n, 2))
    centre = kind == 0
    xy[centre] = rng.normal(0, half / 4, (centre.sum(), 2))
    town = kind == 1
    which = rng.choice(n_towns, size=town.sum(), p=sizes / sizes.sum())
    xy[town] = towns[which] + rng.normal(0, 1, (town.sum(), 2)) * rng.uniform(0.6, 1.6, n_towns)[which, None]
    scattered = kind == 2
    xy[scattered] = rng.uniform(-half, half, (scattered.sum(), 2))
    return np.clip(xy, -half, half)


def _homes(xy: np.ndarray, n_reps: int, rng: np.random.Generator) -> np.ndarray:
    """Reps' homes: k-means centres of the stores (reps live near their work), moved up to
    about 1.5 km at random."""
    centres = xy[rng.choice(len(xy), size=n_reps, replace=len(xy) < n_reps)].copy()
    for _ in range(15):
        nearest = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        for k in range(n_reps):
            members = xy[nearest == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    return centres + rng.normal(0, 0.75, centres.shape)


def _owners(xy: np.ndarray, homes: np.ndarray, work_min: np.ndarray) -> np.ndarray:
    """Balanced territories: each store to the nearest rep whose share is not yet full (110 %
    of an equal share of the work); the stores with most to lose from a second choice go first."""
    dist = np.sqrt(((xy[:, None, :] - homes[None, :, :]) ** 2).sum(axis=2))
    limit = 1.1 * work_min.sum() / len(homes)
    ranked = np.sort(dist, axis=1)
    regret = ranked[:, 1] - ranked[:, 0] if len(homes) > 1 else np.zeros(len(xy))
    load = np.zeros(len(homes))
    owner = np.empty(len(xy), dtype=int)
    for i in np.argsort(-regret, kind="stable"):
        order = np.argsort(dist[i], kind="stable")
        k = next((k for k in order if load[k] + work_min[i] <= limit), order[0])
        owner[i], load[k] = k, load[k] + work_min[i]
    return owner


def _territory(n_stores: int, n_reps: int, seed: int, *, owners: bool, weeks: int) -> tuple[list[Store], list[Rep]]:
    if n_stores < 1 or n_reps < 1:
        raise ValueError("a territory needs at least one store and one rep")
    rng = np.random.default_rng(seed)
    xy = _store_positions(n_stores, city_extent_km(n_stores), rng)
    homes = _homes(xy, n_reps, rng)
    names = list(CLASS_MIX)
    classes = rng.choice(names, size=n_stores, p=[CLASS_MIX[c] for c in names])
    hours = []
    for c in classes:
        options, weights = zip(*HOURS[c])
        w = np.array(weights, dtype=float)
        hours.append(options[int(rng.choice(len(options), p=w / w.sum()))])
    owner = None
    if owners:
        work = np.array([required_visits(POLICY.classes[c], weeks) * (POLICY.classes[c].service_min + _DRIVE_MIN_PER_VISIT)
                         for c in classes])
        owner = _owners(xy, homes, work)
    width = len(str(n_stores))
    rep_ids = [f"R{k + 1:02d}" for k in range(n_reps)]
    latlon, home_latlon = _to_latlon(xy), _to_latlon(homes)
    stores = [
        Store(f"S{i + 1:0{width}d}", f"Store {i + 1}", round(float(latlon[i, 0]), 6), round(float(latlon[i, 1]), 6),
              str(classes[i]), hours[i], rep_id=rep_ids[owner[i]] if owner is not None else None)
        for i in range(n_stores)
    ]
    reps = [
        Rep(rep_ids[k], f"Rep {k + 1}", round(float(home_latlon[k, 0]), 6), round(float(home_latlon[k, 1]), 6),
            round(float(home_latlon[k, 0]), 6), round(float(home_latlon[k, 1]), 6),
            shift_start_s=SHIFT_START_S, shift_end_s=SHIFT_END_S, lunch=LUNCH, working_days="Mo-Fr",
            max_visits=MAX_VISITS)
        for k in range(n_reps)
    ]
    return stores, reps


def synthetic_day(
    n_stores: int, n_reps: int, seed: int = 0, *, owners: bool = False
) -> tuple[list[Store], list[Rep], Policy, dt.date]:
    """A one-day instance: ``n_stores`` stores to visit on a Tuesday by ``n_reps`` reps.

    Every store is requested that day (a large day has more stores than the team can visit:
    the lowest-priority visits are to be left out first). ``owners``: each store belongs to
    a rep (balanced territories around the reps' homes); default: any rep may visit any
    store. The same arguments always give the same instance.
    """
    stores, reps = _territory(n_stores, n_reps, seed, owners=owners, weeks=1)
    return stores, reps, POLICY, DAY_DATE


def synthetic_cycle(
    n_stores: int, n_reps: int, seed: int = 0, *, weeks: int = 4, owners: bool = True,
    holidays: frozenset[dt.date] = frozenset(),
) -> tuple[list[Store], list[Rep], Policy, Cycle]:
    """A cycle instance: ``n_stores`` stores visited at their class's frequency over
    ``weeks`` weeks from a Monday by ``n_reps`` reps.

    ``owners`` (default): each store belongs to one rep, territories balanced by work
    (visits x (visit length + about 6 min of driving)); otherwise any rep may take any
    store. The same arguments always give the same instance.
    """
    stores, reps = _territory(n_stores, n_reps, seed, owners=owners, weeks=weeks)
    return stores, reps, POLICY, Cycle(CYCLE_START, weeks, holidays)
