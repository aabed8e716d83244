"""Field data to show the follow-up with: a published cycle played as a team would (most
visits made, some late, some stores slower than planned, some closed at the door, a rep off
sick one day, a few visits a day late, orders whose chance and value follow the store's
class). Seeded: the same plan and seed give the same visits."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .followup import MadeVisit, PlannedVisit
from .model import Policy, Store


@dataclass(frozen=True)
class Habits:
    """How the simulated team works."""

    made: float = 0.93
    """A planned visit is made (else: not reported), unless the store is closed or the rep sick."""
    closed: float = 0.03
    a_day_late: float = 0.03
    sick_days: int = 1
    late_min: float = 20.0
    """A rep's typical lateness at its first visit, at most (each rep draws its own)."""
    slower: float = 0.4
    """The share of stores whose visits take longer than planned (up to 1.7 times)."""
    ticks: float = 0.6
    """The share of visits whose checklist the rep ticks."""


#: An order's chance and typical value by class rank (the policy's highest priority first).
ORDER_CHANCE = (0.75, 0.55, 0.4, 0.3)
ORDER_VALUE = (260.0, 120.0, 60.0, 40.0)


def play(planned: Sequence[PlannedVisit], stores: Mapping[str, Store], policy: Policy, *, seed: int = 0,
         habits: Habits = Habits()) -> list[MadeVisit]:
    """The visits a team makes of ``planned`` (their dates over): ids ``sim:DATE:REP:STORE``."""
    rng = random.Random(seed)
    ranks = {c.name: n for n, c in enumerate(sorted(policy.classes.values(), key=lambda c: -c.priority))}
    reps = sorted({p.rep_id for p in planned})
    late = {r: rng.uniform(0, habits.late_min) for r in reps}
    pace = {s: (rng.uniform(1.1, 1.7) if rng.random() < habits.slower else rng.uniform(0.8, 1.05)) for s in sorted(stores)}
    dates = sorted({p.date for p in planned})
    sick = {(rng.choice(reps), rng.choice(dates)) for _ in range(habits.sick_days)} if reps and dates else set()
    by_day: dict[tuple[str, dt.date], list[PlannedVisit]] = defaultdict(list)
    for p in planned:
        if p.start is not None and p.store_id in stores:
            by_day[p.rep_id, p.date].append(p)
    out = []
    for (rep, date), visits in sorted(by_day.items()):
        if (rep, date) in sick:
            continue
        delay = dt.timedelta(minutes=late[rep])
        for p in sorted(visits, key=lambda p: p.start):
            roll = rng.random()
            if roll < habits.closed or roll > habits.closed + habits.made:
                continue
            store = stores[p.store_id]
            rank = min(ranks.get(store.store_class, 3), 3)
            service = dt.timedelta(seconds=p.service_s * pace[p.store_id] * rng.uniform(0.9, 1.1))
            start = p.start + delay
            day = date
            if rng.random() < habits.a_day_late:
                day = date + dt.timedelta(days=1)
                start += dt.timedelta(days=1)
            else:
                delay += service - dt.timedelta(seconds=p.service_s)  # a slow visit makes the rest of the day late
            ordered = rng.random() < ORDER_CHANCE[rank]
            outcome = "order" if ordered else ("refused" if rng.random() < 0.15 else "no_order")
            value = round(rng.lognormvariate(0, 0.5) * ORDER_VALUE[rank], 2) if ordered else None
            klass = policy.classes.get(store.store_class)
            steps: tuple[str, ...] = ()
            if klass is not None and rng.random() < habits.ticks:
                steps = tuple(s for s in klass.checklist if rng.random() < 0.7 or s == "enter")
            out.append(MadeVisit(f"sim:{date}:{rep}:{p.store_id}", rep, p.store_id, day, start, start + service, outcome,
                                 value, steps))
    return out
