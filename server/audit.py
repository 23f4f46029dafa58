"""The audit log: every state change goes through :func:`audit` in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from edge.contract import jsonable
from server.db import AuditLog


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a row as JSON-able values (for before/after)."""
    return {f: jsonable(getattr(obj, f)) for f in fields}


def audit(session: Session, *, actor: str, action: str, entity_type: str, entity_id: Any,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
          user_id: int | None = None) -> AuditLog:
    """Add an audit row to the caller's transaction (flushed with it, never committed here)."""
    row = AuditLog(actor=actor, user_id=user_id, action=action, entity_type=entity_type,
                   entity_id=str(entity_id), before=jsonable(before) if before is not None else None,
                   after=jsonable(after) if after is not None else None)
    session.add(row)
    return row
