"""HTTP API of the assessment (``/api/v1/assessment``).

Reading sheets needs a viewer; reassigning, entering, signing off and amending need a supervisor.
Every change is written to the audit log in the request's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.assessment import signoff as so
from server.assessment.chart import trend_svg
from server.assessment.export import to_csv, to_xlsx
from server.assessment.export_pdf import to_pdf
from server.assessment.scheme import Scheme, load_scheme
from server.assessment.service import AssessmentError, add_entry, reassign
from server.db import Finding, User
from server.deps import SessionDep, SupervisorUser, ViewerUser, may_see_hall

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment"])
Lang = Literal["zh", "en"]


def get_scheme(request: Request) -> Scheme:
    scheme = getattr(request.app.state, "assessment_scheme", None)
    if scheme is None:
        scheme = request.app.state.assessment_scheme = load_scheme()
    return scheme


SchemeDep = Annotated[Scheme, Depends(get_scheme)]


def _hall_allowed(user: User, hall_id: str) -> None:
    if not may_see_hall(user, hall_id):
        raise HTTPException(403, f"no access to hall {hall_id!r}")


def _bad(exc: AssessmentError | ValueError) -> HTTPException:
    return HTTPException(409 if "signed" in str(exc) or "nothing to amend" in str(exc) else 422, str(exc))


def _sheet(session, scheme: Scheme, hall_id: str, period: str) -> dict[str, Any]:
    try:
        return so.sheet_for(session, scheme, hall_id, period)
    except AssessmentError as exc:
        raise HTTPException(404 if "unknown hall" in str(exc) else 422, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str | None = Field(description="Staff code to charge; null = the window only (no person).")
    reason: str = Field(min_length=2, max_length=1000, description="Why the roster's attribution is wrong.")


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(description="Bonus or deduction item id of the scheme.")
    at: dt.datetime = Field(description="When it happened (ISO-8601 with offset); decides month and quarter.")
    window_id: str | None = Field(default=None, description="Window code.")
    staff_id: str | None = Field(default=None, description="Staff code.")
    count: int = Field(default=1, ge=1, le=100, description="Occurrences (e.g. 3 adopted news items).")
    note: str = Field(default="", max_length=2000, description="Justification (e.g. the attendance record).")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=2000, description="Why the signed sheet is corrected.")


@router.get("/scheme")
def scheme_json(user: ViewerUser, scheme: SchemeDep) -> dict[str, Any]:
    return scheme.model_dump(mode="json")


@router.get("/halls/{hall_id}/sheets/{period}")
def hall_sheet(hall_id: str, period: str, user: ViewerUser, session: SessionDep, scheme: SchemeDep) -> dict[str, Any]:
    """All windows and staff of a hall for a month ('2026-07') or quarter ('2026Q3'); frozen once signed."""
    _hall_allowed(user, hall_id)
    return _sheet(session, scheme, hall_id, period)


@router.get("/halls/{hall_id}/sheets/{period}/{kind}/{subject_id}")
def subject_sheet(hall_id: str, period: str, kind: Literal["windows", "staff"], subject_id: str, user: ViewerUser,
                  session: SessionDep, scheme: SchemeDep) -> dict[str, Any]:
    """One window's or staff member's sheet, with its rank and monthly trend."""
    _hall_allowed(user, hall_id)
    sheet = _sheet(session, scheme, hall_id, period)
    entry = next((e for e in sheet[kind] if e["id"] == subject_id), None)
    if entry is None:
        raise HTTPException(404, f"no {kind} {subject_id!r} in {hall_id}")
    ranking = next(r for r in sheet["ranking"][kind] if r["subject_id"] == subject_id)
    return {"hall": sheet["hall"], "period": sheet["period"], "signoff": sheet["signoff"],
            "provisional": sheet["provisional"], "rank": ranking["rank"], "of": len(sheet[kind]), **entry}


@router.get("/halls/{hall_id}/sheets/{period}/{kind}/{subject_id}/trend.svg")
def subject_trend(hall_id: str, period: str, kind: Literal["windows", "staff"], subject_id: str, user: ViewerUser,
                  session: SessionDep, scheme: SchemeDep) -> Response:
    entry = subject_sheet(hall_id, period, kind, subject_id, user, session, scheme)
    return Response(trend_svg(entry["months"], title=f"{subject_id} {period}"), media_type="image/svg+xml")


@router.post("/findings/{finding_id}/reassign")
def reassign_finding(finding_id: str, body: ReassignIn, user: SupervisorUser, session: SessionDep,
                     scheme: SchemeDep) -> dict[str, Any]:
    hall_id = session.scalar(select(Finding.hall_id).where(Finding.finding_id == finding_id))
    if hall_id is None or not may_see_hall(user, hall_id):
        raise HTTPException(404, f"unknown finding {finding_id!r}")
    try:
        return reassign(session, scheme, finding_id, body.staff_id, body.reason, actor=user.username,
                        user_id=user.id)
    except AssessmentError as exc:
        raise HTTPException(404 if "unknown finding" in str(exc) else 422, str(exc)) from None


@router.post("/halls/{hall_id}/entries", status_code=201)
def create_entry(hall_id: str, body: EntryIn, user: SupervisorUser, session: SessionDep,
                 scheme: SchemeDep) -> dict[str, Any]:
    _hall_allowed(user, hall_id)
    try:
        row = add_entry(session, scheme, hall_id, body.item_id, body.at, window_code=body.window_id,
                        staff_code=body.staff_id, count=body.count, note=body.note, actor=user.username,
                        user_id=user.id)
    except AssessmentError as exc:
        raise _bad(exc) from None
    return {"id": row.id, "item_id": row.item_id, "at": row.at.isoformat()}


@router.post("/halls/{hall_id}/sheets/{period}/sign-off", status_code=201)
def sign_off(hall_id: str, period: str, user: SupervisorUser, session: SessionDep,
             scheme: SchemeDep) -> dict[str, Any]:
    _hall_allowed(user, hall_id)
    try:
        row = so.sign_off(session, scheme, hall_id, period, actor=user.username, user_id=user.id)
    except ValueError as exc:  # AssessmentError or a malformed period
        raise _bad(exc) from None
    return {"hall": hall_id, "period": row.period, "sha256": row.sha256, "signed_by": row.actor,
            "signed_at": row.signed_at.isoformat()}


@router.post("/halls/{hall_id}/sheets/{period}/amend", status_code=201)
def amend(hall_id: str, period: str, body: ReasonIn, user: SupervisorUser, session: SessionDep,
          scheme: SchemeDep) -> dict[str, Any]:
    _hall_allowed(user, hall_id)
    try:
        row = so.amend(session, scheme, hall_id, period, body.reason, actor=user.username, user_id=user.id)
    except ValueError as exc:  # AssessmentError or a malformed period
        raise _bad(exc) from None
    return {"seq": row.seq, "prev_sha256": row.prev_sha256, "sha256": row.sha256, "changes": row.changes}


@router.get("/halls/{hall_id}/sheets/{period}/verify")
def verify(hall_id: str, period: str, request: Request, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    """Re-hash the signed snapshot, the amendment chain and every evidence file the sheet relies on."""
    _hall_allowed(user, hall_id)
    try:
        return so.verify(session, hall_id, period, request.app.state.store.open)
    except ValueError as exc:  # AssessmentError or a malformed period
        raise HTTPException(404 if "not signed" in str(exc) else 422, str(exc)) from None


MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf",
         "csv": "text/csv; charset=utf-8"}


@router.get("/halls/{hall_id}/sheets/{period}/export.{fmt}")
def export(hall_id: str, period: str, fmt: Literal["xlsx", "pdf", "csv"], request: Request, user: ViewerUser,
           session: SessionDep, scheme: SchemeDep, lang: Annotated[Lang, Query()] = "zh") -> Response:
    _hall_allowed(user, hall_id)
    sheet = _sheet(session, scheme, hall_id, period)
    if fmt == "xlsx":
        data = to_xlsx(sheet, scheme, lang)
    elif fmt == "csv":
        data = to_csv(sheet, scheme, lang)
    else:
        data = to_pdf(sheet, scheme, request.app.state.store.open, lang)
    name = f"assessment-{hall_id}-{sheet['period']}-{lang}.{fmt}"
    return Response(data, media_type=MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})
