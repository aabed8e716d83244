"""Follow-up (the method's 跟进, the "Check" of PDCA): the visits a plan asked for against
the visits reps made, and the method's numbers per rep, team, area, class, store or week.

Plain data in, rows out: ``match`` pairs each made visit with a planned one (the same store
on the same date; else the nearest planned visit of that store within half its class's
spacing; else an extra visit) and ``report`` groups the pairs. The formula the method
manages by: sales = stores covered x active rate x average order (销售业绩 = 覆盖客户数 x
活跃率 x 平均成交金额), with each factor's change against the period before.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple

from .clock import day_clock
from .events import Event, far_check_in_m
from .model import ClassPolicy, Policy, Rep, Route, Store

Status = Literal["made", "made_other_day", "extra", "missed", "due"]
Group = Literal["rep", "team", "area", "class", "store", "week"]
GROUPS: tuple[Group, ...] = ("rep", "team", "area", "class", "store", "week")
#: Why a planned visit was not made: the store was closed, the rep could not work, a re-plan
#: carried it to a later date where it was not made either, or nobody reported it.
MISSED_REASONS = ("store_closed", "rep_unavailable", "carried_not_made", "not_reported")


class PlannedVisit(NamedTuple):
    """A visit the published plan asks for, where the day's re-plans put it: ``rep_id`` and
    ``date`` are its last rep and date, ``moved`` says how it got there (carried to a later
    date, covered by another rep today), ``left`` why it is on no route (e.g. store_closed,
    rep_not_working) if it is on none."""

    store_id: str
    rep_id: str
    date: dt.date
    start: dt.datetime | None = None
    """The planned start (its ETA), in the plan's zone."""
    service_s: int = 0
    moved: Literal["carried", "covered"] | None = None
    left: str | None = None


class MadeVisit(NamedTuple):
    """A visit a rep made: a check-in and check-out pair from the app or an import.
    ``date`` is the check-in's date in the plan's zone."""

    id: str
    rep_id: str
    store_id: str
    date: dt.date
    checked_in: dt.datetime
    checked_out: dt.datetime
    outcome: Literal["order", "no_order", "refused"] | None = None
    order_value: float | None = None
    steps: tuple[str, ...] = ()
    far: bool = False
    """The check-in was flagged far from the store."""
    note: str = ""
    currency: str | None = None

    @property
    def service_s(self) -> int:
        return max(0, int((self.checked_out - self.checked_in).total_seconds()))

    @property
    def ordered(self) -> bool:
        return self.outcome == "order"


class VisitLine(NamedTuple):
    """A planned visit and the made visit matched to it (either may be missing)."""

    status: Status
    planned: PlannedVisit | None
    made: MadeVisit | None
    reason: str | None = None
    """A missed visit's reason (``MISSED_REASONS``)."""

    @property
    def date(self) -> dt.date:
        return self.made.date if self.made is not None else self.planned.date

    @property
    def store_id(self) -> str:
        return (self.made or self.planned).store_id

    @property
    def rep_id(self) -> str:
        """Who made it, else who was to make it."""
        return (self.made or self.planned).rep_id


@dataclass(frozen=True)
class Target:
    """A month's target of a rep or an area (目标拆解): order value and visits."""

    month: str  # YYYY-MM
    rep_id: str | None = None
    area: str | None = None
    order_value: float | None = None
    visits: int | None = None


@dataclass(frozen=True)
class Period:
    """The days from ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    def __contains__(self, date: dt.date) -> bool:
        return self.start <= date <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        """The period of the same length just before."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]


def visits_per_day(policy: ClassPolicy, cycle_weeks: int) -> float:
    """How often a store of this class is to be visited, in visits a day."""
    if policy.visits_per_cycle is not None:
        return policy.visits_per_cycle / (7 * cycle_weeks)
    return (policy.visits_per_week or 0) / 7


def spacing_days(policy: ClassPolicy, cycle_weeks: int) -> float:
    """Days between two visits of a store of this class (a weekly store: 7)."""
    rate = visits_per_day(policy, cycle_weeks)
    return 1 / rate if rate > 0 else float("inf")


