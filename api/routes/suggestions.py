"""/v1/suggestions: what the visits made suggest changing (learned visit minutes, reps'
start times, store classes), listed, applied or dismissed by a supervisor, never silently."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.exc import IntegrityError

from routing.learn import KINDS, Suggestion

from .. import plans
from .. import suggestions as learned
from ..deps import PrincipalDep, SessionDep, allow
from ..models import SuggestionRow
from ..problems import ProblemError, responses
from ..schemas import Page, SuggestionBatchIn, SuggestionOut

router = APIRouter(prefix="/v1/suggestions", tags=["suggestions"])
DECIDERS = ("admin", "supervisor")
SuggestionId = Annotated[str, Path(min_length=1, max_length=64)]


def _open(request: Request, session, principal) -> list[Suggestion]:
    today = plans.local_today(session, request.app.state.clock())
    try:
        return learned.open_suggestions(session, today, principal.team)
    except LookupError:
        raise ProblemError(404, "no policy yet: upload one and plan first") from None


def _out(s: Suggestion | SuggestionRow) -> SuggestionOut:
    if isinstance(s, SuggestionRow):
        return SuggestionOut.model_validate(s.data | {"status": s.status, "decided_at": s.decided_at,
                                                      "decided_by": s.decided_by, "changed": s.changed})
    return SuggestionOut.model_validate(learned.as_dict(s) | {"status": "open"})


@router.get("", response_model=Page[SuggestionOut], responses=responses(401, 403, 404, 422), **allow(*DECIDERS))
def list_suggestions(request: Request, session: SessionDep, principal: PrincipalDep,
                     status: Literal["open", "applied", "dismissed", "all"] = "open",
                     kind: Annotated[str | None, Query(pattern="^(" + "|".join(KINDS) + ")$")] = None,
                     offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page[SuggestionOut]:
    """What the visits of the last two cycles suggest (``status=open``, the default), paged:
    reps' start times from their lateness at the first visit, classes' visit minutes, stores'
    visit minutes (a store's median from check-in to check-out, shrunk toward its class's under
    8 visits) by the hours they change, then stores' classes from an ABC analysis of their
    orders, by order value; each with its evidence (visits, median, quartiles; orders and
    share) and its effect (hours per cycle, per rep; a class change against the rep's hours in
    the plan's capacity report). ``applied``/``dismissed``: those decided, newest first. A
    supervisor limited to a team sees its reps' and stores' only, and no class's minutes."""
    out: list[Suggestion | SuggestionRow] = []
    if status in ("open", "all"):
        out += _open(request, session, principal)
    if status != "open":
        out += learned.decided(session, None if status == "all" else status, principal.team)
    out = [s for s in out if kind is None or s.kind == kind]
    return Page[SuggestionOut](items=[_out(s) for s in out[offset:offset + limit]], count=len(out), offset=offset, limit=limit)


def _decide(request: Request, session, principal, ids: list[str], status: str) -> list[SuggestionOut]:
    for row_id in ids:
        if (row := session.get(SuggestionRow, row_id)) is not None:
            raise ProblemError(409, f"suggestion {row_id} was already {row.status} by {row.decided_by} at "
                                    f"{row.decided_at.isoformat(timespec='seconds')}")
    found = {s.id: s for s in _open(request, session, principal)}
    if missing := [i for i in ids if i not in found]:
        raise ProblemError(404, f"no open suggestion {missing[0]}: the visits made no longer suggest it (list them again)")
    try:
        rows = learned.decide(session, [found[i] for i in dict.fromkeys(ids)], status, f"{principal.role}:{principal.name}")
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ProblemError(409, "another request decided one of these suggestions at the same time; list them again") from None
    return [_out(r) for r in rows]


@router.post("/{suggestion_id}/apply", response_model=SuggestionOut, responses=responses(401, 403, 404, 409, 422),
             **allow(*DECIDERS))
def apply_suggestion(suggestion_id: SuggestionId, request: Request, session: SessionDep,
                     principal: PrincipalDep) -> SuggestionOut:
    """Apply an open suggestion: the store's or rep's next version, or the policy's (a class's
    minutes), as an edit would write it; the next plan uses it. ``changed`` says what was written."""
    return _decide(request, session, principal, [suggestion_id], "applied")[0]


@router.post("/{suggestion_id}/dismiss", response_model=SuggestionOut, responses=responses(401, 403, 404, 409, 422),
             **allow(*DECIDERS))
def dismiss_suggestion(suggestion_id: SuggestionId, request: Request, session: SessionDep,
                       principal: PrincipalDep) -> SuggestionOut:
    """Dismiss an open suggestion: it is not shown again while it proposes the same change."""
    return _decide(request, session, principal, [suggestion_id], "dismissed")[0]


@router.post("/apply", response_model=list[SuggestionOut], responses=responses(401, 403, 404, 409, 422), **allow(*DECIDERS))
def apply_suggestions(body: SuggestionBatchIn, request: Request, session: SessionDep,
                      principal: PrincipalDep) -> list[SuggestionOut]:
    """Apply several open suggestions at once, all or nothing."""
    return _decide(request, session, principal, body.ids, "applied")
