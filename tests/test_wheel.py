"""The installed package finds its own data (what the container image relies on): a wheel
built from this checkout, installed into a fresh virtual environment outside it, serves the
demo from its own files."""

from __future__ import annotations

import json
import re
import site
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

from tests.api.conftest import _free_port

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_serves_the_demo_from_its_own_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("fieldroute-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # The dependencies come from this interpreter's site-packages (plain path entries: its
    # editable install of fieldroute is not activated), fieldroute itself from the wheel.
    paths = [p for p in site.getsitepackages() if Path(p).is_dir()]
    new_site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (new_site / "deps.pth").write_text("\n".join(paths) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(new_site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    where = subprocess.check_output([python, "-c", "import routing.network as n, fieldroute_data as d; print(n.DEMO_PBF, d.__file__)"],
                                    text=True, cwd=tmp_path).split()
    assert all(w.startswith(str(new_site)) for w in where) and Path(where[0]).is_file(), where

    port = _free_port()
    server = subprocess.Popen([python, "-m", "api.cli", "serve", "--demo", "--db", str(tmp_path / "fr.db"), "--port", str(port),
                               "--network", "demo", "--demo-time-limit", "3"], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        out, deadline = "", time.monotonic() + 240
        while "Serving on" not in out:
            assert time.monotonic() < deadline and server.poll() is None, out
            out += server.stdout.readline()
        token = re.search(r"\s+R1\s+(fr_\S+)", out)[1]
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.loads(r.read())["status"] == "ok"
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("no /healthz")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/reps/R1/routes?from=today&to=today",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
