"""Per-hall API tokens of the hall's own systems (queue/evaluation, attendance): shown once, stored hashed,
revocable. A token speaks for exactly one hall and one purpose."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit import audit
from server.db import Hall, utcnow
from server.deps import SessionDep
from server.people.models import IntegrationToken
from server.security import edge_token_hash

PURPOSES = ("queue", "attendance")


class TokenError(ValueError):
    pass


def issue_token(session: Session, hall_id: str, purpose: str, label: str, *, actor: str,
                user_id: int | None = None) -> tuple[IntegrationToken, str]:
    if purpose not in PURPOSES:
        raise TokenError(f"purpose must be one of {', '.join(PURPOSES)}")
    if session.get(Hall, hall_id) is None:
        raise TokenError(f"unknown hall {hall_id!r}")
    token = f"hwi_{purpose[0]}_" + secrets.token_urlsafe(32)
    row = IntegrationToken(hall_id=hall_id, purpose=purpose, token_hash=edge_token_hash(token), label=label[:100],
                           created_by=actor)
    session.add(row)
    session.flush()
    audit(session, actor=actor, user_id=user_id, action="integration_token.issue", entity_type="integration_token",
          entity_id=row.id, after={"hall_id": hall_id, "purpose": purpose, "label": row.label})
    return row, token


def revoke_token(session: Session, row: IntegrationToken, *, actor: str, user_id: int | None = None) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, actor=actor, user_id=user_id, action="integration_token.revoke",
              entity_type="integration_token", entity_id=row.id, after={"hall_id": row.hall_id})


def token_views(session: Session, hall_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(IntegrationToken).where(IntegrationToken.hall_id == hall_id)
                           .order_by(IntegrationToken.id))
    return [{"id": r.id, "purpose": r.purpose, "label": r.label, "created_by": r.created_by,
             "created_at": r.created_at.isoformat(), "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None}
            for r in rows]


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None


def token_for(purpose: str):
    """Dependency: the hall's token of this purpose (``Authorization: Bearer hwi_…``); 401 otherwise."""

    def check(request: Request, session: SessionDep) -> IntegrationToken:
        token = _bearer(request)
        row = None
        if token:
            row = session.scalars(select(IntegrationToken).where(
                IntegrationToken.token_hash == edge_token_hash(token))).first()
        if row is None or row.revoked_at is not None or row.purpose != purpose:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid {purpose} token",
                                headers={"WWW-Authenticate": "Bearer"})
        return row

    check.__name__ = f"{purpose}_token"
    return check


QueueToken = Annotated[IntegrationToken, Depends(token_for("queue"))]
AttendanceToken = Annotated[IntegrationToken, Depends(token_for("attendance"))]