def made_visits(date: dt.date, time_zone: str, events: Sequence[Event], stores: Mapping[str, Store], policy: Policy,
                radius_m: float, only: Collection[Event] | None = None) -> list[MadeVisit]:
    """The visits a date's events made: each check-out (``visit_done``, with its report) and
    the rep's last check-in at that store before it (without one, the visit began its service
    time before the check-out); ``far`` if that check-in was farther than ``radius_m`` from the
    store. Only the check-outs among ``only``, if given. The id says the date, rep, store and
    check-out time, so the same check-out always makes the same visit."""
    clock = day_clock(date, time_zone)
    checked_in: dict[tuple[str | None, str | None], Event] = {}
    out = []
    for e in sorted(events, key=lambda e: e.time_s):
        if e.kind == "visit_started":
            checked_in[e.rep_id, e.store_id] = e
        elif e.kind == "visit_done":
            began = checked_in.pop((e.rep_id, e.store_id), None)
            if only is not None and e not in only:
                continue
            store = stores.get(e.store_id)
            start_s = began.time_s if began is not None else e.time_s - (policy.service_s(store) if store else 0)
            report = e.report
            out.append(MadeVisit(
                f"app:{date}:{e.rep_id}:{e.store_id}:{e.time_s}", e.rep_id, e.store_id, date, clock.instant(start_s),
                clock.instant(e.time_s), report.outcome if report else None, report.order_value if report else None,
                report.steps if report else (),
                far=began is not None and store is not None and far_check_in_m(began, store, radius_m) is not None,
                note=report.note if report else ""))
    return out


def planned_visits(routes: Iterable[Route], time_zone: str) -> list[PlannedVisit]:
    """The visits of a cycle plan's routes (``routing.cycle``), as the follow-up reads them."""
    out = []
    for route in routes:
        date = dt.date.fromisoformat(route.date)
        clock = day_clock(date, time_zone)
        out += [PlannedVisit(s.store_id, route.rep_id, date, clock.instant(s.start_s), s.end_s - s.start_s)
                for s in route.visits]
    return out


# --- matching ----------------------------------------------------------------------------


def match(planned: Iterable[PlannedVisit], made: Iterable[MadeVisit], spacing: Mapping[str, float],
          today: dt.date) -> list[VisitLine]:
    """Pair made visits with planned ones: the same store on the same date first; then the
    nearest planned visit of the store at most half its spacing (``spacing``: days, by store
    id) away (the earlier on a tie); a made visit left over is extra. A planned visit without
    a made one is missed when its date is over (before ``today``), else due. Each visit is
    matched at most once."""
    planned = sorted(planned, key=lambda p: (p.date, p.store_id, p.rep_id))
    made = sorted(made, key=lambda m: (m.checked_in, m.id))
    free: dict[str, list[PlannedVisit]] = defaultdict(list)
    on_day: dict[tuple[str, dt.date], list[PlannedVisit]] = defaultdict(list)
    for p in planned:
        free[p.store_id].append(p)
        on_day[p.store_id, p.date].append(p)
    taken: dict[int, MadeVisit] = {}  # id(planned) -> its made visit
    lines: list[VisitLine] = []
    left: list[MadeVisit] = []
    for m in made:
        same = next((p for p in on_day.get((m.store_id, m.date), ()) if id(p) not in taken), None)
        if same is not None:
            taken[id(same)] = m
            lines.append(VisitLine("made", same, m))
        else:
            left.append(m)
    for m in left:
        reach = spacing.get(m.store_id, 0) / 2
        near = [p for p in free[m.store_id] if id(p) not in taken and abs((p.date - m.date).days) <= reach]
        if near:
            p = min(near, key=lambda p: (abs((p.date - m.date).days), p.date))
            taken[id(p)] = m
            lines.append(VisitLine("made_other_day", p, m))
        else:
            lines.append(VisitLine("extra", None, m))
    for p in planned:
        if id(p) not in taken:
            lines.append(VisitLine("due", p, None) if p.date >= today else VisitLine("missed", p, None, missed_reason(p)))
    return sorted(lines, key=lambda line: (line.date, line.rep_id, line.store_id))


def missed_reason(p: PlannedVisit) -> str:
    """Why a planned visit that was not made was missed (``MISSED_REASONS``)."""
    if p.left == "store_closed":
        return "store_closed"
    if p.left in ("rep_not_working", "rep_unavailable"):
        return "rep_unavailable"
    if p.moved == "carried":
        return "carried_not_made"
    return "not_reported"


# --- reports -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A number's value in the period before, and its change (a ratio: 0.1 = +10 %)."""

    previous: float | None
    change: float | None


