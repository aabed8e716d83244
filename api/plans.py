"""Plans and routes in the database: which plan reps see on a date, a route with its stores,
a date's plan for a map, the export rows."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, bindparam, func, select
from sqlalchemy.orm import Session

from routing.io import parse_policy, parse_reps, parse_stores, route_from_dict
from routing.model import DayPlan, Policy, Rep, Route, Store, Unassigned

from .models import Event, Plan, PolicyVersion, RouteRow
from .records import REPS, STORES, versions

# Queries built once: 'today' is resolved on many route requests.
_PUBLISHED_ZONE = (select(Plan.__table__.c.time_zone).where(Plan.__table__.c.status == "published")
                   .order_by(Plan.__table__.c.published_at.desc()).limit(1))
_POLICY_DATA = select(PolicyVersion.__table__.c.data).order_by(PolicyVersion.__table__.c.version.desc()).limit(1)


def local_zone(session: Session) -> str | None:
    """The time zone of the plans reps see (the last published plan's; else the policy's;
    None without either)."""
    zone_name = session.execute(_PUBLISHED_ZONE).scalar()
    if zone_name is None and (data := session.execute(_POLICY_DATA).scalar()):
        zone_name = data["time_zone"]
    return zone_name


def local_today(session: Session, now: dt.datetime) -> dt.date:
    """Today at ``now`` (the service's clock) in the time zone of the plans reps see (UTC
    without one)."""
    zone_name = local_zone(session)
    return now.astimezone(ZoneInfo(zone_name) if zone_name else dt.timezone.utc).date()


def resolve_date(session: Session, text: str, now: dt.datetime) -> dt.date | None:
    """A path's date: ISO, ``today`` or ``tomorrow`` (in the plan's time zone at ``now``, the
    service's clock); None if neither."""
    if text in ("today", "tomorrow"):
        return local_today(session, now) + dt.timedelta(days=text == "tomorrow")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def published_plan(session: Session, date: dt.date) -> Plan | None:
    """The plan reps see on ``date``: the last published one whose cycle holds the date."""
    day = date.isoformat()
    return session.scalar(select(Plan).where(Plan.status == "published", Plan.start <= day, Plan.end >= day)
                          .order_by(Plan.published_at.desc(), Plan.id.desc()).limit(1))


def plan_for_rep(session: Session, rep_id: str, date: dt.date) -> Plan | None:
    """The plan of a rep's route on ``date``: the plan that has events of that day (the rep's
    own, or a re-plan's: a day under way keeps the whole team's routes when a new plan is
    published), else the published one."""
    event_plan = session.scalar(select(Event.plan_id).where(Event.rep_id.in_((rep_id, "")), Event.date == date.isoformat())
                                .order_by(Event.id.desc()).limit(1))
    if event_plan is not None:
        return session.get(Plan, event_plan)
    return published_plan(session, date)


def plan_of_day(session: Session, date: dt.date) -> Plan | None:
    """The plan the team's day ``date`` is on: the one re-planned that day, else the published one."""
    event_plan = session.scalar(select(Event.plan_id).where(Event.rep_id == "", Event.date == date.isoformat())
                                .order_by(Event.id.desc()).limit(1))
    return session.get(Plan, event_plan) if event_plan is not None else published_plan(session, date)


class RouteStamp(NamedTuple):
    """What a rep's route on a date is made from: the plan ``plan_for_rep`` finds and the
    latest version of the route in it (``route_id`` None: no route that day). Plans and route
    rows never change once written (a re-solve adds a version), so equal stamps mean equal
    answers; the creation times guard against a row id used again after a delete."""

    rep_id: str
    date: str
    plan_id: int
    plan_created: dt.datetime
    route_id: int | None
    route_created: dt.datetime | None


def _stamp_query():
    """The query of ``route_stamp``, built once (building and keying it would cost more than
    running it); parameters ``rep`` and ``day``."""
    rep, day = bindparam("rep", type_=String), bindparam("day", type_=String)
    plans, routes, events = Plan.__table__.c, RouteRow.__table__.c, Event.__table__.c
    event_plan = (select(events.plan_id).where(events.rep_id.in_([rep, ""]), events.date == day)
                  .order_by(events.id.desc()).limit(1).scalar_subquery())
    published = (select(plans.id).where(plans.status == "published", plans.start <= day, plans.end >= day)
                 .order_by(plans.published_at.desc(), plans.id.desc()).limit(1).scalar_subquery())
    latest = (select(routes.id).where(routes.plan_id == plans.id, routes.rep_id == rep, routes.date == day)
              .order_by(routes.version.desc()).limit(1).correlate(Plan.__table__).scalar_subquery())
    return (select(plans.id, plans.created_at, routes.id, routes.created_at)
            .select_from(Plan.__table__.outerjoin(RouteRow.__table__, routes.id == latest))
            .where(plans.id == func.coalesce(event_plan, published)))


