"""Plan jobs: queued in the database, run in worker processes at a lower OS priority.

The web server never plans on its event loop: ``JobRunner`` claims queued jobs and starts a
process per job (``run_plan_job``), which reports its phase and progress in the job's row and
writes the plan in one transaction.

A running job holds a lease (``Job.lease_until``) that its worker renews every half second
from the claim until the job ends. A job whose lease ran out (its worker died, or stopped
because the server that started it was killed) is marked failed by whoever looks next
(``fail_expired``: a server starting, claiming jobs, or answering for the job), so no job stays
"running" forever, whichever server process or machine ran it. ``settings.max_jobs`` counts
the running jobs with a live lease, of every server process on the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from . import callbacks
from .db import make_engine, session_factory, transaction
from .models import Job, Plan, RouteRow, utcnow
from .settings import Settings

log = logging.getLogger("fieldroute")
ACTIVE = ("queued", "running")
#: How often a worker renews its job's lease (writing its phase and progress with it).
BEAT_S = 0.5
EXPIRED = ("the worker of this job stopped renewing its lease (the server that ran it, or the worker, was stopped or "
           "killed); submit it again")
#: How often ``fieldroute worker`` looks for queued jobs (the service that queued them cannot tell it).
WORKER_POLL_S = 1.0
#: PostgreSQL advisory lock held while claiming a job: one claim at a time on the database, so
#: the count of running jobs a claim reads is still true when it commits (SQLite: the write lock).
CLAIM_LOCK = 0x66724A6F  # "frJo"


def new_job(session: Session, params: dict, callback_url: str | None, kind: str = "plan") -> Job:
    job = Job(id=uuid.uuid4().hex, kind=kind, status="queued", phase="queued", progress=0.0, params=params,
              callback_url=callback_url)
    session.add(job)
    return job


def lease_end(lease_s: float) -> dt.datetime:
    """When a lease taken or renewed now for ``lease_s`` seconds runs out."""
    return utcnow() + dt.timedelta(seconds=lease_s)


def fail_expired(sessions: sessionmaker) -> int:
    """Mark failed the running jobs whose lease ran out: their worker stopped renewing it (it
    died, or stopped when its server died), so nothing of them will be written; returns how many."""
    with sessions() as session:
        expired = list(session.scalars(select(Job.id).where(
            Job.status == "running", or_(Job.lease_until.is_(None), Job.lease_until < utcnow()))))
    return sum(_finish(sessions, job_id, "failed", EXPIRED, only_if=("running",)) is not None for job_id in expired)


def _finish(sessions: sessionmaker, job_id: str, status: str, error: str | None, *, only_if: tuple[str, ...] = ACTIVE) -> Job | None:
    """Move a job to a final status unless it already has one; returns it if it moved."""
    with transaction(sessions) as session:
        moved = session.execute(update(Job).where(Job.id == job_id, Job.status.in_(only_if))
                                .values(status=status, error=error, finished_at=utcnow())).rowcount
        job = session.get(Job, job_id) if moved else None
    if job is not None and job.callback_url:
        notify(job.callback_url, _callback_body(job))  # once: only the call that moved the job gets here
    return job


def _callback_body(job: Job) -> dict:
    return {"job_id": job.id, "status": job.status, "plan_id": job.plan_id, "error": job.error}


#: Where this process's job callbacks may go besides global addresses (``callback_allow`` of the
#: settings): set by the job runner, and by a job's worker process, from their settings.
_callback_allow = callbacks.Allow()


def allow_callbacks(settings: Settings) -> None:
    """Send this process's job callbacks under ``settings.callback_allow``."""
    global _callback_allow
    _callback_allow = callbacks.Allow.parse(settings.callback_allow)


def notify(url: str, body: dict, *, wait: bool = False) -> None:
    """POST ``body`` to a job's callback URL if api.callbacks lets it (best effort: failures are
    logged): on the process's few callback threads, or in this one with ``wait`` (a worker
    process that ends next)."""
    if wait:
        callbacks.send(url, body, _callback_allow)
    else:
        callbacks.send_later(url, body, _callback_allow)


