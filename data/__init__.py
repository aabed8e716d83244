"""Fieldroute's demo data, installed as the package ``fieldroute_data``: the demo team
(``demo/``) and the bundled OpenStreetMap extract of Monaco (``osm/``). See README.md."""
