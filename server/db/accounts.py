"""Users, audit log and processed message ids."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, CreatedMixin, utcnow

ROLES = ("admin", "supervisor", "inspector", "viewer", "staff", "county")


class User(CreatedMixin, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255), doc="scrypt$n$r$p$salt$hash (stdlib hashlib.scrypt).")
    role: Mapped[str] = mapped_column(String(16), doc="admin | supervisor | inspector | viewer | staff")
    active: Mapped[bool] = mapped_column(default=True)
    token_version: Mapped[int] = mapped_column(default=0, doc="Bumped to revoke all tokens of the user.")
    hall_id: Mapped[str | None] = mapped_column(ForeignKey("halls.id", ondelete="SET NULL"),
                                                doc="Home hall (None = all halls).")


class AuditLog(Base):
    """Every state change: who did what to which entity, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100), doc="User name, 'edge:<hall>/<edge>' or 'system'.")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class ProcessedMessage(Base):
    """Ids of edge messages already applied: a message delivered twice lands once."""

    __tablename__ = "processed_messages"
    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    hall_id: Mapped[str] = mapped_column(String(64))
    edge_code: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(8), doc="mqtt | http")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
