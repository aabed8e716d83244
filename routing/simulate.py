"""Field data to show the follow-up with: a published cycle played as a team would (most
visits made, some late, some stores slower than planned, some closed at the door, a rep off
sick one day, a few visits a day late, orders whose chance and value follow the store's
class). Seeded: the same plan and seed give the same visits.

What the team is really like (each store's true visit length, when each rep really starts)
is a ``Team`` drawn once, so a benchmark can play two plans with the same team and a test can
compare what ``routing.learn`` learns with the truth."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from .followup import MadeVisit, PlannedVisit
from .model import Policy, Rep, Store


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


@dataclass(frozen=True)
class Team:
    """The truth the visits come from: each store's typical visit length (seconds; a visit
    takes it times 0.9 to 1.1) and, per rep, how many seconds after its shift start (as the
    rep record said when the team was drawn) the rep really starts work."""

    service_s: Mapping[str, float]
    shift_start_s: Mapping[str, int]
    late_s: Mapping[str, float]

    @staticmethod
    def draw(stores: Mapping[str, Store], reps: Sequence[Rep], policy: Policy, *, seed: int = 0,
             habits: Habits = Habits()) -> Team:
        rng = random.Random(seed)
        late = {r.id: rng.uniform(0, habits.late_min) * 60 for r in sorted(reps, key=lambda r: r.id)}
        pace = {s: (rng.uniform(1.1, 1.7) if rng.random() < habits.slower else rng.uniform(0.8, 1.05)) for s in sorted(stores)}
        return Team({s: policy.service_s(stores[s]) * pace[s] for s in pace}, {r.id: r.shift_start_s for r in reps},
                    late)

    def delay_s(self, rep: Rep) -> float:
        """How late ``rep`` (as it is now) reaches its first visit: a later shift start makes up for it."""
        return max(0.0, self.shift_start_s.get(rep.id, rep.shift_start_s) + self.late_s.get(rep.id, 0) - rep.shift_start_s)


#: An order's chance and typical value by class rank (the policy's highest priority first).
ORDER_CHANCE = (0.75, 0.55, 0.4, 0.3)
ORDER_VALUE = (260.0, 120.0, 60.0, 40.0)


def play(planned: Sequence[PlannedVisit], stores: Mapping[str, Store], reps: Sequence[Rep], policy: Policy, *,
         seed: int = 0, habits: Habits = Habits(), team: Team | None = None) -> list[MadeVisit]:
    """The visits a team (``team``, else one drawn with ``seed``) makes of ``planned`` (their
    dates over): ids ``sim:DATE:REP:STORE``."""
    team = team or Team.draw(stores, reps, policy, seed=seed, habits=habits)
    rng = random.Random(seed)
    ranks = {c.name: n for n, c in enumerate(sorted(policy.classes.values(), key=lambda c: -c.priority))}
    by_rep = {r.id: r for r in reps}
    rep_ids = sorted({p.rep_id for p in planned})
    dates = sorted({p.date for p in planned})
    sick = {(rng.choice(rep_ids), rng.choice(dates)) for _ in range(habits.sick_days)} if rep_ids and dates else set()
    by_day: dict[tuple[str, dt.date], list[PlannedVisit]] = defaultdict(list)
    for p in planned:
        if p.start is not None and p.store_id in stores:
            by_day[p.rep_id, p.date].append(p)
    out = []
    for (rep, date), visits in sorted(by_day.items()):
        if (rep, date) in sick:
            continue
        delay = dt.timedelta(seconds=team.delay_s(by_rep[rep]) if rep in by_rep else team.late_s.get(rep, 0))
        for p in sorted(visits, key=lambda p: p.start):
            roll = rng.random()
            if roll < habits.closed or roll > habits.closed + habits.made:
                continue
            store = stores[p.store_id]
            rank = min(ranks.get(store.store_class, 3), 3)
            service = dt.timedelta(seconds=round(team.service_s.get(p.store_id, p.service_s) * rng.uniform(0.9, 1.1)))
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
