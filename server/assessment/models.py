"""Tables of the assessment: reassignments, supervisor entries, signed-off sheets and their amendments.

Signed-off sheets and amendments are append-only: the service never updates or deletes them, and each
row stores the SHA-256 of its canonical JSON (amendments chain to the previous hash), so ``verify``
detects any later edit made behind the application's back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class AssessmentReassignment(Base):
    """A supervisor charged a finding to another person (or to nobody), with a reason."""

    __tablename__ = "assessment_reassignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"),
                                                 doc="New person; None = charged to the window only.")
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AssessmentEntry(Base):
    """A supervisor's bonus or deduction entry (items of the scheme without a rule, e.g. 旷工, 领导检查)."""

    __tablename__ = "assessment_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime]
    count: Mapped[int] = mapped_column(default=1)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AssessmentSignoff(Base):
    """A quarter's sheet as signed off: the frozen snapshot and its hash."""

    __tablename__ = "assessment_signoffs"
    __table_args__ = (UniqueConstraint("hall_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(16), doc="Quarter label, e.g. 2026Q3.")
    scheme_id: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(doc="The hall sheet as signed (canonical JSON).")
    sha256: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the canonical snapshot JSON.")
    signature: Mapped[str | None] = mapped_column(String(64), doc="HMAC-SHA256 with the server key over hall, "
                                                  "period and sha256 (see signoff.seal).")
    actor: Mapped[str] = mapped_column(String(100))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AssessmentAmendment(Base):
    """A correction of a signed-off sheet: before/after, reason, and a hash chained to the previous one."""

    __tablename__ = "assessment_amendments"
    __table_args__ = (UniqueConstraint("signoff_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    signoff_id: Mapped[int] = mapped_column(ForeignKey("assessment_signoffs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[list[Any]] = mapped_column(doc="Per sheet: subject, score before/after, lines removed/added.")
    after: Mapped[dict[str, Any]] = mapped_column(doc="The effective hall sheet after this amendment.")
    prev_sha256: Mapped[str] = mapped_column(String(64), doc="Hash of the sheet this amendment corrects.")
    sha256: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the canonical 'after' JSON.")
    signature: Mapped[str | None] = mapped_column(String(64), doc="HMAC-SHA256 with the server key over the "
                                                  "sign-off, seq, prev_sha256 and sha256.")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
