"""The hot read path's caches (api.cache): a revoked bearer token stops working within the
documented delay."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import auth
from api.db import transaction
from api.main import create_app
from api.models import Token

from .conftest import make_token, settings_for


@pytest.fixture
def short_memory(db_url, tmp_path):
    """A service that remembers tokens for 0.5 s."""
    with TestClient(create_app(settings_for(db_url, tmp_path, token_cache_s=0.5))) as client:
        yield client


def test_revoked_token_stops_working_within_the_delay(short_memory):
    """Revoked through this process's API: refused at once. Revoked elsewhere (the CLI, another
    worker process): accepted for at most token_cache_s, then refused. Unknown tokens are not
    remembered."""
    client, app = short_memory, short_memory.app
    admin = make_token(app, "admin")
    sup = make_token(app, "supervisor")
    assert client.get("/v1/plans", headers=sup).status_code == 200
    token_id = client.get("/v1/tokens", headers=admin).json()[-1]["id"]
    assert client.delete(f"/v1/tokens/{token_id}", headers=admin).status_code == 200
    assert client.get("/v1/plans", headers=sup).status_code == 401

    other = make_token(app, "supervisor")
    assert client.get("/v1/plans", headers=other).status_code == 200
    with transaction(app.state.sessions) as session:  # as `fieldroute token revoke` does
        token = session.scalar(select(Token).where(Token.token_hash == auth.digest(other["Authorization"].split()[1])))
        assert auth.revoke_token(session, token.id)
    assert client.get("/v1/plans", headers=other).status_code == 200  # remembered: within the delay
    time.sleep(0.6)
    assert client.get("/v1/plans", headers=other).status_code == 401

    remembered = len(app.state.token_cache._entries)
    for n in range(5):
        assert client.get("/v1/plans", headers={"Authorization": f"Bearer unknown-{n}"}).status_code == 401
    assert len(app.state.token_cache._entries) == remembered
