"""The layers: the library imports neither the maps, the service nor the command line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_routing_imports_neither_maps_nor_api():
    offenders = {p.name: _imports(p) & {"maps", "api", "fastapi", "sqlalchemy", "uvicorn"} for p in (ROOT / "routing").glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_maps_import_no_service():
    offenders = {p.name: _imports(p) & {"api", "fastapi", "sqlalchemy"} for p in (ROOT / "maps").glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
