"""Tiny named fixtures: small teams that are easy to reason about."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from routing.model import Break, ClassPolicy, Policy, Rep, Store

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
DATA = Path(__file__).parent / "data"
THURSDAY = dt.date(2026, 12, 3)
SUNDAY = dt.date(2026, 12, 6)

POLICY = Policy(
    time_zone="Europe/Helsinki",
    classes={
        "A": ClassPolicy("A", 2, 30, 3),
        "B": ClassPolicy("B", 1, 20, 2),
        "C": ClassPolicy("C", 0.5, 15, 1),
    },
    speed_kmh=30,
    circuity=1.3,
)


def rep(rep_id="R1", lat=60.17, lon=24.94, *, shift=(8, 17), lunch=None, **kw) -> Rep:
    """A rep living at (lat, lon), shift in whole hours, optional lunch (start_h, end_h, minutes)."""
    brk = Break(int(lunch[0] * 3600), int(lunch[1] * 3600), lunch[2] * 60) if lunch else None
    return Rep(rep_id, f"Rep {rep_id}", lat, lon, lat, lon, int(shift[0] * 3600), int(shift[1] * 3600), brk, **kw)


def store(store_id, dlat=0.0, dlon=0.0, cls="B", hours="", **kw) -> Store:
    """A store offset (dlat, dlon) degrees from the centre of town."""
    return Store(store_id, f"Store {store_id}", 60.17 + dlat, 24.94 + dlon, cls, hours, **kw)


@pytest.fixture
def ok_small():
    """OkSmall: one rep with lunch, four stores within 2 km, all open; everything fits."""
    stores = [
        store("S1", 0.005, 0.0, "A", "Mo-Fr 09:00-17:00"),
        store("S2", -0.004, 0.01, "B", "Mo-Sa 08:00-12:00,13:00-18:00"),
        store("S3", 0.01, -0.01, "C"),
        store("S4", -0.01, -0.005, "B", "24/7"),
    ]
    return stores, [rep(lunch=(11.5, 13.5, 45))], POLICY


@pytest.fixture(scope="session")
def demo_roads():
    """The drivable network of the bundled Monaco extract, built once per run (about 3 s)."""
    from routing.roads import build_road_network

    return build_road_network(ROOT / "data" / "osm" / "monaco.osm.pbf")
