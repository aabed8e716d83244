"""Road-network travel: a drivable OpenStreetMap graph, places snapped to it, shortest paths.

The graph comes from an OSM file (``.osm`` XML through osmnx, ``.osm.pbf`` through pyrosm),
gets speeds and travel times from osmnx, and keeps its largest strongly connected part, so
every snapped place can reach every other. Matrices are many-to-many Dijkstra runs with
``scipy.sparse.csgraph`` on the directed graph: one-way streets make them asymmetric.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from .travel import EARTH_RADIUS_M, Point, RoadNetworkError, Roads, Snap, TravelMatrix, haversine_m

#: km/h by OSM highway type, used where an edge has no usable ``maxspeed`` tag.
DEFAULT_SPEEDS_KMH = {
    "motorway": 100, "motorway_link": 60, "trunk": 80, "trunk_link": 50, "primary": 60, "primary_link": 40,
    "secondary": 50, "secondary_link": 40, "tertiary": 40, "tertiary_link": 30, "unclassified": 30,
    "residential": 30, "living_street": 10, "service": 15, "road": 30,
}
FALLBACK_SPEED_KMH = 30
SNAP_WARN_M = 250.0
CACHE_VERSION = 1  # bump when graph building or the weight encoding changes
_CHUNK = 256  # sources per Dijkstra call: bounds memory at 256 x nodes distances
_SPLIT = float(2**24)  # combined weight = decisecond travel time x 2^24 + decimetres (exact in float64)
# Cached graphs and matrices are only valid for the same speed model and encoding.
_MODEL_KEY = "v{}-{}".format(
    CACHE_VERSION,
    hashlib.sha256(repr((sorted(DEFAULT_SPEEDS_KMH.items()), FALLBACK_SPEED_KMH, _SPLIT)).encode()).hexdigest()[:8],
)


class RoadNetwork:
    """A directed drivable graph as arrays: node positions and edge time/length (min over parallels)."""

    def __init__(self, node_ids: np.ndarray, lat: np.ndarray, lon: np.ndarray, tail: np.ndarray, head: np.ndarray,
                 time_s: np.ndarray, length_m: np.ndarray, *, source: str):
        self.node_ids, self.lat, self.lon, self.source = node_ids, lat, lon, source
        n = len(node_ids)
        weight = np.maximum(np.rint(time_s * 10), 1) * _SPLIT + np.rint(length_m * 10)
        order = np.lexsort((weight, head, tail))  # keep the cheapest of parallel edges
        tail, head, weight = tail[order], head[order], weight[order]
        first = np.ones(len(tail), dtype=bool)
        first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
        self.graph = csr_matrix((weight[first], (tail[first], head[first])), shape=(n, n))
        self._tree = cKDTree(_unit_vectors(lat, lon))
        self.edge_geometry: dict[tuple[int, int], list[tuple[float, float]]] = {}
        self.digest = ""

    @property
    def size(self) -> tuple[int, int]:
        """(nodes, directed edges)."""
        return len(self.node_ids), self.graph.nnz

    def snap(self, points: Mapping[str, Point]) -> list[Snap]:
        """Nearest graph node of each point, with the straight-line distance to it."""
        keys = list(points)
        lat = np.array([points[k].lat for k in keys])
        lon = np.array([points[k].lon for k in keys])
        _, nearest = self._tree.query(_unit_vectors(lat, lon))
        roads = [Point(float(self.lat[i]), float(self.lon[i])) for i in nearest]
        return [Snap(k, haversine_m(points[k], road), road, int(i)) for k, i, road in zip(keys, nearest, roads)]

    def matrix(self, points: Mapping[str, Point]) -> TravelMatrix:
        """Travel seconds and metres along the fastest road path between every pair of points.

        Points snapped to the same node are zero apart. The way from a point to its node is
        not counted (see ``snap`` for how far that is).
        """
        snaps = self.snap(points)
        nodes = np.array([s.node for s in snaps], dtype=np.int64)
        unique, inverse = np.unique(nodes, return_inverse=True)
        combined = np.vstack([
            dijkstra(self.graph, directed=True, indices=unique[i : i + _CHUNK])[:, unique]
            for i in range(0, len(unique), _CHUNK)
        ])
        if not np.isfinite(combined).all():
            raise RoadNetworkError("some places cannot reach each other on the road graph")
        combined = combined[np.ix_(inverse, inverse)]
        seconds = np.ceil(np.floor(combined / _SPLIT) / 10).astype(np.int64)
        metres = np.rint(np.mod(combined, _SPLIT) / 10).astype(np.int64)
        return TravelMatrix([s.key for s in snaps], seconds, metres, source=self.source)

    def path(self, a: Point, b: Point) -> list[tuple[float, float]]:
        """The fastest road path from ``a`` to ``b`` as (lat, lon) pairs, for drawing."""
        (sa, sb) = self.snap({"a": a, "b": b})
        _, pred = dijkstra(self.graph, directed=True, indices=sa.node, return_predecessors=True)
        nodes, node = [], sb.node
        while node >= 0 and node != sa.node:
            nodes.append(node)
            node = pred[node]
        nodes.append(sa.node)
        nodes.reverse()
        line = [(a.lat, a.lon), (float(self.lat[nodes[0]]), float(self.lon[nodes[0]]))]
        for u, v in zip(nodes, nodes[1:]):
            line += self.edge_geometry.get((u, v), [])
            line.append((float(self.lat[v]), float(self.lon[v])))
        line.append((b.lat, b.lon))
        return line

    def streets(self, bbox: tuple[float, float, float, float]) -> list[list[tuple[float, float]]]:
        """``street_lines`` within ``bbox``."""
        return street_lines(self, bbox)


#: Douglas-Peucker tolerance of ``street_lines``. The Monaco demo network (12,744 street
#: segments) as (lat, lon) JSON at 5 decimals: 301 KB unsimplified, 228 KB at 1 m, 188 KB at
#: 2 m, 165 KB at 3 m, 139 KB at 5 m, 114 KB at 10 m. 3 m is about 2 px at zoom 16.
STREET_TOLERANCE_M = 3.0
_M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180


def street_lines(network: RoadNetwork, bbox: tuple[float, float, float, float] | None = None, *,
                 tolerance_m: float = STREET_TOLERANCE_M) -> list[list[tuple[float, float]]]:
    """The network's streets as (lat, lon) polylines, for drawing a map that needs no tiles.

    A two-way street is drawn once, edges are merged into lines between junctions, then
    clipped to ``bbox`` (south, west, north, east), widened to whole 1e-5 degrees so that
    every rounded point lies inside it, and simplified within ``tolerance_m`` (shapes are kept:
    a roundabout stays a ring). Coordinates are rounded to 5 decimals (about 1 m).
    """
    import shapely

    lines = _street_segments(network)
    if not lines:
        return []
    merged = shapely.line_merge(shapely.MultiLineString(lines))
    if bbox is not None:
        south, west = (math.floor(v * 1e5) / 1e5 for v in bbox[:2])
        north, east = (math.ceil(v * 1e5) / 1e5 for v in bbox[2:])
        merged = shapely.clip_by_rect(merged, west, south, east, north)
    # simplify in metres: a degree of longitude is shorter than one of latitude
    scale = np.array([_M_PER_DEGREE * math.cos(math.radians(float(np.mean(network.lat)))), _M_PER_DEGREE])
    metric = shapely.transform(merged, lambda xy: xy * scale)
    simple = shapely.transform(shapely.simplify(metric, tolerance_m, preserve_topology=True), lambda xy: xy / scale)
    result = []
    for part in shapely.get_parts(simple):
        if part.geom_type != "LineString":  # clipping can leave a lone point on the edge
            continue
        line: list[tuple[float, float]] = []
        for lon, lat in part.coords:
            point = (round(lat, 5), round(lon, 5))
            if not line or line[-1] != point:
                line.append(point)
        if len(line) >= 2:
            result.append(line)
    return result


def _street_segments(network: RoadNetwork) -> list[list[tuple[float, float]]]:
    """One (lon, lat) line per pair of adjacent nodes, with the edge's own shape if it has one."""
    edges = network.graph.tocoo()
    pairs = np.unique(np.column_stack([np.minimum(edges.row, edges.col), np.maximum(edges.row, edges.col)]), axis=0)
    lines = []
    for u, v in pairs.tolist():
        if u == v:
            continue
        inner = network.edge_geometry.get((u, v)) or network.edge_geometry.get((v, u), [])[::-1]
        lines.append([(float(network.lon[u]), float(network.lat[u]))] + [(lon, lat) for lat, lon in inner]
                     + [(float(network.lon[v]), float(network.lat[v]))])
    return lines


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]) * EARTH_RADIUS_M


