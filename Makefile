PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## plan a day for the demo team, write out/demo/plan.json and plan.html
	$(BIN)/fieldroute demo

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest -q

bench: $(STAMP)  ## Solomon benchmark, 56 instances at 10 s (about 10 minutes)
	$(BIN)/python bench/solomon.py --time-limit 10 --json out/solomon.json

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
