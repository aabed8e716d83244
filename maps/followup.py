"""The supervisor's follow-up page: one HTML document, Leaflet and the page's own script and
style inlined (it works offline and needs no build step), that ``static/followup.js`` fills
from the report API: the KPIs per rep, charts drawn as hand-written SVG, the stores on a map
coloured by what the period made of them, today, the stores not visited, and the suggestions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from routing.model import Rep, Store

from .routes import LEAFLET, OSM_ATTRIBUTION, STREET_MARGIN_M, STREET_STYLE, _bbox
from .territories import STATIC, rep_colours


def followup_page(stores: Sequence[Store], reps: Sequence[Rep], owner: Mapping[str, str | None], config: Mapping, *,
                  roads=None) -> str:
    """The page. ``stores``: those the map shows, ``owner``: each one's rep, ``reps``: the
    team's; ``config``: what the script is told besides (the period, today, the API's paths,
    the page's CSRF token or None: read only); ``roads``: a ``routing.travel.Roads`` whose
    streets are drawn under the stores (the map reads without tiles)."""
    colours = rep_colours([r.id for r in reps])
    points = [(s.lat, s.lon) for s in stores]
    streets = []
    if roads is not None and points:
        streets = roads.streets(_bbox(points, STREET_MARGIN_M))
    page_config = {
        "reps": [{"id": r.id, "name": r.name, "colour": colours[r.id]} for r in reps],
        "stores": [{"id": s.id, "name": s.name, "lat": s.lat, "lon": s.lon, "class": s.store_class, "rep": owner.get(s.id)}
                   for s in stores],
        "streets": streets, "street_style": STREET_STYLE, "attribution": OSM_ATTRIBUTION,
    } | dict(config)
    # JSON inside a <script>: no "<" at all, so no "</script>" can close it
    data = json.dumps(page_config, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")
    parts = {
        "@LEAFLET_CSS@": (LEAFLET / "leaflet.css").read_text(), "@PAGE_CSS@": (STATIC / "followup.css").read_text(),
        "@LEAFLET_JS@": (LEAFLET / "leaflet.js").read_text(), "@PAGE_JS@": (STATIC / "followup.js").read_text(),
    }
    head = _HEAD
    for mark, text in parts.items():
        head = head.replace(mark, text)
    return head + _BODY + f"<script>fieldrouteFollowup({data});</script>\n</body>\n</html>\n"


_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fieldroute: follow-up</title>
<link rel="icon" href="data:,">
<style>@LEAFLET_CSS@</style>
<style>@PAGE_CSS@</style>
<script>@LEAFLET_JS@</script>
<script>@PAGE_JS@</script>
</head>
"""

