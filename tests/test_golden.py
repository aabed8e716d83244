"""A refactor changes no plan: each case of ``tests/golden.py`` (the demo day and cycle, the
tests' small teams, a big rep-by-rep day, a week of re-plans, Solomon and PVRP instances, all
with fixed seeds and solution limits) gives the plan written in ``tests/data/golden.json``."""

from __future__ import annotations

import json

import pytest

from . import golden

EXPECTED = json.loads(golden.GOLDEN.read_text())


@pytest.mark.parametrize("name", list(golden.CASES))
def test_plans_are_unchanged(name):
    got = json.loads(json.dumps(golden.CASES[name]()))
    if name in ("solomon", "pvrp") and not got:
        pytest.skip("needs ../shared/bench beside the repo")
    assert got == EXPECTED[name], f"the {name} plans changed: if that is meant, run python -m tests.golden --write"
