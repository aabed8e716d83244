"""Folium map of a day plan: one colour per rep, numbered stops, unassigned stores apart,
over the streets of the road network when the plan was made on one (readable offline)."""

from __future__ import annotations

import datetime as dt
import math
from html import escape as html_escape
from collections.abc import Sequence
from pathlib import Path

import folium
from branca.element import MacroElement
from jinja2 import Template

from routing.clock import DayClock
from routing.model import DayPlan, Rep, Store

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"]
LEAFLET = Path(__file__).parent / "static" / "leaflet-1.9.4"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
STREET_MARGIN_M = 500.0  # streets drawn this far beyond the plan's places: legs may leave their box
STREET_STYLE = {"color": "#999", "weight": 1.5, "opacity": 0.9}


def _safe(text: str) -> str:
    """Text for a tooltip or popup: folium puts it in HTML inside a JavaScript template string."""
    return html_escape(text).replace("`", "&#96;").replace("${", "&#36;{")


def _clock(plan: DayPlan, seconds: int) -> str:
    """Local clock time of plan ``seconds`` (real time since midnight, ``routing.clock``): the
    one formatter of plan times (``DayClock.clock_time``)."""
    return DayClock(dt.date.fromisoformat(plan.date), plan.time_zone).clock_time(seconds)


# Folium's popups build their content with jQuery as `$(html)[0]`; this is all of it they use.
_JQUERY_STANDIN = (
    "window.$ = window.$ || function (html) {"
    " var t = document.createElement('template'); t.innerHTML = html.trim(); return [t.content.firstChild]; };"
)


def _self_contained_map() -> folium.Map:
    """A map whose page carries Leaflet inline and loads no other script or style sheet.

    Folium links Leaflet, jQuery, Bootstrap and icon fonts from CDNs; our maps use plain
    Leaflet only (div icons, no font icons), so the file works offline except for the tiles.
    """
    fmap = folium.Map(tiles=None, control_scale=False)
    fmap.default_js, fmap.default_css = [], []
    _MetricScale().add_to(fmap)
    header = fmap.get_root().header
    header.add_child(folium.Element(f"<style>{(LEAFLET / 'leaflet.css').read_text()}</style>"), name="leaflet_css")
    header.add_child(folium.Element(f"<script>{(LEAFLET / 'leaflet.js').read_text()}</script>"), name="leaflet_js")
    header.add_child(folium.Element(f"<script>{_JQUERY_STANDIN}</script>"), name="jquery_standin")
    return fmap


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only: folium's ``control_scale`` adds miles and feet too."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


def _street_layer(roads, points: Sequence[tuple[float, float]]) -> folium.FeatureGroup:
    """The network's streets around ``points`` as one thin grey multi-polyline, so the map shows
    where the roads are without tiles. It has a pane under the other lines (z-index 350, routes
    are at 400) and takes no clicks, so it stays under the routes when it is toggled back on."""
    layer = folium.FeatureGroup(name="Streets")
    lines = roads.streets(_bbox(points, STREET_MARGIN_M))
    if lines:
        streets = folium.PolyLine(lines, **STREET_STYLE)
        streets.options.update(pane="streets", interactive=False)  # folium's path options drop both
        streets.add_to(layer)
    return layer


def _bbox(points: Sequence[tuple[float, float]], margin_m: float) -> tuple[float, float, float, float]:
    """(south, west, north, east) of ``points`` widened by ``margin_m``."""
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    dlat = margin_m / 111_195
    dlon = dlat / max(math.cos(math.radians(max(map(abs, lats)))), 0.01)
    return min(lats) - dlat, min(lons) - dlon, max(lats) + dlat, max(lons) + dlon


def _place_icon(symbol: str, colour: str) -> folium.DivIcon:
    return folium.DivIcon(
        icon_size=(26, 26),
        icon_anchor=(13, 13),
        html=f'<div style="background:#fff;border:3px solid {colour};border-radius:4px;width:26px;height:26px;'
        f'line-height:20px;text-align:center;font:16px sans-serif">{symbol}</div>',
    )


def _numbered_icon(number: int, colour: str) -> folium.DivIcon:
    return folium.DivIcon(
        icon_size=(24, 24),
        icon_anchor=(12, 12),
        html=(
            f'<div style="background:{colour};color:#fff;border:2px solid #fff;border-radius:12px;width:24px;'
            f'height:24px;line-height:20px;text-align:center;font:bold 12px sans-serif;box-shadow:0 0 3px #000">'
            f"{number}</div>"
        ),
    )


