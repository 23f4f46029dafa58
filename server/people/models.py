"""Tables of approved absence, window pauses, appeals, staff logins, notifications and the hall systems
HallWatch talks to (queue/evaluation events, integration tokens).

Approvals, pauses and appeals are never deleted: a cancellation or a decision is a state change with who and
when, and every change is also written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import server.assessment.models  # noqa: F401 - assessment_amendments must be in the metadata (appeal FK)
from server.db.base import Base, utcnow

ABSENCE_KINDS = ("leave", "official", "training", "cover")
"""请假 (leave), 公出 (official business), 培训 (training), 顶岗 (cover: the person covers a window)."""


class Absence(Base):
    """An approved absence (请假/公出/培训) of a staff member, or a 顶岗 cover record (``kind`` cover: the
    staff member covers ``window_id`` for the time range, optionally for ``covers_staff_id``)."""

    __tablename__ = "absences"
    __table_args__ = (UniqueConstraint("hall_id", "external_id"), Index("ix_absences_hall_time", "hall_id", "starts_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="leave | official | training | cover")
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"),
                                                  doc="cover: the window covered.")
    covers_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"),
                                                        doc="cover: whose post is covered (optional).")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime] = mapped_column(doc="Exclusive end.")
    approver: Mapped[str] = mapped_column(String(100), doc="Who approved (name as in the attendance record).")
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="console", doc="console | import | api")
    external_id: Mapped[str | None] = mapped_column(String(100), doc="Record id in the attendance system.")
    status: Mapped[str] = mapped_column(String(16), default="approved", doc="approved | cancelled")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[dt.datetime | None]


class WindowPause(Base):
    """暂停服务: a supervisor paused a window (no 空岗 while paused)."""

    __tablename__ = "window_pauses"
    __table_args__ = (Index("ix_window_pauses_hall_time", "hall_id", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime] = mapped_column(doc="Exclusive end.")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="approved", doc="approved | cancelled")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[dt.datetime | None]


class Appeal(Base):
    """申诉复核: a clerk contests a confirmed finding charged to them; the assessment office decides."""

    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), unique=True,
                                            doc="One appeal per finding; the decision is final.")
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", doc="pending | upheld | withdrawn")
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None]
    comment: Mapped[str | None] = mapped_column(Text, doc="The assessment office's reasoning.")
    amendment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_amendments.id", ondelete="SET NULL"),
        doc="The amendment that took a withdrawn finding off a signed quarter.")


class StaffAccount(Base):
    """A login of role ``staff`` linked to the one staff record whose findings and sheet it may see."""

    __tablename__ = "staff_accounts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), unique=True)


class IntegrationToken(Base):
    """A hall system's API token (queue/evaluation system, attendance system), stored hashed."""

    __tablename__ = "integration_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), doc="queue | attendance")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


class ServiceEvent(Base):
    """叫号 / 好差评: a ticket called or served at a window, or a citizen's evaluation (1..5)."""

    __tablename__ = "service_events"
    __table_args__ = (UniqueConstraint("hall_id", "external_id"),
                      Index("ix_service_events_window_at", "hall_id", "window_code", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id", ondelete="SET NULL"))
    window_code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24), doc="ticket_called | ticket_served | evaluation")
    at: Mapped[dt.datetime]
    ticket: Mapped[str | None] = mapped_column(String(32))
    waiting: Mapped[int | None] = mapped_column(doc="People waiting for this window at that moment.")
    rating: Mapped[int | None] = mapped_column(doc="Evaluation 1..5 (5 非常满意, 1 非常不满意).")
    external_id: Mapped[str] = mapped_column(String(100), doc="Event id in the queue system (deduplicates).")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotificationChannel(Base):
    """Where a hall's escalations and critical alarms go: a WeCom or DingTalk group robot, mail, a webhook."""

    __tablename__ = "notification_channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="wecom | dingtalk | smtp | webhook")
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(1000), doc="Robot or webhook URL; smtp: smtp[s]://host:port.")
    secret: Mapped[str | None] = mapped_column(String(500), doc="DingTalk signing secret, webhook HMAC key, "
                                              "SMTP password. Never returned by the API.")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="smtp: sender, recipients, username, "
                                                    "starttls; robots: mentioned mobiles.")
    events: Mapped[list[Any]] = mapped_column(default=list, doc="Event names delivered (alert.escalated, …).")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    """One notification to one channel (outbox): enqueued in the transaction of the event, sent after it."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("channel_id", "dedup_key"),
                      Index("ix_notification_deliveries_due", "status", "next_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(100), doc="The same event never goes to a channel twice.")
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending", doc="pending | sent | failed")
    attempts: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
