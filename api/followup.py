"""The follow-up reports' inputs read from the database: the planned visits of a period (each
date's published routes, version 1, where that day's re-plans put them), the visits made
(``models.Visit``), the stores, reps and policy; ``routing.followup`` computes the numbers."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Collection
from dataclasses import replace

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from routing import followup
from routing.followup import FollowUp, MadeVisit, Period, PlannedVisit, VisitLine
from routing.io import parse_reps, parse_stores
from routing.model import Store

from .cache import LRU
from .models import Plan, RepRow, RouteRow, StoreRow
from .models import Visit as VisitRow
from .plans import plan_of_day
from .records import current_policy
from .visits import targets


def planned_visits(session: Session, period: Period) -> tuple[list[PlannedVisit], dict[int, Plan]]:
    """The visits the published routes of ``period``'s dates asked for (each date's version 1)
    where the day's re-plans put them: made by another rep today (covered), carried to a later
    date, or left on no route with the reason (``left``); and the plans they came from."""
    out: list[PlannedVisit] = []
    plans: dict[int, Plan] = {}
    for date in period.dates():
        plan = plan_of_day(session, date)
        if plan is None:
            continue
        plans[plan.id] = plan
        newest = session.scalar(select(func.max(RouteRow.id)).where(RouteRow.plan_id == plan.id,
                                                                     RouteRow.date == date.isoformat()))
        key = (str(session.get_bind().url), plan.id, plan.created_at, date, newest)  # a re-plan makes a newer row
        day = _DAYS.get(key)
        if day is None:
            day = _day(session, plan, date)
            _DAYS.put(key, day)
        out += day
    return out, plans


#: Each date's planned visits, by what they were read from: a past day's never change.
_DAYS = LRU(4000)


def _day(session: Session, plan: Plan, date: dt.date) -> list[PlannedVisit]:
    day = date.isoformat()
    rows = session.scalars(select(RouteRow).where(RouteRow.plan_id == plan.id, RouteRow.date == day)
                           .order_by(RouteRow.rep_id, RouteRow.version)).all()
    first = {r.rep_id: r for r in rows if r.version == 1}
    latest: dict[str, RouteRow] = {}
    for r in rows:
        latest[r.rep_id] = r
    now_at = {s["store_id"]: (rep_id, s) for rep_id, r in latest.items() for s in r.data["stops"]
              if s["type"] == "visit"}
    out = []
    for rep_id, row in first.items():
        left = {x["store_id"]: x for x in latest[rep_id].data.get("left", [])}
        for stop in row.data["stops"]:
            if stop["type"] != "visit":
                continue
            store_id = stop["store_id"]
            if store_id in now_at:
                taker, where = now_at[store_id]
                out.append(PlannedVisit(store_id, taker, date, *_times(where), moved="covered" if taker != rep_id else None))
                continue
            start, service = _times(stop)
            if (gone := left.get(store_id)) is not None and gone["how"] == "carried":
                out.append(PlannedVisit(store_id, gone["rep_id"], dt.date.fromisoformat(gone["to_date"]), None, service,
                                        moved="carried"))
            else:
                out.append(PlannedVisit(store_id, rep_id, date, start, service,
                                        left=gone.get("reason") if gone is not None else None))
    return out


def _times(stop: dict) -> tuple[dt.datetime, int]:
    start = dt.datetime.fromisoformat(stop["start"])
    return start, int((dt.datetime.fromisoformat(stop["end"]) - start).total_seconds())


def made_visits(session: Session, period: Period) -> list[MadeVisit]:
    """The visits made in ``period`` (by their check-in's date; times in UTC). Each date's are
    kept while that date's visits are as they were (their count and last write)."""
    stamps = session.execute(select(VisitRow.date, func.count(), func.max(VisitRow.written_at))
                             .where(VisitRow.date >= period.start.isoformat(), VisitRow.date <= period.end.isoformat())
                             .group_by(VisitRow.date)).all()
    url = str(session.get_bind().url)
    out: list[MadeVisit] = []
    stale: dict[str, tuple] = {}
    for day, count, written in stamps:
        kept = _MADE.get(key := (url, day, count, written))
        if kept is None:
            stale[day] = key
        else:
            out += kept
    if stale:
        v = VisitRow
        rows = session.execute(select(v.id, v.rep_id, v.store_id, v.date, v.checked_in_at, v.checked_out_at, v.outcome,
                                      v.order_value, v.steps, v.far, v.note, v.currency)  # columns: no ORM objects
                               .where(v.date.in_(bindparam("days", sorted(stale), expanding=True, literal_execute=True))))
        fresh: dict[str, list[MadeVisit]] = {day: [] for day in stale}
        dates = {day: dt.date.fromisoformat(day) for day in stale}
        for vid, rep_id, store_id, day, checked_in, checked_out, outcome, value, steps, far, note, currency in rows:
            fresh[day].append(MadeVisit(vid, rep_id, store_id, dates[day], checked_in, checked_out, outcome, value,
                                        tuple(steps), bool(far), note, currency))
        for day, visits in fresh.items():
            _MADE.put(stale[day], visits)
            out += visits
    return out


#: Each date's made visits, by the date's visit count and last write.
_MADE = LRU(4000)


class _Stores:
    """Every store, parsed, and the active ones' ids: kept while no store changed (one small
    query tells), so a report does not read and check 20,000 stores again."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value: tuple[list[Store], set[str]] = ([], set())

    def get(self, session: Session) -> tuple[list[Store], set[str]]:
        key = (str(session.get_bind().url),
               *session.execute(select(func.count(), func.max(StoreRow.updated_at), func.sum(StoreRow.version))).one())
        with self._lock:
            if key == self._key:
                return self._value
        rows = session.execute(select(StoreRow.data, StoreRow.active)).all()
        value = (parse_stores(sorted((data for data, _ in rows), key=lambda d: d["id"]), fmt="json"),
                 {data["id"] for data, on in rows if on})
        with self._lock:
            self._key, self._value = key, value
        return value


_STORES = _Stores()


#: A check-in more than this after the planned start is a late arrival.
LATE_AFTER_S = 300


class Inputs:
    """A period's visit lines (and the period before it, for the changes) and what the
    reports read besides, for the reps of ``team`` (None: every rep)."""

    def __init__(self, session: Session, period: Period, today: dt.date, team: Collection[str] | None = None):
        both = Period(period.previous.start, period.end)
        planned, plans = planned_visits(session, both)
        made = made_visits(session, both)
        policy = current_policy(session)
        if policy is None:
            raise LookupError("no policy yet")
        stores, active = _STORES.get(session)
        reps = parse_reps(sorted(session.scalars(select(RepRow.data).where(RepRow.active)), key=lambda d: d["id"]), fmt="json")
        often = Counter((p.store_id, p.rep_id) for p in planned if p.moved is None)
        planned_rep: dict[str, str] = {}
        for (store_id, rep_id), _ in often.most_common():
            planned_rep.setdefault(store_id, rep_id)
        latest = max(plans.values(), key=lambda p: p.id, default=None) or session.scalar(
            select(Plan).where(Plan.status == "published").order_by(Plan.id.desc()).limit(1))
        holidays = frozenset(dt.date.fromisoformat(d) for p in plans.values() for d in (p.params or {}).get("holidays", []))
        self.data = FollowUp(stores, reps, policy, cycle_weeks=latest.weeks if latest else 4,
                             active=active.__contains__, areas={s.id: s.area for s in stores if s.area},
                             holidays=holidays, targets=targets(session), planned_rep=planned_rep, late_after_s=LATE_AFTER_S)
        lines = followup.match(planned, made, self.data.spacing(), today)
        if team is not None:
            team = set(team)
            mine = {s.id for s in stores if self.data.store_rep(s) in team}
            lines = [line for line in lines if line.rep_id in team or line.store_id in mine]
            self.data = replace(self.data, stores=[s for s in stores if s.id in mine], reps=[r for r in reps if r.id in team],
                                targets=[t for t in self.data.targets if t.rep_id in team])
        self.lines: list[VisitLine] = lines
        self.period = period
