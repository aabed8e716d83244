"""Same-day events in the service: a plan's day under way as a ``routing.replan.Situation``
from the database, events applied, and what they change written as new route versions.

What is stored, all in the ``events`` table of the plan and date:

* one row per applied event (its kind, its rep or '' and the event as JSON, who posted it and
  the route versions its post wrote; ``event_log`` reads them back);
* one ``affected`` row for each other rep whose route changed, so that rep's route stays
  with this plan for the day even if another plan is published meanwhile;
* one ``state`` row per re-plan: the cycle's missing visits after it and when it ran (plans
  never change once written; the latest state row is the plan's current list).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from routing.calendar import Cycle
from routing.clock import day_clock
from routing.events import KINDS, Event
from routing.followup import MadeVisit, made_visits
from routing.io import diff_to_dict, event_to_dict, parse_events, route_from_dict, route_to_dict
from routing.model import Policy, Rep, Store, Unassigned
from routing.replan import ReplanParams, Replan, Situation, apply_events
from routing.travel import TravelMatrix

from .cache import LRU
from .db import begin_write
from .models import Event as EventRow
from .models import Plan, RouteRow, utcnow
from .models import Visit as VisitRow
from routing.network import travel_for
from .plans import latest_routes, route_row
from .records import load_inputs

#: Event rows that are not events.
AFFECTED, STATE = "affected", "state"

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def plan_lock(plan_id: int) -> threading.Lock:
    """One re-plan of a plan at a time in this process (``day_locked`` holds the other
    processes off)."""
    with _locks_guard:
        return _locks.setdefault(plan_id, threading.Lock())


class Busy(Exception):
    """Another process kept the database's write lock for the whole busy timeout (SQLite)."""


@contextmanager
def day_locked(session: Session, plan: Plan) -> Iterator[None]:
    """Hold the plan for one re-plan until the block ends; read the day, apply and commit in
    it. One re-plan at a time in this process (``plan_lock``) and across processes: the
    session's transaction begins again before the day is read, as the only writer (``BEGIN
    IMMEDIATE`` on SQLite: the other processes' writers wait, up to the busy timeout; the
    plan's row locked on PostgreSQL), so no other write comes between this read and this
    write. What the session read before is let go (rolled back, nothing was written);
    ``Busy`` if the lock stayed taken for the whole busy timeout."""
    plan_id = plan.id
    with plan_lock(plan_id):
        session.rollback()
        try:
            begin_write(session)
        except OperationalError as exc:  # SQLite: "database is locked" after the busy timeout
            session.rollback()
            raise Busy(str(exc.orig)) from None
        session.execute(select(Plan.id).where(Plan.id == plan_id).with_for_update())
        yield


@dataclass(frozen=True)
class PlanBase:
    """What a plan was made from: its stores, reps and policy, its cycle, and the travel
    matrix on its network."""

    stores: tuple[Store, ...]
    reps: tuple[Rep, ...]
    policy: Policy
    cycle: Cycle
    travel: TravelMatrix


def base_of(session: Session, plan: Plan, road_network, cache_dir) -> PlanBase:
    """A plan's ``PlanBase`` (``road_network(name)`` loads its network; None for straight lines)."""
    stores, reps, policy = load_inputs(session, plan.inputs)
    travel, _ = travel_for(road_network(plan.network), stores, reps, policy, cache=cache_dir)
    holidays = frozenset(dt.date.fromisoformat(d) for d in (plan.params or {}).get("holidays", []))
    return PlanBase(tuple(stores), tuple(reps), policy, Cycle(dt.date.fromisoformat(plan.start), plan.weeks, holidays), travel)


class Bases:
    """The inputs, cycle and travel matrix of recently used plans, built once per process:
    they never change once a plan is written."""

    def __init__(self, size: int = 8):
        self._lru = LRU(size)
        self._lock = threading.Lock()

    def get(self, session: Session, plan: Plan, road_network, cache_dir) -> PlanBase:
        key = (plan.id, plan.created_at)
        with self._lock:
            found = self._lru.get(key)
        if found is None:
            found = base_of(session, plan, road_network, cache_dir)
            with self._lock:
                self._lru.put(key, found)
        return found


def _last_state(session: Session, plan: Plan) -> EventRow | None:
    return session.scalar(select(EventRow).where(EventRow.plan_id == plan.id, EventRow.kind == STATE)
                          .order_by(EventRow.id.desc()).limit(1))


