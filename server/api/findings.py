"""Findings with filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from server.db import Finding, Window
from server.deps import SessionDep, ViewerUser, ensure_hall_visible, hall_scope

router = APIRouter(prefix="/api/v1/findings", tags=["findings"])


class EvidenceLinkOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(description="Content hash; GET /api/v1/evidence/{sha256}.")
    kind: str | None = Field(description="snapshot | frame | clip | chart.")
    content_type: str | None = Field(description="MIME type.")
    stored: bool = Field(description="False while the file has not arrived yet.")


class FindingOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int = Field(description="Row id.")
    finding_id: str = Field(description="Edge UUID.")
    hall_id: str = Field(description="Hall.")
    edge: str = Field(description="Edge id.")
    rule: str = Field(description="Rule id.")
    severity: str = Field(description="info | warning | major | critical.")
    window_id: int | None = Field(description="Window row id.")
    window_code: str | None = Field(description="Window id from the site config.")
    zone: str | None = Field(description="Zone id.")
    staff_id: int | None = Field(description="Staff named by the edge.")
    confidence: float | None = Field(description="Confidence.")
    started_at: dt.datetime = Field(description="Start of the episode.")
    ended_at: dt.datetime | None = Field(description="End of the episode.")
    duration_s: float | None = Field(description="Length in seconds.")
    status: str = Field(description="open | closed.")
    details: dict[str, Any] = Field(description="Rule facts.")
    alert_id: int | None = Field(description="The alert raised.")
    alert_status: str | None = Field(description="Its status.")
    evidence: list[EvidenceLinkOut] = Field(description="Evidence files.")


def finding_out(f: Finding, window_code: str | None) -> FindingOut:
    return FindingOut(
        id=f.id, finding_id=f.finding_id, hall_id=f.hall_id, edge=f.edge_code, rule=f.rule, severity=f.severity,
        window_id=f.window_id, window_code=window_code, zone=f.zone_code, staff_id=f.staff_id,
        confidence=f.confidence, started_at=f.started_at, ended_at=f.ended_at, duration_s=f.duration_s,
        status=f.status, details=f.details, alert_id=f.alert.id if f.alert else None,
        alert_status=f.alert.status if f.alert else None,
        evidence=[EvidenceLinkOut(sha256=link.sha256, kind=link.kind or link.evidence.kind,
                                  content_type=link.evidence.content_type, stored=link.evidence.stored)
                  for link in f.evidence_links])


def finding_query() -> Select:
    return (select(Finding, Window.code).outerjoin(Window, Finding.window_id == Window.id)
            .options(selectinload(Finding.alert), selectinload(Finding.evidence_links)))


@router.get("", response_model=list[FindingOut], summary="Findings, newest first")
def list_findings(user: ViewerUser, session: SessionDep, hall: str | None = None, rule: str | None = None,
                  window: str | None = Query(default=None, description="Window code."),
                  severity: str | None = None, status: str | None = None,
                  since: dt.datetime | None = None, until: dt.datetime | None = None,
                  limit: int = Query(default=100, ge=1, le=1000), offset: int = Query(default=0, ge=0, le=2**31 - 1)) -> list:
    q = finding_query()
    hall = hall_scope(user, hall)
    if hall:
        q = q.where(Finding.hall_id == hall)
    if rule:
        q = q.where(Finding.rule == rule)
    if window:
        q = q.where(Window.code == window)
    if severity:
        q = q.where(Finding.severity == severity)
    if status:
        q = q.where(Finding.status == status)
    if since:
        q = q.where(Finding.started_at >= since)
    if until:
        q = q.where(Finding.started_at < until)
    rows = session.execute(q.order_by(Finding.started_at.desc(), Finding.id.desc()).limit(limit).offset(offset))
    return [finding_out(f, code) for f, code in rows]


@router.get("/{finding_pk}", response_model=FindingOut, summary="One finding")
def get_finding(finding_pk: int, user: ViewerUser, session: SessionDep) -> FindingOut:
    row = session.execute(finding_query().where(Finding.id == finding_pk)).first()
    if row is None:
        raise HTTPException(404, "no such finding")
    ensure_hall_visible(user, row[0].hall_id)
    return finding_out(*row)