class JobRunner:
    """Starts queued jobs in worker processes while fewer than ``settings.max_jobs`` jobs run on
    the database (with a live lease, whichever server process started them); fails the jobs
    whose lease ran out. With ``settings.run_jobs`` false (a web tier whose jobs run in
    ``fieldroute worker`` processes elsewhere, see ``work``) it only fails expired jobs."""

    def __init__(self, settings: Settings, sessions: sessionmaker, poll_s: float | None = None):
        self.settings, self.sessions = settings, sessions
        self.poll_s = poll_s or settings.job_lease_s  # how often to look for queued jobs besides kick()
        allow_callbacks(settings)
        self.processes: dict[str, multiprocessing.Process] = {}
        self.lock = threading.Lock()
        self.stopping = False
        self.stopped = threading.Event()

    def start(self) -> int:
        """(Re)start with the app: fail the jobs whose lease ran out, start queued ones, and look
        again every lease (a job another server process left, a slot it freed); returns how
        many were failed."""
        with self.lock:
            self.stopping = False
        self.stopped.clear()
        failed = fail_expired(self.sessions)
        self.kick()
        threading.Thread(target=self._look, daemon=True, name="fieldroute-jobs").start()
        return failed

    def expire(self) -> int:
        """Fail the jobs whose lease ran out and start queued ones in their room; returns how many failed."""
        failed = fail_expired(self.sessions)
        if failed:
            self.kick()
        return failed

    def _look(self) -> None:
        while not self.stopped.wait(self.poll_s):
            try:
                self.kick()
            except Exception:  # noqa: BLE001 - the database may be away for a while: look again later
                log.exception("jobs: starting queued jobs failed")

    def kick(self) -> None:
        """Fail the jobs whose lease ran out; start queued jobs while there is room."""
        fail_expired(self.sessions)
        with self.lock:
            while self.settings.run_jobs and not self.stopping and (job_id := self._claim()) is not None:
                process = multiprocessing.get_context("spawn").Process(
                    target=run_plan_job, args=(self.settings.model_dump(mode="json"), job_id, os.getpid()),
                    name=f"fieldroute-job-{job_id}")
                process.start()
                self.processes[job_id] = process
                threading.Thread(target=self._watch, args=(job_id, process), daemon=True).start()

    def _claim(self) -> str | None:
        """Run the oldest queued job, with a lease, if fewer than ``max_jobs`` jobs hold a live
        lease; its id, or None. One statement (after the claim lock on PostgreSQL), so two
        server processes claiming at once cannot both take the last slot."""
        now = utcnow()
        running = select(func.count()).select_from(Job).where(Job.status == "running", Job.lease_until >= now)
        oldest = select(Job.id).where(Job.status == "queued").order_by(Job.created_at, Job.id).limit(1)
        with transaction(self.sessions) as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
            return session.execute(
                update(Job).where(Job.id == oldest.scalar_subquery(), Job.status == "queued",
                                  running.scalar_subquery() < self.settings.max_jobs)
                .values(status="running", phase="starting", started_at=now, lease_until=lease_end(self.settings.job_lease_s))
                .returning(Job.id)).scalar()

    def _watch(self, job_id: str, process: multiprocessing.Process) -> None:
        process.join()
        with self.lock:
            self.processes.pop(job_id, None)
        if not self.stopping:
            _finish(self.sessions, job_id, "failed", f"the worker process ended unexpectedly (exit code {process.exitcode})",
                    only_if=("running",))
            self.kick()

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False if it had ended. A worker of this server
        process is stopped at once; one of another server process stops at its next lease
        renewal, finding its job no longer running."""
        job = _finish(self.sessions, job_id, "cancelled", None)
        with self.lock:
            process = self.processes.get(job_id)
        if process is not None and process.is_alive():
            process.terminate()
        return job is not None

    def shutdown(self) -> None:
        """Stop the workers; their jobs are marked failed (their leases would run out too)."""
        self.stopped.set()
        with self.lock:
            self.stopping = True
            running = dict(self.processes)
        for job_id, process in running.items():
            process.terminate()
            process.join(timeout=10)
            _finish(self.sessions, job_id, "failed", "the service stopped while the job ran; submit the plan again",
                    only_if=("running",))


# --- the worker process -----------------------------------------------------------------


def run_plan_job(settings_data: dict, job_id: str, server_pid: int | None = None) -> None:
    """Worker process: plan the cycle a job asks for (or make the territory proposal) and
    store it, reporting progress and renewing the job's lease until it ends. ``server_pid``:
    the server process that started this one; once it is gone, this one stops, writing nothing
    (the job is failed when its lease runs out)."""
    settings = Settings(**settings_data)
    allow_callbacks(settings)
    try:
        os.nice(settings.job_nice)
    except OSError:
        pass
    engine = make_engine(settings.db_url)
    sessions = session_factory(engine)
    progress = _Progress(sessions, job_id, settings.job_lease_s, server_pid)
    signal.signal(signal.SIGTERM, lambda *_: progress.halt())  # cancelled by the runner: its workers too
    try:
        with sessions() as session:
            job = session.get(Job, job_id)
            kind, limit = job.kind, float(job.params.get("time_limit_s", 1.0))
            limit += float((job.params.get("what_if") or {}).get("headcount_time_s") or 0)  # a proposal's team-size search
        progress.limit = max(limit, 0.1)
        if kind == "proposal":  # a territory proposal (api.proposals)
            from .proposals import compute

            compute(settings, sessions, job_id, progress)
        else:
            _plan(settings, sessions, job_id, progress)
    except Exception as exc:  # noqa: BLE001 - the job records what went wrong
        log.exception("job %s failed", job_id)
        progress.stop()  # before the job fails: its heartbeat would end the process then
        _finish(sessions, job_id, "failed", f"{type(exc).__name__}: {exc}", only_if=("running",))
    finally:
        progress.stop()
        engine.dispose()


class _Progress:
    """A running job's heartbeat: a thread writes its phase and progress to its row and renews
    its lease every ``BEAT_S``, from the worker's start until ``stop``. The thread ends the
    process at once, before anything more of the job is written, when the job is no longer
    running (cancelled, or failed by another server process) or the server process that
    started the worker (``server_pid``) is gone."""

    def __init__(self, sessions: sessionmaker, job_id: str, lease_s: float, server_pid: int | None):
        self.sessions, self.job_id, self.lease_s, self.server_pid = sessions, job_id, lease_s, server_pid
        self.limit, self.phase, self.share, self.started = 1.0, "loading inputs", 0.0, time.monotonic()
        self.on_stop: Callable[[], None] | None = None  # stops the job's own workers before this process ends
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name=f"fieldroute-job-{job_id}-lease")
        self.thread.start()

    def __call__(self, phase: str, share: float) -> None:
        self.phase, self.share = phase, share

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def halt(self) -> None:
        """End the process at once, its job's workers first: nothing more of the job is written."""
        try:
            if self.on_stop is not None:
                self.on_stop()
        finally:
            os._exit(0)

    def _loop(self) -> None:
        while True:
            if self.server_pid is not None and os.getppid() != self.server_pid:
                self.halt()  # orphaned: the server was killed; the job fails when its lease runs out
            if self._renew() in ("failed", "cancelled"):
                if not self.done.is_set():
                    self.halt()  # failed by another process or cancelled: nothing of this job may be written
                return
            if self.done.wait(BEAT_S):
                return

    def _renew(self) -> str | None:
        """Write phase, progress and a new lease if the job is running; its status (None if the
        database did not answer: the lease may still hold at the next beat)."""
        estimate = min(0.99, max(self.share, (time.monotonic() - self.started) / self.limit))
        try:
            with transaction(self.sessions) as session:
                moved = session.execute(update(Job).where(Job.id == self.job_id, Job.status == "running").values(
                    phase=self.phase, progress=round(estimate, 3), lease_until=lease_end(self.lease_s))).rowcount
                return "running" if moved else session.scalar(select(Job.status).where(Job.id == self.job_id))
        except Exception:  # noqa: BLE001 - the database away for a moment
            log.warning("job %s: renewing its lease failed", self.job_id, exc_info=True)
            return None


