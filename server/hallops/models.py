"""Tables of the hall operations pages: the floor plan and the positions placed on it, and the duty roster.

Roster entries are never deleted: a removal is a state change (``cancelled_at``/``cancelled_by``) and every
change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow

MARKER_KINDS = ("window", "camera", "exit", "sensor")
DUTY_KINDS = ("duty_officer", "midday_desk", "leader")
"""值班人员 (duty officer of the day), 午间值守 (the midday duty desk), 带班领导 (leader on duty)."""


class HallMap(Base):
    """The hall's floor plan (电子地图): one uploaded image per hall."""

    __tablename__ = "hall_maps"
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), primary_key=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MapMarker(Base):
    """Where a window, camera, exit zone or sensor sits on the floor plan (x, y as fractions 0..1)."""

    __tablename__ = "map_markers"
    __table_args__ = (UniqueConstraint("hall_id", "kind", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="window | camera | exit | sensor")
    ref: Mapped[str] = mapped_column(String(64), doc="Window, camera, sensor code or 'camera/zone' of an exit.")
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DutyShift(Base):
    """值班表: who is on duty on a day (duty officer, midday desk, leader), optionally with a login."""

    __tablename__ = "duty_shifts"
    __table_args__ = (Index("ix_duty_shifts_hall_day", "hall_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), doc="duty_officer | midday_desk | leader")
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"),
                                                  doc="midday_desk: the window kept open at noon.")
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[dt.datetime | None]
