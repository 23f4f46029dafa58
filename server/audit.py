"""The audit log: every state change goes through :func:`audit` in the same transaction."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy.orm import Session

from server.db import AuditLog


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, enum.Enum)):
        return str(value.value if isinstance(value, enum.Enum) else value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a row as JSON-able values (for before/after)."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}


def audit(session: Session, *, actor: str, action: str, entity_type: str, entity_id: Any,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
          user_id: int | None = None) -> AuditLog:
    """Add an audit row to the caller's transaction (flushed with it, never committed here)."""
    row = AuditLog(actor=actor, user_id=user_id, action=action, entity_type=entity_type,
                   entity_id=str(entity_id), before=_jsonable(before) if before is not None else None,
                   after=_jsonable(after) if after is not None else None)
    session.add(row)
    return row
