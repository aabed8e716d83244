# Python >= 3.12 (the OSRM road engine's wheel needs it): the first of python3.14 ... python3.12
# on PATH that runs, then pyenv's, then python3 (which must be >= 3.12); or set PY=/path/to/python.
PY ?= $(or $(shell for p in python3.14 python3.13 python3.12 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && { echo $$p; break; }; done),\
	$(error Fieldroute needs Python >= 3.12; none found: set PY=/path/to/python3.12))
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
TEST_WORKERS ?= auto
# The extras installed: add ray to run the fleet on Ray (and its tests), as CI does.
EXTRAS ?= test

.PHONY: demo test bench clean image-check

$(STAMP): pyproject.toml
	$(PY) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

demo: $(STAMP)  ## plan the demo day and cycle (out/demo/), then serve the demo on 127.0.0.1:8000 (Ctrl-C stops)
	$(BIN)/fieldroute demo
	$(BIN)/fieldroute serve --demo --db out/demo/service.db

test: $(STAMP)  ## run the test suite, one worker per core (pytest-xdist; TEST_WORKERS=0 runs it in one process)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

bench: $(STAMP)  ## Solomon (about 5 min), PVRP (about 16 min), scale (about 7 min), road engines on Porto (about 6 min), field, API load (about 2 min) same-day re-plan (about 4 min), territory (about 3 min), request-body (seconds), rep's app (about 1 min) follow-up reports (about 8 min) and plans that learn (about 2 min) benchmarks
	$(BIN)/python bench/solomon.py --time-limit 10 --jobs 2 --json out/solomon.json
	$(BIN)/python bench/pvrp.py --time-limit 60 --jobs 2 --json out/pvrp.json
	$(BIN)/python bench/scale.py --json out/scale.json
	$(BIN)/python bench/matrix.py --network ../shared/osm/porto.osm.pbf --engine scipy,osrm --json out/matrix.json
	$(BIN)/python bench/field.py --network demo --time-limit 20 --json out/field.json
	$(BIN)/python bench/api_load.py --concurrency 50 --requests 20000 --repeat 3 --json out/api_load.json
	$(BIN)/python bench/replan.py --events 50 --json out/replan.json
	$(BIN)/python bench/territory.py --json out/territory.json
	$(BIN)/python bench/edges.py --json out/edges.json
	$(BIN)/python bench/app.py --json out/app.json
	$(BIN)/python bench/reports.py --json out/reports.json
	$(BIN)/python bench/learning.py --json out/learning.json

image-check:  ## build the container image with buildah and run it on SQLite and PostgreSQL (minutes)
	bash .ci/image-check

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
