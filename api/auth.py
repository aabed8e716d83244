"""Tokens, roles and browser sessions. Secrets are shown once and stored only as SHA-256 hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .models import CalendarKey, SignInLink, Token, utcnow
from .models import Session as BrowserSession

ROLES = ("admin", "supervisor", "integrator", "rep")
#: What each role may do (the OpenAPI schema lists the roles of every endpoint).
ROLE_HELP = {
    "admin": "everything, and managing tokens",
    "supervisor": "read its team's stores, reps, routes and plans (every rep without a team), import, plan, publish",
    "integrator": "import stores, reps and the policy, read them, export plans",
    "rep": "read its own routes, maps, calendar and rep record, the stores of its territory and routes; report its day's events",
}


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's role, its rep (role rep) or team (a limited supervisor)."""

    token_id: int
    name: str
    role: str
    rep_id: str | None = None
    team: frozenset[str] | None = None

    def can_see_rep(self, rep_id: str) -> bool:
        """Whether this caller may read ``rep_id``'s routes."""
        if self.role == "rep":
            return rep_id == self.rep_id
        if self.role == "supervisor":
            return self.team is None or rep_id in self.team
        return self.role == "admin"


def _principal(token: Token) -> Principal:
    return Principal(token.id, token.name, token.role, token.rep_id, frozenset(token.team) if token.team is not None else None)


def create_token(session: Session, *, name: str, role: str, rep_id: str | None = None,
                 team: list[str] | None = None) -> tuple[Token, str]:
    """Make a token; returns the row and the secret (shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    if (role == "rep") != (rep_id is not None):
        raise ValueError("rep_id: a rep token names exactly one rep (--rep), other roles none")
    if team is not None and role != "supervisor":
        raise ValueError("team: only a supervisor token is limited to a team")
    secret = "fr_" + secrets.token_urlsafe(32)
    token = Token(name=name, role=role, rep_id=rep_id, team=sorted(team) if team is not None else None,
                  token_hash=digest(secret), prefix=secret[:10])
    session.add(token)
    session.flush()
    return token, secret


def principal_for(session: Session, secret: str) -> Principal | None:
    """The caller a bearer token stands for, or None (unknown or revoked)."""
    token = session.scalar(select(Token).where(Token.token_hash == digest(secret), Token.revoked_at.is_(None)))
    return _principal(token) if token else None


def revoke_token(session: Session, token_id: int) -> bool:
    token = session.get(Token, token_id)
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    return True


def open_session(session: Session, token_secret: str, hours: float) -> tuple[str, dt.datetime] | None:
    """A browser session for a valid token: (cookie secret, expiry), or None."""
    token = session.scalar(select(Token).where(Token.token_hash == digest(token_secret), Token.revoked_at.is_(None)))
    if token is None:
        return None
    secret = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(hours=hours)
    session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= utcnow()))  # forget the expired
    session.add(BrowserSession(id_hash=digest(secret), token_id=token.id, expires_at=expires))
    return secret, expires


def create_sign_in_link(session: Session, rep_id: str, hours: float, created_by: int | None = None) -> tuple[SignInLink, str]:
    """A one-time sign-in link for ``rep_id``'s phone, valid ``hours``: the row and its code
    (shown once, only its hash is kept)."""
    code = secrets.token_urlsafe(24)
    link = SignInLink(code_hash=digest(code), rep_id=rep_id, created_by=created_by,
                      expires_at=utcnow() + dt.timedelta(hours=hours))
    session.add(link)
    session.flush()
    return link, code


@dataclass(frozen=True)
class SignedIn:
    """A used sign-in link's browser session: the cookie's secret, when it ends, whose it is."""

    cookie: str
    expires_at: dt.datetime
    rep_id: str


def sign_in_with_link(session: Session, code: str, days: float) -> SignedIn | str:
    """Use a sign-in link: a rep token of its own and a browser session of ``days`` on it;
    or, if the link cannot be used, why (its status: unknown, used, expired or revoked)."""
    link = session.scalar(select(SignInLink).where(SignInLink.code_hash == digest(code)))
    if link is None:
        return "unknown"
    if link.status != "unused":
        return link.status
    taken = session.execute(update(SignInLink).where(SignInLink.id == link.id, SignInLink.used_at.is_(None),
                                                     SignInLink.revoked_at.is_(None)).values(used_at=utcnow()))
    if taken.rowcount != 1:  # another request used it first
        return "used"
    token, secret = create_token(session, name=f"phone of {link.rep_id} (sign-in link {link.id})", role="rep",
                                 rep_id=link.rep_id)
    link.token_id = token.id
    opened = open_session(session, secret, days * 24)
    assert opened is not None  # the token was just made
    return SignedIn(opened[0], opened[1], link.rep_id)


def revoke_sign_in_link(session: Session, link: SignInLink) -> None:
    """Revoke a link: unused, it can no longer be used; used, the phone it signed in is signed out."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
    if link.token_id is not None:
        revoke_token(session, link.token_id)


def principal_for_session(session: Session, cookie: str) -> Principal | None:
    """The caller a session cookie stands for, while it and its token are valid."""
    row = session.get(BrowserSession, digest(cookie))
    if row is None or row.expires_at <= utcnow():
        return None
    token = session.get(Token, row.token_id)
    return _principal(token) if token and token.revoked_at is None else None


def csrf_token(cookie: str) -> str:
    """The token a page served to this browser session sends back with its POSTs (header
    ``X-CSRF-Token``). Derived from the HttpOnly cookie, which other sites' pages cannot read,
    so a form or script elsewhere cannot make the browser act with its cookie."""
    return hashlib.sha256(b"fieldroute-csrf:" + cookie.encode()).hexdigest()


def close_session(session: Session, cookie: str) -> None:
    row = session.get(BrowserSession, digest(cookie))
    if row is not None:
        session.delete(row)


def new_calendar_key(session: Session, rep_id: str) -> str:
    """A new secret calendar key for ``rep_id``; the old one stops working."""
    secret = secrets.token_urlsafe(24)
    row = session.get(CalendarKey, rep_id)
    if row is None:
        session.add(CalendarKey(rep_id=rep_id, key_hash=digest(secret)))
    else:
        row.key_hash, row.created_at = digest(secret), utcnow()
    return secret


def revoke_calendar_key(session: Session, rep_id: str) -> bool:
    row = session.get(CalendarKey, rep_id)
    if row is not None:
        session.delete(row)
    return row is not None


def calendar_key_valid(session: Session, rep_id: str, key: str) -> bool:
    row = session.get(CalendarKey, rep_id)
    return row is not None and secrets.compare_digest(row.key_hash, digest(key))
