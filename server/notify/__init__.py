"""Notifications where people are: WeCom and DingTalk group robots, mail, signed webhooks — per hall.

``notify_alert(session, alert, event)`` is the one function the rest of the server calls (escalation, critical
alarms). It writes one ``NotificationDelivery`` per matching channel of the alert's hall into the caller's
transaction, so a notification exists exactly when the event it reports was committed, and the same event never
goes to a channel twice (``dedup_key``). ``deliver_due`` (the background loop, and tests) sends what is due, each
delivery in its own short transaction with a lease, retries failures with a growing back-off up to
``notify_max_attempts`` and marks the rest failed; a receiver that is down loses nothing and never stops the loop.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from edge.contract import RULES
from server.db import Alert, Hall, Window, utcnow
from server.db.session import unit_of_work
from server.notify import formats
from server.people.models import NotificationChannel, NotificationDelivery

log = logging.getLogger(__name__)
KINDS = ("wecom", "dingtalk", "smtp", "webhook")
EVENTS = ("alert.escalated", "alert.critical", "appeal.filed")
DEFAULT_EVENTS = ["alert.escalated", "alert.critical"]
LEASE = dt.timedelta(minutes=2)
TIMEOUT_S = 10.0
CONSOLE_URL: str | None = None
"""Base URL of the console for links in messages (``HALLWATCH_PUBLIC_URL``; set by the app at start)."""


class ChannelError(ValueError):
    pass


class DeliveryError(RuntimeError):
    pass


# --------------------------------------------------------------------------- channels


def check_channel(kind: str, url: str | None, options: dict[str, Any], events: list[str]) -> None:
    """Raise ChannelError for a channel that could never deliver."""
    if kind not in KINDS:
        raise ChannelError(f"kind must be one of {', '.join(KINDS)}")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ChannelError(f"unknown event(s) {unknown}; one of {', '.join(EVENTS)}")
    u = urlparse(url or "")
    if kind == "smtp":
        if u.scheme not in ("smtp", "smtps") or not u.hostname:
            raise ChannelError("an smtp channel's url is smtp://host:port (STARTTLS with options.starttls) or "
                               "smtps://host:port")
        if not options.get("sender") or not options.get("recipients"):
            raise ChannelError("an smtp channel needs options.sender and options.recipients")
        if not isinstance(options["recipients"], list) or not all("@" in str(r) for r in options["recipients"]):
            raise ChannelError("options.recipients is a list of mail addresses")
    elif u.scheme not in ("http", "https") or not u.hostname:
        raise ChannelError(f"a {kind} channel needs an http(s) url")


def channel_view(c: NotificationChannel) -> dict[str, Any]:
    """A channel as the API shows it: the secret never leaves the server."""
    return {"id": c.id, "hall_id": c.hall_id, "kind": c.kind, "name": c.name, "url": c.url,
            "has_secret": bool(c.secret), "options": c.options, "events": c.events, "enabled": c.enabled,
            "created_by": c.created_by, "created_at": c.created_at.isoformat()}


# --------------------------------------------------------------------------- enqueue


def alert_payload(session: Session, alert: Alert) -> dict[str, Any]:
    f = alert.finding
    w = session.get(Window, f.window_id) if f.window_id else None
    from server.db import Sensor

    sen = session.get(Sensor, f.sensor_id) if f.sensor_id else None
    return {"id": alert.id, "status": alert.status, "escalated": alert.escalated, "rule": f.rule,
            "rule_name": RULES.get(f.rule, f.rule), "severity": f.severity, "finding_id": f.finding_id,
            "window_id": w.code if w else None, "window_number": w.number if w else None,
            "window_name": w.name if w else None, "sensor_name": sen.name if sen else None,
            "started_at": f.started_at.isoformat(), "created_at": alert.created_at.isoformat()}


def enqueue(session: Session, hall_id: str, event: str, payload: dict[str, Any], dedup_key: str) -> int:
    """One delivery per enabled channel of the hall that takes ``event``; returns how many were new."""
    channels = [c for c in session.scalars(select(NotificationChannel).where(
        NotificationChannel.hall_id == hall_id, NotificationChannel.enabled.is_(True))) if event in (c.events or [])]
    if not channels:
        return 0
    hall = session.get(Hall, hall_id)
    body = {"event": event, "at": utcnow().isoformat(), "hall": {"id": hall_id, "name": hall.name if hall else ""},
            **payload}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new = 0
    for c in channels:
        stmt = insert(NotificationDelivery).values(
            channel_id=c.id, event=event, dedup_key=dedup_key[:100], payload=body, status="pending", attempts=0,
            next_at=utcnow(), created_at=utcnow()).on_conflict_do_nothing(
            index_elements=["channel_id", "dedup_key"]).returning(NotificationDelivery.id)
        new += session.execute(stmt).first() is not None  # no row back: already queued
    return new


def notify_alert(session: Session, alert: Alert, event: str, *, console_url: str | None = None,
                 **extra: Any) -> int:
    """Queue ``event`` (alert.escalated | alert.critical) about ``alert`` to its hall's channels, in the
    caller's transaction."""
    payload: dict[str, Any] = {"alert": alert_payload(session, alert), **extra}
    console_url = console_url or CONSOLE_URL
    if console_url:
        payload["url"] = f"{console_url.rstrip('/')}/console/#/alert/{alert.id}"
    return enqueue(session, alert.hall_id, event, payload, f"{event}:{alert.id}")


# --------------------------------------------------------------------------- send


@dataclass(frozen=True)
class Target:
    """What a sender needs of a channel (read inside the claim transaction, used outside it)."""

    kind: str
    url: str | None
    secret: str | None
    options: dict[str, Any]


