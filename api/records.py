"""Stores, reps and the policy in the database: versioned imports, edits, and a plan's inputs.

Every input goes through ``routing.io``'s validation (the same rules and messages as the
CLI's files) and is kept as the file's columns, so reading it back is parsing it again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from routing.errors import InputError, InputProblem
from routing.io import parse_policy, parse_reps, parse_stores, rep_record, store_record
from routing.model import Policy, Rep, Store

from .models import (
    CalendarKey,
    Job,
    Plan,
    PolicyVersion,
    RepRow,
    RepVersion,
    StoreRow,
    StoreVersion,
    utcnow,
)


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False


class Kind:
    """One kind of versioned input (stores or reps): its tables and how it is validated."""

    def __init__(self, name: str, row, version, key: str):
        self.name, self.row, self.version, self.key = name, row, version, key

    def parse(self, session: Session, data: Any, fmt: str, *, source: str | None = None) -> list[dict]:
        raise NotImplementedError


class _Stores(Kind):
    def parse(self, session, data, fmt, *, source=None):
        policy = current_policy(session)
        rep_ids = set(session.scalars(select(RepRow.id)))  # a deactivated rep's stores plan as "rep not working"
        return [store_record(s) for s in parse_stores(data, fmt=fmt, source=source or "stores", policy=policy, rep_ids=rep_ids)]

    def columns(self, record: dict) -> dict:
        return {"rep_id": record.get("rep_id"), "store_class": record["class"]}


class _Reps(Kind):
    def parse(self, session, data, fmt, *, source=None):
        return [rep_record(r) for r in parse_reps(data, fmt=fmt, source=source or "reps")]

    def columns(self, record: dict) -> dict:
        return {}


STORES = _Stores("store", StoreRow, StoreVersion, "store_id")
REPS = _Reps("rep", RepRow, RepVersion, "rep_id")


def _write(session: Session, kind: Kind, row, record: dict, active: bool) -> None:
    """Make ``record``/``active`` the next version of ``row`` (a new row if ``row`` is None)."""
    if row is None:
        row = kind.row(id=record["id"], version=0)
        session.add(row)
    row.version += 1
    row.active, row.data, row.updated_at = active, record, utcnow()
    for name, value in kind.columns(record).items():
        setattr(row, name, value)
    session.add(kind.version(**{kind.key: row.id}, version=row.version, active=active, data=record))


def import_records(session: Session, kind: Kind, data: Any, fmt: str, *, sync: bool, dry_run: bool) -> ImportReport:
    """Upsert by id, all or nothing (``InputError`` before anything is written); with ``sync``
    the active rows missing from ``data`` are deactivated (a CRM export is a full list)."""
    records = kind.parse(session, data, fmt)
    current = {row.id: row for row in session.scalars(select(kind.row))}
    report = ImportReport(dry_run=dry_run)
    for record in records:
        row = current.get(record["id"])
        if row is None:
            report.added.append(record["id"])
        elif row.data != record or not row.active:
            report.changed.append(record["id"])
        else:
            report.unchanged += 1
            continue
        if not dry_run:
            _write(session, kind, row, record, True)
    if sync:
        given = {r["id"] for r in records}
        for row_id, row in sorted(current.items()):
            if row.active and row_id not in given:
                report.deactivated.append(row_id)
                if not dry_run:
                    _write(session, kind, row, row.data, False)
    return report


def patch_record(session: Session, kind: Kind, row_id: str, changes: dict) -> Any:
    """Apply ``changes`` (some of the file's columns) to a row as its next version, validated
    whole; a deactivated row becomes active again."""
    row = session.get(kind.row, row_id)
    if row is None:
        return None
    if "id" in changes and changes["id"] != row_id:
        raise InputError([InputProblem(kind.name, None, "id", f"the id cannot change ({row_id!r} to {changes['id']!r})")])
    merged = row.data | changes
    try:
        (record,) = kind.parse(session, [merged], "json", source=f"{kind.name} {row_id}")
    except InputError as exc:  # the body is one object: its problems point at its fields
        raise InputError([dataclasses.replace(p, row=None) for p in exc.problems]) from None
    _write(session, kind, row, record, True)
    return row


def in_any_plan(session: Session, kind: Kind, row_id: str) -> bool:
    """Whether a plan, or a plan job still to write one, was made from ``row_id``: a queued or
    running job's inputs name the versions it snapshotted when it was submitted."""
    key = "stores" if kind is STORES else "reps"
    if any(row_id in inputs.get(key, {}) for inputs in session.scalars(select(Plan.inputs))):
        return True
    pending = session.scalars(select(Job.params).where(Job.status.in_(("queued", "running"))))
    return any(row_id in (params.get("inputs") or {}).get(key, {}) for params in pending)


class InUse(Exception):
    """A row others depend on (a rep that owns stores) cannot be erased."""


def delete_record(session: Session, kind: Kind, row_id: str) -> str | None:
    """Erase a row, or deactivate it if a plan was made from it (plans keep their inputs).
    Returns "deleted", "deactivated" or None (no such row); raises ``InUse`` for a rep that
    still owns stores."""
    row = session.get(kind.row, row_id)
    if row is None:
        return None
    if kind is REPS and (owned := session.scalar(select(func.count()).where(StoreRow.rep_id == row_id))):
        raise InUse(f"rep {row_id!r} owns {owned} store(s); give them another owner (or none) first")
    if kind is REPS:
        session.execute(delete(CalendarKey).where(CalendarKey.rep_id == row_id))  # its feed ends with it
    if in_any_plan(session, kind, row_id):
        if row.active:
            _write(session, kind, row, row.data, False)
        return "deactivated"
    session.query(kind.version).filter(getattr(kind.version, kind.key) == row_id).delete()
    session.delete(row)
    return "deleted"


# --- policy -----------------------------------------------------------------------------


def current_policy_row(session: Session) -> PolicyVersion | None:
    return session.scalar(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))


