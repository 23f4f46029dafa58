"""The hall as configured (site import) plus the live state its edges report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, CreatedMixin


class Hall(CreatedMixin, Base):
    """政务服务大厅. ``id`` is the site config's hall id (also used in MQTT topics)."""

    __tablename__ = "halls"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    address: Mapped[str | None] = mapped_column(String(300))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="The imported SiteConfig as JSON.")
    config_sha256: Mapped[str | None] = mapped_column(String(64), doc="Hash of the imported config JSON.")
    imported_at: Mapped[dt.datetime | None]

    windows: Mapped[list["Window"]] = relationship(back_populates="hall", order_by="Window.number")


class Window(Base):
    """A service window (窗口) with its live state from the edge."""

    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), doc="Window id in the site config, e.g. 'W01'.")
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    business: Mapped[str | None] = mapped_column(String(500))
    midday_duty: Mapped[bool] = mapped_column(default=False)
    closed: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True, doc="False once removed from the site config.")
    live_state: Mapped[str] = mapped_column(String(16), default="unknown")
    live_since: Mapped[dt.datetime | None]
    live_persons: Mapped[int] = mapped_column(default=0)
    live_camera: Mapped[str | None] = mapped_column(String(64))
    live_updated_at: Mapped[dt.datetime | None] = mapped_column(doc="sent_at of the last applied window.state.")

    hall: Mapped[Hall] = relationship(back_populates="windows")


class Staff(Base):
    """窗口工作人员."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), doc="Staff id in the site config.")
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class RosterAssignment(CreatedMixin, Base):
    """Who holds a window's A post (主岗), B post (副岗) or substitutes, and for which dates."""

    __tablename__ = "roster_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), doc="A | B | substitute")
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, doc="Last day (inclusive); None = open-ended.")
    source: Mapped[str] = mapped_column(String(16), default="site", doc="site (config import) | manual")
    note: Mapped[str | None] = mapped_column(String(500))

    window: Mapped[Window] = relationship()
    staff: Mapped[Staff] = relationship()


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    zones: Mapped[list[Any]] = mapped_column(default=list, doc="Zones from the site config.")
    active: Mapped[bool] = mapped_column(default=True)
    health: Mapped[str] = mapped_column(String(16), default="unknown", doc="ok|offline|frozen|covered|dark|starting")
    fps: Mapped[float | None]
    lag_s: Mapped[float | None]
    last_seen: Mapped[dt.datetime | None]


class Sensor(Base):
    __tablename__ = "sensors"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    adapter: Mapped[str] = mapped_column(String(32))
    guards: Mapped[dict[str, Any]] = mapped_column(default=dict)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    online: Mapped[bool | None]
    last_seen: Mapped[dt.datetime | None]
    last_value: Mapped[dict[str, Any] | None] = mapped_column(doc="{'kind','value','unit','at'} of the last reading.")


class Edge(CreatedMixin, Base):
    """An edge agent. Its API token is stored hashed (SHA-256 of a high-entropy token)."""

    __tablename__ = "edges"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), doc="edge_id in messages and topics.")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_created_at: Mapped[dt.datetime | None]
    mqtt_password_hash: Mapped[str | None] = mapped_column(
        String(200), doc="Mosquitto PBKDF2-SHA512 hash of the API token, the edge's broker password (mqtt-acl).")
    online: Mapped[bool | None]
    version: Mapped[str | None] = mapped_column(String(64))
    last_seen: Mapped[dt.datetime | None]
    outbox_pending: Mapped[int | None]
    uptime_s: Mapped[float | None]


# time-series ids: bigint on PostgreSQL (tables partitioned by day, see server.timeseries), the rowid on SQLite
SeriesId = BigInteger().with_variant(Integer(), "sqlite")


class SensorReadingRow(Base):
    """Sampled sensor readings kept (bounded by age) for charts. On PostgreSQL partitioned by day on ``at``."""

    __tablename__ = "sensor_readings"
    __table_args__ = (Index("ix_sensor_readings_sensor_at", "hall_id", "sensor_code", "at"),)
    id: Mapped[int] = mapped_column(SeriesId, primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    sensor_code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    value_num: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[dt.datetime]


class WindowStateRow(Base):
    """Every window state an edge reported (history for attendance figures), bounded by age. On PostgreSQL
    partitioned by day on ``at`` (the edge's ``sent_at``)."""

    __tablename__ = "window_states"
    __table_args__ = (Index("ix_window_states_window_at", "hall_id", "window_code", "at"),)
    id: Mapped[int] = mapped_column(SeriesId, primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    window_code: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    persons: Mapped[int | None]
    camera_code: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[dt.datetime]
    at: Mapped[dt.datetime]
