"""Schemathesis against the OpenAPI schema: generated requests (bounded examples, plan time
limits capped at 1 s) never get a 5xx, and every response matches the schema, for an admin
on a database with a published plan. SQLite always; PostgreSQL too when configured."""

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
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.main import create_app

from .conftest import PG_ENV, PG_HOWTO, load_team, make_token, plan_and_publish, settings_for

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


def _app(url: str, folder: str):
    (_TMP / folder).mkdir()
    return create_app(settings_for(url, _TMP / folder, max_plan_time_s=1.0))


SQLITE_APP = _app(f"sqlite:///{_TMP / 'fieldroute.db'}", "sqlite")
_PG = _pg_url()
PG_APP = _app(_PG, "pg") if _PG else None
sqlite_schema = schemathesis.openapi.from_asgi("/openapi.json", SQLITE_APP)
pg_schema = schemathesis.openapi.from_asgi("/openapi.json", PG_APP) if PG_APP else None
#: No 5xx, and status, content type and body as the schema says. (Not "every schema-valid
#: request is accepted": a store's class must be one of the policy's and its opening hours
#: must parse, which the schema cannot say; such rows get a 422 that names them.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_SETTINGS = settings(max_examples=10, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])


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


if pg_schema is not None:
    @pytest.fixture(scope="module")
    def pg_admin():
        return _running(PG_APP)

    @pg_schema.parametrize()
    @_SETTINGS
    def test_postgresql(case, pg_admin):
        case.call_and_validate(headers=pg_admin, checks=CHECKS)
else:
    def test_postgresql():
        pytest.skip(PG_HOWTO)