def route_map(plan: DayPlan, stores: Sequence[Store], reps: Sequence[Rep], *, roads=None) -> folium.Map:
    """Build the map. With ``roads`` (a ``routing.travel.Roads``) each leg follows the
    fastest road path; without, legs are straight lines between stops."""
    by_store = {s.id: s for s in stores}
    by_rep = {r.id: r for r in reps}
    points = [(s.lat, s.lon) for s in stores] + [(r.start_lat, r.start_lon) for r in reps] + [(r.end_lat, r.end_lon) for r in reps]
    fmap = _self_contained_map()
    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap").add_to(fmap)
    if points:
        fmap.fit_bounds([[min(p[0] for p in points), min(p[1] for p in points)], [max(p[0] for p in points), max(p[1] for p in points)]])
    if roads is not None and points:
        folium.map.CustomPane("streets", z_index=350).add_to(fmap)
        _street_layer(roads, points).add_to(fmap)
    legend = []
    for n, route in enumerate(plan.routes):
        colour = PALETTE[n % len(PALETTE)]
        rep = by_rep[route.rep_id]
        summary = route.summary
        layer = folium.FeatureGroup(name=_safe(f"{rep.name} ({summary.visits} visits)"))
        path = [(rep.start_lat, rep.start_lon)]
        number = 0
        for stop in route.stops:
            if stop.type != "visit":
                continue
            number += 1
            store = by_store.get(stop.store_id)
            if store is None:  # a store this map was not given: no marker, the line goes by
                continue
            path.append((store.lat, store.lon))
            popup = (
                f"<b>{number}. {_safe(store.name)}</b> ({_safe(store.id)})<br>"
                f"class {_safe(store.store_class)} · rep {_safe(rep.name)}<br>"
                f"ETA {_clock(plan, stop.arrival_s)} · visit {_clock(plan, stop.start_s)}-{_clock(plan, stop.end_s)}<br>"
                f"opening hours: {_safe(store.opening_hours or 'always open')}"
            )
            folium.Marker(
                (store.lat, store.lon),
                icon=_numbered_icon(number, colour),
                tooltip=_safe(f"{number}. {store.name} ({_clock(plan, stop.start_s)})"),
                popup=folium.Popup(popup, max_width=320),
            ).add_to(layer)
        path.append((rep.end_lat, rep.end_lon))
        if roads is not None:
            path = _along_roads(roads, path)
        folium.PolyLine(path, color=colour, weight=4, opacity=0.8).add_to(layer)
        start, end = route.stops[0], route.stops[-1]
        folium.Marker(
            (rep.start_lat, rep.start_lon),
            icon=_place_icon("&#8962;", colour),
            tooltip=_safe(f"{rep.name}: start {_clock(plan, start.start_s)}"),
        ).add_to(layer)
        if (rep.end_lat, rep.end_lon) != (rep.start_lat, rep.start_lon):
            folium.Marker(
                (rep.end_lat, rep.end_lon),
                icon=_place_icon("&#9873;", colour),
                tooltip=_safe(f"{rep.name}: end {_clock(plan, end.arrival_s)}"),
            ).add_to(layer)
        layer.add_to(fmap)
        hours = summary.span_s / 3600
        legend.append(f'<span style="color:{colour}">&#9632;</span> {_safe(rep.name)}: {summary.visits} visits, {hours:.1f} h')
    if plan.unassigned:
        layer = folium.FeatureGroup(name=f"Unassigned ({len(plan.unassigned)})")
        for u in plan.unassigned:
            store = by_store.get(u.store_id)
            if store is None:
                continue
            folium.CircleMarker(
                (store.lat, store.lon),
                radius=7,
                color="#000",
                weight=2,
                fill=True,
                fill_color="#fff",
                fill_opacity=0.9,
                dash_array="3",
                tooltip=_safe(f"not visited: {store.name} ({u.reason})"),
                popup=folium.Popup(f"<b>{_safe(store.name)}</b><br>{_safe(u.reason)}: {_safe(u.detail)}", max_width=320),
            ).add_to(layer)
        layer.add_to(fmap)
        legend.append(f"&#9675; unassigned: {len(plan.unassigned)}")
    folium.LayerControl(collapsed=False).add_to(fmap)
    box = (
        '<div id="fieldroute-legend" style="position:fixed;bottom:24px;left:12px;z-index:9999;background:#fff;'
        'padding:8px 10px;border:1px solid #888;border-radius:4px;font:13px sans-serif">'
        f"<b>Routes {_safe(plan.date)}</b><br>" + "<br>".join(legend) + f"<br><small>Map data {OSM_ATTRIBUTION}</small></div>"
    )
    fmap.get_root().html.add_child(folium.Element(box))
    return fmap


def _along_roads(roads, stops: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The polyline through ``stops`` along the fastest road path of each leg."""
    from routing.travel import Point

    line: list[tuple[float, float]] = []
    for a, b in zip(stops, stops[1:]):
        line += roads.path(Point(*a), Point(*b))
    return line


def save_route_map(plan: DayPlan, stores: Sequence[Store], reps: Sequence[Rep], path: Path, *, roads=None) -> Path:
    """Write the map as one HTML file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    route_map(plan, stores, reps, roads=roads).save(str(path))
    return path