def current_policy(session: Session) -> Policy | None:
    row = current_policy_row(session)
    return parse_policy(row.data) if row else None


def put_policy(session: Session, data: Any) -> PolicyVersion:
    """Validate ``data`` as the policy file is validated (and, as the CLI checks stores against
    the policy, keep every class an active store names) and make it the next version."""
    policy = parse_policy(data)
    used = session.scalars(select(StoreRow.store_class).where(StoreRow.active).distinct())
    if missing := sorted(set(used) - set(policy.classes)):
        raise InputError([InputProblem("policy", f"classes.{name}", None, "active stores have this class; keep it, "
                                       "or change or delete those stores first") for name in missing])
    row = current_policy_row(session)
    new = PolicyVersion(version=(row.version if row else 0) + 1, data=data)
    session.add(new)
    session.flush()
    return new


# --- a plan's inputs --------------------------------------------------------------------


def snapshot(session: Session) -> dict:
    """The versions of the active stores and reps and the current policy: a plan's inputs."""
    policy = current_policy_row(session)
    return {
        "stores": dict(session.execute(select(StoreRow.id, StoreRow.version).where(StoreRow.active)).all()),
        "reps": dict(session.execute(select(RepRow.id, RepRow.version).where(RepRow.active)).all()),
        "policy": policy.version if policy else None,
    }


def versions(session: Session, kind: Kind, wanted: dict[str, int]) -> list[dict]:
    key = getattr(kind.version, kind.key)
    rows, items = [], list(wanted.items())
    for i in range(0, len(items), 500):
        chunk = items[i:i + 500]
        rows += session.execute(select(kind.version.data).where(tuple_(key, kind.version.version).in_(chunk))).scalars().all()
    return rows


def load_inputs(session: Session, inputs: dict, store_ids: set[str] | None = None) -> tuple[list[Store], list[Rep], Policy]:
    """The stores, reps and policy a plan was made from (only ``store_ids``, if given)."""
    policy_row = session.get(PolicyVersion, inputs["policy"])
    policy = parse_policy(policy_row.data)
    wanted = inputs["stores"] if store_ids is None else {k: v for k, v in inputs["stores"].items() if k in store_ids}
    stores = parse_stores(sorted(versions(session, STORES, wanted), key=lambda r: r["id"]), fmt="json")
    reps = parse_reps(sorted(versions(session, REPS, inputs["reps"]), key=lambda r: r["id"]), fmt="json")
    return stores, reps, policy
