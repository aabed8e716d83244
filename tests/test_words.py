"""The rep's app's words (``maps/static/app/words*.js``): every translation has the English
file's keys, so no button goes without a name in another language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

APP = Path(__file__).parents[1] / "maps" / "static" / "app"


def _keys(path: Path) -> set[str]:
    """The keys of the words object (the lines of its ``return {...}`` at four spaces)."""
    return set(re.findall(r"^    (\w+):", path.read_text(encoding="utf-8"), flags=re.M))


@pytest.mark.parametrize("path", sorted(APP.glob("words.*.js")), ids=lambda p: p.name)
def test_a_translation_has_every_key(path):
    english = _keys(APP / "words.js")
    assert len(english) > 50
    assert _keys(path) == english
