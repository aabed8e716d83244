"""Plans that learn from the visits made (PDCA's "Act"): each store's and class's typical
visit minutes, each rep's lateness at the day's first visit, and an ABC analysis of the
stores' orders set against their classes (the method's 客户分类 and 拜访频率调整).

Plain data in (the follow-up's visit lines, ``routing.followup``), suggestions out; nothing
here changes a store, a rep or the policy: a supervisor applies a suggestion, or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from .calendar import required_visits
from .clock import hhmm
from .followup import VisitLine
from .hours import works_on
from .model import WEEKDAYS, Policy, Rep, Store

Kind = Literal["rep_start", "class_service", "store_service", "store_class"]
KINDS: tuple[Kind, ...] = ("rep_start", "class_service", "store_service", "store_class")

#: A store with fewer visits than this has its median shrunk toward its class's.
PRIOR_VISITS = 8
#: Visits longer than this (minutes) are left out: a check-out forgotten until the evening.
LONGEST_VISIT_MIN = 240.0
#: The ABC analysis: the stores making the first 70 % of the order value rank with the first
#: class, the next 20 % with the second, the rest with the third (Pareto's 70/20/10).
ABC_SHARES = (0.70, 0.90)


@dataclass(frozen=True)
class Spread:
    """A sample's size, median and quartiles (the spread a suggestion shows)."""

    visits: int
    median: float
    p25: float
    p75: float

    @staticmethod
    def of(values: Sequence[float]) -> Spread | None:
        if not values:
            return None
        if len(values) == 1:
            return Spread(1, values[0], values[0], values[0])
        p25, _, p75 = statistics.quantiles(values, n=4, method="inclusive")
        return Spread(len(values), statistics.median(values), p25, p75)


@dataclass(frozen=True)
class StoreMinutes:
    """A store's visit minutes as made (``spread``) and as learned: the median, shrunk toward
    its class's by ``(PRIOR_VISITS - visits) / PRIOR_VISITS`` when it has fewer visits."""

    spread: Spread
    learned: float


@dataclass(frozen=True)
class Learned:
    """What the visits made say: minutes per store and class, minutes late per rep."""

    stores: dict[str, StoreMinutes]
    classes: dict[str, Spread]
    lateness: dict[str, Spread]
    """Per rep: the check-in at the day's first planned visit, minutes after its planned start."""


def learn(lines: Iterable[VisitLine], stores: Mapping[str, Store], late_since: Mapping[str, dt.date] = {}) -> Learned:
    """Learn visit minutes and lateness from the made visits among ``lines``; a rep's lateness
    only from ``late_since`` its date on, if given (its start time changed then: the days
    before were planned with the old one)."""
    lines = list(lines)
    minutes: dict[str, list[float]] = defaultdict(list)
    for line in lines:
        if line.made is not None and line.store_id in stores and 0 < line.made.service_s <= LONGEST_VISIT_MIN * 60:
            minutes[line.store_id].append(line.made.service_s / 60)
    by_class: dict[str, list[float]] = defaultdict(list)
    for store_id, values in sorted(minutes.items()):
        by_class[stores[store_id].store_class] += values
    classes = {name: Spread.of(values) for name, values in sorted(by_class.items())}
    learned = {}
    for store_id, values in sorted(minutes.items()):
        spread = Spread.of(values)
        weight = min(1.0, spread.visits / PRIOR_VISITS)
        learned[store_id] = StoreMinutes(spread, weight * spread.median + (1 - weight) * classes[stores[store_id].store_class].median)
    return Learned(learned, classes, _lateness(lines, late_since))