@dataclass(frozen=True)
class ReportRow:
    """The method's numbers for one group (a rep, the team, an area, a class, a store, a
    week) over a period. Rates are None where nothing counts towards them."""

    group: str
    key: str
    planned: int
    made: int
    """Made visits matched to a planned one (on its date or another day)."""
    made_other_day: int
    extra: int
    missed: int
    missed_by_reason: dict[str, int]
    due: int
    stores: int
    covered: int
    coverage: float | None
    ordering: int
    active_rate: float | None
    orders: int
    avg_order: float | None
    sales: float
    """The order value of the period (往来金额, the transaction amount)."""
    formula: float | None
    """covered x active rate x average order."""
    survival: float | None
    focus_rate: float | None
    checklist_rate: float | None
    required: float
    frequency: float | None
    """Visits made (extra ones too) over the visits the policy asks of the group's stores."""
    working_days: int
    visits_per_day: float | None
    orders_per_day: float | None
    planned_service_min: float
    actual_service_min: float
    late_arrivals: int
    far_check_ins: int
    target_order_value: float | None = None
    target_visits: float | None = None
    gap_order_value: float | None = None
    gap_visits: float | None = None
    changes: dict[str, Change] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUp:
    """What ``report`` reads besides the visit lines: the stores (each with its class, area
    and owner), whether each is active, the reps, the policy and its cycle's weeks (for a
    class's frequency), the holidays, targets, and each store's rep when it has no owner (the
    rep the plan sent most often)."""

    stores: Sequence[Store]
    reps: Sequence[Rep]
    policy: Policy
    cycle_weeks: int
    active: Callable[[str], bool] = lambda store_id: True
    areas: Mapping[str, str] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()
    targets: Sequence[Target] = ()
    planned_rep: Mapping[str, str] = field(default_factory=dict)
    late_after_s: int = 0
    """A check-in later than the planned start by more than this is a late arrival."""

    def store_rep(self, store: Store) -> str | None:
        return store.rep_id or self.planned_rep.get(store.id)

    def spacing(self) -> dict[str, float]:
        classes = self.policy.classes
        return {s.id: spacing_days(classes[s.store_class], self.cycle_weeks) for s in self.stores
                if s.store_class in classes}


def report(lines: Sequence[VisitLine], data: FollowUp, period: Period, group: Group) -> list[ReportRow]:
    """The numbers of ``period`` per ``group`` (``GROUPS``): ``lines`` (``match``'s) may hold
    the period before too, for each number's change. Stores count for a group by their
    class, area, or rep (their owner, else the rep the plan sent most often); visits by who
    made them (else who was to); a store counts if it is active or had a visit line in the
    period (a store deactivated mid-period still counts)."""
    within = _Within(lines)
    now = _numbers(within, data, period, _keys(within(period), data, group, period), group)
    before = _numbers(within, data, period.previous, _keys(within(period.previous), data, group, period.previous), group)
    rows = []
    for key in sorted(now):
        row = now[key]
        old = before.get(key)
        changes = {name: _change(getattr(row, name), getattr(old, name) if old else None)
                   for name in ("covered", "coverage", "active_rate", "avg_order", "sales", "formula", "made")}
        rows.append(_with(row, changes=changes))
    return rows


class _Within:
    """The lines of each period asked for, each period's found once."""

    def __init__(self, lines: Sequence[VisitLine]):
        self._lines, self._found = lines, {}

    def __call__(self, period: Period) -> list[VisitLine]:
        if period not in self._found:
            start, end = period.start, period.end
            self._found[period] = [line for line in self._lines if start <= line.date <= end]
        return self._found[period]


@dataclass
class _Keys:
    """Which group each store and each line of a period belongs to (None: outside every
    group, e.g. a week outside the period)."""

    of_store: dict[str, list[str]]
    of_line: Callable[[VisitLine], str | None]
    groups: list[str]


