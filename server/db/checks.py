"""Duty checks (一键查岗), after-hours safety checks (下班安全检查), patrol log (巡查记录) and handovers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, utcnow


class DutyCheck(Base):
    """A duty check request and the windows the edges reported for it."""

    __tablename__ = "duty_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True, doc="Command id sent to the edges.")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(doc="When the last edge result arrived.")
    status: Mapped[str] = mapped_column(String(16), default="pending", doc="pending | complete")
    note: Mapped[str | None] = mapped_column(Text)

    windows: Mapped[list["DutyCheckWindow"]] = relationship(
        back_populates="check", cascade="all, delete-orphan", order_by="DutyCheckWindow.id"
    )


class DutyCheckWindow(Base):
    __tablename__ = "duty_check_windows"
    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("duty_checks.id", ondelete="CASCADE"), index=True)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"))
    window_code: Mapped[str] = mapped_column(String(64))
    edge_code: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    persons: Mapped[int] = mapped_column(default=0)
    camera_code: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[list[Any]] = mapped_column(default=list, doc="SHA-256 hashes of the pictures.")
    taken_at: Mapped[dt.datetime]

    check: Mapped[DutyCheck] = relationship(back_populates="windows")


class SafetyCheck(Base):
    """An after-hours safety check: items from the edges, sign-off by the duty officer."""

    __tablename__ = "safety_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    trigger: Mapped[str] = mapped_column(String(16), default="manual", doc="auto | manual | edge")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending", doc="pending | passed | failed")
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    signed_name: Mapped[str | None] = mapped_column(String(100))
    signed_at: Mapped[dt.datetime | None]
    sign_comment: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list["SafetyCheckItem"]] = relationship(
        back_populates="check", cascade="all, delete-orphan", order_by="SafetyCheckItem.id"
    )


class SafetyCheckItem(Base):
    __tablename__ = "safety_check_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("safety_checks.id", ondelete="CASCADE"), index=True)
    edge_code: Mapped[str | None] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool | None]
    detail: Mapped[str | None] = mapped_column(Text)
    value: Mapped[dict[str, Any] | None] = mapped_column(doc="{'value': …} as reported.")
    evidence: Mapped[list[Any]] = mapped_column(default=list, doc="SHA-256 hashes.")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"),
                                                 doc="Alert opened for a failed item, if any.")

    check: Mapped[SafetyCheck] = relationship(back_populates="items")


class PatrolFinding(Base):
    """巡查记录: from a walking patrol or from a confirmed alert."""

    __tablename__ = "patrol_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(64))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    photo_sha256: Mapped[str | None] = mapped_column(ForeignKey("evidence.sha256"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    inspector_name: Mapped[str] = mapped_column(String(100))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Handover(Base):
    """Shift handover (交接班) with the signatures the halls' rules require."""

    __tablename__ = "handovers"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    handed_by: Mapped[str] = mapped_column(String(100), doc="Signature name of the outgoing officer.")
    received_by: Mapped[str | None] = mapped_column(String(100), doc="Signature name of the incoming officer.")
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # two-party handover: the outgoing officer (``user_id``) signs by hand; the incoming officer, logged in as
    # ``to_user_id``, accepts with a signature of their own. Rows from before have status None.
    status: Mapped[str | None] = mapped_column(String(16), doc="pending | accepted")
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_signature: Mapped[str | None] = mapped_column(String(64), doc="SHA-256 of the drawn signature (PNG).")
    to_signature: Mapped[str | None] = mapped_column(String(64), doc="SHA-256 of the incoming officer's signature.")
    received_at: Mapped[dt.datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(36), unique=True,
                                                        doc="Client key: a repeated submit stores nothing new.")
    summary: Mapped[dict[str, Any] | None] = mapped_column(
        doc="What was handed over: open alerts and the last safety check at signing.")
