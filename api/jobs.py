"""Plan jobs: queued in the database, run in worker processes at a lower OS priority.

The web server never plans on its event loop: ``JobRunner`` claims queued jobs and starts a
process per job (``run_plan_job``), which reports its phase and progress in the job's row and
writes the plan in one transaction. A job found "running" when a server starts, whose process
is gone, is marked failed, so no job stays "running" forever; queued jobs are picked up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import urllib.request
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import make_engine, session_factory, transaction
from .models import Job, Plan, RouteRow, utcnow
from .settings import Settings

log = logging.getLogger("fieldroute")
HOST = socket.gethostname()
ACTIVE = ("queued", "running")


def new_job(session: Session, params: dict, callback_url: str | None, kind: str = "plan") -> Job:
    job = Job(id=uuid.uuid4().hex, kind=kind, status="queued", phase="queued", progress=0.0, params=params,
              callback_url=callback_url)
    session.add(job)
    return job


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _finish(sessions: sessionmaker, job_id: str, status: str, error: str | None, *, only_if: tuple[str, ...] = ACTIVE) -> Job | None:
    """Move a job to a final status unless it already has one; returns it if it moved."""
    with transaction(sessions) as session:
        moved = session.execute(update(Job).where(Job.id == job_id, Job.status.in_(only_if))
                                .values(status=status, error=error, finished_at=utcnow())).rowcount
        job = session.get(Job, job_id) if moved else None
    if job is not None and job.callback_url:
        threading.Thread(target=notify, args=(job.callback_url, _callback_body(job)), daemon=True).start()
    return job


def _callback_body(job: Job) -> dict:
    return {"job_id": job.id, "status": job.status, "plan_id": job.plan_id, "error": job.error}


def notify(url: str, body: dict) -> None:
    """POST ``body`` as JSON to a job's callback URL (best effort: failures are logged)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "fieldroute"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except Exception as exc:  # noqa: BLE001 - the callee's problem must not fail the job
        log.warning("job %s: callback to %s failed: %s", body.get("job_id"), url, exc)


