"""What the follow-up reads besides the plans: visits reps made (``models.Visit``), imported
from another system by their id (the app's check-outs write theirs as they come,
``replans.apply``), and monthly targets (``models.TargetRow``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from routing.errors import InputError, InputProblem
from routing.followup import MadeVisit, Target
from routing.io import parse_targets, parse_visits

from .models import RepRow, StoreRow, TargetRow
from .models import Visit as VisitRow
from .plans import local_zone
from .records import current_policy
from .replans import visit_row

CHUNK = 500  # ids per IN (...) query


@dataclass(frozen=True)
class VisitImport:
    """What an import did, or with ``dry_run`` would do: visits by id."""

    received: int
    added: int
    changed: int
    unchanged: int
    dry_run: bool


def import_visits(session: Session, data: Any, fmt: str, *, team: Collection[str] | None = None, dry_run: bool = False,
                  source: str = "visits") -> VisitImport:
    """Add or replace visits by id, all or nothing (``routing.io.parse_visits`` checks every
    row; the reps and stores must be known, a team supervisor's reps only). Past dates are
    welcome: this is how visits made elsewhere come in."""
    zone = local_zone(session)
    if zone is None:
        raise InputError([InputProblem(source, None, None, "no policy yet: upload one first (its time zone reads the times)")])
    reps = set(session.scalars(select(RepRow.id)))
    visits: list[MadeVisit] = parse_visits(data, fmt=fmt, time_zone=zone, policy=current_policy(session),
                                           rep_ids=reps if team is None else reps & set(team),
                                           store_ids=set(session.scalars(select(StoreRow.id))), source=source)
    found: dict[str, VisitRow] = {}
    ids = [v.id for v in visits]
    for n in range(0, len(ids), CHUNK):  # the ids written into the query: a prepared statement's generic plan
        chunk = ids[n:n + CHUNK]          # (PostgreSQL's, chosen while the table was small) would scan it
        found |= {row.id: row for row in session.scalars(select(VisitRow).where(
            VisitRow.id.in_(bindparam("ids", chunk, expanding=True, literal_execute=True))))}
    added = changed = 0
    for visit in visits:
        row = visit_row(visit, None, "import")
        old = found.get(visit.id)
        if old is None:
            added += 1
            if not dry_run:
                session.add(row)
        elif _content(old) != _content(row):
            changed += 1
            if not dry_run:
                session.merge(row)
    return VisitImport(len(visits), added, changed, len(visits) - added - changed, dry_run)


def _content(row: VisitRow) -> tuple:
    return (row.rep_id, row.store_id, row.date, row.checked_in_at, row.checked_out_at, row.outcome, row.order_value,
            row.currency, row.note, list(row.steps), bool(row.far))


def import_targets(session: Session, data: Any, fmt: str, *, dry_run: bool = False) -> VisitImport:
    """Add or replace monthly targets by month and rep (or area), all or nothing."""
    targets: list[Target] = parse_targets(data, fmt=fmt, rep_ids=set(session.scalars(select(RepRow.id))))
    found = {(t.month, t.rep_id, t.area): t for t in session.scalars(select(TargetRow))}
    added = changed = 0
    for t in targets:
        old = found.get((t.month, t.rep_id or "", t.area or ""))
        if old is None:
            added += 1
            if not dry_run:
                session.add(TargetRow(month=t.month, rep_id=t.rep_id or "", area=t.area or "", order_value=t.order_value,
                                      visits=t.visits))
        elif (old.order_value, old.visits) != (t.order_value, t.visits):
            changed += 1
            if not dry_run:
                old.order_value, old.visits = t.order_value, t.visits
    return VisitImport(len(targets), added, changed, len(targets) - added - changed, dry_run)


def targets(session: Session) -> list[Target]:
    """Every target, by month."""
    return [Target(t.month, t.rep_id or None, t.area or None, t.order_value, t.visits)
            for t in session.scalars(select(TargetRow).order_by(TargetRow.month, TargetRow.rep_id, TargetRow.area))]
