"""Labelled samples from the supervisors' decisions, and the per-seat thresholds pushed to the edges.

A sample copies everything it needs (codes, cues, boxes, the crop itself) so it outlives the finding's evidence
files and rows under retention.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow

LABELS = ("confirmed", "false_positive")
"""A sample's label: the supervisor confirmed the finding, or dismissed it as a false positive."""


class FeedbackSample(Base):
    """One decided alert as a labelled sample: the crop of the finding's seat/zone from its evidence frame."""

    __tablename__ = "feedback_samples"
    __table_args__ = (Index("ix_feedback_samples_hall_decided", "hall_id", "decided_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    finding_uuid: Mapped[str] = mapped_column(String(36), unique=True, doc="The edge's finding UUID.")
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id", ondelete="SET NULL"))
    rule: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(16), doc="confirmed | false_positive")
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)
    camera_code: Mapped[str | None] = mapped_column(String(64))
    zone_code: Mapped[str | None] = mapped_column(String(64))
    window_code: Mapped[str | None] = mapped_column(String(64))
    observed_at: Mapped[dt.datetime | None] = mapped_column(doc="When the evidence frame was taken.")
    source_sha256: Mapped[str | None] = mapped_column(String(64), doc="Evidence file the crop comes from.")
    zone_polygon: Mapped[list[Any] | None] = mapped_column(doc="Normalized polygon of the seat/zone.")
    boxes: Mapped[list[Any]] = mapped_column(default=list, doc="[{label, confidence, xyxy}] normalized frame coords.")
    cues: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="Seat cue values of the deciding frame.")
    crop_xyxy: Mapped[list[Any] | None] = mapped_column(doc="Normalized crop box within the frame.")
    frame_size: Mapped[list[Any] | None] = mapped_column(doc="[width, height] of the evidence frame.")
    crop_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary, doc="The crop (JPEG); None until its file is here.")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SeatTuning(Base):
    """A hall's per-seat thresholds as pushed to its edges (``command.seat_tuning``); the newest row is in force."""

    __tablename__ = "seat_tunings"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="seat zone id -> {threshold: value}")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(doc="When the edges' broker acknowledged it.")
