"""/v1/reports: the follow-up (PDCA's "Check"): planned against made visits and the method's
numbers per rep, team, area, class, store or week; the stores not made; today per rep.
Supervisors and admins; a supervisor limited to a team sees its reps' numbers only."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from routing import followup
from routing.followup import GROUPS, MISSED_REASONS, Period

from .. import plans
from ..deps import PrincipalDep, SessionDep, allow
from ..followup import Inputs
from ..models import Visit as VisitRow
from ..problems import ProblemError, responses
from ..schemas import RepTodayOut, ReportRowOut, StoreGapOut
from ._inputs import IsoDate, csv_text

router = APIRouter(prefix="/v1/reports", tags=["reports"])
READERS = ("admin", "supervisor")
MAX_DAYS = 366
DEFAULT_DAYS = 7
_CSV = {"text/csv": {"schema": {"type": "string"}, "example": "group,key,planned,made,...\nrep,R1,64,60,...\n"}}


def report_period(request: Request, session, start: dt.date | None, end: dt.date | None) -> tuple[Period, dt.date]:
    """The period asked for (default: the 7 days to today) and today, in the plans' zone."""
    today = plans.local_today(session, request.app.state.clock())
    end = end or today
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start or (end - start).days >= MAX_DAYS:
        raise ProblemError(422, f"to: expected a date from {start} to {start + dt.timedelta(days=MAX_DAYS - 1)}, got {end}")
    return Period(start, end), today


def report_inputs(session, period: Period, today: dt.date, principal) -> Inputs:
    try:
        return Inputs(session, period, today, principal.team)
    except LookupError:
        raise ProblemError(404, "no policy yet: upload one and plan first") from None


@router.get("/visits", response_model=list[ReportRowOut], responses=responses(401, 403, 404, 422) | {200: {"content": _CSV}},
            **allow(*READERS))
def visits_report(request: Request, session: SessionDep, principal: PrincipalDep,
                  from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None,
                  group: Annotated[str, Query(pattern="^(" + "|".join(GROUPS) + ")$")] = "rep") -> Response | list[ReportRowOut]:
    """Planned against made visits, and the method's numbers, per ``group`` (rep, team, area,
    class, store, week) from ``from`` to ``to`` (default the 7 days to today): planned, made
    (on the day or another), extra, missed by reason, coverage, active rate, average order, the
    formula sales = covered x active rate x average order with each factor's change against
    the period before, survival, focus-product and checklist rates, frequency against the
    policy, visits per working day, service minutes, late and far check-ins, targets' gaps.
    CSV with ``Accept: text/csv``."""
    period, today = report_period(request, session, from_, to)
    data = report_inputs(session, period, today, principal)
    rows = followup.report(data.lines, data.data, period, group)  # type: ignore[arg-type]
    if "text/csv" in request.headers.get("accept", ""):
        return Response(_csv(rows), media_type="text/csv")
    return [ReportRowOut.model_validate(dataclasses.asdict(r)) for r in rows]


def _csv(rows: list[followup.ReportRow]) -> str:
    """The rows flat: each missed reason and each change a column."""
    out = io.StringIO()
    simple = [f.name for f in dataclasses.fields(followup.ReportRow) if f.name not in ("missed_by_reason", "changes")]
    changes = sorted({name for r in rows for name in r.changes})
    writer = csv.writer(out)
    writer.writerow(simple + [f"missed_{m}" for m in MISSED_REASONS] + [f"{c}_change" for c in changes])
    for r in rows:
        writer.writerow([_cell(getattr(r, name)) for name in simple] + [r.missed_by_reason.get(m, 0) for m in MISSED_REASONS]
                        + [_cell(r.changes[c].change if c in r.changes else None) for c in changes])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return csv_text(str(value))


@router.get("/unvisited", response_model=list[StoreGapOut], responses=responses(401, 403, 404, 422), **allow(*READERS))
def unvisited_report(request: Request, session: SessionDep, principal: PrincipalDep,
                     from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None,
                     store_class: Annotated[str | None, Query(alias="class")] = None,
                     overdue: bool = False) -> list[StoreGapOut]:
    """The active stores (of ``class``, if given) with no visit made from ``from`` to ``to``,
    with their last visit before; ``overdue=true``: instead, the stores whose last visit is
    longer ago than their class's spacing at ``to`` (a weekly store: 7 days)."""
    period, today = report_period(request, session, from_, to)
    data = report_inputs(session, Period(period.start - dt.timedelta(days=MAX_DAYS), period.end), today, principal)
    gaps = (followup.overdue(data.lines, data.data, period.end, store_class) if overdue
            else followup.unvisited(data.lines, data.data, period, store_class))
    return [StoreGapOut.model_validate(dataclasses.asdict(g) | {"class": g.store_class}) for g in gaps]


@router.get("/today", response_model=list[RepTodayOut], responses=responses(401, 403, 404), **allow(*READERS))
def today_report(request: Request, session: SessionDep, principal: PrincipalDep) -> list[RepTodayOut]:
    """Each rep's day so far: stops done, under way, next and ahead on its route as it stands,
    the visits made today, and the visits that left every route (store closed, rep unavailable)."""
    today = plans.local_today(session, request.app.state.clock())
    plan = plans.plan_of_day(session, today)
    if plan is None:
        raise ProblemError(404, f"no published plan holds {today}")
    made = {}
    for rep_id in session.scalars(select(VisitRow.rep_id).where(VisitRow.date == today.isoformat())):
        made[rep_id] = made.get(rep_id, 0) + 1
    out = []
    for row in plans.latest_routes(session, plan.id, today.isoformat()):
        if not principal.can_see_rep(row.rep_id):
            continue
        visits = [s for s in row.data["stops"] if s["type"] == "visit"]
        status = [s.get("status") for s in visits]
        ahead = [s for s in visits if s.get("status") in (None, "next")]
        out.append(RepTodayOut(rep_id=row.rep_id, done=status.count("done"), under_way=status.count("under_way"),
                               next=ahead[0]["store_id"] if ahead else None, planned=len(ahead), made=made.get(row.rep_id, 0),
                               missed=sum(x["how"] == "missing" for x in row.data.get("left", []))))
    return out
