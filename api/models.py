"""Database tables (SQLAlchemy 2). Every change to them goes through an Alembic migration.

Stores and reps keep every version of themselves, so a plan can name the exact inputs it
was made from (``Plan.inputs``) and be checked, re-planned or exported later on those, even
after an import changed them. Inputs are kept as the stores and reps files' columns
(``routing.io.store_record``) and read back through the same validation as the files.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime, stored naive in UTC (SQLite keeps no offsets)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value is not None else None

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=dt.timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, dt.datetime: UTCDateTime}


class StoreRow(Base):
    """The current version of a store; ``active`` False once deactivated (sync or delete)."""

    __tablename__ = "stores"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    rep_id: Mapped[str | None] = mapped_column(String(200), index=True)
    store_class: Mapped[str] = mapped_column(String(50), index=True)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StoreVersion(Base):
    """Every version a store has had (the current one included)."""

    __tablename__ = "store_versions"
    store_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RepRow(Base):
    """The current version of a rep."""

    __tablename__ = "reps"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RepVersion(Base):
    """Every version a rep has had."""

    __tablename__ = "rep_versions"
    rep_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PolicyVersion(Base):
    """The visit policy; the highest version is the current one."""

    __tablename__ = "policy_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Plan(Base):
    """A cycle plan: its inputs' versions, its result, draft or published."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)  # draft | published
    start: Mapped[str] = mapped_column(String(10))
    end: Mapped[str] = mapped_column(String(10))  # the last date of the cycle
    weeks: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(500))
    inputs: Mapped[dict[str, Any]]  # {"stores": {id: version}, "reps": {id: version}, "policy": version}
    params: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]  # summary, KPIs, capacity, suggestions, unassigned (routes are rows)
    job_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None]


class RouteRow(Base):
    """One rep's route on one date of a plan; a re-solve adds a version, never overwrites."""

    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("plan_id", "rep_id", "date", "version"), Index("ix_routes_rep_date", "rep_id", "date"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[str] = mapped_column(String(200))
    date: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict[str, Any]]  # routing.io.route_to_dict
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A background job (a cycle plan): status, phase, progress, and the plan it made."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="plan")
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued running succeeded failed cancelled
    phase: Mapped[str] = mapped_column(String(50), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]]
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    lease_until: Mapped[dt.datetime | None]  # a running job's worker renews it; once it ran out, the job is failed


class Token(Base):
    """An API token: only its SHA-256 hash is kept; ``prefix`` names it in lists."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # admin supervisor integrator rep
    rep_id: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[list[Any] | None]  # a supervisor's rep ids; None = every rep
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


class Session(Base):
    """A browser session from /login: the cookie carries the secret, the table its hash."""

    __tablename__ = "sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime]


class SignInLink(Base):
    """A one-time sign-in link for a rep's phone (its code's hash). Used once, it makes a rep
    token (``token_id``) and a browser session on that token: revoking the token signs the
    phone out."""

    __tablename__ = "sign_in_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rep_id: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"))

    @property
    def status(self) -> str:
        """unused, used, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.used_at is not None:
            return "used"
        return "expired" if self.expires_at <= utcnow() else "unused"


class CalendarKey(Base):
    """A rep's secret calendar-feed key (hash); a new key replaces (revokes) the old."""

    __tablename__ = "calendar_keys"
    rep_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Event(Base):
    """A same-day event on a route (visit done, store closed, ...): room for re-solving."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_rep_date", "rep_id", "date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[str] = mapped_column(String(200))
    date: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Visit(Base):
    """A visit a rep made: a check-in and check-out pair (``routing.followup.MadeVisit``), from
    the rep's app (written at the check-out) or imported from another system by its id. The
    follow-up reports' actual visits and the stops' last visits, whatever later plans do."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_store_date", "store_id", "date"), Index("ix_visits_rep_date", "rep_id", "date"),
                      Index("ix_visits_date", "date"))
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    rep_id: Mapped[str] = mapped_column(String(200))
    store_id: Mapped[str] = mapped_column(String(200))
    date: Mapped[str] = mapped_column(String(10))
    """The check-in's date in the plans' time zone."""
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    checked_in_at: Mapped[dt.datetime]
    checked_out_at: Mapped[dt.datetime]
    outcome: Mapped[str | None] = mapped_column(String(20))
    order_value: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[Any]]
    far: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(10))
    """``app`` or ``import``."""
    written_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    """When it was last written (a re-import that changes it too): the reports' cache reads it."""


class TargetRow(Base):
    """A month's target of a rep or an area (目标拆解): order value and visits. ``rep_id`` or
    ``area`` is '' when the target is the other's."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("month", "rep_id", "area", name="uq_targets_month_rep_area"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    rep_id: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(100))
    order_value: Mapped[float | None] = mapped_column(Float)
    visits: Mapped[int | None] = mapped_column(Integer)


class IdempotencyKey(Base):
    """An answer kept for a retried write (``Idempotency-Key`` header): the same caller, key
    and body get the same answer, and change nothing more; another body is refused."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(64))  # the caller's token id, or its rep's (routes/events.py)
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class ProposalRow(Base):
    """A territory proposal of a plan: a rep for every store, the moves, the routed workloads
    before and after (``result``); ``status`` running, proposed, failed or applied."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="running")
    params: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class OwnerEdit(Base):
    """A supervisor gave a store to a rep by hand (``POST /v1/stores/move``): later proposals
    keep it while the store still has that owner, unless told otherwise."""

    __tablename__ = "owner_edits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(String(200), index=True)
    rep_id: Mapped[str] = mapped_column(String(200))
    by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SuggestionRow(Base):
    """A suggestion (``routing.learn``) a supervisor applied or dismissed, as it was then
    (``data``), and what applying it wrote (``changed``). Open suggestions are not stored:
    they are computed from the visits made."""

    __tablename__ = "suggestions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    data: Mapped[dict[str, Any]]
    changed: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(300))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
