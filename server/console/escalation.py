"""Escalation: an alert left unacknowledged for N minutes is marked escalated and POSTed to a webhook.

``sweep`` is one pass over the database (called by the background loop every few seconds, and by tests
directly); ``Notifier`` delivers the webhook payloads with retries so a receiver that is down for a while
does not lose notifications, and a failing receiver never stops the loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import alerts
from server.console.metrics import ESCALATIONS, WEBHOOK_POSTS
from server.console.views import alert_view
from server.db import Alert
from server.notify import notify_alert

log = logging.getLogger(__name__)


def overdue(session: Session, now: dt.datetime, after_min: float, limit: int = 200,
            hall_ids: list[str] | None = None) -> list[Alert]:
    """Open (never acknowledged), not yet escalated alerts created at least ``after_min`` minutes ago."""
    cutoff = now - dt.timedelta(minutes=after_min)
    q = select(Alert).where(Alert.status == "open", Alert.escalated.is_(False), Alert.created_at <= cutoff)
    if hall_ids is not None:
        q = q.where(Alert.hall_id.in_(hall_ids))
    q = q.order_by(Alert.created_at).limit(limit)
    return list(session.scalars(q))


def escalate(session: Session, alert: Alert, now: dt.datetime, after_min: float) -> dict[str, Any] | None:
    """Mark one alert escalated through the core lifecycle (timeline, audit, live event); returns the webhook
    payload, or None when the alert was no longer eligible."""
    if not alerts.escalate(session, alert, reason=f"unacknowledged for {after_min:g} min"):
        return None
    session.flush()
    notify_alert(session, alert, "alert.escalated", after_min=after_min)  # hall channels: WeCom, DingTalk, mail
    ESCALATIONS.inc(hall=alert.hall_id)
    return {"event": "alert.escalated", "escalated_at": (alert.escalated_at or now).isoformat(),
            "after_min": after_min, "alert": alert_view(session, alert)}


def sweep(session: Session, now: dt.datetime, after_min: float,
          hall_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Escalate every overdue alert in the caller's transaction; returns the webhook payloads."""
    payloads = (escalate(session, a, now, after_min) for a in overdue(session, now, after_min, hall_ids=hall_ids))
    return [p for p in payloads if p is not None]


@dataclass
class Notifier:
    """Posts payloads to the webhook; failed ones are retried on later calls (up to ``max_attempts``)."""

    url: str | None
    timeout_s: float = 5.0
    max_attempts: int = 5
    pending: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    async def deliver(self, payloads: list[dict[str, Any]]) -> int:
        """Send new and pending payloads; returns how many were delivered now."""
        if not self.url:
            return 0
        queue = self.pending + [(0, p) for p in payloads]
        self.pending = []
        sent = 0
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            for attempts, payload in queue:
                try:
                    r = await client.post(self.url, json=payload)
                    r.raise_for_status()
                    sent += 1
                    WEBHOOK_POSTS.inc(result="ok")
                except (httpx.HTTPError, OSError) as exc:
                    WEBHOOK_POSTS.inc(result="error")
                    if attempts + 1 < self.max_attempts:
                        self.pending.append((attempts + 1, payload))
                        log.warning("escalation webhook failed (attempt %d, will retry): %s", attempts + 1, exc)
                    else:
                        WEBHOOK_POSTS.inc(result="dropped")
                        log.error("escalation webhook failed %d times, giving up on alert %s: %s",
                                  attempts + 1, payload.get("alert", {}).get("id"), exc)
        return sent
