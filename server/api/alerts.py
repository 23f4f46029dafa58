"""Alerts: list/filter/detail and the lifecycle actions (acknowledge, confirm, dismiss, close)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from server.alerts import AlertTransitionError, transition
from server.api.findings import FindingOut, finding_out
from server.db import Alert, Finding, Window
from server.deps import CurrentUser, SessionDep, ViewerUser, ensure_hall_visible, hall_scope

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertEventOut(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    action: str = Field(description="opened | acknowledge | confirm | dismiss | close | escalate.")
    from_status: str | None = Field(description="Status before.")
    to_status: str = Field(description="Status after.")
    actor: str = Field(description="Who.")
    comment: str | None = Field(description="Comment.")
    at: dt.datetime = Field(description="When.")


class AlertOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int = Field(description="Alert id.")
    hall_id: str = Field(description="Hall.")
    status: str = Field(description="open | acknowledged | confirmed | dismissed | closed.")
    escalated: bool = Field(description="Left unacknowledged too long.")
    created_at: dt.datetime = Field(description="When it opened.")
    updated_at: dt.datetime = Field(description="Last change.")
    finding: FindingOut = Field(description="The finding behind it.")
    events: list[AlertEventOut] | None = Field(default=None, description="Timeline (detail view only).")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=2000, description="Comment (required to dismiss).")


def _query():
    return (select(Alert, Window.code).join(Finding, Alert.finding_id == Finding.id)
            .outerjoin(Window, Finding.window_id == Window.id)
            .options(selectinload(Alert.finding).selectinload(Finding.evidence_links)))


def alert_out(alert: Alert, window_code: str | None, with_events: bool = False) -> AlertOut:
    return AlertOut(id=alert.id, hall_id=alert.hall_id, status=alert.status, escalated=alert.escalated,
                    created_at=alert.created_at, updated_at=alert.updated_at,
                    finding=finding_out(alert.finding, window_code),
                    events=[AlertEventOut.model_validate(e) for e in alert.events] if with_events else None)


@router.get("", response_model=list[AlertOut], summary="Alerts, newest first, with filters")
def list_alerts(user: ViewerUser, session: SessionDep, hall: str | None = None,
                status: list[str] | None = Query(default=None, description="One or more statuses."),
                rule: str | None = None, severity: str | None = None,
                window: str | None = Query(default=None, description="Window code."),
                escalated: bool | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
                q: str | None = Query(default=None, description="Search rule, window name/code, details."),
                limit: int = Query(default=100, ge=1, le=1000), offset: int = Query(default=0, ge=0, le=2**31 - 1)) -> list:
    query = _query()
    hall = hall_scope(user, hall)
    if hall:
        query = query.where(Alert.hall_id == hall)
    if status:
        query = query.where(Alert.status.in_(status))
    if rule:
        query = query.where(Finding.rule == rule)
    if severity:
        query = query.where(Finding.severity == severity)
    if window:
        query = query.where(Window.code == window)
    if escalated is not None:
        query = query.where(Alert.escalated.is_(escalated))
    if since:
        query = query.where(Finding.started_at >= since)
    if until:
        query = query.where(Finding.started_at < until)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Finding.rule.ilike(like), Window.code.ilike(like), Window.name.ilike(like)))
    rows = session.execute(query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit).offset(offset))
    return [alert_out(a, code) for a, code in rows]


def _get(session, alert_id: int, user) -> tuple[Alert, str | None]:  # noqa: ANN001
    row = session.execute(_query().where(Alert.id == alert_id)).first()
    if row is None:
        raise HTTPException(404, "no such alert")
    ensure_hall_visible(user, row[0].hall_id)
    return row[0], row[1]


@router.get("/{alert_id}", response_model=AlertOut, summary="Alert with finding, evidence and timeline")
def get_alert(alert_id: int, user: ViewerUser, session: SessionDep) -> AlertOut:
    alert, code = _get(session, alert_id, user)
    return alert_out(alert, code, with_events=True)


@router.post("/{alert_id}/{action}", response_model=AlertOut,
             summary="acknowledge (inspector+), confirm / dismiss / close (supervisor+)")
def act(alert_id: int, action: Literal["acknowledge", "confirm", "dismiss", "close"], body: ActionIn,
        user: CurrentUser, session: SessionDep) -> AlertOut:
    alert, code = _get(session, alert_id, user)
    try:
        transition(session, alert, action, user, body.comment)
    except AlertTransitionError as exc:
        raise HTTPException({"forbidden": 403, "conflict": 409}.get(exc.code, 422), exc.detail) from None
    return alert_out(alert, code, with_events=True)
