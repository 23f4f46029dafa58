"""User administration support for the console: the audit trail of user accounts (admins only). Creating,
changing, disabling and resetting users go through the core's ``/api/v1/users`` endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from server.console.views import iso
from server.db import AuditLog, User
from server.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api/v1/console", tags=["console"])


@router.get("/users/audit", summary="Audit trail of user accounts (admin)")
def users_audit(admin: AdminUser, session: SessionDep, user_id: int | None = None,
                limit: int = Query(default=100, ge=1, le=1000),
                logins: bool = Query(default=False, description="Include log-ins and log-outs.")) -> list[dict[str, Any]]:
    q = select(AuditLog).where(AuditLog.entity_type == "user")
    if not logins:
        q = q.where(AuditLog.action.not_like("auth.%"))
    if user_id is not None:
        q = q.where(AuditLog.entity_id == str(user_id))
    if admin.hall_id is not None:   # an admin bound to a hall sees the trail of that hall's users only
        ids = [str(i) for i in session.scalars(select(User.id).where(User.hall_id == admin.hall_id))]
        q = q.where(AuditLog.entity_id.in_(ids))
    rows = list(session.scalars(q.order_by(AuditLog.id.desc()).limit(limit)))
    users = {u.id: u for u in session.scalars(select(User).where(
        User.id.in_({int(r.entity_id) for r in rows if r.entity_id.isdigit()} | {r.user_id for r in rows if r.user_id})))}
    out = []
    for r in rows:
        target = users.get(int(r.entity_id)) if r.entity_id.isdigit() else None
        actor = users.get(r.user_id) if r.user_id else None
        out.append({"id": r.id, "at": iso(r.at), "action": r.action,
                    "actor": (actor.display_name or actor.username) if actor else r.actor,
                    "user_id": int(r.entity_id) if r.entity_id.isdigit() else None,
                    "user": (target.display_name or target.username) if target else r.entity_id,
                    "before": r.before, "after": r.after})
    return out
