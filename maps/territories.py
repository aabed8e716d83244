"""The supervisor's territory page: a folium map with the stores coloured by their rep, each
territory's outline, the reps' homes, and a panel with a workload bar per rep. A small local
script (``static/territory.js``, inlined like Leaflet: the page works offline) lets a
supervisor select stores, pick a rep, preview the routed workloads and apply the move; a
proposal is drawn with its moved stores ringed in their new rep's colour. Signed in, each rep's
row makes a one-time sign-in link for the rep's phone and shows it with its QR code."""

from __future__ import annotations

import colorsys
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
from branca.element import MacroElement
from jinja2 import Template

from routing.model import Rep, Store
from routing.territory import Workload

from .routes import OSM_ATTRIBUTION, PALETTE, _place_icon, _safe, _self_contained_map, _street_layer

STATIC = Path(__file__).parent / "static"
NO_REP = "#777777"  # a store no rep visits
STORE_RADIUS = 6
MOVED_RADIUS = 9


def rep_colours(rep_ids: Sequence[str]) -> dict[str, str]:
    """A distinct colour per rep: the route maps' palette, then hues spaced by the golden angle."""
    out = {}
    for n, rep_id in enumerate(rep_ids):
        if n < len(PALETTE):
            out[rep_id] = PALETTE[n]
        else:
            r, g, b = colorsys.hls_to_rgb((n * 0.381966) % 1.0, 0.45, 0.65)
            out[rep_id] = f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"
    return out


def store_style(rep: str | None, colours: Mapping[str, str], moved_to: str | None = None) -> dict:
    """A store marker's Leaflet style: filled with its rep's colour; a store a proposal moves
    is larger and ringed in the colour of the rep it goes to. (The script uses the same.)"""
    fill = colours.get(rep, NO_REP) if rep else NO_REP
    if moved_to is None:
        return {"radius": STORE_RADIUS, "fillColor": fill, "color": "#ffffff", "weight": 1, "fillOpacity": 0.9}
    return {"radius": MOVED_RADIUS, "fillColor": fill, "color": colours.get(moved_to, NO_REP), "weight": 4,
            "fillOpacity": 0.9}


class _Page(MacroElement):
    """Starts the page's script once the map and its layers exist (rendered last)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "fieldrouteTerritories({{ this._parent.get_name() }}, {{ this.stores }}, {{ this.outlines }}, {{ this.config }});"
        "{% endmacro %}"
    )

    def __init__(self, stores: folium.GeoJson, outlines: folium.GeoJson, config: dict):
        super().__init__()
        self.stores, self.outlines = stores.get_name(), outlines.get_name()
        # JSON inside a <script>: no "<" at all, so no "</script>" can close it
        self.config = json.dumps(config, ensure_ascii=True).replace("<", "\\u003c")


def territory_map(stores: Sequence[Store], reps: Sequence[Rep], owner: Mapping[str, str | None], loads: Sequence[Workload],
                  outlines: dict, *, moves: Mapping[str, str] | None = None, config: Mapping | None = None,
                  roads=None, extra_reps: Sequence[Rep] = ()) -> folium.Map:
    """The page's map. ``owner``: each store's rep today; ``loads``: the workload table;
    ``outlines``: the territories as GeoJSON (``routing.territory.outlines_geojson``);
    ``moves``: a proposal's store -> new rep, drawn highlighted; ``config``: what the script
    is told (the API's paths, the page's token, the proposal's before/after figures);
    ``extra_reps``: a what-if's new reps (their homes and names)."""
    moves = dict(moves or {})
    reps = [*reps, *(r for r in extra_reps if r.id not in {x.id for x in reps})]
    names = {r.id: r.name for r in reps}
    rep_ids = [*names, *sorted({m for m in moves.values() if m} - set(names))]  # a what-if's new reps too
    colours = rep_colours(rep_ids)
    fmap = _self_contained_map()
    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap").add_to(fmap)
    points = [(s.lat, s.lon) for s in stores] + [(r.start_lat, r.start_lon) for r in reps]
    if points:
        fmap.fit_bounds([[min(p[0] for p in points), min(p[1] for p in points)],
                         [max(p[0] for p in points), max(p[1] for p in points)]])
    if roads is not None and points:
        folium.map.CustomPane("streets", z_index=350).add_to(fmap)
        _street_layer(roads, points).add_to(fmap)
    folium.map.CustomPane("outlines", z_index=380).add_to(fmap)  # under the stores, takes no clicks
    areas = folium.GeoJson(outlines, name="Territories", pane="outlines", interactive=False,
                           style_function=lambda f: {"color": colours.get(f["properties"]["rep_id"], NO_REP), "weight": 2,
                                                     "fillColor": colours.get(f["properties"]["rep_id"], NO_REP),
                                                     "fillOpacity": 0.07, "dashArray": "6 4"})
    areas.add_to(fmap)
    features = [{"type": "Feature", "id": s.id, "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                 "properties": {"id": s.id, "name": s.name, "class": s.store_class, "rep": owner.get(s.id),
                                "to": moves.get(s.id)}} for s in stores]
    layer = folium.GeoJson({"type": "FeatureCollection", "features": features}, name=f"Stores ({len(stores)})",
                           marker=folium.CircleMarker(radius=STORE_RADIUS, fill=True),
                           style_function=lambda f: store_style(f["properties"]["rep"], colours, f["properties"]["to"]))
    layer.add_to(fmap)
    homes = folium.FeatureGroup(name="Homes")
    for rep in reps:
        folium.Marker((rep.start_lat, rep.start_lon), icon=_place_icon("&#8962;", colours[rep.id]),
                      tooltip=_safe(f"{rep.name} ({rep.id}): home")).add_to(homes)
    homes.add_to(fmap)
    folium.LayerControl(collapsed=False, position="topleft").add_to(fmap)
    root = fmap.get_root()
    root.header.add_child(folium.Element('<title>Fieldroute: territories</title><link rel="icon" href="data:,">'),
                          name="title")  # an empty icon: no request for /favicon.ico, no 404 in the console
    root.header.add_child(folium.Element(f"<style>{(STATIC / 'territory.css').read_text()}</style>"), name="territory_css")
    root.header.add_child(folium.Element(f"<script>{(STATIC / 'territory.js').read_text()}</script>"), name="territory_js")
    root.html.add_child(folium.Element(_PANEL))
    page_config = {"reps": [{"id": r, "name": names.get(r, r), "colour": colours[r]} for r in rep_ids],
                   "loads": [w.as_dict() for w in loads], "style": {"radius": STORE_RADIUS, "moved_radius": MOVED_RADIUS,
                                                                    "no_rep": NO_REP}} | dict(config or {})
    _Page(layer, areas, page_config).add_to(fmap)
    return fmap


