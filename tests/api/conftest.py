"""The service on a real database: SQLite always, PostgreSQL too when
``FIELDROUTE_TEST_DATABASE_URL`` names a server (each test gets a database of its own).

Every HTTP answer the API's tests receive is checked against the published OpenAPI schema of
the service that sent it (``Conformance``): a test that gets an answer the schema does not
allow fails."""

from __future__ import annotations

import contextlib
import datetime as dt
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
import urllib.response
import uuid
from collections import Counter
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import auth
from api.db import transaction
from api.main import create_app
from api.settings import Settings
from tests.conftest import DEMO

from . import openapi_check

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


class Conformance:
    """Checks every answer the tests receive (``openapi_check.conforms``) against the schema of
    the service that sent it: a TestClient's app's, or a real server's ``/openapi.json``
    (servers the tests start register their base URL, ``serve``); answers from anything else
    (a test's callback receiver) are not the API's and are let through. While installed, it
    sees what every ``httpx.Client`` (FastAPI's TestClient is one) and urllib receive; a test
    that reads with http.client calls ``received``. A violation raises where the answer is
    read, and the test fails at teardown too (an answer read in another thread)."""

    def __init__(self):
        self.servers: set[str] = set()
        self.violations: list[str] = []
        self.checked: Counter = Counter()  # (method, path template, status)
        self.let_through = 0
        self._schemas: dict[str, dict | None] = {}

    def serve(self, base: str) -> None:
        self.servers.add(_origin(base))

    def forget_schemas(self) -> None:
        """Fetch the servers' schemas again (a port may serve another app in the next test)."""
        self._schemas.clear()

    def verify(self, schema: dict | None, response) -> None:
        if schema is None:
            return
        try:
            openapi_check.conforms(schema, response)
        except openapi_check.SchemaViolation as exc:
            self.violations.append(str(exc))
            raise
        request = response.request
        path = urlsplit(str(request.url)).path
        if any(openapi_check._template_regex(t).fullmatch(path) for t in schema["paths"]):
            self.checked[(request.method, openapi_check.path_template(schema, path), response.status_code)] += 1
        else:
            self.let_through += 1

    def received(self, method: str, url: str, status: int, headers, body: bytes, request_headers=None) -> None:
        """Check an answer read off the wire (urllib, http.client) from ``url``'s server."""
        self.verify(self._server_schema(url), openapi_check.answer(method, url, status, headers, body, request_headers))

    def covers(self, url: str) -> bool:
        """Whether ``url``'s server is one the tests started and its schema has ``url``'s path."""
        schema, path = self._server_schema(url), urlsplit(url).path
        return schema is not None and any(openapi_check._template_regex(t).fullmatch(path) for t in schema["paths"])

    def _server_schema(self, url: str) -> dict | None:
        origin = _origin(url)
        if origin not in self.servers:
            return None
        if origin not in self._schemas:
            with _OPEN(urllib.request.build_opener(), f"{origin}/openapi.json", timeout=30) as response:
                self._schemas[origin] = json.loads(response.read())
        return self._schemas[origin]

    def _send(self, client: httpx.Client, request: httpx.Request, **kwargs) -> httpx.Response:
        response = _SEND(client, request, **kwargs)
        if kwargs.get("stream"):
            return response
        app = getattr(client, "app", None) if isinstance(client, TestClient) else None
        if app is not None:
            self.verify(app.openapi() if hasattr(app, "openapi") else None, response)
        else:
            self.verify(self._server_schema(str(request.url)), response)
        return response

    def _open(self, opener, url, data=None, *args, **kwargs):
        request = url if isinstance(url, urllib.request.Request) else urllib.request.Request(url, data)
        method = request.get_method() if data is None or request.data is not None else "POST"
        try:
            response = _OPEN(opener, url, data, *args, **kwargs)
        except urllib.error.HTTPError as exc:
            body = exc.read()
            self.received(method, request.full_url, exc.code, exc.headers, body, request.header_items())
            raise urllib.error.HTTPError(exc.url, exc.code, exc.msg, exc.headers, io.BytesIO(body)) from None
        with response:
            body = response.read()
        self.received(method, request.full_url, response.status, response.headers, body, request.header_items())
        return urllib.response.addinfourl(io.BytesIO(body), response.headers, response.url, response.status)

    @contextlib.contextmanager
    def installed(self):
        conformance = self
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(httpx.Client, "send", lambda client, request, **kw: conformance._send(client, request, **kw))
            patch.setattr(urllib.request.OpenerDirector, "open",
                          lambda opener, url, data=None, *a, **kw: conformance._open(opener, url, data, *a, **kw))
            yield self


_SEND, _OPEN = httpx.Client.send, urllib.request.OpenerDirector.open
CONFORMANCE = Conformance()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture(scope="session", autouse=True)
def _conformance():
    with CONFORMANCE.installed():
        yield CONFORMANCE


@pytest.fixture(autouse=True)
def _conforming(_conformance):
    """Fails the test if an answer it (or a fixture of its module) received broke the schema."""
    yield
    violations, _conformance.violations[:] = list(_conformance.violations), []
    _conformance.forget_schemas()
    if violations:
        pytest.fail("answers the published OpenAPI schema does not allow:\n" + "\n".join(violations), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    checked = CONFORMANCE.checked
    if checked:
        operations = {(m, t) for m, t, _ in checked}
        terminalreporter.write_line(
            f"OpenAPI conformance: {sum(checked.values())} answers checked ({len(operations)} operations, "
            f"{len(checked)} operation statuses), {CONFORMANCE.let_through} outside the schema let through")


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
    CONFORMANCE.serve(base)
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