def _keys(lines: Sequence[VisitLine], data: FollowUp, group: Group, period: Period) -> _Keys:
    """``lines``: the period's."""
    by_id = {s.id: s for s in data.stores}
    in_period = {line.store_id for line in lines}
    counted = [s for s in data.stores if data.active(s.id) or s.id in in_period]
    if group == "rep":
        of = {s.id: [rep] if (rep := data.store_rep(s)) else [] for s in counted}
        groups = sorted({r.id for r in data.reps} | {k for ks in of.values() for k in ks})
        return _Keys(of, lambda line: line.rep_id, groups)
    if group == "team":
        return _Keys({s.id: ["team"] for s in counted}, lambda line: "team", ["team"])
    if group in ("area", "class", "store"):
        def key(store: Store) -> str:
            return {"area": data.areas.get(store.id, ""), "class": store.store_class, "store": store.id}[group]
        of = {s.id: [key(s)] for s in counted}
        return _Keys(of, lambda line: key(by_id[line.store_id]) if line.store_id in by_id else None,
                     sorted({k for ks in of.values() for k in ks}))
    weeks = sorted({d - dt.timedelta(days=d.weekday()) for d in period.dates()})
    names = [w.isoformat() for w in weeks]
    return _Keys({s.id: names for s in counted},
                 lambda line: (line.date - dt.timedelta(days=line.date.weekday())).isoformat(), names)


def _numbers(within: _Within, data: FollowUp, period: Period, keys: _Keys, group: Group) -> dict[str, ReportRow]:
    by_id = {s.id: s for s in data.stores}
    classes = data.policy.classes
    mine: dict[str, list[VisitLine]] = defaultdict(list)
    for line in within(period):
        if (key := keys.of_line(line)) is not None:
            mine[key].append(line)
    stores_of: dict[str, set[str]] = defaultdict(set)
    for store_id, ks in keys.of_store.items():
        for k in ks:
            stores_of[k].add(store_id)
    seen: dict[Period, _Seen] = {}
    working: dict[tuple[str | None, Period], int] = {}

    def look(span: Period) -> _Seen:
        if span not in seen:
            seen[span] = _Seen.of(within(span))
        return seen[span]

    rows = {}
    for key in keys.groups:
        got = mine.get(key, [])
        stores = stores_of.get(key, set())
        span = _week(key) if group == "week" else period  # a week's stores are covered by that week's visits
        covered, ordering = stores & look(span).visited, stores & look(span).ordering
        survivors = stores & look(span.previous).ordering if group != "week" else set()
        made = [line.made for line in got if line.made is not None]
        orders = [m for m in made if m.ordered]
        sales = round(sum(m.order_value or 0 for m in orders), 2)
        avg_order = round(sales / len(orders), 2) if orders else None
        active_rate = len(ordering) / len(covered) if covered else None
        ticked = [m for m in made if m.steps]  # where reps use the checklist
        focus = [m for m in ticked if _class(by_id, classes, m.store_id).focus_step]
        required = sum(visits_per_day(classes[by_id[s].store_class], data.cycle_weeks) * span.days
                       for s in stores if by_id[s].store_class in classes)
        who = key if group == "rep" else None
        if (who, span) not in working:
            working[who, span] = _working_days(data, who, span)
        days = working[who, span]
        matched = [line for line in got if line.status in ("made", "made_other_day")]
        row = ReportRow(
            group=group, key=key,
            planned=sum(line.planned is not None for line in got), made=len(matched),
            made_other_day=sum(line.status == "made_other_day" for line in got),
            extra=sum(line.status == "extra" for line in got),
            missed=sum(line.status == "missed" for line in got),
            missed_by_reason=dict(Counter(line.reason for line in got if line.status == "missed")),
            due=sum(line.status == "due" for line in got),
            stores=len(stores), covered=len(covered), coverage=len(covered) / len(stores) if stores else None,
            ordering=len(ordering), active_rate=active_rate, orders=len(orders), avg_order=avg_order, sales=sales,
            formula=(round(len(covered) * active_rate * avg_order, 2) if active_rate is not None and avg_order is not None
                     else None),
            survival=len(survivors & ordering) / len(survivors) if survivors else None,
            focus_rate=sum(_class(by_id, classes, m.store_id).focus_step in m.steps for m in focus) / len(focus) if focus else None,
            checklist_rate=(sum(len(set(m.steps)) for m in ticked) / sum(len(_class(by_id, classes, m.store_id).checklist)
                                                                         for m in ticked) if ticked else None),
            required=required, frequency=len(made) / required if required else None,
            working_days=days, visits_per_day=len(made) / days if days else None,
            orders_per_day=len(orders) / days if days else None,
            planned_service_min=sum(line.planned.service_s for line in matched) / 60,
            actual_service_min=sum(line.made.service_s for line in matched) / 60,
            late_arrivals=sum(1 for line in matched if line.status == "made" and line.planned.start is not None
                              and (line.made.checked_in - line.planned.start).total_seconds() > data.late_after_s),
            far_check_ins=sum(m.far for m in made))
        rows[key] = _targeted(row, data, group, key, span, made, sales)
    return rows