def _lateness(lines: Sequence[VisitLine], since: Mapping[str, dt.date]) -> dict[str, Spread]:
    """Each rep's minutes late at the first planned visit of a day, on the days it made that
    visit on its date."""
    first: dict[tuple[str, object], VisitLine] = {}
    for line in lines:
        p = line.planned
        if p is None or p.start is None or p.moved is not None or p.date < since.get(p.rep_id, p.date):
            continue
        key = (p.rep_id, p.date)
        if key not in first or p.start < first[key].planned.start:
            first[key] = line
    late: dict[str, list[float]] = defaultdict(list)
    for (rep_id, _), line in sorted(first.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if line.status == "made" and line.made.rep_id == rep_id:
            late[rep_id].append((line.made.checked_in - line.planned.start).total_seconds() / 60)
    return {rep_id: Spread.of(values) for rep_id, values in late.items()}


# --- the ABC analysis ------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """A store's place in the ABC analysis: its made visits, orders and order value, its share
    of the value and the running share down to it, and the class its orders rank it with."""

    store_id: str
    visits: int
    orders: int
    sales: float
    share: float
    running_share: float
    abc_class: str


def abc(lines: Iterable[VisitLine], stores: Mapping[str, Store], policy: Policy) -> list[Ranked]:
    """The stores with a made visit, by order value (highest first), each ranked with a class
    of the policy by the running share of the value (``ABC_SHARES``); a store without an order
    ranks with the lowest class."""
    names = class_order(policy)
    visits: dict[str, int] = defaultdict(int)
    orders: dict[str, int] = defaultdict(int)
    sales: dict[str, float] = defaultdict(float)
    for line in lines:
        m = line.made
        if m is None or m.store_id not in stores:
            continue
        visits[m.store_id] += 1
        if m.ordered:
            orders[m.store_id] += 1
            sales[m.store_id] += m.order_value or 0.0
    total = sum(sales.values())
    out = []
    running = 0.0
    for store_id in sorted(visits, key=lambda s: (-sales[s], s)):
        share = sales[store_id] / total if total else 0.0
        before = running
        running += share
        band = len(names) - 1 if sales[store_id] <= 0 else next(
            (n for n, cut in enumerate(ABC_SHARES) if before < cut - 1e-12), len(ABC_SHARES))
        out.append(Ranked(store_id, visits[store_id], orders[store_id], round(sales[store_id], 2), round(share, 4),
                          round(running, 4), names[min(band, len(names) - 1)]))
    return out


def class_order(policy: Policy) -> list[str]:
    """The policy's classes, the highest priority first (A, B, C...)."""
    return [c.name for c in sorted(policy.classes.values(), key=lambda c: (-c.priority, c.name))]


# --- suggestions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A change the visits made suggest, with its evidence and its effect on the reps' work
    per cycle (``effect["per_rep"]``: hours added, negative: saved)."""

    kind: Kind
    target: str
    title: str
    current: float | str | None
    proposed: float | str
    evidence: dict = field(default_factory=dict)
    effect: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The same while the same change is proposed for the same target."""
        digest = hashlib.sha1(f"{self.kind}\x00{self.target}\x00{self.proposed}".encode()).hexdigest()
        return f"sg-{digest[:12]}"


@dataclass(frozen=True)
class RepLoad:
    """A rep's cycle in the published plan: its routed travel per visit and the capacity
    report's hours (``routing.cycle.RepCapacity``)."""

    travel_s_per_visit: float = 0.0
    required_h: float | None = None
    available_h: float | None = None
    working_days: int | None = None


@dataclass(frozen=True)
class Thresholds:
    """When a difference is worth a suggestion."""

    minutes: float = 2.0
    """Visit minutes: at least this many and ``share`` of the current minutes apart."""
    share: float = 0.10
    store_visits: int = 3
    class_visits: int = 20
    late_min: float = 5.0
    late_days: int = 5
    abc_visits: int = 3
    """A store's class is judged on at least this many made visits."""


def suggest(learned: Learned, ranked: Sequence[Ranked], stores: Sequence[Store], reps: Sequence[Rep], policy: Policy,
            cycle_weeks: int, store_rep: Mapping[str, str | None], loads: Mapping[str, RepLoad] = {},
            limits: Thresholds = Thresholds()) -> list[Suggestion]:
    """Suggestions from what was learned, for ``stores`` and ``reps``: reps' start times
    first, then classes' minutes, stores' minutes by the hours they change, and stores'
    classes by order value. A store's suggestions name its rep (``evidence["rep_id"]``)."""
    by_id = {s.id: s for s in stores}
    out = [s for rep in reps if (s := _rep_start(rep, learned.lateness.get(rep.id), cycle_weeks, loads.get(rep.id), limits))]
    out += [s for name in sorted(policy.classes) if (s := _class_minutes(name, learned, stores, policy, cycle_weeks,
                                                                        store_rep, limits))]
    minutes = [s for store_id, m in learned.stores.items() if store_id in by_id
               and (s := _store_minutes(by_id[store_id], m, policy, cycle_weeks, store_rep.get(store_id), limits))]
    out += sorted(minutes, key=lambda s: (-abs(s.effect["hours_per_cycle"]), s.target))
    out += [s for r in ranked if r.store_id in by_id
            and (s := _store_class(by_id[r.store_id], r, policy, cycle_weeks, store_rep.get(r.store_id), loads, limits))]
    return out


def _apart(learned: float, current: float, limits: Thresholds) -> bool:
    return abs(learned - current) >= max(limits.minutes, limits.share * current)


def _effect(per_rep: Mapping[str | None, float], visits: float = 0, **more) -> dict:
    hours = {rep: round(h, 2) for rep, h in sorted(per_rep.items(), key=lambda kv: kv[0] or "") if rep is not None and h}
    return {"hours_per_cycle": round(sum(per_rep.values()), 2), "visits_per_cycle": visits, "per_rep": hours, **more}


def _evidence(spread: Spread, **more) -> dict:
    return {"visits": spread.visits, "median": round(spread.median, 1), "p25": round(spread.p25, 1),
            "p75": round(spread.p75, 1), **more}


def _store_minutes(store: Store, m: StoreMinutes, policy: Policy, weeks: int, rep_id: str | None,
                   limits: Thresholds) -> Suggestion | None:
    current = policy.service_s(store) / 60
    proposed = float(round(m.learned))
    if (m.spread.visits < limits.store_visits or not _apart(m.learned, current, limits) or proposed == current
            or (proposed - current) * (m.spread.median - current) <= 0):  # never against the store's own visits
        return None
    n = required_visits(policy.classes[store.store_class], weeks)
    return Suggestion(
        "store_service", store.id,
        f"Visits to {store.name} take {m.spread.median:.0f} min (median of {m.spread.visits}), planned {current:g}: "
        f"plan {proposed:g} min",
        current, proposed, _evidence(m.spread, learned=round(m.learned, 1), store_class=store.store_class, rep_id=rep_id),
        _effect({rep_id: n * (proposed - current) / 60}))


def _class_minutes(name: str, learned: Learned, stores: Sequence[Store], policy: Policy, weeks: int,
                   store_rep: Mapping[str, str | None], limits: Thresholds) -> Suggestion | None:
    spread = learned.classes.get(name)
    klass = policy.classes[name]
    if spread is None or spread.visits < limits.class_visits or not _apart(spread.median, klass.service_min, limits):
        return None
    proposed = float(round(spread.median))
    if proposed == klass.service_min:
        return None
    n = required_visits(klass, weeks)
    per_rep: dict[str | None, float] = defaultdict(float)
    using = [s for s in stores if s.store_class == name and s.service_min is None]
    for s in using:
        per_rep[store_rep.get(s.id)] += n * (proposed - klass.service_min) / 60
    return Suggestion("class_service", name,
                      f"Class {name} visits take {spread.median:.0f} min (median of {spread.visits}), the policy says "
                      f"{klass.service_min:g}: make it {proposed:g} min",
                      klass.service_min, proposed, _evidence(spread, stores=len(using)),
                      _effect(per_rep, visits=0, stores=len(using)))


def _rep_start(rep: Rep, late: Spread | None, weeks: int, load: RepLoad | None, limits: Thresholds) -> Suggestion | None:
    if late is None or late.visits < limits.late_days or late.median < limits.late_min:
        return None
    shift = 5 * round(late.median / 5) * 60
    proposed = min(rep.shift_start_s + shift, rep.shift_end_s - 3600)
    if proposed <= rep.shift_start_s:
        return None
    days = load.working_days if load and load.working_days is not None else sum(
        works_on(rep.working_days, d) for d in _week()) * weeks
    lost = -(proposed - rep.shift_start_s) / 3600 * days
    return Suggestion("rep_start", rep.id,
                      f"{rep.name} reaches the first store {late.median:.0f} min late (median of {late.visits} days): "
                      f"start the day at {hhmm(proposed)}",
                      hhmm(rep.shift_start_s), hhmm(proposed), _evidence(late, unit="minutes late", days=late.visits),
                      {"hours_per_cycle": 0.0, "visits_per_cycle": 0, "per_rep": {},
                       "available_hours_per_cycle": round(lost, 2)})


def _store_class(store: Store, r: Ranked, policy: Policy, weeks: int, rep_id: str | None, loads: Mapping[str, RepLoad],
                 limits: Thresholds) -> Suggestion | None:
    names = class_order(policy)
    if r.visits < limits.abc_visits or store.store_class not in policy.classes:
        return None
    now, ranked = names.index(store.store_class), names.index(r.abc_class)
    if ranked < now:
        proposed = r.abc_class  # orders like a higher class
    elif ranked >= now + 2 or (r.orders == 0 and ranked > now):
        proposed = names[now + 1]  # one class down at a time
    else:
        return None
    old, new = policy.classes[store.store_class], policy.classes[proposed]
    load = loads.get(rep_id or "", RepLoad())
    visits = required_visits(new, weeks) - required_visits(old, weeks)
    hours = (required_visits(new, weeks) * (policy.service_s(replace(store, store_class=proposed))
                                            + load.travel_s_per_visit)
             - required_visits(old, weeks) * (policy.service_s(store) + load.travel_s_per_visit)) / 3600
    capacity = None
    if load.required_h is not None:
        capacity = {"rep_id": rep_id, "required_h": load.required_h, "after_h": round(load.required_h + hours, 2),
                    "available_h": load.available_h}
    said = (f"has not ordered in {r.visits} visits" if r.orders == 0
            else f"orders like class {r.abc_class} ({r.share:.1%} of the order value)")
    return Suggestion("store_class", store.id, f"{store.name} ({store.store_class}) {said}: make it {proposed}",
                      store.store_class, proposed,
                      {"visits": r.visits, "orders": r.orders, "sales": r.sales, "share": r.share,
                       "running_share": r.running_share, "abc_class": r.abc_class, "rep_id": rep_id},
                      _effect({rep_id: hours}, visits=visits, capacity=capacity))


def _week() -> list[dt.date]:
    """A week's dates, Monday first."""
    return [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(len(WEEKDAYS))]


@dataclass(frozen=True)
class Inputs:
    """The stores, reps and policy a plan reads (``applied`` returns them changed)."""

    stores: list[Store]
    reps: list[Rep]
    policy: Policy


def applied(suggestions: Iterable[Suggestion], inputs: Inputs) -> Inputs:
    """``inputs`` as a plan reads them once ``suggestions`` are applied (the service writes
    the same changes as new versions of its records, ``api.suggestions``)."""
    stores = {s.id: s for s in inputs.stores}
    reps = {r.id: r for r in inputs.reps}
    classes = dict(inputs.policy.classes)
    for s in suggestions:
        if s.kind == "store_service":
            stores[s.target] = replace(stores[s.target], service_min=float(s.proposed))
        elif s.kind == "store_class":
            stores[s.target] = replace(stores[s.target], store_class=str(s.proposed))
        elif s.kind == "rep_start":
            hh, mm = str(s.proposed).split(":")
            reps[s.target] = replace(reps[s.target], shift_start_s=int(hh) * 3600 + int(mm) * 60)
        else:
            classes[s.target] = replace(classes[s.target], service_min=float(s.proposed))
    return Inputs(list(stores.values()), list(reps.values()), replace(inputs.policy, classes=classes))
