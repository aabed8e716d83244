"""The ruin-and-recreate loop both searches share: stopping, acceptance, string removal."""

from __future__ import annotations

import time

import numpy as np

from routing.search import Annealing, Budget, Exhausted, iterate, string_at


def test_a_string_holds_its_place_and_stays_in_the_route():
    rng = np.random.default_rng(0)
    for size, at, most in [(1, 0, 5), (10, 0, 3), (10, 9, 3), (10, 4, 10), (7, 3, 1)]:
        for _ in range(200):
            cut = string_at(rng, size, at, most)
            assert 0 <= cut.start <= at < cut.stop <= size and 1 <= cut.stop - cut.start <= min(size, most)


def test_annealing_keeps_what_is_no_worse_and_cools_to_its_end():
    rng = np.random.default_rng(1)
    linear, geometric = Annealing(10.0), Annealing(10.0, 0.1, draw_each=True)
    assert linear.temperature(0.5) == 5.0 and linear.temperature(1.0) == 0.0
    assert abs(geometric.temperature(0.5) - 1.0) < 1e-12 and abs(geometric.temperature(1.0) - 0.1) < 1e-12
    state = rng.bit_generator.state
    assert linear(rng, 5.0, 5.0, 0.3) and rng.bit_generator.state == state  # no draw for a tie
    assert not linear(rng, 5.1, 5.0, 1.0)  # cold: only improvements
    worse = sum(linear(rng, 11.0, 10.0, 0.0) for _ in range(2000)) / 2000
    assert abs(worse - np.exp(-1.0 / 10.0)) < 0.05  # a step worse by 1 at T=10: kept with e^(-1/10)


def test_iterate_stops_at_its_iterations_and_when_a_step_is_exhausted():
    rng = np.random.default_rng(2)
    kept, undone = [], []
    steps = iterate(lambda it: float(10 - it), Annealing(0.0), Budget(time.perf_counter() + 60, 5), rng, 10.0,
                    keep=kept.append, undo=lambda: undone.append(1))
    assert steps == 5 and kept == [9.0, 8.0, 7.0, 6.0, 5.0] and not undone

    def step(it):
        if it == 3:
            raise Exhausted
        return 20.0

    assert iterate(step, Annealing(0.0), Budget(time.perf_counter() + 60, 10), rng, 10.0, keep=kept.append,
                   undo=lambda: undone.append(1)) == 3 and len(undone) == 2


def test_a_budget_ends_at_its_deadline():
    budget = Budget(time.perf_counter() + 0.05, None, started=time.perf_counter())
    steps = iterate(lambda it: 1.0, Annealing(0.0), budget, np.random.default_rng(3), 1.0, keep=lambda o: None)
    assert steps > 0 and not budget.more(steps) and budget.progress(steps) == 1.0