def _plan(settings: Settings, sessions: sessionmaker, job_id: str, progress: _Progress) -> None:
    from routing.calendar import Cycle
    from routing.check import check_cycle
    from routing.cycle import plan_cycle
    from routing.io import cycle_to_dict, route_to_dict
    from routing.model import SolveParams

    from routing.network import road_network, travel_for
    from .records import load_inputs

    with sessions() as session:
        job = session.get(Job, job_id)
        params, inputs = dict(job.params), job.params["inputs"]
        stores, reps, policy = load_inputs(session, inputs)
    travel, snapping = None, None
    if not params.get("by_territory"):  # each territory builds its own matrix where it is planned
        progress("loading roads", 0.0)
        roads = road_network(params["network"], cache=settings.cache_dir)
        travel, snapping = travel_for(roads, stores, reps, policy, cache=settings.cache_dir)
    cycle = Cycle(dt.date.fromisoformat(params["start"]), params["weeks"],
                  frozenset(dt.date.fromisoformat(d) for d in params["holidays"]))
    solve = SolveParams(time_limit_s=params["time_limit_s"], solution_limit=params.get("solution_limit"),
                        seed=params["seed"], balance_weight=params["balance"])
    progress.started = time.monotonic()
    if params.get("by_territory"):
        plan, violations = _plan_by_territory(settings, params, stores, reps, policy, cycle, solve, progress)
    else:
        plan = plan_cycle(stores, reps, policy, cycle, travel=travel, params=solve, progress=progress)
        progress("checking", 0.99)
        violations = check_cycle(plan.routes, plan.unassigned, stores, reps, policy, cycle, travel)
    data = cycle_to_dict(dataclasses.replace(plan, params=plan.params | ({"snapping": snapping} if snapping else {})))
    data.pop("routes")
    data["check"] = {"violations": [str(v) for v in violations[:100]], "ok": not violations}
    zone = ZoneInfo(plan.time_zone)
    try:
        with transaction(sessions) as session:
            row = Plan(status="draft", start=plan.start, end=(cycle.start + dt.timedelta(days=7 * cycle.weeks - 1)).isoformat(),
                       weeks=cycle.weeks, time_zone=plan.time_zone, network=params["network"], inputs=inputs,
                       params={k: v for k, v in params.items() if k != "inputs"}, result=data, job_id=job_id)
            session.add(row)
            session.flush()
            session.add_all(RouteRow(plan_id=row.id, rep_id=r.rep_id, date=r.date, version=1, data=route_to_dict(r, zone))
                            for r in plan.routes)
            done = session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(
                status="succeeded", phase="done", progress=1.0, plan_id=row.id, finished_at=utcnow())).rowcount
            if not done:
                raise _Cancelled
            callback = session.scalar(select(Job.callback_url).where(Job.id == job_id))
            plan_id = row.id
    except _Cancelled:  # cancelled meanwhile: the transaction, plan and routes, was rolled back
        return
    if callback:
        notify(callback, {"job_id": job_id, "status": "succeeded", "plan_id": plan_id, "error": None}, wait=True)