def plan_state(session: Session, plan: Plan) -> tuple[list, list[Unassigned]]:
    """A plan as it stands: the latest version of every route, and the missing visits after
    the last re-plan (else the plan's)."""
    routes, missing, _ = _plan_state(session, plan)
    return routes, missing


def _plan_state(session: Session, plan: Plan) -> tuple[list, list[Unassigned], EventRow | None]:
    """``plan_state`` and the last state row (None before the first re-plan)."""
    zone = ZoneInfo(plan.time_zone)
    routes = [route_from_dict(r.data, zone) for r in latest_routes(session, plan.id)]
    state = _last_state(session, plan)
    return routes, _missing(session, plan, state), state


def missing_now(session: Session, plan: Plan) -> list[Unassigned]:
    """The plan's missing visits as it stands: after the last re-plan, else the plan's own."""
    return _missing(session, plan, _last_state(session, plan))


def _missing(session: Session, plan: Plan, state: EventRow | None) -> list[Unassigned]:
    held = state
    if state is not None and "unassigned_in" in state.data:  # unchanged since that state: kept there once
        held = session.get(EventRow, state.data["unassigned_in"])
    missing = held.data["unassigned"] if held is not None else plan.result.get("unassigned", [])
    return [Unassigned(u["store_id"], u["reason"], u.get("detail", ""), u.get("date")) for u in missing]


def situation(session: Session, plan: Plan, date: dt.date, base: PlanBase) -> Situation:
    """The plan's day ``date`` as it stands (``plan_state``) with the date's events so far."""
    routes, unassigned, state = _plan_state(session, plan)
    rows = session.scalars(select(EventRow).where(EventRow.plan_id == plan.id, EventRow.date == date.isoformat(),
                                                  EventRow.kind.in_(tuple(KINDS))).order_by(EventRow.id)).all()
    events = parse_events([r.data["event"] for r in rows], date=date, time_zone=plan.time_zone, policy=base.policy)
    now = state.data.get("now_s") if state is not None and state.date == date.isoformat() else None
    return Situation(date, base.stores, base.reps, base.policy, base.cycle, base.travel, tuple(routes), tuple(unassigned),
                     tuple(events), now)


def now_seconds(plan: Plan, date: dt.date, now: dt.datetime) -> int:
    """Real seconds of ``date`` (the plan's zone) at ``now`` (the service's clock)."""
    return day_clock(date, plan.time_zone).from_instant(now)


def apply(session: Session, plan: Plan, sit: Situation, events: list[Event], now: dt.datetime, params: ReplanParams,
          by: str) -> tuple[Replan, dict[str, int]]:
    """Apply ``events`` at ``now`` (the service's clock) and write what changed: new route
    versions, the event rows (received ``now``), the state. Returns the re-plan and the new version of each changed route of the date under
    way (rep id -> version). Raises ``EventRejected`` before writing anything."""
    result = apply_events(sit, events, now_seconds(plan, sit.date, now), params)
    zone = ZoneInfo(plan.time_zone)
    date = sit.date.isoformat()
    versions: dict[str, int] = {}
    had = {v.store_id: r.rep_id for r in sit.routes if r.date == date for v in r.visits}
    for route in result.changed:
        previous = route_row(session, plan.id, route.rep_id, route.date)
        latest = previous.version if previous is not None else 0
        data = route_to_dict(route, zone)
        if route.date == date:
            versions[route.rep_id] = latest + 1
            data["left"] = _left(previous.data.get("left", []) if previous is not None else [], result.diff, had,
                                 route.rep_id, data["stops"])
        session.add(RouteRow(plan_id=plan.id, rep_id=route.rep_id, date=route.date, version=latest + 1, data=data))
    for event in result.applied:  # as applied, with the route versions its post wrote (the events log shows them)
        session.add(EventRow(plan_id=plan.id, rep_id=event.rep_id or "", date=date, kind=event.kind,
                             data={"event": event_to_dict(event, sit.date, plan.time_zone), "by": by, "versions": versions,
                                   "received_at": now.isoformat()}))
    after = result.situation
    stores = {s.id: s for s in after.stores} | {e.store.id: e.store for e in after.events if e.store is not None}
    for visit in made_visits(sit.date, plan.time_zone, after.events, stores, after.policy, params.check_in_radius_m,
                             only=[e for e in result.applied if e.kind == "visit_done"]):
        session.merge(visit_row(visit, plan.id, "app"))
    own = {e.rep_id for e in result.applied}
    for rep_id in sorted(set(versions) - own):
        session.add(EventRow(plan_id=plan.id, rep_id=rep_id, date=date, kind=AFFECTED, data={"by": by}))
    last = _last_state(session, plan)
    if last is not None and after.unassigned == sit.unassigned:  # the cycle's missing visits are as they were
        missing = {"unassigned_in": last.data.get("unassigned_in", last.id)}
    else:
        missing = {"unassigned": [{"store_id": u.store_id, "reason": u.reason, "detail": u.detail, "date": u.date}
                                  for u in after.unassigned]}
    session.add(EventRow(plan_id=plan.id, rep_id="", date=date, kind=STATE, data=missing | {"now_s": after.now_s}))
    session.flush()
    return result, versions


