"""bench/api_load.py measures the server with wrk: without it, it refuses to run, and a run with
``--python-client`` says loudly that its numbers measure the client too (issue 19, item 5g)."""

from __future__ import annotations

import pytest

from bench import api_load


def test_without_wrk_it_refuses_to_run(monkeypatch, tmp_path, capsys):
    """No silent fallback to a Python client that saturates the 2 cores: an error naming wrk
    and --python-client, before anything is seeded or started."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to("/bin/sh")
    monkeypatch.setenv("PATH", str(bin_dir))  # a shell, no wrk
    with pytest.raises(SystemExit) as exc:
        api_load.main(["--requests", "10", "--warmup", "0", "--repeat", "1", "--no-plan", "--seed-time-limit", "1",
                       "--db", str(tmp_path / "load.db")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "wrk is not installed" in err and "--python-client" in err
    assert not (tmp_path / "load.db").exists()


def test_a_python_client_run_says_so_in_the_table_and_the_json():
    """The result names its client (the JSON's ``client``), and the table says it loudly."""
    assert api_load.CLIENTS["python"] == "python (numbers measure the client too)"
    result = {"concurrency": 50, "requests": 100, "workers": 1, "repeat": 1, "generator": "python",
              "client": api_load.CLIENTS["python"], "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "rps": 10.0, "errors": 0,
              "server_cpu_ms_per_request": 0.5}
    lines = _printed(result)
    assert lines[0].startswith("*** client: python (numbers measure the client too)") and lines[-1].startswith("*** client")
    wrk = _printed(result | {"generator": "wrk", "client": "wrk"})
    assert not any("***" in line for line in wrk) and "client wrk" in wrk[0]


def _printed(result: dict) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        api_load._table(result)
    return [line for line in out.getvalue().splitlines() if line]
