"""User management shared by the API, the CLI and start-up (initial admin)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit import audit
from server.db import ROLES, User
from server.security import hash_password
from server.settings import Settings

log = logging.getLogger(__name__)


class UserError(ValueError):
    pass


def create_user(session: Session, *, username: str, password: str, role: str, actor: str,
                actor_id: int | None = None, display_name: str | None = None, hall_id: str | None = None) -> User:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise UserError("username must be 1-64 characters")
    if len(password) < 8 and not (username == "admin" and password == "admin"):
        raise UserError("password must be at least 8 characters")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role,
                display_name=display_name, hall_id=hall_id)
    session.add(user)
    session.flush()
    audit(session, actor=actor, user_id=actor_id, action="user.create", entity_type="user", entity_id=user.id,
          after={"username": username, "role": role, "hall_id": hall_id})
    return user


def ensure_initial_admin(session: Session, settings: Settings) -> User | None:
    """Create the admin from HALLWATCH_ADMIN_USER/PASSWORD if missing; in development, when no user
    exists at all, create ``admin``/``admin`` and say so loudly. Production never creates a default."""
    if settings.admin_user and settings.admin_password:
        existing = session.scalars(select(User).where(User.username == settings.admin_user)).first()
        if existing is None:
            log.info("creating initial admin %r from the environment", settings.admin_user)
            return create_user(session, username=settings.admin_user, password=settings.admin_password,
                               role="admin", actor="system")
        return None
    if settings.production:
        if not session.scalar(select(func.count()).select_from(User)):
            log.warning("no users yet: create one with 'hallwatch server create-admin'")
        return None
    if not session.scalar(select(func.count()).select_from(User)):
        log.warning("development mode: created default account admin/admin — never use this in production")
        return create_user(session, username="admin", password="admin", role="admin", actor="system")
    return None