def _drivable_only(graph):
    """Drop ways a car may not use (footways, steps, private or no-motor access ...).

    pyrosm's "driving" network is filtered already; osmnx's XML reader keeps every way."""
    def drivable(data) -> bool:
        highway = data.get("highway")
        kinds = highway if isinstance(highway, list) else [highway]
        blocked = {"no", "private"} & {str(data.get("access")), str(data.get("motor_vehicle")), str(data.get("motorcar"))}
        return any(k in DEFAULT_SPEEDS_KMH for k in kinds) and not blocked and str(data.get("area")) != "yes"

    graph.remove_edges_from([(u, v, k) for u, v, k, data in graph.edges(keys=True, data=True) if not drivable(data)])
    return graph


def _finish(graph):
    """Largest strongly connected part, then osmnx speeds and travel times."""
    import osmnx as ox

    graph = ox.truncate.largest_component(graph, strongly=True)
    graph = ox.routing.add_edge_speeds(graph, hwy_speeds=DEFAULT_SPEEDS_KMH, fallback=FALLBACK_SPEED_KMH)
    return ox.routing.add_edge_travel_times(graph)


def _drive_graph(path: Path):
    """An osmnx MultiDiGraph of the drivable roads in an OSM file, with speeds and times."""
    import osmnx as ox

    name = path.name.lower()
    if name.endswith(".pbf"):
        import pyrosm

        osm = pyrosm.OSM(str(path))
        nodes, edges = osm.get_network(network_type="driving", nodes=True)
        if edges is None or len(edges) == 0:
            raise RoadNetworkError(f"{path.name}: no drivable roads")
        graph = osm.to_graph(nodes, edges, graph_type="networkx", osmnx_compatible=True, simplify=False)
    elif name.endswith((".osm", ".xml")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = _drivable_only(ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True))
        if graph.number_of_edges() == 0:
            raise RoadNetworkError(f"{path.name}: no drivable roads")
    else:
        raise RoadNetworkError(f"{path.name}: expected an .osm, .xml or .osm.pbf file")
    return _finish(graph)


