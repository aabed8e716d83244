"""Input errors that name the file, the row and the field, and say what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with one input: where it is and what was expected."""

    source: str
    row: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(x for x in (self.row, self.field and f"field '{self.field}'") if x)
        return f"{self.source}: {where + ': ' if where else ''}{self.message}"


class InputError(ValueError):
    """Raised when input files are rejected; carries every problem found, not only the first."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
