"""Who may do what in the console (role-aware navigation and every action), and which halls a user sees.

Roles rank viewer < inspector (duty officer) < supervisor < admin (``server.deps.ROLE_RANK``):
viewers see, inspectors check (acknowledge, safety checks and sign-off, patrol log, handover),
supervisors decide (confirm / dismiss alerts, duty checks; assessment: sign off, amend, reassign findings,
manual entries), admins configure.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from server.db import Hall, User
from server.deps import ROLE_RANK, may_see_hall

CAPABILITIES: dict[str, str] = {
    "view": "viewer",
    "acknowledge": "inspector",
    "safety_check": "inspector",
    "sign_safety": "inspector",
    "patrol": "inspector",
    "handover": "inspector",
    "decide": "supervisor",
    "duty_check": "supervisor",
    "assess": "supervisor",
    "configure": "admin",
    "county": "viewer",
}


def can(user: User, capability: str) -> bool:
    return ROLE_RANK.get(user.role, -1) >= ROLE_RANK[CAPABILITIES[capability]]


def capabilities(user: User) -> list[str]:
    """The role's capabilities; a ``staff`` login (a clerk) has only ``own_record`` (its own sheet and appeals)."""
    if user.role == "staff":
        return ["own_record"]
    if user.role == "county":  # a county/city office: the county view of its region only
        return ["county"]
    return [c for c in CAPABILITIES if can(user, c)]


def require(user: User, capability: str) -> None:
    if not can(user, capability):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"{capability} requires role {CAPABILITIES[capability]} or higher")


def check_hall(user: User, hall: Hall | None, hall_id: str) -> Hall:
    if hall is None or not may_see_hall(user, hall_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"hall {hall_id!r} not found")
    return hall
