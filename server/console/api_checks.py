"""Console API: duty checks (一键查岗) and after-hours safety checks (下班安全检查), with printable PDFs."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.console import checks
from server.console.metrics import CHECK_ERRORS
from server.console.permissions import check_hall, may_see_hall, require
from server.console.report_pdf import UnprintableText, duty_check_pdf, safety_check_pdf, unprintable
from server.console.views import duty_view, safety_view
from server.db import DutyCheck, Hall, SafetyCheck, utcnow
from server.deps import SessionDep, ViewerUser

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/console", tags=["console checks"])


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=2000, description="Remarks of the officer signing off.")

    @field_validator("comment")
    @classmethod
    def printable(cls, v: str) -> str:
        bad = unprintable(v)
        if bad:  # the signed record is printed: what cannot be printed exactly is not accepted
            raise ValueError(f"备注中有无法打印到正式记录（PDF）的字符：{' '.join(bad)}，请删除后再签字 "
                             f"(characters the PDF record cannot print)")
        return v


def commander(app: Any) -> Any:
    """The core's command publisher (``app.state.commands``), else one the console keeps for itself."""
    pub = getattr(app.state, "commands", None)
    if pub is None:
        pub = getattr(app.state, "console_commands", None)
    if pub is None:
        from server.ingest.mqtt import CommandPublisher

        pub = CommandPublisher(app.state.settings, app.state.sessionmaker)
        app.state.console_commands = pub
    return pub


def send(app: Any, hall_id: str, kind: str, request_id: str) -> str | None:
    """Send a command to the hall's edges; returns an error text instead of raising."""
    try:
        commander(app).send_command(hall_id, kind, request_id)
        return None
    except Exception as exc:  # noqa: BLE001 - CommandError, broker down, …: reported to the user, counted
        CHECK_ERRORS.inc(kind=kind, reason=type(exc).__name__)
        log.warning("command.%s to hall %s failed: %s", kind, hall_id, exc)
        return str(exc)


def _hall(session: Session, user: Any, hall_id: str) -> Hall:
    return check_hall(user, session.get(Hall, hall_id), hall_id)


def _get(session: Session, model: Any, user: Any, check_id: int) -> Any:
    row = session.get(model, check_id)
    if row is None or not may_see_hall(user, row.hall_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"check {check_id} not found")
    return row


# ----------------------------------------------------------------------------- duty checks

@router.post("/halls/{hall_id}/duty-checks", status_code=201, summary="一键查岗: ask every edge of the hall")
def start_duty_check(hall_id: str, request: Request, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    require(user, "duty_check")
    hall = _hall(session, user, hall_id)
    chk = checks.create_duty_check(session, hall, user)
    session.commit()  # the row must exist before an edge can answer
    error = send(request.app, hall.id, "duty_check", chk.request_id)
    if error:
        chk.status, chk.note = "failed", f"command not delivered: {error}"
        session.commit()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"duty check {chk.id}: {chk.note}")
    return duty_view(session, chk)


@router.get("/halls/{hall_id}/duty-checks", summary="Duty check history of a hall")
def list_duty_checks(hall_id: str, user: ViewerUser, session: SessionDep, limit: int = 50) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    rows = session.scalars(select(DutyCheck).where(DutyCheck.hall_id == hall_id)
                           .order_by(DutyCheck.requested_at.desc()).limit(max(1, min(limit, 500))))
    return [duty_view(session, r, with_windows=False) for r in rows]


@router.get("/duty-checks/{check_id}", summary="A duty check sheet")
def get_duty_check(check_id: int, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    return duty_view(session, _get(session, DutyCheck, user, check_id))


def _picture(request: Request):
    store = request.app.state.store

    def read(sha: str) -> bytes | None:
        try:
            with store.open(sha) as f:
                return f.read()
        except (FileNotFoundError, ValueError):
            return None
    return read


@router.get("/duty-checks/{check_id}/report.pdf", summary="Printable duty check sheet (PDF)")
def duty_check_report(check_id: int, request: Request, user: ViewerUser, session: SessionDep) -> Response:
    chk = _get(session, DutyCheck, user, check_id)
    hall = session.get(Hall, chk.hall_id)
    try:
        pdf = duty_check_pdf(duty_view(session, chk), hall.name if hall else chk.hall_id, _picture(request),
                             tz=hall.timezone if hall else "Asia/Shanghai")
    except UnprintableText as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="duty-check-{chk.id}.pdf"'})


# ----------------------------------------------------------------------------- safety checks

@router.post("/halls/{hall_id}/safety-checks", status_code=201, summary="下班安全检查 on demand")
def start_safety_check(hall_id: str, request: Request, user: ViewerUser, session: SessionDep,
                       mode: Literal["auto", "preview", "full"] = "auto") -> dict[str, Any]:
    """``auto``: during service hours (until closing + grace) the check runs as a preview that opens no alerts
    and cannot be signed; after hours it is a full check. ``preview`` / ``full`` choose explicitly."""
    require(user, "safety_check")
    hall = _hall(session, user, hall_id)
    preview = mode == "preview" or (mode == "auto" and checks.in_service_hours(hall, utcnow()))
    chk = checks.create_safety_check(session, hall, "preview" if preview else "manual", user)
    session.commit()
    error = send(request.app, hall.id, "safety_check", chk.request_id)
    if error:  # no edge reachable: judge from what the server knows, the edge's items stay undetermined
        session.refresh(chk)
        if chk.status == "pending":
            checks.finalize_safety_check(session, chk, utcnow())
        session.commit()
    view = safety_view(session, chk)
    view["command_error"] = error
    return view


@router.get("/halls/{hall_id}/safety-checks", summary="Safety check history of a hall")
def list_safety_checks(hall_id: str, user: ViewerUser, session: SessionDep, limit: int = 60) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    rows = session.scalars(select(SafetyCheck).where(SafetyCheck.hall_id == hall_id)
                           .order_by(SafetyCheck.requested_at.desc()).limit(max(1, min(limit, 500))))
    return [safety_view(session, r, with_items=False) for r in rows]


@router.get("/safety-checks/{check_id}", summary="A safety check sheet")
def get_safety_check(check_id: int, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    return safety_view(session, _get(session, SafetyCheck, user, check_id))


@router.post("/safety-checks/{check_id}/sign", summary="The duty officer signs off the check")
def sign_safety_check(check_id: int, body: SignIn, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    require(user, "sign_safety")
    chk = _get(session, SafetyCheck, user, check_id)
    try:
        checks.sign_safety_check(session, chk, user, body.comment)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return safety_view(session, chk)


@router.get("/safety-checks/{check_id}/report.pdf", summary="Printable safety check report (PDF)")
def safety_check_report(check_id: int, user: ViewerUser, session: SessionDep) -> Response:
    chk = _get(session, SafetyCheck, user, check_id)
    hall = session.get(Hall, chk.hall_id)
    try:
        pdf = safety_check_pdf(safety_view(session, chk), hall.name if hall else chk.hall_id,
                               tz=hall.timezone if hall else "Asia/Shanghai")
    except UnprintableText as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="safety-check-{chk.id}.pdf"'})
