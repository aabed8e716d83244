"""Job leases (issue 19, item 4): a running job's worker renews its lease; a job whose lease ran
out is failed by whoever looks, with nothing of it kept; a worker whose server was killed stops;
``max_jobs`` counts the jobs of every server process on the database.

Real servers (``python -m api.cli serve`` on 127.0.0.1) and real worker processes on one
database, SQLite and PostgreSQL. The servers' lease is short (``LEASE_S``) so the tests take
seconds."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.main import create_app

from .conftest import CONFORMANCE, MONDAY, _free_port, _healthy, load_team, make_token, plan_and_publish, settings_for, wait_job

LEASE_S = 3
#: A plan that runs until it is stopped (the tests never wait for its time limit).
LONG_PLAN = {"start": MONDAY, "weeks": 4, "time_limit_s": 60}
#: Starts ``fieldroute serve`` as if on another machine: its host name (argv[1]) is another.
AS_ANOTHER_HOST = "import socket, sys; socket.gethostname = lambda: sys.argv[1]; from api.cli import main; sys.exit(main(sys.argv[2:]))"


def _team(db_url: str, tmp_path: Path) -> dict:
    """The small team on a fresh database, and an admin's headers."""
    app = create_app(settings_for(db_url, tmp_path))
    with TestClient(app) as client:
        admin = make_token(app, "admin")
        load_team(client, admin)
    return admin


def _env(tmp_path: Path, **more: str) -> dict:
    return os.environ | {"FIELDROUTE_JOB_LEASE_S": str(LEASE_S), "FIELDROUTE_DATA_DIR": str(tmp_path),
                         "FIELDROUTE_CACHE_DIR": str(tmp_path / "cache"), "FIELDROUTE_LOG_LEVEL": "warning"} | more