def network_from_graph(graph, *, source: str, digest: str = "") -> RoadNetwork:
    """Arrays of an osmnx graph that has ``travel_time`` and ``length`` on its edges."""
    ids = np.array(list(graph.nodes), dtype=np.int64)
    index = {n: i for i, n in enumerate(ids.tolist())}
    lat = np.array([graph.nodes[n]["y"] for n in ids.tolist()], dtype=float)
    lon = np.array([graph.nodes[n]["x"] for n in ids.tolist()], dtype=float)
    tail, head, time_s, length_m, geometry = [], [], [], [], {}
    for u, v, data in graph.edges(data=True):
        tail.append(index[u])
        head.append(index[v])
        time_s.append(float(data["travel_time"]))
        length_m.append(float(data["length"]))
        if "geometry" in data:
            geometry.setdefault((index[u], index[v]), [(y, x) for x, y in data["geometry"].coords][1:-1])
    network = RoadNetwork(ids, lat, lon, np.array(tail), np.array(head), np.array(time_s), np.array(length_m),
                          source=f"{source} ({len(ids)} nodes)")
    network.edge_geometry = geometry
    network.digest = digest
    return network


def _cached(cache_dir: Path | None, name: str, build):
    """Load ``name`` from ``cache_dir`` or build it and store it there."""
    if cache_dir is None:
        return build()
    path = Path(cache_dir) / f"{_MODEL_KEY}-{name}"
    if path.exists():
        with open(path, "rb") as f:
            return pickle.load(f)
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
        pickle.dump(value, f)
    Path(f.name).replace(path)  # atomic: a concurrent reader sees the old file or the new one
    return value


def build_road_network(path: Path, *, cache_dir: Path | None = None) -> RoadNetwork:
    """Build (or load from ``cache_dir``) the road network of an OSM file.

    The cache key is the file's SHA-256, so an edited file is rebuilt.
    """
    path = Path(path)
    if not path.is_file():
        raise RoadNetworkError(f"{path}: no such file")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return _cached(
        cache_dir,
        f"roads-{digest}.pickle",
        lambda: network_from_graph(_drive_graph(path), source=f"roads {path.name}", digest=digest),
    )


def road_network_from_place(place: str, *, cache_dir: Path | None = None) -> RoadNetwork:
    """Download the drivable network of a place name through osmnx (needs internet)."""
    import osmnx as ox

    def build():
        graph = _finish(ox.graph_from_place(place, network_type="drive", simplify=False))
        return network_from_graph(graph, source=f"roads of {place}", digest=place)

    key = hashlib.sha256(place.encode()).hexdigest()[:16]
    return _cached(cache_dir, f"place-{key}.pickle", build)


def road_matrix(network: Roads, points: Mapping[str, Point], *, cache_dir: Path | None = None) -> TravelMatrix:
    """``network.matrix(points)``, cached on disk by network and points (not cached for an
    engine whose data has no digest, such as a shared OSRM server)."""
    if not network.digest:
        return network.matrix(points)
    h = hashlib.sha256(network.digest.encode())
    for key, p in points.items():
        h.update(f"{key}|{p.lat:.7f}|{p.lon:.7f}\n".encode())
    return _cached(cache_dir, f"matrix-{h.hexdigest()[:24]}.pickle", lambda: network.matrix(points))
