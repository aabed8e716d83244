"""The travel model a plan is made on: straight lines, the bundled demo roads, an OSM file on the
embedded engine, or OSRM (an extract preprocessed here, or a shared osrm-routed)."""

from __future__ import annotations

import logging
import os
import urllib.parse
from pathlib import Path

import numpy as np

from . import osrm, roads
from .daily import day_matrix
from .travel import RoadNetworkError, Roads, TravelMatrix, places_of


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


NETWORKS = ("'straight', 'demo' (the bundled Monaco roads), the path of an .osm/.osm.pbf file (the embedded engine), "
            "'osrm:' and such a path or 'demo' (OSRM, preprocessed here once), or 'osrm+http://HOST:PORT' (a shared osrm-routed)")


def check_network(name: str) -> str:
    """``name`` if it names a travel model (files must exist; a server is not asked), else a
    RoadNetworkError (a ValueError) saying what is expected."""
    if name in ("straight", "demo") or name == "osrm:demo":
        return name
    if name.startswith("osrm+http://") or name.startswith("osrm+https://"):
        url = urllib.parse.urlsplit(name.removeprefix("osrm+"))
        if url.hostname and not url.query and url.path in ("", "/"):
            return name
        raise RoadNetworkError(f"expected osrm+http://HOST:PORT, got {name!r}")
    path = Path(name.removeprefix("osrm:"))
    if not path.is_file():
        raise RoadNetworkError(f"expected {NETWORKS}; got {name!r}, and {str(path)!r} is not a file")
    return name


def road_network(network: str, *, place: str | None = None, cache: Path | None = None) -> Roads | None:
    """The road engine ``network`` names (see ``NETWORKS``; a ``place`` is downloaded through
    osmnx), or None for 'straight'."""
    cache = cache or cache_dir()
    if place:
        return roads.road_network_from_place(place, cache_dir=cache)
    if check_network(network) == "straight":
        return None
    if network.startswith("osrm+"):
        return osrm.remote(network.removeprefix("osrm+"))
    if network.startswith("osrm:"):
        name = network.removeprefix("osrm:")
        return osrm.local(DEMO_PBF if name == "demo" else Path(name), cache)
    return roads.build_road_network(DEMO_PBF if network == "demo" else Path(network), cache_dir=cache)


def travel_for(network: Roads | None, stores, reps, policy, *, cache: Path | None = None) -> tuple[TravelMatrix, dict | None]:
    """The travel matrix between the team's places on ``network`` (the policy's straight-line
    model if None), and how far places were snapped to roads (None for straight lines)."""
    if network is None:
        return day_matrix(stores, reps, policy), None
    points = places_of(stores, reps)
    snaps = network.snap(points)
    far = [s for s in snaps if s.distance_m > roads.SNAP_WARN_M]
    for snap in far:
        log.warning("%s is %.0f m from the nearest road", snap.key, snap.distance_m)
    snapping = {
        "max_m": round(max((s.distance_m for s in snaps), default=0.0), 1),
        "median_m": round(float(np.median([s.distance_m for s in snaps])) if snaps else 0.0, 1),
        f"over_{roads.SNAP_WARN_M:.0f}_m": [s.key for s in far],
    }
    return roads.road_matrix(network, points, cache_dir=cache or cache_dir()), snapping
