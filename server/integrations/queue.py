"""叫号 and 好差评: service events from the hall's queue/evaluation system, next to the window's findings.

The queue system posts batches of events (``POST /api/v1/integrations/service-events`` with the hall's queue
token): a ticket issued, called or served at a window, or a citizen's evaluation of the service (the five
好差评 levels, 5 非常满意 … 1 非常不满意; ``good``/``bad`` are accepted as 4 and 2). Any event may carry
``waiting``, the number of people waiting for that window at that moment. Each event is validated and stored
on its own: a bad one is reported with its index and reason and never loses the others; an event id sent
again is a duplicate, not a second event.

What it is for: an empty seat with people queueing is worse than one with nobody waiting. ``finding_queue``
gives the queue during a finding's episode (people waiting when it began, the most waiting during it,
tickets called meanwhile), ``window_summary`` the per-window statistics of a period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from server.db import Finding, Window, utcnow
from server.people.models import ServiceEvent

MAX_EVENTS = 1000
FUTURE_SLACK = dt.timedelta(minutes=5)
LOOKBACK = dt.timedelta(hours=4)
LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1, "good": 4, "bad": 2,
          "very_satisfied": 5, "satisfied": 4, "basically_satisfied": 3, "dissatisfied": 2, "very_dissatisfied": 1}
EventKind = Literal["ticket_issued", "ticket_called", "ticket_served", "evaluation"]


class ServiceEventIn(BaseModel):
    """One event of the queue/evaluation system."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=100, description="Event id in the queue system (deduplicates).")
    window_id: str = Field(min_length=1, max_length=64, description="Window id from the site config.")
    type: EventKind = Field(description="ticket_issued | ticket_called | ticket_served | evaluation.")
    at: AwareDatetime = Field(description="When it happened (ISO-8601 with offset).")
    ticket: str | None = Field(default=None, max_length=32, description="Ticket number, e.g. A023.")
    waiting: int | None = Field(default=None, ge=0, le=10000, description="People waiting for this window now.")
    rating: int | str | None = Field(default=None, description="evaluation: 1..5 or 非常满意/满意/基本满意/不满意/"
                                     "非常不满意 (good = 4, bad = 2).")

    @field_validator("rating")
    @classmethod
    def _rating(cls, v: int | str | None) -> int | None:
        if v is None:
            return None
        if isinstance(v, str):
            if v.strip().lower() not in LEVELS and v.strip() not in LEVELS:
                raise ValueError(f"unknown rating {v!r}")
            return LEVELS.get(v.strip().lower(), LEVELS.get(v.strip()))
        if not 1 <= v <= 5:
            raise ValueError("rating must be 1..5")
        return v


class ServiceEventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[Any] = Field(min_length=1, max_length=MAX_EVENTS,
                                         description="Events; each is validated on its own.")


