"""Findings from the edges, their evidence, and the alert each one raises."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, CreatedMixin, utcnow

ALERT_STATUSES = ("open", "acknowledged", "confirmed", "dismissed", "closed")


class Finding(CreatedMixin, Base):
    """One episode of a rule at an edge (``finding_id`` is the edge's UUID)."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_hall_started", "hall_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[str] = mapped_column(String(36), unique=True, doc="Edge-generated UUID.")
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    edge_code: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"), index=True)
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensors.id", ondelete="SET NULL"), index=True)
    zone_code: Mapped[str | None] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"),
                                                 doc="Staff the edge named (roster at the time), if any.")
    confidence: Mapped[float | None]
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    duration_s: Mapped[float | None] = mapped_column(doc="From the edge's timestamps, seconds.")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", doc="open | closed (the episode, not the alert)")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    alert: Mapped["Alert | None"] = relationship(back_populates="finding", uselist=False)
    evidence_links: Mapped[list["FindingEvidence"]] = relationship(
        back_populates="finding", cascade="all, delete-orphan", order_by="FindingEvidence.id"
    )


class Evidence(CreatedMixin, Base):
    """A content-addressed file. A row can exist before its file arrives (``stored`` False)."""

    __tablename__ = "evidence"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(16), doc="snapshot | frame | clip | chart | photo")
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    captured_at: Mapped[dt.datetime | None]
    stored: Mapped[bool] = mapped_column(default=False, doc="True once the file is in the evidence store.")
    stored_at: Mapped[dt.datetime | None]


class FindingEvidence(Base):
    __tablename__ = "finding_evidence"
    __table_args__ = (Index("uq_finding_evidence_pair", "finding_id", "sha256", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence.sha256"), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="evidence_links")
    evidence: Mapped[Evidence] = relationship(lazy="joined")


class Alert(CreatedMixin, Base):
    """The alert a finding raises: open → acknowledged → confirmed | dismissed → closed."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), unique=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    escalated: Mapped[bool] = mapped_column(default=False)
    escalated_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None] = mapped_column(doc="When confirmed or dismissed.")
    closed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="alert")
    events: Mapped[list["AlertEvent"]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertEvent.id"
    )


class AlertEvent(Base):
    """One step of an alert's lifecycle: who, when, comment."""

    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32), doc="opened|acknowledge|confirm|dismiss|close|escalate|reopen")
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100), doc="User name, or 'edge:<id>' / 'system'.")
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="events")