def _left(before: list[dict], diff, had: dict[str, str], rep_id: str, stops: list[dict]) -> list[dict]:
    """The day's visits that left ``rep_id``'s route since it was published (the route's
    ``left``): those gone before (``before``) and those this re-plan took off it (``diff``;
    ``had``: each store's rep before it), where each went; a visit back on the route is not."""
    gone = {item["store_id"]: item for item in before}
    for m in diff.moved:
        if m["from"] == rep_id:
            gone[m["store_id"]] = {"store_id": m["store_id"], "how": "moved", "rep_id": m["to"]}
    for c in diff.carried:
        if had.get(c["store_id"]) == rep_id:
            gone[c["store_id"]] = {"store_id": c["store_id"], "how": "carried", "rep_id": c["rep_id"], "to_date": c["to_date"]}
    for d in diff.dropped:
        if d["rep_id"] == rep_id:
            gone[d["store_id"]] = {"store_id": d["store_id"], "how": "missing", "reason": d["reason"], "detail": d["detail"]}
    on_route = {s.get("store_id") for s in stops}
    return [item for store_id, item in sorted(gone.items()) if store_id not in on_route]


def visit_row(visit: MadeVisit, plan_id: int | None, source: str) -> VisitRow:
    """A made visit as stored."""
    return VisitRow(id=visit.id, rep_id=visit.rep_id, store_id=visit.store_id, date=visit.date.isoformat(), plan_id=plan_id,
                    checked_in_at=visit.checked_in, checked_out_at=visit.checked_out, outcome=visit.outcome,
                    order_value=visit.order_value, currency=visit.currency, note=visit.note, steps=list(visit.steps),
                    far=visit.far, source=source)


def answer(plan: Plan, date: dt.date, result: Replan, versions: dict[str, int]) -> dict:
    """The JSON answer of an event post: what was applied, the new route versions, the diff."""
    return {
        "plan_id": plan.id,
        "date": date.isoformat(),
        "applied": [event_to_dict(e, date, plan.time_zone) for e in result.applied],
        "routes": [{"rep_id": rep_id, "version": v} for rep_id, v in sorted(versions.items())],
        "diff": diff_to_dict(result.diff, date, plan.time_zone),
        "flags": list(result.flags),
        "info": {k: v for k, v in result.info.items() if k in ("reps", "fast_path", "status", "wall_s")},
    }


def purge_positions(session: Session, days: float, limit: int = 500) -> int:
    """Forget the phone positions of events older than ``days`` (the events stay, without
    them); returns how many were forgotten."""
    cutoff = utcnow() - dt.timedelta(days=days)
    lat = EventRow.data["event"]["lat"].as_float()
    rows = session.scalars(select(EventRow).where(EventRow.created_at < cutoff, EventRow.kind.in_(("position", "visit_started")),
                                                  lat.is_not(None)).limit(limit)).all()
    for row in rows:
        event = {k: v for k, v in row.data["event"].items() if k not in ("lat", "lon")}
        row.data = dict(row.data, event=event, position="forgotten")
    return len(rows)


def event_log(session: Session, plan: Plan, *, date: dt.date | None = None, rep_ids: Collection[str] | None = None,
              offset: int = 0, limit: int = 100) -> tuple[int, list[EventRow]]:
    """The plan's stored events (not the ``affected`` and ``state`` rows) in the order they
    were received: of ``date`` and of ``rep_ids`` ('' for events of no rep), if given. How
    many match, and those from ``offset`` (at most ``limit``)."""
    query = select(EventRow).where(EventRow.plan_id == plan.id, EventRow.kind.in_(tuple(KINDS)))
    if date is not None:
        query = query.where(EventRow.date == date.isoformat())
    if rep_ids is not None:
        query = query.where(EventRow.rep_id.in_(sorted(rep_ids)))
    count = session.scalar(select(func.count()).select_from(query.subquery()))
    return count, list(session.scalars(query.order_by(EventRow.id).offset(offset).limit(limit)))
