"""Ruin and recreate, the one loop: when to stop, which candidate to keep, and the ruin's
string removal, shared by the day search (``routing.vrptw``) and the periodic search
(``routing.periodic``).

Shaped like ALNS's ``iterate(initial, select, accept, stop)``: a search gives ``iterate`` a
step (ruin and recreate the current solution, return the candidate's objective), an
acceptance criterion (``Annealing``) and a stopping criterion (``Budget``); it keeps or
undoes each candidate. Each search has one settings object (``vrptw.Search``,
``periodic.Search``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Budget:
    """Stop at ``deadline`` (a ``time.perf_counter`` value), ``margin`` seconds early, or after
    ``iterations`` steps, whichever comes first. Progress (0 to 1) is the share of the
    iterations made or of the time from ``started`` to the deadline gone; given iterations,
    a run is repeatable when the deadline does not bind."""

    deadline: float
    iterations: int | None = None
    margin: float = 0.0
    started: float = 0.0

    def more(self, it: int) -> bool:
        """May step ``it + 1`` begin?"""
        return (self.iterations is None or it < self.iterations) and time.perf_counter() + self.margin < self.deadline

    def progress(self, it: int) -> float:
        if self.iterations is not None:
            return it / max(1, self.iterations)
        return min(1.0, (time.perf_counter() - self.started) / max(1e-9, self.deadline - self.started))

    def left_s(self) -> float:
        return self.deadline - time.perf_counter()


@dataclass(frozen=True)
class Annealing:
    """Simulated-annealing acceptance: a candidate no worse than the current one is kept; a
    worse one when it is within ``T * -ln(u)`` of it (u uniform in [0, 1)), the temperature
    ``T`` falling with the progress from ``start`` to ``end`` geometrically, or, when ``end``
    is None, linearly to 0. ``draw_each``: draw u for every candidate (the periodic search's
    random stream), else only for a worse one while T > 0."""

    start: float
    end: float | None = None
    draw_each: bool = False

    def temperature(self, progress: float) -> float:
        if self.end is None:
            return self.start * (1.0 - progress)
        return self.start * (self.end / self.start) ** min(1.0, progress)

    def __call__(self, rng: np.random.Generator, candidate: float, current: float, progress: float) -> bool:
        t = self.temperature(progress)
        if self.draw_each:
            return candidate < current - t * math.log(rng.random())
        return candidate <= current or (t > 0 and candidate < current - t * np.log(rng.random()))


class Exhausted(Exception):
    """Raised by a step when nothing is left to ruin: the search ends."""


def iterate(step: Callable[[int], float | None], accept: Annealing, budget: Budget, rng: np.random.Generator,
            current: float, *, keep: Callable[[float], None], undo: Callable[[], None] | None = None,
            after: Callable[[int, float], float] | None = None) -> int:
    """Ruin and recreate until ``budget`` is spent: ``step(it)`` makes a candidate from the
    current solution and returns its objective (None: no candidate this time, nothing to
    accept); ``accept`` decides; ``keep(objective)`` makes it the current solution, ``undo()``
    drops it. ``after(it, current)``, if given, runs after each step and returns the current
    objective (a search that re-weighs its objective). A step that raises ``Exhausted`` ends
    the search. Returns the steps made."""
    it = 0
    while budget.more(it):
        it += 1
        try:
            objective = step(it)
        except Exhausted:
            break
        if objective is not None:
            if accept(rng, objective, current, budget.progress(it)):
                current = objective
                keep(objective)
            elif undo is not None:
                undo()
        if after is not None:
            current = after(it, current)
    return it


def string_at(rng: np.random.Generator, size: int, at: int, most: int) -> slice:
    """A string of 1 to ``most`` consecutive places of a route of ``size`` places that holds
    place ``at``, its length and position drawn at random (SISR's string removal,
    Christiaens & Vanden Berghe 2020)."""
    length = int(rng.integers(1, min(size, most) + 1))
    lo = int(rng.integers(max(0, at - length + 1), min(at, size - length) + 1))
    return slice(lo, lo + length)
