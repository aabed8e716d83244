"""The service's commands: ``fieldroute serve [--demo]``, ``worker``, ``db upgrade``, ``token create|list|revoke``."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from . import auth, records
from .clock import ServiceClock
from .db import current_revision, make_engine, session_factory, transaction, upgrade
from .models import Job, Plan, RepRow, RouteRow, StoreRow, Token, utcnow
from routing.network import DEMO_DIR
from .settings import Settings

DEMO_WEEKS = 4
#: Weeks of the demo's cycle before this week, played as a team would (``routing.simulate``) so the
#: follow-up reports have visits to show.
DEMO_PAST_WEEKS = 4
DEMO_TOKEN_PREFIX = "demo "


def add_commands(sub) -> None:
    """The service's subcommands on the ``fieldroute`` parser."""
    p = sub.add_parser("serve", help="run the HTTP service (FastAPI on uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=int(os.environ.get("FIELDROUTE_PORT", 8000)), help="port (default 8000 or $FIELDROUTE_PORT)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    _db_option(p)
    p.add_argument("--network", help="travel model of plans: straight, demo, an .osm.pbf path, osrm:PATH or osrm+http://HOST:PORT (default $FIELDROUTE_NETWORK or straight; demo with --demo)")
    p.add_argument("--demo", action="store_true", help="on an empty database, load the demo team, plan and publish a 4-week cycle "
                   "from this week's Monday; print tokens for a supervisor and each rep")
    p.add_argument("--demo-time-limit", type=float, default=20.0, help="seconds for the demo cycle plan (default 20)")
    p.add_argument("--clock", help="start the service's clock at this instant and let it run, e.g. 2026-12-07T09:40 "
                   "(without an offset: the plans' time zone; default $FIELDROUTE_CLOCK, else the system clock): "
                   "for demos, tests and app developers; --demo plans the week of that date")

    p = sub.add_parser("worker", help="run the plan jobs the service queues, in this process's workers (a separate "
                       "machine or container; set FIELDROUTE_RUN_JOBS=false on the service)")
    _db_option(p)
    p.add_argument("--max-jobs", type=int, help="jobs run at once on the database, by every process that shares it "
                   "(default $FIELDROUTE_MAX_JOBS, 1)")
    p.add_argument("--ray", metavar="ADDRESS", help="plan by-territory jobs on this Ray cluster ('local': one on this "
                   "machine; default $FIELDROUTE_RAY_ADDRESS, else worker processes here)")

    p = sub.add_parser("db", help="database maintenance")
    p.add_argument("action", choices=["upgrade", "current"], help="upgrade: apply migrations; current: show the revision")
    _db_option(p)

    p = sub.add_parser("token", help="create, list or revoke API tokens; make a rep's one-time sign-in link")
    p.add_argument("action", choices=["create", "list", "revoke", "link"],
                   help="link: a one-time sign-in link (and its QR code) for --rep's phone")
    p.add_argument("id", nargs="?", type=int, help="the token to revoke")
    p.add_argument("--name", help="who or what the token is for")
    p.add_argument("--role", choices=auth.ROLES, help="admin, supervisor, integrator or rep")
    p.add_argument("--rep", help="the rep a rep token belongs to")
    p.add_argument("--team", help="comma-separated rep ids a supervisor is limited to (default: every rep)")
    p.add_argument("--base", default="http://127.0.0.1:8000",
                   help="link: the service's address as phones reach it (default http://127.0.0.1:8000)")
    p.add_argument("--hours", type=float, help="link: how long it stays valid unused (default $FIELDROUTE_SIGN_IN_LINK_HOURS, 72)")
    _db_option(p)


    p = sub.add_parser("visits", help="import the visits reps made elsewhere (a CSV or JSON file)")
    p.add_argument("action", choices=["import"])
    p.add_argument("file", type=Path, help="a .csv, or a .json list of objects: id, rep_id, store_id, checked_in, "
                   "checked_out and optionally outcome, order_value, currency, note, steps")
    p.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    _db_option(p)


def _db_option(p) -> None:
    p.add_argument("--db", help="database URL or SQLite file path (default $FIELDROUTE_DATABASE_URL or a file in the data directory)")


def settings_from(args) -> Settings:
    """Settings from the environment, overridden by the command's options."""
    values = {}
    if args.db:
        values["database_url"] = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
    if getattr(args, "network", None):
        values["network"] = args.network
    elif getattr(args, "demo", False) and "FIELDROUTE_NETWORK" not in os.environ:
        values["network"] = "demo"
    if getattr(args, "clock", None):
        values["clock"] = args.clock
    if getattr(args, "max_jobs", None):
        values["max_jobs"] = args.max_jobs
    if getattr(args, "ray", None):
        values["ray_address"] = args.ray
    return Settings(**values)


def run(args) -> int:
    if args.command == "db":
        return _db(args)
    if args.command == "token":
        return _token(args)
    if args.command == "visits":
        return _visits(args)
    if args.command == "worker":
        return _worker(args)
    return _serve(args)


def _worker(args) -> int:
    """``fieldroute worker``: run queued plan jobs until SIGTERM or Ctrl-C."""
    import logging
    import signal
    import threading

    from .jobs import work

    settings = settings_from(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    engine = make_engine(settings.db_url)
    if settings.migrate_on_start:
        upgrade(engine)
    engine.dispose()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"Running plan jobs from {settings.db_url} (at most {settings.max_jobs} at once on the database); "
          "Ctrl-C stops.", file=sys.stderr, flush=True)
    work(settings, stop)
    return 0


def _visits(args) -> int:
    """``fieldroute visits import FILE``: as ``POST /v1/visits/import``."""
    import json

    from routing.errors import InputError

    from .visits import import_visits

    engine = make_engine(settings_from(args).db_url)
    upgrade(engine)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
        data, fmt = (text, "csv") if args.file.suffix.lower() == ".csv" else (json.loads(text), "json")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        with transaction(session_factory(engine)) as session:
            done = import_visits(session, data, fmt, dry_run=args.dry_run, source=args.file.name)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{done.received} visits: {done.added} added, {done.changed} changed, {done.unchanged} unchanged"
          + (" (dry run: nothing written)" if done.dry_run else ""))
    return 0


