"""Schemathesis against the OpenAPI schema: generated requests (bounded examples, plan time
limits capped at 1 s) to every operation never get a 5xx, and every response matches the
schema (status, content type, body, documented headers), for an admin on a database with a
published plan; then short sequences that follow the schema's links (a planning job to its
status, its cancellation and its plan; a proposal to its status and apply; a token to its
revocation). SQLite always; PostgreSQL too when configured."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_headers_conformance,
                                 response_schema_conformance, status_code_conformance)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.main import create_app

from .conftest import PG_ENV, PG_HOWTO, load_team, make_token, plan_and_publish, settings_for, wait_job

_TMP = Path(tempfile.mkdtemp(prefix="fieldroute-schema-"))
atexit.register(shutil.rmtree, _TMP, True)


def _pg_url() -> str | None:
    server = os.environ.get(PG_ENV)
    if not server:
        return None
    name = f"fieldroute_schema_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    atexit.register(drop)
    return make_url(server).set(database=name).render_as_string(hide_password=False)


#: Where every generated callback goes: the discard port on loopback, which nothing here
#: listens on (the test apps allow it), so a generated ``callback_url`` never leaves this machine.
#: The callback rules themselves are tested in ``test_callbacks.py``.
CALLBACK_SINK = "http://127.0.0.1:9/schema-test"


def _app(url: str, folder: str):
    (_TMP / folder).mkdir()
    return create_app(settings_for(url, _TMP / folder, max_plan_time_s=1.0, callback_allow=["127.0.0.1"]))


def map_body(context, body):
    """A generated ``callback_url`` points at ``CALLBACK_SINK`` (tests make no outside calls)."""
    if isinstance(body, dict) and isinstance(body.get("callback_url"), str):
        return {**body, "callback_url": CALLBACK_SINK}
    return body


SQLITE_APP = _app(f"sqlite:///{_TMP / 'fieldroute.db'}", "sqlite")
_PG = _pg_url()
PG_APP = _app(_PG, "pg") if _PG else None
sqlite_schema = schemathesis.openapi.from_asgi("/openapi.json", SQLITE_APP)
pg_schema = schemathesis.openapi.from_asgi("/openapi.json", PG_APP) if PG_APP else None
for _schema in (sqlite_schema, pg_schema):
    if _schema is not None:
        _schema.hook(map_body)
#: No 5xx, and status, content type, body and headers as the schema says. (Not "every
#: schema-valid request is accepted": a store's class must be one of the policy's and its
#: opening hours must parse, which the schema cannot say; such rows get a 422 that names them.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
_SETTINGS = settings(max_examples=10, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
#: The linked sequences: short scenarios (each step a request; about 5 s), and how many
#: answers they must check at least.
MIN_ANSWERS = 100
_STATEFUL = settings(max_examples=60, stateful_step_count=5, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))


def _follow_links(schema, app) -> None:
    """Run short sequences of linked operations, every answer checked; each scenario as an
    admin of its own (a scenario may revoke its token: the next one starts afresh).

    The scenarios share one database, so a scenario's first steps, replayed by Hypothesis after
    others changed the data, may offer other next steps (a store deleted, a plan published):
    Hypothesis then stops with ``FlakyStrategyDefinition``. That is no failed check (the
    schemathesis CLI moves on too): the run starts again, at most three times, and must have
    checked ``MIN_ANSWERS`` answers; a failed check fails the test whatever happens next."""
    watcher, watch = TestClient(app), make_token(app, "admin")
    failures: list[Exception] = []
    answers = 0

    class Links(schema.as_state_machine()):
        def setup(self):
            self.headers = make_token(app, "admin")

        def after_call(self, response, case):
            """A step that started a job (a plan or a proposal) waits for it to end: what
            the next steps can do (cancel it, read its plan, apply the proposal) then follows
            from the requests, not from the worker's speed."""
            if response.status_code == 202:
                body = response.json()
                wait_job(watcher, watch, body["job"]["id"] if "job" in body else body["id"], timeout=60)

        def get_call_kwargs(self, case):
            return {"headers": self.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            nonlocal answers
            answers += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=self.headers, transport_kwargs=kwargs or None)
            except Exception as exc:
                failures.append(exc)
                raise

    for _ in range(3):
        try:
            Links.run(settings=_STATEFUL)
            break
        except FlakyStrategyDefinition:
            if failures:
                raise failures[0] from None
    assert answers >= MIN_ANSWERS, answers


def test_every_operation_is_tested():
    """The generated tests cover every operation of the published schema (none excluded)."""
    spec = SQLITE_APP.openapi()
    published = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    tested = {(op.method.upper(), op.path) for op in (r.ok() for r in sqlite_schema.get_all_operations())}
    assert tested == published and len(published) >= 40


def _running(app):
    """The app started (migrations, job runner) with the small team and a published plan."""
    client = TestClient(app)
    client.__enter__()
    atexit.register(client.__exit__, None, None, None)
    headers = make_token(app, "admin")
    load_team(client, headers)
    plan_and_publish(client, headers, time_limit_s=1)
    return headers


@pytest.fixture(scope="module")
def sqlite_admin():
    return _running(SQLITE_APP)


@sqlite_schema.parametrize()
@_SETTINGS
def test_sqlite(case, sqlite_admin):
    case.call_and_validate(headers=sqlite_admin, checks=CHECKS)


def test_sqlite_links(sqlite_admin):
    _follow_links(sqlite_schema, SQLITE_APP)


if pg_schema is not None:
    @pytest.fixture(scope="module")
    def pg_admin():
        return _running(PG_APP)

    @pg_schema.parametrize()
    @_SETTINGS
    def test_postgresql(case, pg_admin):
        case.call_and_validate(headers=pg_admin, checks=CHECKS)

    def test_postgresql_links(pg_admin):
        _follow_links(pg_schema, PG_APP)
else:
    def test_postgresql():
        pytest.skip(PG_HOWTO)
