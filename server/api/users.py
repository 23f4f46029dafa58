"""User administration (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.api.auth import UserOut
from server.audit import audit, snapshot
from server.db import ROLES, Hall, User
from server.deps import AdminUser, SessionDep
from server.security import hash_password
from server.users import UserError, create_user

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, description="User name.")
    password: str = Field(min_length=8, max_length=200, description="Initial password (8+ characters).")
    role: str = Field(description=f"One of {', '.join(ROLES)}.")
    display_name: str | None = Field(default=None, description="Display name.")
    hall_id: str | None = Field(default=None, description="Home hall.")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(default=None, description="New role.")
    active: bool | None = Field(default=None, description="Enable/disable.")
    password: str | None = Field(default=None, min_length=8, max_length=200, description="New password.")
    display_name: str | None = Field(default=None, description="Display name.")
    hall_id: str | None = Field(default=None, description="Home hall; null binds the user to no hall (all halls).")


def _check_hall(session: SessionDep, hall_id: str | None) -> None:
    if hall_id is not None and session.get(Hall, hall_id) is None:
        raise HTTPException(422, f"unknown hall {hall_id!r}")


@router.get("", response_model=list[UserOut], summary="List users")
def list_users(admin: AdminUser, session: SessionDep) -> list[User]:
    q = select(User).order_by(User.username)
    if admin.hall_id is not None:
        q = q.where(User.hall_id == admin.hall_id)
    return list(session.scalars(q))


def _check_reach(admin: User, hall_id: str | None) -> None:
    """An admin bound to a hall manages only users of that hall (never global accounts)."""
    if admin.hall_id is not None and hall_id != admin.hall_id:
        raise HTTPException(403, f"admin of hall {admin.hall_id!r} manages only users of that hall")


@router.post("", response_model=UserOut, status_code=201, summary="Create a user")
def add_user(body: UserIn, admin: AdminUser, session: SessionDep) -> User:
    hall_id = admin.hall_id if admin.hall_id is not None and body.hall_id is None else body.hall_id
    _check_reach(admin, hall_id)
    if hall_id is not None and session.get(Hall, hall_id) is None:
        raise HTTPException(422, f"unknown hall {hall_id!r}")
    try:
        return create_user(session, username=body.username, password=body.password, role=body.role,
                           actor=admin.username, actor_id=admin.id, display_name=body.display_name,
                           hall_id=hall_id)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None


@router.patch("/{user_id}", response_model=UserOut, summary="Change role, activity, password")
def patch_user(user_id: int, body: UserPatch, admin: AdminUser, session: SessionDep) -> User:
    user = session.get(User, user_id)
    if user is None or (admin.hall_id is not None and user.hall_id != admin.hall_id):
        raise HTTPException(404, "no such user")
    if body.role is not None and body.role not in ROLES:
        raise HTTPException(422, f"unknown role {body.role!r}")
    fields = ("role", "active", "display_name", "token_version", "hall_id")
    before = snapshot(user, fields)
    for name in ("role", "active", "display_name"):
        if getattr(body, name) is not None:
            setattr(user, name, getattr(body, name))
    if "hall_id" in body.model_fields_set and body.hall_id != user.hall_id:
        _check_reach(admin, body.hall_id)  # a hall-bound admin never moves a user out of its hall or makes it global
        _check_hall(session, body.hall_id)
        user.hall_id = body.hall_id
    if body.password is not None:
        user.password_hash = hash_password(body.password)
        user.token_version += 1
    if body.active is False:
        user.token_version += 1
    audit(session, actor=admin.username, user_id=admin.id, action="user.update", entity_type="user",
          entity_id=user.id, before=before, after={**snapshot(user, fields), "password_changed": bool(body.password)})
    return user