def _check_robot(r: httpx.Response) -> None:
    r.raise_for_status()
    try:
        data = r.json()
    except ValueError:
        raise DeliveryError(f"robot answered non-JSON: {r.text[:200]!r}") from None
    if data.get("errcode", 0) != 0:
        raise DeliveryError(f"robot refused: errcode {data.get('errcode')} {data.get('errmsg')}")


def send(target: Target, payload: dict[str, Any], delivery_id: str, client: httpx.Client,
         now_s: float | None = None) -> None:
    """Deliver one payload to one channel; raises on any failure (DeliveryError, httpx/OSError/SMTP errors)."""
    now_s = time.time() if now_s is None else now_s
    opts = target.options or {}
    if target.kind == "wecom":
        _check_robot(client.post(target.url, json=formats.wecom_body(payload, opts.get("mentioned_mobiles"))))
    elif target.kind == "dingtalk":
        url = formats.dingtalk_url(target.url, target.secret, int(now_s * 1000))
        _check_robot(client.post(url, json=formats.dingtalk_body(payload, opts.get("at_mobiles"))))
    elif target.kind == "webhook":
        body = formats.webhook_body(payload)
        ts = int(now_s)
        headers = {"Content-Type": "application/json; charset=utf-8", "X-HallWatch-Event": payload.get("event", ""),
                   "X-HallWatch-Delivery": delivery_id, "X-HallWatch-Timestamp": str(ts)}
        if target.secret:
            headers[formats.SIGNATURE_HEADER] = formats.webhook_signature(target.secret, ts, body)
        client.post(target.url, content=body, headers=headers).raise_for_status()
    elif target.kind == "smtp":
        send_mail(target, payload)
    else:
        raise DeliveryError(f"unknown channel kind {target.kind!r}")


def send_mail(target: Target, payload: dict[str, Any]) -> None:
    u = urlparse(target.url or "")
    opts = target.options
    msg = formats.mail(payload, opts["sender"], list(opts["recipients"]))
    port = u.port or (465 if u.scheme == "smtps" else 25)
    context = ssl.create_default_context()
    if u.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(u.hostname, port, timeout=TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(u.hostname, port, timeout=TIMEOUT_S)
    with smtp:
        if u.scheme == "smtp" and opts.get("starttls"):
            smtp.starttls(context=context)
        if opts.get("username"):
            smtp.login(opts["username"], target.secret or "")
        smtp.send_message(msg)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600.0, 5.0 * 2 ** max(0, attempts - 1)))


def _claim(factory: sessionmaker[Session], now: dt.datetime, limit: int,
           channel_ids: list[int] | None) -> list[tuple[int, str, Target, dict[str, Any]]]:
    """Take due deliveries under a lease (other server processes skip them until it expires)."""
    with unit_of_work(factory) as session:
        q = (select(NotificationDelivery).where(NotificationDelivery.status == "pending",
                                                NotificationDelivery.next_at <= now)
             .order_by(NotificationDelivery.next_at, NotificationDelivery.id).limit(limit))
        if channel_ids is not None:
            q = q.where(NotificationDelivery.channel_id.in_(channel_ids))
        if session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        out = []
        for d in session.scalars(q):
            c = session.get(NotificationChannel, d.channel_id)
            d.attempts += 1
            d.next_at = now + LEASE
            if c is None or not c.enabled:
                d.status, d.last_error = "failed", "channel disabled or removed"
                continue
            out.append((d.id, f"{d.id}-{d.attempts}-{uuid.uuid4().hex[:8]}",
                        Target(c.kind, c.url, c.secret, dict(c.options or {})), dict(d.payload)))
        return out


def deliver_due(factory: sessionmaker[Session], now: dt.datetime | None = None, *, max_attempts: int = 8,
                limit: int = 50, channel_ids: list[int] | None = None,
                client: httpx.Client | None = None) -> dict[str, int]:
    """One delivery pass; returns counts of sent / retry / failed. ``channel_ids`` limits the pass (tests on a
    shared database)."""
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    claimed = _claim(factory, now, limit, channel_ids)
    if not claimed:
        return counts
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_S)
    try:
        for delivery_id, tag, target, payload in claimed:
            error = None
            try:
                send(target, payload, tag, client)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, never stops the pass
                error = f"{type(exc).__name__}: {exc}"[:1000]
            with unit_of_work(factory) as session:
                d = session.get(NotificationDelivery, delivery_id)
                if d is None:
                    continue
                if error is None:
                    d.status, d.sent_at, d.last_error = "sent", utcnow(), None
                    counts["sent"] += 1
                elif d.attempts >= max_attempts:
                    d.status, d.last_error = "failed", error
                    counts["failed"] += 1
                    log.error("notification %s to %s failed %d times, giving up: %s", d.id, target.kind,
                              d.attempts, error)
                else:
                    d.next_at, d.last_error = utcnow() + backoff(d.attempts), error
                    counts["retry"] += 1
                    log.warning("notification %s to %s failed (attempt %d, will retry): %s", d.id, target.kind,
                                d.attempts, error)
    finally:
        if own:
            client.close()
    return counts


def delivery_views(session: Session, hall_id: str, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.execute(select(NotificationDelivery, NotificationChannel)
                           .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
                           .where(NotificationChannel.hall_id == hall_id)
                           .order_by(NotificationDelivery.id.desc()).limit(limit))
    return [{"id": d.id, "channel": {"id": c.id, "name": c.name, "kind": c.kind}, "event": d.event,
             "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
             "created_at": d.created_at.isoformat(), "sent_at": d.sent_at.isoformat() if d.sent_at else None}
            for d, c in rows]
