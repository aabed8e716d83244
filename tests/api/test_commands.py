"""``fieldroute db`` and ``fieldroute token``: migrations and tokens from the command line."""

from __future__ import annotations

import re
import subprocess
import sys

from fastapi.testclient import TestClient

from api.main import create_app

from .conftest import settings_for


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, timeout=120)


def test_db_upgrade_and_tokens(db_url, tmp_path):
    assert _run("db", "current", "--db", db_url).stdout.strip() == "database at revision (none)"
    assert _run("db", "upgrade", "--db", db_url).stdout.strip() == "database at revision 0009"
    made = _run("token", "create", "--role", "rep", "--rep", "R1", "--name", "Camille's phone", "--db", db_url)
    assert made.returncode == 0 and "only its hash is stored" in made.stderr
    token_id, secret = re.fullmatch(r"token (\d+) \(rep R1\): (fr_\S+)\n", made.stdout).groups()
    listed = _run("token", "list", "--db", db_url).stdout
    assert "Camille's phone" in listed and secret[:10] in listed and secret not in listed
    # (A server remembers a valid token for FIELDROUTE_TOKEN_CACHE_S; 0 here, so the CLI's
    # revocation shows at once.)
    with TestClient(create_app(settings_for(db_url, tmp_path, token_cache_s=0))) as client:
        assert client.get("/v1/reps/R2/routes/today", headers={"Authorization": f"Bearer {secret}"}).status_code == 403
        assert _run("token", "revoke", token_id, "--db", db_url).stdout.startswith(f"token {token_id} revoked")
        assert client.get("/v1/reps/R1/routes/today", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    bad = _run("token", "create", "--role", "rep", "--name", "no rep", "--db", db_url)
    assert bad.returncode == 2 and "rep_id" in bad.stderr
    assert _run("token", "revoke", token_id, "--db", db_url).returncode == 2
