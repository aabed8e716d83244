"""The service on a real database: SQLite always, PostgreSQL too when
``FIELDROUTE_TEST_DATABASE_URL`` names a server (each test gets a database of its own)."""

from __future__ import annotations

import contextlib
import datetime as dt
import csv
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
import uuid
from io import StringIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import auth
from api.db import transaction
from api.main import create_app
from api.settings import Settings
from tests.conftest import DEMO

PG_ENV = "FIELDROUTE_TEST_DATABASE_URL"
PG_HOWTO = (f"PostgreSQL tests skipped: set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test "
            "(any database the user may CREATE DATABASE from) to run them")
#: A small real team: the demo's policy, reps, and its first 24 stores (straight-line travel).
POLICY = tomllib.loads((DEMO / "policy.toml").read_text())
REPS_CSV = (DEMO / "reps.csv").read_text()
STORE_ROWS = list(csv.DictReader(StringIO((DEMO / "stores.csv").read_text())))[:24]
STORES = [{k: r[k] for k in ("id", "name", "lat", "lon", "class", "opening_hours")} | {"lat": float(r["lat"]), "lon": float(r["lon"])}
          for r in STORE_ROWS]
MONDAY = "2026-11-30"


@pytest.fixture(params=["sqlite", "postgresql"], scope="session")
def backend(request):
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    """A fresh, empty database of the backend, dropped afterwards."""
    with fresh_database(backend, tmp_path) as url:
        yield url


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path):
    """The URL of a fresh, empty database of the backend (SQLite: a file in ``folder``), dropped
    when the block ends; skips the test for PostgreSQL without ``FIELDROUTE_TEST_DATABASE_URL``."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'fieldroute.db'}"
        return
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(PG_HOWTO)
    name = f"fieldroute_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings_for(db_url: str, tmp_path, **kw) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path, network="straight", cache_dir=tmp_path / "cache", **kw)


@pytest.fixture
def app(db_url, tmp_path):
    return create_app(settings_for(db_url, tmp_path))


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def make_token(app, role: str, rep_id: str | None = None, team: list[str] | None = None) -> dict:
    """Headers with a new token of ``role``."""
    with transaction(app.state.sessions) as session:
        _, secret = auth.create_token(session, name=f"test {role}", role=role, rep_id=rep_id, team=team)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin(app, client):
    return make_token(app, "admin")


def load_team(client, headers) -> None:
    """The small team: policy, reps, stores."""
    assert client.put("/v1/policy", json=POLICY, headers=headers).status_code == 200
    assert client.post("/v1/reps/import", content=REPS_CSV, headers=headers | {"Content-Type": "text/csv"}).status_code == 200
    r = client.post("/v1/stores/import", json=STORES, headers=headers)
    assert r.status_code == 200, r.text


def wait_job(client, headers, job_id: str, timeout: float = 120) -> dict:
    """Poll a job until it ends (a real worker process plans the cycle)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def plan_and_publish(client, headers, **body) -> dict:
    """Plan a 1-week cycle from MONDAY (bounded by a solution limit) and publish it."""
    r = client.post("/v1/plans", json={"start": MONDAY, "weeks": 1, "time_limit_s": 5, "solution_limit": 20} | body, headers=headers)
    assert r.status_code == 202, r.text
    job = wait_job(client, headers, r.json()["id"])
    assert job["status"] == "succeeded", job
    r = client.post(f"/v1/plans/{job['plan_id']}/publish", headers=headers)
    assert r.status_code == 200
    return r.json()


def busiest_rep_day(client, headers, reps=("R1", "R2", "R3", "R4")) -> tuple:
    """The published week's rep-day with the most visits: (date, rep id, its visit stops)."""
    best = None
    for n in range(6):
        date = dt.date.fromisoformat(MONDAY) + dt.timedelta(days=n)
        for rep_id in reps:
            r = client.get(f"/v1/reps/{rep_id}/routes/{date}", headers=headers)
            visits = [s for s in r.json()["stops"] if s["type"] == "visit"] if r.status_code == 200 else []
            if best is None or len(visits) > len(best[2]):
                best = (date, rep_id, visits)
    return best


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve_demo(db: Path | str, network: str, *, clock: str | None = None, workers: int = 1):
    """``fieldroute serve --demo`` on a real uvicorn bound to 127.0.0.1 on a free port, until
    the block ends: (base URL, the tokens it printed by who, everything it printed). ``db``: a
    SQLite file or a database URL; ``clock``: ``--clock``; ``workers``: ``--workers``."""
    port = _free_port()
    options = ["--clock", clock] if clock else []
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--demo", "--db", str(db), "--port", str(port), "--network", network,
         "--demo-time-limit", "4", "--workers", str(workers), *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    base = f"http://127.0.0.1:{port}"
    lines, errors = _drained(server.stdout), _drained(server.stderr)  # read on: a full pipe would stop the server
    try:
        deadline = time.monotonic() + 180
        while not (_tokens(lines).get("R4") and _healthy(base)):
            assert time.monotonic() < deadline and server.poll() is None, "".join(lines) + "".join(errors)
            time.sleep(0.2)
        yield base, _tokens(lines), "".join(lines)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _drained(pipe) -> list[str]:
    """The lines of ``pipe`` so far, read on by a thread until it closes."""
    lines: list[str] = []

    def read() -> None:
        for line in iter(pipe.readline, ""):
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _tokens(lines: list[str]) -> dict[str, str]:
    """The tokens ``fieldroute serve --demo`` printed, by who."""
    return {m[1]: m[2] for line in list(lines) if (m := re.match(r"\s+(supervisor|R\d)\s+(fr_\S+)", line))}
