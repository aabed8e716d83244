"""The travel model a plan is made on: straight lines, the bundled demo roads, or an OSM file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from routing import roads
from routing.daily import day_matrix
from routing.travel import TravelMatrix, places_of

def _data_dir() -> Path:
    """The demo data: installed as the package ``fieldroute_data`` (``data/`` in a checkout)."""
    try:
        from importlib.resources import files

        return Path(str(files("fieldroute_data")))
    except ModuleNotFoundError:  # running from a checkout that was not installed
        return Path(__file__).resolve().parents[1] / "data"


DATA_DIR = _data_dir()
DEMO_DIR = DATA_DIR / "demo"
DEMO_PBF = DATA_DIR / "osm" / "monaco.osm.pbf"
log = logging.getLogger("fieldroute")


def cache_dir() -> Path:
    """Where road graphs and matrices are cached: $FIELDROUTE_CACHE or ~/.cache/fieldroute."""
    return Path(os.environ.get("FIELDROUTE_CACHE") or Path.home() / ".cache" / "fieldroute")


def road_network(network: str, *, place: str | None = None, cache: Path | None = None) -> roads.RoadNetwork | None:
    """The road network ``network`` names ('demo' or an .osm/.osm.pbf path; a ``place`` is
    downloaded through osmnx), or None for 'straight'."""
    if place:
        return roads.road_network_from_place(place, cache_dir=cache or cache_dir())
    if network == "straight":
        return None
    return roads.build_road_network(DEMO_PBF if network == "demo" else Path(network), cache_dir=cache or cache_dir())


def travel_for(network: roads.RoadNetwork | None, stores, reps, policy, *, cache: Path | None = None) -> tuple[TravelMatrix, dict | None]:
    """The travel matrix between the team's places on ``network`` (the policy's straight-line
    model if None), and how far places were snapped to roads (None for straight lines)."""
    if network is None:
        return day_matrix(stores, reps, policy), None
    points = places_of(stores, reps)
    snaps = network.snap(points)
    far = [s for s in snaps if s.distance_m > roads.SNAP_WARN_M]
    for snap in far:
        log.warning("%s is %.0f m from the nearest road node", snap.key, snap.distance_m)
    snapping = {
        "max_m": round(max((s.distance_m for s in snaps), default=0.0), 1),
        "median_m": round(float(np.median([s.distance_m for s in snaps])) if snaps else 0.0, 1),
        f"over_{roads.SNAP_WARN_M:.0f}_m": [s.key for s in far],
    }
    return roads.road_matrix(network, points, cache_dir=cache or cache_dir()), snapping
