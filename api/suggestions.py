"""Suggestions from the visits made (``routing.learn``) read from the database, and applying
one: a store's or a rep's next version, or the policy's, written like any other edit and
recorded with who decided. Open suggestions are computed afresh from the visits of the last
two cycles; applied and dismissed ones are kept as they were."""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing import learn
from routing.followup import Period
from routing.learn import RepLoad, Suggestion

from . import records
from .cache import LRU
from .followup import Inputs
from .models import Plan, PolicyVersion, RepRow, RouteRow, StoreRow, SuggestionRow, utcnow
from .models import Visit as VisitRow

#: Suggestions learn from this many cycles of visits before today (at least 4 weeks).
LEARN_CYCLES = 2


class Gone(LookupError):
    """No open suggestion has this id (it was decided, or the visits no longer suggest it)."""


def learning_period(today: dt.date, cycle_weeks: int) -> Period:
    """The days suggestions learn from: ``LEARN_CYCLES`` cycles up to yesterday."""
    return Period(today - dt.timedelta(days=7 * max(4, LEARN_CYCLES * cycle_weeks)), today - dt.timedelta(days=1))


def open_suggestions(session: Session, today: dt.date, team: Collection[str] | None) -> list[Suggestion]:
    """What the visits made suggest now, for ``team``'s reps and their stores (None: all, the
    policy's classes too), less those already decided. Kept while nothing they are learned
    from changed (the visits, stores, reps, policy, routes and decisions: a few small queries
    tell), so listing, then applying, does not learn twice."""
    key = (str(session.get_bind().url), today, *(
        session.execute(query).one() for query in (
            select(func.count(), func.max(VisitRow.written_at)),
            select(func.count(), func.max(StoreRow.updated_at), func.sum(StoreRow.version)),
            select(func.count(), func.max(RepRow.updated_at), func.sum(RepRow.version)),
            select(func.max(PolicyVersion.version), func.max(RouteRow.id), func.max(Plan.published_at)),
            select(func.count(), func.max(SuggestionRow.decided_at)).select_from(SuggestionRow))))
    found = _OPEN.get(key)
    if found is None:
        found = _learn(session, today)
        _OPEN.put(key, found)
    return found if team is None else [s for s in found if s.kind != "class_service" and team_rep(s) in team]


#: Open suggestions by what they were learned from.
_OPEN = LRU(16)


def _learn(session: Session, today: dt.date) -> list[Suggestion]:
    """Every open suggestion: learned from the whole team's visits, so a store's ABC class is
    the same whoever asks."""
    weeks = session.scalar(select(Plan.weeks).where(Plan.status == "published").order_by(Plan.id.desc()).limit(1))
    period = learning_period(today, weeks or 4)
    inputs = Inputs(session, period, today)
    data = inputs.data
    lines = [line for line in inputs.lines if line.date in period]
    stores = [s for s in data.stores if data.active(s.id)]
    by_id = {s.id: s for s in stores}
    started = {rep_id: decided_at.date() + dt.timedelta(days=1) for rep_id, decided_at in session.execute(
        select(SuggestionRow.target, SuggestionRow.decided_at).where(SuggestionRow.kind == "rep_start",
                                                                     SuggestionRow.status == "applied")
        .order_by(SuggestionRow.decided_at))}
    found = learn.suggest(learn.learn(lines, by_id, started), learn.abc(lines, by_id, data.policy), stores, data.reps, data.policy,
                          data.cycle_weeks, {s.id: data.store_rep(s) for s in stores}, _loads(session))
    decided = set(session.scalars(select(SuggestionRow.id).where(SuggestionRow.id.in_([s.id for s in found]))))
    return [s for s in found if s.id not in decided]


def decided(session: Session, status: str | None, team: Collection[str] | None) -> list[SuggestionRow]:
    """The suggestions applied or dismissed (``status``: one of them, None: both), newest first;
    a team's supervisor sees those of its reps and their stores."""
    query = select(SuggestionRow).order_by(SuggestionRow.decided_at.desc(), SuggestionRow.id)
    if status is not None:
        query = query.where(SuggestionRow.status == status)
    rows = session.scalars(query).all()
    if team is None:
        return list(rows)
    return [r for r in rows if r.kind != "class_service" and r.data.get("team_rep") in team]


def decide(session: Session, suggestions: Sequence[Suggestion], status: str, by: str) -> list[SuggestionRow]:
    """Apply (``status`` "applied") or dismiss ``suggestions``; each applied one writes the
    next version of its store, rep or the policy. One transaction: all or nothing."""
    out = []
    for s in suggestions:
        changed = _apply(session, s) if status == "applied" else None
        row = SuggestionRow(id=s.id, kind=s.kind, target=s.target, status=status, data=as_dict(s), changed=changed,
                            decided_by=by, decided_at=utcnow())
        session.add(row)
        out.append(row)
    session.flush()
    return out


def team_rep(s: Suggestion) -> str | None:
    """The rep whose team's supervisor sees ``s``: the rep, or the store's."""
    return s.target if s.kind == "rep_start" else s.evidence.get("rep_id")


def as_dict(s: Suggestion) -> dict:
    """A suggestion as stored and served (``schemas.SuggestionOut`` less the decision)."""
    return {"id": s.id, "kind": s.kind, "target": s.target, "title": s.title, "current": s.current,
            "proposed": s.proposed, "evidence": s.evidence, "effect": s.effect, "team_rep": team_rep(s)}


def _apply(session: Session, s: Suggestion) -> dict:
    if s.kind == "store_service":
        row = records.patch_record(session, records.STORES, s.target, {"service_min": s.proposed})
        return {"store": s.target, "version": row.version}
    if s.kind == "store_class":
        row = records.patch_record(session, records.STORES, s.target, {"class": s.proposed})
        return {"store": s.target, "version": row.version}
    if s.kind == "rep_start":
        row = records.patch_record(session, records.REPS, s.target, {"shift_start": s.proposed})
        return {"rep": s.target, "version": row.version}
    data = copy.deepcopy(records.current_policy_row(session).data)
    data["classes"][s.target]["service_min"] = s.proposed
    return {"policy": s.target, "version": records.put_policy(session, data).version}


def _loads(session: Session) -> dict[str, RepLoad]:
    """Each rep's cycle in the last published plan: routed travel per visit and capacity."""
    plan = session.scalar(select(Plan).where(Plan.status == "published").order_by(Plan.published_at.desc(), Plan.id.desc())
                          .limit(1))
    if plan is None:
        return {}
    key = (str(session.get_bind().url), plan.id, plan.created_at)
    loads = _LOADS.get(key)
    if loads is None:
        travel: dict[str, int] = defaultdict(int)
        visits: dict[str, int] = defaultdict(int)
        for rep_id, data in session.execute(select(RouteRow.rep_id, RouteRow.data)
                                            .where(RouteRow.plan_id == plan.id, RouteRow.version == 1)):
            travel[rep_id] += data["summary"]["travel_s"]
            visits[rep_id] += data["summary"]["visits"]
        capacity = {c["rep_id"]: c for c in (plan.result or {}).get("capacity", [])}
        loads = {rep_id: RepLoad(travel[rep_id] / visits[rep_id] if visits[rep_id] else 0.0,
                                 capacity.get(rep_id, {}).get("required_h"), capacity.get(rep_id, {}).get("available_h"),
                                 capacity.get(rep_id, {}).get("working_days"))
                 for rep_id in sorted(set(travel) | set(capacity))}
        _LOADS.put(key, loads)
    return loads


_LOADS = LRU(8)