#: The panel's skeleton; the script fills it (text only, never HTML from data).
_PANEL = """<aside id="fr-panel" aria-label="Territories">
<h1 id="fr-title">Territories</h1>
<p id="fr-subtitle"></p>
<p id="fr-banner" hidden></p>
<table id="fr-workload"><caption>Routed work per rep over the cycle, hours</caption><thead><tr><th>Rep</th><th>Stores</th><th>Work h <small>(service + travel)</small></th>
<th class="fr-after" hidden>After</th><th class="fr-phone" hidden>Phone</th></tr></thead><tbody></tbody></table>
<p id="fr-key"><small>Bars: visits, driving (light), visits beyond the shifts (hatched).</small></p>
<p id="fr-balance"></p>
<p id="fr-other-plan" hidden>Moves and proposals act on the last published plan: <a href="/v1/territories/map">open it</a>.</p>
<section id="fr-move" hidden><h2>Move stores</h2>
<p>Click stores on the map (or <button type="button" id="fr-box">select an area</button>), pick a rep, preview.</p>
<p><span id="fr-selected">No store selected.</span> <button type="button" id="fr-clear">Clear</button></p>
<p><label>To rep <select id="fr-rep"></select></label></p>
<p><button type="button" id="fr-preview">Preview</button> <button type="button" id="fr-apply">Apply the move</button></p>
</section>
<section id="fr-proposal" hidden><h2>Proposal</h2><p id="fr-proposal-text"></p><ol id="fr-moves"></ol>
<p><button type="button" id="fr-apply-proposal">Apply the proposal</button> <a id="fr-back" href="">Back to today's territories</a></p>
</section>
<section id="fr-propose" hidden><h2>Balance the territories</h2>
<p><label>Move at most <input id="fr-max-pct" type="number" min="0" max="100" step="1" value="15"> % of the stores</label></p>
<p><label>Search for <input id="fr-limit" type="number" min="5" max="600" step="5" value="30"> s</label>
<button type="button" id="fr-propose-go">Propose</button></p>
</section>
<p id="fr-status" role="status" aria-live="polite"></p>
<p id="fr-readonly" hidden>Read only: sign in at <a href="/login">/login</a> in this browser to move stores.</p>
</aside>
<dialog id="fr-link" aria-labelledby="fr-link-title"><h2 id="fr-link-title">Sign-in link</h2>
<p id="fr-link-error" hidden></p>
<div id="fr-link-made" hidden><p>The rep scans the code with the phone, or opens the link on it, and taps <b>Sign in</b>.</p>
<img id="fr-link-qr" alt="">
<p><code id="fr-link-url"></code> <button type="button" id="fr-link-copy">Copy</button></p>
<p id="fr-link-expires"></p></div>
<form method="dialog"><button>Close</button></form>
</dialog>"""