def _db(args) -> int:
    engine = make_engine(settings_from(args).db_url)
    if args.action == "upgrade":
        upgrade(engine)
    print(f"database at revision {current_revision(engine) or '(none)'}")
    return 0


def _token(args) -> int:
    engine = make_engine(settings_from(args).db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        if args.action == "link":
            return _link(session, args)
        if args.action == "list":
            print(f"{'id':>4}  {'role':<11} {'rep/team':<16} {'prefix':<11} {'status':<8} name")
            for t in session.scalars(select(Token).order_by(Token.id)):
                scope = t.rep_id or (",".join(t.team) if t.team is not None else "-")
                print(f"{t.id:>4}  {t.role:<11} {scope:<16} {t.prefix:<11} {'revoked' if t.revoked_at else 'active':<8} {t.name}")
            return 0
        if args.action == "revoke":
            if args.id is None or not auth.revoke_token(session, args.id):
                print(f"no active token {args.id}", file=sys.stderr)
                return 2
            print(f"token {args.id} revoked (a running server that has seen it lately accepts it for up to "
                  f"{Settings().token_cache_s:g} s more: FIELDROUTE_TOKEN_CACHE_S)")
            return 0
        if not args.role or not args.name:
            print("token create needs --name and --role", file=sys.stderr)
            return 2
        team = [r.strip() for r in args.team.split(",") if r.strip()] if args.team else None
        try:
            token, secret = auth.create_token(session, name=args.name, role=args.role, rep_id=args.rep, team=team)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"token {token.id} ({token.role}{' ' + token.rep_id if token.rep_id else ''}): {secret}")
        print("Keep it: only its hash is stored.", file=sys.stderr)
    return 0


def _link(session, args) -> int:
    """``fieldroute token link --rep R1``: a one-time sign-in link, printed with its QR code."""
    import segno

    from .routes.sign_in import sign_in_url

    settings = settings_from(args)
    rep = session.get(RepRow, args.rep) if args.rep else None
    if rep is None or not rep.active:
        print(f"token link needs --rep with an active rep, got {args.rep!r}", file=sys.stderr)
        return 2
    hours = args.hours if args.hours is not None else settings.sign_in_link_hours
    if not 0 < hours <= 24 * 30:
        print(f"--hours: expected more than 0 and at most 720, got {hours:g}", file=sys.stderr)
        return 2
    link, code = auth.create_sign_in_link(session, rep.id, hours)
    url = sign_in_url(args.base, code)
    segno.make(url, error="m").terminal(compact=True)
    print(f"sign-in link {link.id} for {rep.id}, single use, valid until {link.expires_at:%Y-%m-%d %H:%M} UTC:\n{url}")
    print(f"Revoke it (or sign the phone out) with DELETE /v1/sign-in-links/{link.id}.", file=sys.stderr)
    return 0