class _Cancelled(Exception):
    pass


def _plan_by_territory(settings: Settings, params: dict, stores, reps, policy, cycle, solve, progress: _Progress):
    """The cycle planned territory by territory (``routing.fleet``) on worker processes, or on
    Ray with ``settings.ray_address``: the phase counts the territories planned; cancelling the
    job stops them. Fails if a territory failed (after its retry)."""
    from routing.fleet import FleetParams, LocalPool, RayCluster, plan_fleet

    executor = RayCluster(settings.ray_address) if settings.ray_address else LocalPool(settings.territory_jobs)
    progress.on_stop = executor.cancel
    progress("planning territories", 0.0)

    def heard(done: int, total: int, territory) -> None:
        progress(f"planning territories: {done} of {total} done", done / total)

    fleet_params = FleetParams(time_limit_s=solve.time_limit_s, solution_limit=solve.solution_limit, seed=solve.seed)
    fleet = plan_fleet(stores, reps, policy, cycle, network=params["network"], params=fleet_params, executor=executor,
                       progress=heard)
    if fleet.failed:
        raise RuntimeError("territories failed: " + "; ".join(f"{t.key}: {t.error}" for t in fleet.failed[:5]))
    plan = fleet.as_cycle(stores, reps, policy, cycle, solve.as_dict() | {"by_territory": len(fleet.territories)})
    return plan, list(fleet.violations)


def work(settings: Settings, stop: threading.Event) -> None:
    """``fieldroute worker``: run the database's queued jobs (up to ``settings.max_jobs`` at once
    on the database, with every server and worker process that shares it) until ``stop`` is set;
    then its running jobs are failed as a stopping server's are."""
    settings = settings.model_copy(update={"run_jobs": True})
    runner = JobRunner(settings, session_factory(make_engine(settings.db_url)), poll_s=WORKER_POLL_S)
    if failed := runner.start():
        log.warning("%d job(s) whose worker stopped renewing its lease; marked failed", failed)
    while not stop.wait(1.0):
        pass
    runner.shutdown()