_STAMP = _stamp_query()


def route_stamp(session: Session, rep_id: str, date: dt.date) -> RouteStamp | None:
    """``plan_for_rep`` and ``route_row`` as one small query of ids only; None without a plan."""
    day = date.isoformat()
    row = session.execute(_STAMP, {"rep": rep_id, "day": day}).first()
    return RouteStamp(rep_id, day, *row) if row else None


def route_row(session: Session, plan_id: int, rep_id: str, date: str) -> RouteRow | None:
    """The latest version of a rep's route on a date of a plan."""
    return session.scalar(select(RouteRow).where(RouteRow.plan_id == plan_id, RouteRow.rep_id == rep_id, RouteRow.date == date)
                          .order_by(RouteRow.version.desc()).limit(1))


def latest_routes(session: Session, plan_id: int, date: str | None = None) -> list[RouteRow]:
    """The latest version of every route of a plan (of one date, if given), by date and rep.
    Only those rows are read: a day's events add versions, and each row carries its route."""
    newest = select(RouteRow.rep_id, RouteRow.date, func.max(RouteRow.version).label("version")).where(
        RouteRow.plan_id == plan_id)
    if date is not None:
        newest = newest.where(RouteRow.date == date)
    newest = newest.group_by(RouteRow.rep_id, RouteRow.date).subquery()
    rows = session.scalars(select(RouteRow).join(newest, and_(
        RouteRow.plan_id == plan_id, RouteRow.rep_id == newest.c.rep_id, RouteRow.date == newest.c.date,
        RouteRow.version == newest.c.version)))
    return sorted(rows, key=lambda r: (r.date, r.rep_id))  # Python's order, whatever the database's collation


def store_data(session: Session, plan: Plan, store_ids: set[str]) -> dict[str, dict]:
    """The stores (file columns) of ``store_ids`` that a plan's stops may name: those the plan
    was made from, and the new stores its urgent visits brought (``event_stores``). The one
    source of a stop's store for every page that shows a plan's routes."""
    wanted = {k: plan.inputs["stores"][k] for k in store_ids if k in plan.inputs["stores"]}
    found = {r["id"]: r for r in versions(session, STORES, wanted)}
    if unknown := set(store_ids) - found.keys():
        brought = event_stores(session, plan)
        found |= {k: brought[k] for k in unknown if k in brought}
    return found


def event_stores(session: Session, plan: Plan) -> dict[str, dict]:
    """The new stores (file columns) that urgent visits posted to the plan brought, by id (a
    store given again: as last posted)."""
    rows = session.scalars(select(Event.data).where(Event.plan_id == plan.id, Event.kind == "urgent_visit")
                           .order_by(Event.id))
    stores = (data.get("event", {}).get("store") for data in rows)
    return {store["id"]: store for store in stores if store}


def plan_stores(session: Session, plan: Plan, store_ids: set[str]) -> list[Store]:
    """``store_data`` as ``Store``s, by id."""
    return parse_stores(sorted(store_data(session, plan, store_ids).values(), key=lambda r: r["id"]), fmt="json")


def plan_reps(session: Session, plan: Plan, rep_ids: set[str] | None = None) -> list[Rep]:
    """The reps a plan was made from (of ``rep_ids``, if given) as ``Rep``s, by id: a rep
    stored without an end ends its day where it starts."""
    wanted = {k: v for k, v in plan.inputs["reps"].items() if rep_ids is None or k in rep_ids}
    return parse_reps(sorted(versions(session, REPS, wanted), key=lambda r: r["id"]), fmt="json")


def plan_policy(session: Session, plan: Plan) -> Policy:
    """The policy a plan was made from."""
    return parse_policy(session.get(PolicyVersion, plan.inputs["policy"]).data)


def day_plan(session: Session, plan: Plan, date: str, rep_ids: frozenset[str] | None = None):
    """A date of a plan as a ``DayPlan`` with its stores and reps (for a map); only the
    routes of ``rep_ids`` if given (and then no missing visits)."""
    zone = ZoneInfo(plan.time_zone)
    rows = [r for r in latest_routes(session, plan.id, date) if rep_ids is None or r.rep_id in rep_ids]
    routes: tuple[Route, ...] = tuple(route_from_dict(r.data, zone) for r in rows)
    missing = tuple(Unassigned(u["store_id"], u["reason"], u.get("detail", ""), u.get("date"))
                    for u in plan.result.get("unassigned", []) if u.get("date") == date and rep_ids is None)
    ids = {v.store_id for r in routes for v in r.visits} | {u.store_id for u in missing}
    return DayPlan(date, plan.time_zone, routes, missing), plan_stores(session, plan, ids), plan_reps(session, plan)