def ingest_events(session: Session, hall_id: str, events: list[Any],
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """Store the events of one batch; returns counts and the rejected ones with their reasons."""
    now = now or utcnow()
    windows = {w.code: w.id for w in session.scalars(select(Window).where(Window.hall_id == hall_id))}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    accepted = duplicate = 0
    rejected: list[dict[str, Any]] = []
    for i, raw in enumerate(events):
        try:
            ev = ServiceEventIn.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            rejected.append({"index": i, "id": raw.get("id") if isinstance(raw, dict) else None,
                             "error": f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}"})
            continue
        problem = None
        if ev.window_id not in windows:
            problem = f"unknown window {ev.window_id!r}"
        elif ev.at > now + FUTURE_SLACK:
            problem = "time is in the future"
        elif ev.type == "evaluation" and ev.rating is None:
            problem = "an evaluation needs a rating"
        if problem:
            rejected.append({"index": i, "id": ev.id, "error": problem})
            continue
        stmt = insert(ServiceEvent).values(
            hall_id=hall_id, window_id=windows[ev.window_id], window_code=ev.window_id, kind=ev.type, at=ev.at,
            ticket=ev.ticket, waiting=ev.waiting, rating=ev.rating, external_id=ev.id, received_at=now,
        ).on_conflict_do_nothing(index_elements=["hall_id", "external_id"]).returning(ServiceEvent.id)
        if session.execute(stmt).first() is not None:  # no row back: the id was there already
            accepted += 1
        else:
            duplicate += 1
    return {"accepted": accepted, "duplicate": duplicate, "rejected": rejected}


def _waiting_before(session: Session, hall_id: str, window_code: str, at: dt.datetime) -> ServiceEvent | None:
    return session.scalars(select(ServiceEvent).where(
        ServiceEvent.hall_id == hall_id, ServiceEvent.window_code == window_code, ServiceEvent.waiting.is_not(None),
        ServiceEvent.at <= at, ServiceEvent.at > at - LOOKBACK).order_by(ServiceEvent.at.desc())).first()


def queue_during(session: Session, hall_id: str, window_code: str, start: dt.datetime,
                 end: dt.datetime) -> dict[str, Any]:
    """The queue at a window over [start, end]: waiting at start (last report before it, within 4 h), most
    waiting during, tickets called and served, evaluations."""
    before = _waiting_before(session, hall_id, window_code, start)
    rows = list(session.scalars(select(ServiceEvent).where(
        ServiceEvent.hall_id == hall_id, ServiceEvent.window_code == window_code, ServiceEvent.at >= start,
        ServiceEvent.at <= end).order_by(ServiceEvent.at)))
    waits = [r.waiting for r in rows if r.waiting is not None]
    at_start = before.waiting if before else None
    peak = max([w for w in [at_start, *waits] if w is not None], default=None)
    ratings = [r.rating for r in rows if r.kind == "evaluation" and r.rating is not None]
    return {"waiting_at_start": at_start, "waiting_max": peak,
            "reported": before is not None or bool(waits),
            "tickets_called": sum(1 for r in rows if r.kind == "ticket_called"),
            "tickets_served": sum(1 for r in rows if r.kind == "ticket_served"),
            "evaluations": _ratings(ratings)}


def _ratings(ratings: list[int]) -> dict[str, Any]:
    return {"count": len(ratings), "good": sum(1 for r in ratings if r >= 4), "basic": sum(1 for r in ratings if r == 3),
            "bad": sum(1 for r in ratings if r <= 2),
            "average": round(sum(ratings) / len(ratings), 2) if ratings else None}


def finding_queue(session: Session, finding: Finding, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The queue during a finding's episode (None when the finding has no window)."""
    if finding.window_id is None:
        return None
    w = session.get(Window, finding.window_id)
    if w is None:
        return None
    end = finding.ended_at or now or utcnow()
    return queue_during(session, finding.hall_id, w.code, finding.started_at, end)


def window_summary(session: Session, hall_id: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Per active window over [start, end): tickets, evaluations (好评/基本满意/差评), most waiting, and its 空岗
    findings split by whether people were waiting (an empty seat with a queue is the worse one)."""
    windows = list(session.scalars(select(Window).where(Window.hall_id == hall_id, Window.active.is_(True))
                                   .order_by(Window.number)))
    counts = {(code, kind): n for code, kind, n in session.execute(
        select(ServiceEvent.window_code, ServiceEvent.kind, func.count()).where(
            ServiceEvent.hall_id == hall_id, ServiceEvent.at >= start, ServiceEvent.at < end)
        .group_by(ServiceEvent.window_code, ServiceEvent.kind))}
    peaks = dict(session.execute(select(ServiceEvent.window_code, func.max(ServiceEvent.waiting)).where(
        ServiceEvent.hall_id == hall_id, ServiceEvent.at >= start, ServiceEvent.at < end)
        .group_by(ServiceEvent.window_code)).all())
    ratings: dict[str, list[int]] = {}
    for code, rating in session.execute(select(ServiceEvent.window_code, ServiceEvent.rating).where(
            ServiceEvent.hall_id == hall_id, ServiceEvent.kind == "evaluation", ServiceEvent.at >= start,
            ServiceEvent.at < end)):
        ratings.setdefault(code, []).append(rating)
    empties: dict[int, list[Finding]] = {}
    for f in session.scalars(select(Finding).where(Finding.hall_id == hall_id, Finding.rule == "window_unstaffed",
                                                   Finding.started_at >= start, Finding.started_at < end)):
        empties.setdefault(f.window_id or -1, []).append(f)
    out = []
    for w in windows:
        with_queue = empty_s_queue = 0
        for f in empties.get(w.id, []):
            q = finding_queue(session, f)
            if q and (q["waiting_max"] or 0) > 0:
                with_queue += 1
                empty_s_queue += int(f.duration_s or 0)
        out.append({"window": {"id": w.code, "number": w.number, "name": w.name},
                    "tickets_issued": counts.get((w.code, "ticket_issued"), 0),
                    "tickets_called": counts.get((w.code, "ticket_called"), 0),
                    "tickets_served": counts.get((w.code, "ticket_served"), 0),
                    "waiting_max": peaks.get(w.code), "evaluations": _ratings(ratings.get(w.code, [])),
                    "empty_findings": len(empties.get(w.id, [])), "empty_with_queue": with_queue,
                    "empty_with_queue_s": empty_s_queue})
    return out