@dataclass(frozen=True)
class _Seen:
    """The stores with a made visit in a period, and those with an order."""

    visited: frozenset[str]
    ordering: frozenset[str]

    @staticmethod
    def of(lines: Sequence[VisitLine]) -> _Seen:
        made = [line for line in lines if line.made is not None]
        return _Seen(frozenset(line.store_id for line in made), frozenset(line.store_id for line in made if line.made.ordered))


def _targeted(row: ReportRow, data: FollowUp, group: Group, key: str, period: Period, made, sales: float) -> ReportRow:
    """The row with its targets (rep or area, pro rata of the months' days in the period) and gaps."""
    if group not in ("rep", "area", "team"):
        return row
    value = visits = 0.0
    found = False
    for t in data.targets:
        if (group == "rep" and t.rep_id != key) or (group == "area" and t.area != key) or (group == "team" and t.rep_id is None):
            continue
        share = _month_share(t.month, period)
        if share:
            found = True
            value += (t.order_value or 0) * share
            visits += (t.visits or 0) * share
    if not found:
        return row
    return _with(row, target_order_value=value, target_visits=visits, gap_order_value=sales - value,
                 gap_visits=len(made) - visits)


def _month_share(month: str, period: Period) -> float:
    """The share of ``month``'s days inside ``period``."""
    first = dt.date.fromisoformat(month + "-01")
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    inside = sum(1 for d in period.dates() if first <= d <= last)
    return inside / last.day


def _working_days(data: FollowUp, rep_id: str | None, period: Period) -> int:
    """Rep-days of work in the period: ``rep_id``'s, or every rep's."""
    reps = [r for r in data.reps if rep_id is None or r.id == rep_id]
    return sum(1 for r in reps for d in period.dates() if d not in data.holidays and r.works_on(d))


def _week(key: str) -> Period:
    monday = dt.date.fromisoformat(key)
    return Period(monday, monday + dt.timedelta(days=6))


_NO_CLASS = ClassPolicy("", None, 0, 0, checklist=())


def _class(by_id: Mapping[str, Store], classes: Mapping[str, ClassPolicy], store_id: str) -> ClassPolicy:
    """A store's class policy (an empty one for a store or class the data does not know)."""
    store = by_id.get(store_id)
    return classes.get(store.store_class, _NO_CLASS) if store else _NO_CLASS


def _change(now: float | None, before: float | None) -> Change:
    if now is None or before is None:
        return Change(before, None)
    return Change(before, (now - before) / before if before else None)


def _with(row: ReportRow, **changes) -> ReportRow:
    return replace(row, **changes)


# --- the stores to look at ----------------------------------------------------------------


@dataclass(frozen=True)
class StoreGap:
    """A store not made in a period, or made longer ago than its class's spacing."""

    store_id: str
    store_class: str
    rep_id: str | None
    last_visit: dt.date | None
    days_since: int | None
    spacing_days: float


def unvisited(lines: Sequence[VisitLine], data: FollowUp, period: Period, store_class: str | None = None) -> list[StoreGap]:
    """The stores (of ``store_class``, if given) with no made visit in ``period``, with their
    last visit before it."""
    made = {line.store_id for line in lines if line.made is not None and line.date in period}
    return [g for g in _gaps(lines, data, period.end, store_class) if g.store_id not in made]


def overdue(lines: Sequence[VisitLine], data: FollowUp, on: dt.date, store_class: str | None = None) -> list[StoreGap]:
    """The stores whose last made visit (up to ``on``) is longer ago than their class's
    spacing, or that have none."""
    return [g for g in _gaps(lines, data, on, store_class) if g.days_since is None or g.days_since > g.spacing_days]


def _gaps(lines: Sequence[VisitLine], data: FollowUp, on: dt.date, store_class: str | None) -> list[StoreGap]:
    last: dict[str, dt.date] = {}
    for line in lines:
        if line.made is not None and line.date <= on:
            last[line.store_id] = max(last.get(line.store_id, line.date), line.date)
    spacing = data.spacing()
    out = []
    for s in sorted(data.stores, key=lambda s: (s.store_class, s.id)):
        if (store_class is not None and s.store_class != store_class) or not data.active(s.id) or s.id not in spacing:
            continue
        seen = last.get(s.id)
        out.append(StoreGap(s.id, s.store_class, data.store_rep(s), seen, (on - seen).days if seen else None, spacing[s.id]))
    return out