@contextlib.contextmanager
def _server(db_url: str, tmp_path: Path, *, host: str | None = None, **env: str):
    """``fieldroute serve`` on the database (lease ``LEASE_S``, straight-line travel) until the
    block ends: (base URL, its process); ``host``: the host name it sees; ``env``: more settings."""
    port = _free_port()
    command = ["serve", "--db", db_url, "--port", str(port), "--network", "straight"]
    command = [sys.executable, "-c", AS_ANOTHER_HOST, host, *command] if host else [sys.executable, "-m", "api.cli", *command]
    env = _env(tmp_path, **env)
    server = subprocess.Popen(command, env=env, cwd=Path(__file__).parents[2], stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / f"server-{port}.log", "w"))
    base = f"http://127.0.0.1:{port}"
    CONFORMANCE.serve(base)
    try:
        _until(lambda: _healthy(base) or server.poll() is not None, 120)
        assert server.poll() is None, (tmp_path / f"server-{port}.log").read_text()
        yield base, server
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def _worker(db_url: str, tmp_path: Path, **env: str):
    """``fieldroute worker`` on the database until the block ends (SIGTERM): its process."""
    log = tmp_path / f"worker-{time.monotonic_ns()}.log"
    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--db", db_url], env=_env(tmp_path, **env),
                              cwd=Path(__file__).parents[2], stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        yield worker
        assert worker.poll() is None, log.read_text()
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0, log.read_text()


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            children.setdefault(int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
        except (ValueError, OSError, IndexError):
            continue
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def _until(condition, timeout: float):
    """Wait until ``condition()`` is true (or ``timeout`` seconds passed, a safety net); its value."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def _job_workers(server_pid: int) -> list[int]:
    """The job worker processes ``server_pid`` started (spawned multiprocessing children)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == server_pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (ValueError, OSError, IndexError):
            continue
    return found


def _gone(pid: int) -> bool:
    """The process ended (a zombie nobody reaped counts as ended)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _solving(client: httpx.Client, job_id: str) -> bool:
    """The job's worker runs and writes its progress (past starting and loading its inputs)."""
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "running", job
    return job["phase"] not in ("starting", "loading inputs")


def test_a_killed_servers_job_fails_when_its_lease_runs_out_and_its_worker_stops(db_url, tmp_path):
    """kill -9 of the server while its job plans: the worker stops without writing its plan, and
    a new server on the database marks the job failed once its lease ran out."""
    admin = _team(db_url, tmp_path)
    with _server(db_url, tmp_path) as (base, server), httpx.Client(base_url=base, headers=admin, timeout=30) as a:
        r = a.post("/v1/plans", json=LONG_PLAN)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        assert _until(lambda: _solving(a, job_id), 120)
        [worker] = _job_workers(server.pid)
        server.kill()
        server.wait()
    with _server(db_url, tmp_path) as (base, _), httpx.Client(base_url=base, headers=admin, timeout=30) as b:
        job = _until(lambda: (j := b.get(f"/v1/jobs/{job_id}").json())["status"] not in ("queued", "running") and j, 120)
        assert job["status"] == "failed" and "stopped renewing its lease" in job["error"], job
        assert job["plan_id"] is None and b.get("/v1/plans").json()["count"] == 0
        assert _until(lambda: _gone(worker), 30), f"the orphaned worker {worker} still runs"


def test_a_new_server_leaves_the_running_job_of_another_alone(db_url, tmp_path):
    """Two servers on one database, the second as if on another machine: starting, it leaves
    the first one's running job alone; max_jobs (1) counts that job, so a plan submitted to the
    second waits; cancelled through the second, the job's worker (the first's child) stops,
    and the waiting plan runs."""
    admin = _team(db_url, tmp_path)
    with (_server(db_url, tmp_path) as (base_a, server_a), httpx.Client(base_url=base_a, headers=admin, timeout=30) as a):
        first = a.post("/v1/plans", json=LONG_PLAN).json()["id"]
        assert _until(lambda: _solving(a, first), 120)
        [worker] = _job_workers(server_a.pid)
        with (_server(db_url, tmp_path, host="another-host") as (base_b, _),
              httpx.Client(base_url=base_b, headers=admin, timeout=30) as b):
            assert b.get(f"/v1/jobs/{first}").json()["status"] == "running"
            r = b.post("/v1/plans", json={"start": MONDAY, "weeks": 1, "time_limit_s": 5, "solution_limit": 20})
            assert r.status_code == 202 and r.json()["status"] == "queued", r.json()
            second = r.json()["id"]
            time.sleep(LEASE_S + 1)  # past a lease, and a look of each server: the first job runs on, the second waits
            assert b.get(f"/v1/jobs/{first}").json()["status"] == "running"
            assert b.get(f"/v1/jobs/{second}").json()["status"] == "queued"
            r = b.delete(f"/v1/jobs/{first}")
            assert r.status_code == 200 and r.json()["status"] == "cancelled"
            assert _until(lambda: _gone(worker), 30), f"the cancelled job's worker {worker} still runs"
            done = _until(lambda: (j := b.get(f"/v1/jobs/{second}").json())["status"] not in ("queued", "running") and j, 120)
            assert done["status"] == "succeeded", done
        job = a.get(f"/v1/jobs/{first}").json()
        assert job["status"] == "cancelled" and job["plan_id"] is None


def test_plan_and_proposal_jobs_renew_their_lease_while_they_run(db_url, tmp_path):
    """A lease much shorter than the jobs, read all along (every read fails a job whose lease
    ran out): a plan and a territory proposal both succeed."""
    app = create_app(settings_for(db_url, tmp_path, job_lease_s=2))
    with TestClient(app) as client:
        admin = make_token(app, "admin")
        load_team(client, admin)
        plan_and_publish(client, admin, time_limit_s=6, solution_limit=None)
        r = client.post("/v1/territories/proposals", json={"max_moves": 4, "time_limit_s": 6}, headers=admin)
        assert r.status_code == 202, r.text
        proposal = r.json()
        seen = _until(lambda: client.get(f"/v1/territories/proposals/{proposal['id']}", headers=admin).json()["status"] != "running", 120)
        assert seen and wait_job(client, admin, proposal["job"]["id"])["status"] == "succeeded"


BY_TERRITORY = {"start": MONDAY, "weeks": 1, "by_territory": True}
#: The worker tests' service and worker: a lean service, and a lease that a job process starting
#: on a busy machine renews in time (these tests do not wait for leases to run out).
LEAN = {"FIELDROUTE_RUN_JOBS": "false", "FIELDROUTE_JOB_LEASE_S": "20"}


def test_a_worker_process_runs_the_jobs_a_lean_service_queues_territory_by_territory(db_url, tmp_path):
    """A service with FIELDROUTE_RUN_JOBS=false only queues plans; ``fieldroute worker`` on the
    same database runs them: a plan by territory, each territory on its own process, the phase
    counting the territories planned, the merged plan checked and stored."""
    admin = _team(db_url, tmp_path)
    with (_server(db_url, tmp_path, **LEAN) as (base, server),
          httpx.Client(base_url=base, headers=admin, timeout=30) as a):
        r = a.post("/v1/plans", json=BY_TERRITORY | {"time_limit_s": 60, "solution_limit": 1, "seed": 1})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        time.sleep(2)  # the service would have started it at once: it does not run jobs itself
        assert a.get(f"/v1/jobs/{job_id}").json()["status"] == "queued" and not _job_workers(server.pid)
        phases = []
        with _worker(db_url, tmp_path, FIELDROUTE_JOB_LEASE_S="20"):
            def ended():
                job = a.get(f"/v1/jobs/{job_id}").json()
                phases.append(job["phase"])
                return job["status"] not in ("queued", "running") and job
            job = _until(ended, 180)
        assert job["status"] == "succeeded", job["error"]
        assert any(p.startswith("planning territories") for p in phases), phases
        plan = a.get(f"/v1/plans/{job['plan_id']}").json()["result"]
        assert plan["summary"]["visits"] > 0 and {c["rep_id"] for c in plan["capacity"]} == {"R1", "R2", "R3", "R4"}
        assert plan["check"]["ok"], plan["check"]


def test_cancelling_a_plan_by_territory_stops_its_territories(db_url, tmp_path):
    """Cancelled while its territories plan (a minute each), the job's process and every
    territory's process end; the worker runs on and takes the next job."""
    admin = _team(db_url, tmp_path)
    with (_server(db_url, tmp_path, **LEAN) as (base, _),
          httpx.Client(base_url=base, headers=admin, timeout=30) as a, _worker(db_url, tmp_path, FIELDROUTE_JOB_LEASE_S="20") as worker):
        job_id = a.post("/v1/plans", json=BY_TERRITORY | {"time_limit_s": 600}).json()["id"]
        assert _until(lambda: a.get(f"/v1/jobs/{job_id}").json()["phase"].startswith("planning territories"), 120)
        assert _until(lambda: len(_descendants(worker.pid)) >= 3, 60)  # the job, and its territories' processes
        running = {p for p in _descendants(worker.pid)  # the worker's resource tracker stays with it
                   if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()}
        r = a.delete(f"/v1/jobs/{job_id}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert _until(lambda: all(_gone(p) for p in running), 30), [
            Path(f"/proc/{p}/cmdline").read_bytes() for p in running if not _gone(p)]
        r = a.post("/v1/plans", json={"start": MONDAY, "weeks": 1, "time_limit_s": 5, "solution_limit": 5})
        job = _until(lambda: (j := a.get(f"/v1/jobs/{r.json()['id']}").json())["status"] not in ("queued", "running") and j, 120)
        assert job["status"] == "succeeded", job["error"]