#: The page's skeleton; the script fills it (text only, never HTML from data).
_BODY = """<body>
<header id="fr-head">
<h1>Follow-up</h1>
<p id="fr-subtitle"></p>
<nav><a href="/v1/territories/map">Territories</a></nav>
<form id="fr-period" aria-label="Period">
<p class="fr-dates"><label>From <input type="date" id="fr-from" name="from" required></label>
<label>To <input type="date" id="fr-to" name="to" required></label>
<button type="submit" id="fr-show">Show</button></p>
<p class="fr-quick" role="group" aria-label="Quick periods">
<button type="button" data-quick="this-week" aria-pressed="false">This week</button>
<button type="button" data-quick="last-week" aria-pressed="false">Last week</button>
<button type="button" data-quick="last-4-weeks" aria-pressed="false">Last 4 weeks</button></p>
</form>
<p id="fr-status" role="status" aria-live="polite"></p>
</header>
<main id="fr-main">
<section id="fr-kpis" class="fr-wide" aria-labelledby="fr-kpis-h"><h2 id="fr-kpis-h">Per rep</h2>
<div class="fr-scroll" tabindex="0" role="region" aria-label="The numbers per rep (the table scrolls sideways)">
<table id="fr-kpi-table"><caption id="fr-kpi-caption">Planned against made visits and the method's numbers</caption>
<thead><tr></tr></thead><tbody></tbody><tfoot></tfoot></table></div>
<p class="fr-key">Made: planned visits made (on their day or another). Missed: planned, not made, their day over.
Due: planned for today or later. Coverage: the rep's stores visited at least once. Active rate: stores with an order
among those visited. Sales = stores covered &times; active rate &times; average order.</p>
</section>
<section id="fr-weekly-s" aria-labelledby="fr-weekly-h"><h2 id="fr-weekly-h">Visits per week: made against planned</h2>
<div id="fr-weekly" class="fr-chart"></div></section>
<section id="fr-coverage-s" aria-labelledby="fr-coverage-h"><h2 id="fr-coverage-h">Coverage per rep</h2>
<div id="fr-coverage" class="fr-chart"></div></section>
<section id="fr-formula-s" class="fr-wide" aria-labelledby="fr-formula-h">
<h2 id="fr-formula-h">Sales = stores covered &times; active rate &times; average order, per week</h2>
<div class="fr-multiples"><div id="fr-covered" class="fr-chart"></div><div id="fr-active" class="fr-chart"></div>
<div id="fr-avg" class="fr-chart"></div></div><p id="fr-formula-note" class="fr-partial"></p></section>
<section id="fr-map-s" aria-labelledby="fr-map-h"><h2 id="fr-map-h">Stores in the period</h2>
<div id="fr-map" role="region" aria-label="Map of the stores, coloured by what the period made of them"></div>
<ul id="fr-legend" aria-label="Map legend"></ul></section>
<section id="fr-today-s" aria-labelledby="fr-today-h"><h2 id="fr-today-h">Today</h2>
<p id="fr-today-note"></p>
<div class="fr-scroll" tabindex="0" role="region" aria-label="Today per rep (the table scrolls sideways)">
<table id="fr-today"><thead><tr><th scope="col">Rep</th><th scope="col">Done</th><th scope="col">Under way</th>
<th scope="col">Next store</th><th scope="col">Still to do</th><th scope="col">Made today</th>
<th scope="col">Left the route</th></tr></thead><tbody></tbody></table></div>
<p><button type="button" id="fr-today-refresh">Refresh</button></p></section>
<section id="fr-unvisited-s" aria-labelledby="fr-unvisited-h"><h2 id="fr-unvisited-h">Stores not visited in the period</h2>
<p><label>Class <select id="fr-class"></select></label></p>
<p id="fr-unvisited-count"></p>
<div class="fr-scroll fr-tall" tabindex="0" role="region" aria-label="Stores not visited (the list scrolls)">
<table id="fr-unvisited"><thead><tr><th scope="col">Store</th><th scope="col">Class</th><th scope="col">Rep</th>
<th scope="col">Last visit</th><th scope="col">Days since</th><th scope="col"><span class="fr-hidden">On the map</span></th></tr></thead>
<tbody></tbody></table></div></section>
<section id="fr-suggestions-s" class="fr-wide" aria-labelledby="fr-suggestions-h"><h2 id="fr-suggestions-h">Suggestions</h2>
<p>What the visits suggest changing. Nothing changes until you apply it: applying writes a new version of the store,
the rep or the policy; plan the cycle again to use it.</p>
<p class="fr-filters"><label>Show <select id="fr-sug-status"><option value="open">open</option>
<option value="applied">applied</option><option value="dismissed">dismissed</option><option value="all">all</option></select></label>
<label>Kind <select id="fr-sug-kind"></select></label></p>
<p id="fr-readonly" hidden>Read only: sign in at <a href="/login?next=/v1/reports/page">/login</a> in this browser to apply or
dismiss suggestions.</p>
<p id="fr-sug-note"></p>
<ol id="fr-suggestions" aria-label="Suggestions"></ol>
<p><button type="button" id="fr-sug-more" hidden>Show all</button></p></section>
</main>
"""