def seed_demo(settings: Settings, *, time_limit_s: float, today: dt.date | None = None) -> dict[str, str] | None:
    """On an empty database: the demo stores, reps and policy, and a published 4-week cycle
    from the Monday of this week (of ``today``, default the service clock's date). Returns fresh tokens (earlier demo tokens are revoked):
    {"supervisor": secret, "R1": secret, ...}; None if the database had stores already and
    tokens only are renewed."""
    from . import jobs

    engine = make_engine(settings.db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    policy = tomllib.loads((DEMO_DIR / "policy.toml").read_text(encoding="utf-8"))
    zone = ZoneInfo(policy["time_zone"])
    today = today or ServiceClock(settings.clock, settings.clock_since, zone=lambda: policy["time_zone"])().astimezone(zone).date()
    with transaction(sessions) as session:
        empty = session.scalar(select(StoreRow.id).limit(1)) is None
        if empty:
            records.put_policy(session, policy)
            records.import_records(session, records.REPS, (DEMO_DIR / "reps.csv").read_text(encoding="utf-8"), "csv", sync=False, dry_run=False)
            records.import_records(session, records.STORES, (DEMO_DIR / "stores.csv").read_text(encoding="utf-8"), "csv", sync=False, dry_run=False)
            monday = today - dt.timedelta(days=today.weekday() + 7 * DEMO_PAST_WEEKS)
            job = jobs.new_job(session, {"start": monday.isoformat(), "weeks": DEMO_PAST_WEEKS + DEMO_WEEKS,
                                         "time_limit_s": time_limit_s,
                                         "solution_limit": None, "seed": 0, "balance": 0, "holidays": [],
                                         "network": settings.network, "inputs": records.snapshot(session)}, None)
            job.status, job.started_at, job.lease_until = "running", utcnow(), jobs.lease_end(settings.job_lease_s)
            job_id = job.id
    if empty:
        print(f"Planning the demo cycle ({DEMO_PAST_WEEKS + DEMO_WEEKS} weeks from {monday}, {time_limit_s:g} s) ...",
              file=sys.stderr, flush=True)
        jobs.run_plan_job(settings.model_dump(mode="json"), job_id)
        with transaction(sessions) as session:
            job = session.get(Job, job_id)
            if job.status != "succeeded":
                raise RuntimeError(f"the demo plan failed: {job.error}")
            session.execute(update(Plan).where(Plan.id == job.plan_id).values(status="published", published_at=utcnow()))
        with transaction(sessions) as session:
            played = _play_demo(session, monday, today)
        print(f"Played the weeks before {today} as a team would: {played} visits made (follow-up reports)", file=sys.stderr)
    with transaction(sessions) as session:
        for old in session.scalars(select(Token).where(Token.name.startswith(DEMO_TOKEN_PREFIX), Token.revoked_at.is_(None))):
            old.revoked_at = utcnow()
        tokens = {"supervisor": auth.create_token(session, name=DEMO_TOKEN_PREFIX + "supervisor", role="supervisor")[1]}
        for rep_id in sorted(records.snapshot(session)["reps"]):
            tokens[rep_id] = auth.create_token(session, name=f"{DEMO_TOKEN_PREFIX}rep {rep_id}", role="rep", rep_id=rep_id)[1]
    engine.dispose()
    return tokens


def _play_demo(session, start: dt.date, today: dt.date) -> int:
    """The demo cycle's dates before ``today`` played as a team would, imported as visits."""
    from routing.followup import Period
    from routing.io import parse_reps, parse_stores
    from routing.simulate import play

    from .followup import planned_visits
    from .visits import import_visits

    if today <= start:
        return 0
    planned, _ = planned_visits(session, Period(start, today - dt.timedelta(days=1)))
    stores = {s.id: s for s in parse_stores([r.data for r in session.scalars(select(StoreRow))], fmt="json")}
    reps = parse_reps([r.data for r in session.scalars(select(RepRow))], fmt="json")
    made = play(planned, stores, reps, records.current_policy(session), seed=0)
    rows = [{"id": v.id, "rep_id": v.rep_id, "store_id": v.store_id, "checked_in": v.checked_in.isoformat(),
             "checked_out": v.checked_out.isoformat(), "outcome": v.outcome, "order_value": v.order_value,
             "steps": list(v.steps) or None} for v in made if v.date < today]
    return import_visits(session, rows, "json").added


def _serve(args) -> int:
    import uvicorn

    settings = settings_from(args)
    if settings.clock is not None:  # one clock for every worker: the instant and when it was read
        settings.clock_since = settings.clock_since or time.time()
        os.environ["FIELDROUTE_CLOCK"] = settings.clock.isoformat()
        os.environ["FIELDROUTE_CLOCK_SINCE"] = repr(settings.clock_since)
    for key, value in (("FIELDROUTE_DATABASE_URL", settings.db_url), ("FIELDROUTE_NETWORK", settings.network)):
        os.environ[key] = value  # the workers build their settings from the environment
    if args.demo:
        tokens = seed_demo(settings, time_limit_s=args.demo_time_limit)
        _print_demo(settings, tokens, args.host, args.port)
    if settings.clock is not None:
        print(f"The service's clock starts at {settings.clock.isoformat()} and runs on (not the system clock).",
              file=sys.stderr, flush=True)
    print(f"Serving on http://{args.host}:{args.port} (database {settings.db_url}); Ctrl-C stops.", file=sys.stderr, flush=True)
    options = {"factory": True, "host": args.host, "port": args.port, "workers": args.workers, "log_level": settings.log_level}
    if args.workers == 1:
        uvicorn.run("api.main:create_app", **options)
        return 0
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("api.main:create_app", **options)
    Multiprocess(config, sockets=[_as_tcp(config.bind_socket())]).run()
    return 0


def _as_tcp(sock: socket.socket) -> socket.socket:
    """The listening socket uvicorn binds for several workers, saying it is TCP: uvicorn (0.54)
    leaves its protocol 0, the workers' connections inherit that, and asyncio then leaves
    Nagle's algorithm on, so on Linux every request after the first on a keep-alive connection
    waited about 40 ms for a delayed ACK (uvicorn issue #3149; one worker is not affected)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        sock.set_inheritable(True)
    return sock


def _print_demo(settings: Settings, tokens: dict[str, str], host: str, port: int) -> None:
    from .routes.sign_in import sign_in_url

    sessions = session_factory(make_engine(settings.db_url))
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    with sessions() as session:
        plan = session.scalar(select(Plan).where(Plan.status == "published").order_by(Plan.published_at.desc()).limit(1))
        zone = ZoneInfo(plan.time_zone)
        today = ServiceClock(settings.clock, settings.clock_since, zone=lambda: plan.time_zone)().astimezone(zone).date()
        rep = next((r for r in sorted(tokens) if r != "supervisor"), None)
        day = session.scalar(select(func.min(RouteRow.date)).where(  # the rep's next working day
            RouteRow.plan_id == plan.id, RouteRow.rep_id == rep, RouteRow.date > today.isoformat())) or plan.start
        if rep:
            _, code = auth.create_sign_in_link(session, rep, settings.sign_in_link_hours)
            session.commit()
    print(f"\nDemo plan {plan.id}: {plan.start} to {plan.end}, published.")
    print("Tokens (shown once; new ones at every --demo start):")
    for who, secret in tokens.items():
        print(f"  {who:<11} {secret}")
    print("\nOpen:")
    print(f"  API docs              {base}/docs")
    print(f"  sign in (paste the supervisor token)  {base}/login?next={quote(f'/v1/plans/{plan.id}/map?date={day}')}")
    print(f"  supervisor's map of {day}  {base}/v1/plans/{plan.id}/map?date={day}")
    print(f"  territories: workloads, move stores, balance  {base}/v1/territories/map")
    print(f"  follow-up: planned against made, KPIs, suggestions  {base}/v1/reports/page")
    if rep:
        print(f"  {rep}'s phone app (a one-time sign-in link; open it in a phone-sized window)  {sign_in_url(base, code)}")
        print(f"  {rep}'s route on {day}:  curl -H 'Authorization: Bearer {tokens[rep]}' {base}/v1/reps/{rep}/routes/{day}")
    print(flush=True)

