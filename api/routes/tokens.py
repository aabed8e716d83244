"""/v1/tokens: admins create, list and revoke API tokens (also ``fieldroute token``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import select

from .. import auth
from ..deps import SessionDep, allow
from ..models import Token
from ..problems import ProblemError, responses
from ..schemas import TokenCreated, TokenIn, TokenOut

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


def out(token: Token) -> TokenOut:
    return TokenOut.model_validate(token, from_attributes=True)


@router.get("", response_model=list[TokenOut], responses=responses(401, 403), **allow("admin"))
def list_tokens(session: SessionDep) -> list[TokenOut]:
    """Every token (secrets are never shown again)."""
    return [out(t) for t in session.scalars(select(Token).order_by(Token.id))]


@router.post("", status_code=201, response_model=TokenCreated, responses=responses(401, 403, 422) | {201: {
    "description": "the token, its secret shown once", "links": {"revoke it": {
        "operationId": "revoke_token_v1_tokens__token_id__delete", "parameters": {"token_id": "$response.body#/id"}}}}},
             **allow("admin"))
def create_token(body: TokenIn, session: SessionDep) -> TokenCreated:
    """A new token; the answer holds its secret, shown this once."""
    try:
        token, secret = auth.create_token(session, name=body.name, role=body.role, rep_id=body.rep_id, team=body.team)
    except ValueError as exc:
        raise ProblemError(422, str(exc)) from None
    session.commit()
    return TokenCreated(**out(token).model_dump(), token=secret)


@router.delete("/{token_id}", response_model=TokenOut, responses=responses(401, 403, 404), **allow("admin"))
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, session: SessionDep) -> TokenOut:
    """Revoke a token (its sessions end too). This server process stops accepting it at once,
    the others within ``FIELDROUTE_TOKEN_CACHE_S`` seconds (default 5)."""
    if not auth.revoke_token(session, token_id):
        raise ProblemError(404, f"no active token {token_id}")
    session.commit()
    request.app.state.token_cache.forget(token_id)
    return out(session.get(Token, token_id))