class JobRunner:
    """Starts queued jobs in worker processes, at most ``settings.max_jobs`` at once."""

    def __init__(self, settings: Settings, sessions: sessionmaker):
        self.settings, self.sessions = settings, sessions
        self.processes: dict[str, multiprocessing.Process] = {}
        self.lock = threading.Lock()
        self.stopping = False

    def start(self) -> int:
        """(Re)start with the app: fail the jobs a stopped server left running, start queued
        ones; returns how many were failed."""
        with self.lock:
            self.stopping = False
        failed = self.recover()
        self.kick()
        return failed

    def recover(self) -> int:
        """Mark failed the jobs left "running" by a server that stopped; returns how many."""
        with self.sessions() as session:
            stale = [j.id for j in session.scalars(select(Job).where(Job.status == "running"))
                     if not (j.host == HOST and _alive(j.pid))]
        for job_id in stale:
            _finish(self.sessions, job_id, "failed", "the service stopped while the job ran; submit the plan again",
                    only_if=("running",))
        return len(stale)

    def reap(self, job: Job) -> bool:
        """Fail ``job`` if it is "running" on this machine in a worker that is gone and that no
        runner of this process watches (e.g. a worker orphaned by a killed server that then
        died); True if it was failed."""
        with self.lock:
            watched = job.id in self.processes
        if watched or job.status != "running" or job.host != HOST or not job.pid or _alive(job.pid):
            return False
        return _finish(self.sessions, job.id, "failed", "the worker process of this job is gone; submit the plan again",
                       only_if=("running",)) is not None

    def kick(self) -> None:
        """Start queued jobs while there is room."""
        with self.lock:
            while not self.stopping and sum(p.is_alive() for p in self.processes.values()) < self.settings.max_jobs:
                job_id = self._claim()
                if job_id is None:
                    return
                process = multiprocessing.get_context("spawn").Process(
                    target=run_plan_job, args=(self.settings.model_dump(mode="json"), job_id), name=f"fieldroute-job-{job_id}")
                process.start()
                with transaction(self.sessions) as session:
                    session.execute(update(Job).where(Job.id == job_id).values(pid=process.pid))
                self.processes[job_id] = process
                threading.Thread(target=self._watch, args=(job_id, process), daemon=True).start()

    def _claim(self) -> str | None:
        with transaction(self.sessions) as session:
            for job_id in session.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.created_at).limit(5)):
                claimed = session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
                    status="running", phase="starting", started_at=utcnow(), host=HOST)).rowcount
                if claimed:
                    return job_id
        return None

    def _watch(self, job_id: str, process: multiprocessing.Process) -> None:
        process.join()
        with self.lock:
            self.processes.pop(job_id, None)
        if not self.stopping:
            _finish(self.sessions, job_id, "failed", f"the worker process ended unexpectedly (exit code {process.exitcode})",
                    only_if=("running",))
            self.kick()

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (its process is stopped); False if it had ended."""
        job = _finish(self.sessions, job_id, "cancelled", None)
        with self.lock:
            process = self.processes.get(job_id)
        if process is not None and process.is_alive():
            process.terminate()
        elif job is not None and job.pid and job.host == HOST and _alive(job.pid):
            os.kill(job.pid, signal.SIGTERM)  # started by another server process on this machine
        return job is not None

    def shutdown(self) -> None:
        """Stop the workers; their jobs are marked failed (the next start would too)."""
        with self.lock:
            self.stopping = True
            running = dict(self.processes)
        for job_id, process in running.items():
            process.terminate()
            process.join(timeout=10)
            _finish(self.sessions, job_id, "failed", "the service stopped while the job ran; submit the plan again",
                    only_if=("running",))


# --- the worker process -----------------------------------------------------------------


def run_plan_job(settings_data: dict, job_id: str) -> None:
    """Worker process: plan the cycle a job asks for (or make the territory proposal) and
    store it, reporting progress."""
    settings = Settings(**settings_data)
    try:
        os.nice(settings.job_nice)
    except OSError:
        pass
    engine = make_engine(settings.db_url)
    sessions = session_factory(engine)
    with sessions() as session:
        job = session.get(Job, job_id)
        kind, limit = job.kind, float(job.params.get("time_limit_s", 1.0))
        limit += float((job.params.get("what_if") or {}).get("headcount_time_s") or 0)  # a proposal's team-size search
    try:
        if kind == "proposal":  # a territory proposal (api.proposals)
            from .proposals import compute

            progress = _Progress(sessions, job_id, limit)
            try:
                compute(settings, sessions, job_id, progress)
            finally:
                progress.done.set()
        else:
            _plan(settings, sessions, job_id)
    except Exception as exc:  # noqa: BLE001 - the job records what went wrong
        log.exception("job %s failed", job_id)
        _finish(sessions, job_id, "failed", f"{type(exc).__name__}: {exc}", only_if=("running",))
    finally:
        engine.dispose()


class _Progress:
    """Phase and progress of a running job, written to its row every half second by a thread;
    the thread ends the process if the job was cancelled meanwhile."""

    def __init__(self, sessions: sessionmaker, job_id: str, time_limit_s: float):
        self.sessions, self.job_id, self.limit = sessions, job_id, max(time_limit_s, 0.1)
        self.phase, self.share, self.started = "loading inputs", 0.0, time.monotonic()
        self.done = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def __call__(self, phase: str, share: float) -> None:
        self.phase, self.share = phase, share

    def _loop(self) -> None:
        while not self.done.wait(0.5):
            estimate = min(0.99, max(self.share, (time.monotonic() - self.started) / self.limit))
            with transaction(self.sessions) as session:
                moved = session.execute(update(Job).where(Job.id == self.job_id, Job.status == "running")
                                        .values(phase=self.phase, progress=round(estimate, 3))).rowcount
            if not moved and not self.done.is_set():
                os._exit(0)  # cancelled meanwhile: nothing of this job may be written


def _plan(settings: Settings, sessions: sessionmaker, job_id: str) -> None:
    from routing.calendar import Cycle
    from routing.check import check_cycle
    from routing.cycle import plan_cycle
    from routing.io import cycle_to_dict, route_to_dict
    from routing.model import SolveParams

    from .network import road_network, travel_for
    from .records import load_inputs

    with sessions() as session:
        job = session.get(Job, job_id)
        params, inputs = dict(job.params), job.params["inputs"]
        stores, reps, policy = load_inputs(session, inputs)
    progress = _Progress(sessions, job_id, params["time_limit_s"])
    progress("loading roads", 0.0)
    roads = road_network(params["network"], cache=settings.cache_dir)
    travel, snapping = travel_for(roads, stores, reps, policy, cache=settings.cache_dir)
    cycle = Cycle(dt.date.fromisoformat(params["start"]), params["weeks"],
                  frozenset(dt.date.fromisoformat(d) for d in params["holidays"]))
    solve = SolveParams(time_limit_s=params["time_limit_s"], solution_limit=params.get("solution_limit"),
                        seed=params["seed"], balance_weight=params["balance"])
    progress.started = time.monotonic()
    plan = plan_cycle(stores, reps, policy, cycle, travel=travel, params=solve, progress=progress)
    progress("checking", 0.99)
    violations = check_cycle(plan.routes, plan.unassigned, stores, reps, policy, cycle, travel)
    progress.done.set()
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
        notify(callback, {"job_id": job_id, "status": "succeeded", "plan_id": plan_id, "error": None})


class _Cancelled(Exception):
    pass
