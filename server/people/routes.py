"""HTTP API of approved absence, pauses, appeals, staff logins, notification channels, integration tokens,
retention and the finding context the console shows (``/api/v1/people``), plus the hall systems' own endpoints
(``/api/v1/integrations``, per-hall tokens).

Roles: viewers read a hall's absences, pauses and service statistics; supervisors enter absences (one by one
or as a CSV/XLSX import), pause windows and decide appeals (the assessment office); admins manage staff logins,
notification channels, integration tokens and run retention. A ``staff`` login (a clerk) reaches only
``/me…``: its own sheet, the evidence of its own findings, and its appeals. Every hall route uses the core's
hall checks (a user bound to a home hall sees only that hall; other halls answer 404).

``server.app.create_app`` includes ``router`` (``PLUGIN_ROUTERS``); its lifespan starts the background loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server import notify
from server.assessment.routes import SchemeDep
from server.db import Alert, Evidence, Hall, Staff, User, utcnow
from server.deps import AdminUser, CurrentUser, SessionDep, SupervisorUser, ViewerUser, ensure_hall_visible
from server.evidence_access import evidence_response
from server.ingest import service as ingest_service
from server.integrations import queue, tokens
from server.people import appeals as ap
from server.people.approvals import (
    AbsenceIn,
    ApprovalError,
    absence_views,
    cancel_absence,
    cancel_pause,
    create_pause,
    list_absences,
    list_pauses,
    on_finding_opened,
    pause_plan,
    pause_views,
    record_absence,
    staff_by_code,
)
from server.people.background import PausePublisher, run_loops
from server.people.imports import ImportFileError, import_absences
from server.people.models import Absence, Appeal, IntegrationToken, NotificationChannel, WindowPause
from server.storage import EvidenceError, check_sha

log = logging.getLogger(__name__)
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _notify_critical(session: Any, msg: Any, finding: Any) -> None:
    """Ingest hook: a critical finding (smoke) goes to the hall's channels at once, not only on escalation."""
    if finding.severity == "critical" and finding.alert is not None and finding.alert.status == "open":
        notify.notify_alert(session, finding.alert, "alert.critical")


def install_hooks() -> None:
    """Register the ingest hooks once in the registry as it is now (idempotent)."""
    for fn in (on_finding_opened, _notify_critical):
        if fn not in ingest_service._HOOKS.get("finding.opened", []):
            ingest_service.register_hook("finding.opened", fn)


def pause_publisher(app: Any) -> PausePublisher:
    pub = getattr(app.state, "pause_publisher", None)
    if pub is None:
        pub = app.state.pause_publisher = PausePublisher(app)
    return pub


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    install_hooks()
    notify.CONSOLE_URL = app.state.settings.public_url
    pause_publisher(app)
    stop = asyncio.Event()
    task = asyncio.create_task(run_loops(app, stop)) if app.state.settings.people_background else None
    try:
        yield
    finally:
        if task is not None:
            stop.set()  # the pass in progress finishes in its thread before the engine goes away
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=60)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


router = APIRouter(lifespan=lifespan)
api = APIRouter(prefix="/api/v1/people", tags=["people"])
install_hooks()


# --------------------------------------------------------------------------- helpers


def _hall(session: Any, user: User, hall_id: str) -> Hall:
    ensure_hall_visible(user, hall_id)
    hall = session.get(Hall, hall_id)
    if hall is None:
        raise HTTPException(404, f"hall {hall_id!r} not found")
    return hall


def _row(session: Any, user: User, model: Any, pk: int, what: str) -> Any:
    row = session.get(model, pk)
    if row is None:
        raise HTTPException(404, f"{what} {pk} not found")
    ensure_hall_visible(user, row.hall_id)
    return row


def _when(text: str | None, tz: ZoneInfo, *, end: bool = False) -> dt.datetime | None:
    """A query time: ISO with offset, or a date (its start; ``end``: the next day's start) in the hall's zone."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), tz)
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"expected a date (2026-11-23) or an ISO time, got {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def _bad(exc: Exception) -> HTTPException:
    return HTTPException(422, str(exc))


def _appeal_error(exc: ap.AppealError) -> HTTPException:
    return HTTPException({"forbidden": 403, "not_found": 404, "conflict": 409}.get(exc.code, 422), exc.detail)


def staff_member(user: CurrentUser, session: SessionDep) -> tuple[User, Staff]:
    """Dependency: a ``staff`` login and the staff record it is linked to (403 for anyone else)."""
    staff = ap.staff_of(session, user)
    if staff is None:
        raise HTTPException(403, "only a clerk's login (role staff, linked to a staff record) has a personal record")
    return user, staff


StaffMember = Annotated[tuple[User, Staff], Depends(staff_member)]


# --------------------------------------------------------------------------- absences


class AbsenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str = Field(min_length=1, max_length=64, description="Staff id (工号) from the site config.")
    kind: Literal["leave", "official", "training", "cover"] = Field(
        description="leave 请假, official 公出, training 培训, cover 顶岗 (the person covers window_id).")
    start: AwareDatetime = Field(description="Start (ISO-8601 with offset).")
    end: AwareDatetime = Field(description="End, exclusive (ISO-8601 with offset).")
    approver: str = Field(min_length=1, max_length=100, description="Who approved.")
    reason: str = Field(default="", max_length=2000, description="事由.")
    window_id: str | None = Field(default=None, max_length=64, description="cover: the window covered.")
    covers_staff_id: str | None = Field(default=None, max_length=64, description="cover: whose post is covered.")
    external_id: str | None = Field(default=None, max_length=100,
                                    description="Record id in the attendance system (sending it again updates).")

    def record(self, cancelled: bool = False) -> AbsenceIn:
        return AbsenceIn(staff_id=self.staff_id, kind=self.kind, start=self.start, end=self.end,
                         approver=self.approver, reason=self.reason, window_id=self.window_id,
                         covers_staff_id=self.covers_staff_id, external_id=self.external_id, cancelled=cancelled)


@api.get("/halls/{hall_id}/absences", summary="Approved absences and cover records overlapping a time range")
def get_absences(hall_id: str, user: ViewerUser, session: SessionDep, since: str | None = None,
                 until: str | None = None, staff_id: str | None = None,
                 include_cancelled: bool = False) -> list[dict[str, Any]]:
    hall = _hall(session, user, hall_id)
    tz = ZoneInfo(hall.timezone)
    staff_pk = None
    if staff_id:
        try:
            staff_pk = staff_by_code(session, hall_id, staff_id).id
        except ApprovalError as exc:
            raise HTTPException(404, str(exc)) from None
    rows = list_absences(session, hall_id, start=_when(since, tz), end=_when(until, tz, end=True), staff_pk=staff_pk,
                         include_cancelled=include_cancelled)
    return absence_views(session, hall_id, rows)


@api.post("/halls/{hall_id}/absences", status_code=201, summary="Enter an approved absence or a 顶岗 record")
def post_absence(hall_id: str, body: AbsenceBody, user: SupervisorUser, session: SessionDep) -> dict[str, Any]:
    _hall(session, user, hall_id)
    try:
        row, what = record_absence(session, hall_id, body.record(), source="console", actor=user.username,
                                   user_id=user.id)
    except ApprovalError as exc:
        raise _bad(exc) from None
    return {**absence_views(session, hall_id, [row])[0], "result": what}


@api.post("/absences/{absence_id}/cancel", summary="Cancel an absence (销假/撤销); the record stays, audited")
def post_cancel_absence(absence_id: int, user: SupervisorUser, session: SessionDep) -> dict[str, Any]:
    row = _row(session, user, Absence, absence_id, "absence")
    cancel_absence(session, row, actor=user.username, user_id=user.id)
    return absence_views(session, row.hall_id, [row])[0]


@api.post("/halls/{hall_id}/absences/import",
          summary="Import absences from the attendance system (CSV or XLSX; layout in the README)")
async def post_import(hall_id: str, user: SupervisorUser, session: SessionDep,
                      file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX.")],
                      dry_run: Annotated[bool, Query(description="Check every row, write nothing.")] = False
                      ) -> dict[str, Any]:
    hall = _hall(session, user, hall_id)
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"more than {MAX_IMPORT_BYTES} bytes")
    try:
        report = await run_in_threadpool(import_absences, session, hall_id, ZoneInfo(hall.timezone), data,
                                         file.filename or "", actor=user.username, user_id=user.id, dry_run=dry_run)
    except ImportFileError as exc:
        raise HTTPException(422, str(exc)) from None
    return report.as_dict()


# --------------------------------------------------------------------------- pauses


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window_id: str = Field(min_length=1, max_length=64, description="Window id.")
    start: AwareDatetime = Field(description="Start (ISO-8601 with offset).")
    end: AwareDatetime = Field(description="End, exclusive.")
    reason: str = Field(min_length=1, max_length=500, description="Why the window is paused (暂停服务原因).")


@api.get("/halls/{hall_id}/pauses", summary="Window pauses (暂停服务) overlapping a time range")
def get_pauses(hall_id: str, user: ViewerUser, session: SessionDep, since: str | None = None,
               until: str | None = None, include_cancelled: bool = False) -> list[dict[str, Any]]:
    hall = _hall(session, user, hall_id)
    tz = ZoneInfo(hall.timezone)
    rows = list_pauses(session, hall_id, start=_when(since, tz), end=_when(until, tz, end=True),
                       include_cancelled=include_cancelled)
    return pause_views(session, hall_id, rows)


@api.post("/halls/{hall_id}/pauses", status_code=201,
          summary="Pause a window: no 空岗 while paused; the plan goes to the hall's edges")
def post_pause(hall_id: str, body: PauseBody, request: Request, background: BackgroundTasks, user: SupervisorUser,
               session: SessionDep) -> dict[str, Any]:
    _hall(session, user, hall_id)
    try:
        row = create_pause(session, hall_id, body.window_id, body.start, body.end, body.reason, actor=user.username,
                           user_id=user.id)
    except ApprovalError as exc:
        raise _bad(exc) from None
    background.add_task(pause_publisher(request.app).publish, hall_id, force=True)  # after the commit
    return pause_views(session, hall_id, [row])[0]


@api.post("/pauses/{pause_id}/cancel", summary="End a pause early (the edges get the new plan)")
def post_cancel_pause(pause_id: int, request: Request, background: BackgroundTasks, user: SupervisorUser,
                      session: SessionDep) -> dict[str, Any]:
    row = _row(session, user, WindowPause, pause_id, "pause")
    cancel_pause(session, row, actor=user.username, user_id=user.id)
    background.add_task(pause_publisher(request.app).publish, row.hall_id, force=True)
    return pause_views(session, row.hall_id, [row])[0]


@api.get("/halls/{hall_id}/pause-plan", summary="The pause plan as the hall's edges get it")
def get_pause_plan(hall_id: str, user: ViewerUser, session: SessionDep) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    return [{**p, "start": p["start"].isoformat(), "end": p["end"].isoformat()}
            for p in pause_plan(session, hall_id, utcnow())]


# --------------------------------------------------------------------------- staff logins


class StaffAccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str = Field(min_length=1, max_length=64, description="Staff id the login is linked to.")
    username: str = Field(min_length=1, max_length=64, description="User name.")
    password: str = Field(min_length=8, max_length=200, description="Initial password.")
    display_name: str | None = Field(default=None, max_length=100, description="Default: the staff name.")


@api.get("/halls/{hall_id}/staff-accounts", summary="Clerks' logins (role staff) of a hall")
def get_staff_accounts(hall_id: str, user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    return ap.staff_accounts(session, hall_id)


@api.post("/halls/{hall_id}/staff-accounts", status_code=201, summary="Create a clerk's login linked to a staff record")
def post_staff_account(hall_id: str, body: StaffAccountBody, user: AdminUser, session: SessionDep) -> dict[str, Any]:
    from server.users import UserError

    _hall(session, user, hall_id)
    try:
        u = ap.create_staff_account(session, hall_id, body.staff_id, username=body.username, password=body.password,
                                    display_name=body.display_name, actor=user.username, actor_id=user.id)
    except (ApprovalError, UserError) as exc:
        raise _bad(exc) from None
    except ap.AppealError as exc:
        raise _appeal_error(exc) from None
    return {"user_id": u.id, "username": u.username, "role": u.role, "hall_id": u.hall_id, "staff_id": body.staff_id}


# --------------------------------------------------------------------------- the clerk's own record


class AppealBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding_id: str = Field(min_length=1, max_length=64, description="Finding UUID (ref_id of the sheet line).")
    reason: str = Field(min_length=2, max_length=4000, description="Why the finding is wrong (申诉理由).")


@api.get("/me", summary="The clerk's own login and staff record")
def me(member: StaffMember, request: Request) -> dict[str, Any]:
    user, staff = member
    return {"user": {"id": user.id, "username": user.username, "display_name": user.display_name},
            "staff": {"id": staff.code, "name": staff.name, "department": staff.department},
            "hall_id": staff.hall_id, "appeal_window_days": request.app.state.settings.appeal_window_days}


@api.get("/me/sheet/{period}", summary="The clerk's own sheet (month 2026-11 or quarter 2026Q4) with appeals")
def my_sheet(period: str, member: StaffMember, request: Request, session: SessionDep,
             scheme: SchemeDep) -> dict[str, Any]:
    _, staff = member
    try:
        return ap.own_sheet(session, scheme, staff, period, request.app.state.settings.appeal_window_days)
    except ap.AppealError as exc:
        raise _appeal_error(exc) from None
    except ValueError as exc:
        raise _bad(exc) from None


@api.get("/me/evidence/{sha256}", summary="An evidence file of one of the clerk's own findings")
def my_evidence(sha256: str, member: StaffMember, request: Request, session: SessionDep, scheme: SchemeDep):
    _, staff = member
    try:
        check_sha(sha256)
    except EvidenceError as exc:
        raise HTTPException(422, exc.detail) from None
    if session.get(Evidence, sha256) is None or not ap.may_see_evidence(session, scheme, staff, sha256):
        raise HTTPException(404, "evidence not found")
    return evidence_response(request, session, sha256, None, cache="private, max-age=3600")


@api.get("/me/appeals", summary="The clerk's own appeals")
def my_appeals(member: StaffMember, session: SessionDep) -> list[dict[str, Any]]:
    _, staff = member
    return ap.appeal_views(session, ap.list_appeals(session, staff.hall_id, staff_pk=staff.id))


@api.post("/me/appeals", status_code=201, summary="Appeal a confirmed finding charged to the clerk (申诉)")
def post_my_appeal(body: AppealBody, member: StaffMember, request: Request, session: SessionDep,
                   scheme: SchemeDep) -> dict[str, Any]:
    user, staff = member
    try:
        row = ap.file_appeal(session, scheme, user, staff, body.finding_id, body.reason,
                             window_days=request.app.state.settings.appeal_window_days)
    except ap.AppealError as exc:
        raise _appeal_error(exc) from None
    view = ap.appeal_views(session, [row])[0]
    notify.enqueue(session, row.hall_id, "appeal.filed", {"appeal": {
        "id": row.id, "staff_name": staff.name, "rule": view["finding"]["rule"], "reason": row.reason}},
        f"appeal.filed:{row.id}")
    return view


# --------------------------------------------------------------------------- the assessment office


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["uphold", "withdraw"] = Field(description="uphold: the deduction stands; withdraw: it goes.")
    comment: str = Field(min_length=2, max_length=4000, description="The office's reasoning (复核意见).")


@api.get("/halls/{hall_id}/appeals", summary="Appeals of a hall (newest first)")
def get_appeals(hall_id: str, user: SupervisorUser, session: SessionDep,
                status: Literal["pending", "upheld", "withdrawn"] | None = None) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    return ap.appeal_views(session, ap.list_appeals(session, hall_id, status=status))


@api.post("/appeals/{appeal_id}/decide", summary="Decide an appeal; a withdrawal amends a signed quarter")
def post_decide(appeal_id: int, body: DecisionBody, user: SupervisorUser, session: SessionDep,
                scheme: SchemeDep) -> dict[str, Any]:
    row = _row(session, user, Appeal, appeal_id, "appeal")
    try:
        ap.decide_appeal(session, scheme, row, body.decision, body.comment, actor=user.username, user_id=user.id)
    except ap.AppealError as exc:
        raise _appeal_error(exc) from None
    return ap.appeal_views(session, [row])[0]


# --------------------------------------------------------------------------- what the console shows next to a finding


@api.get("/alerts/{alert_id}/context",
         summary="Next to a finding: approvals, who is charged and why, its appeal, the queue during the episode")
def alert_context(alert_id: int, user: ViewerUser, session: SessionDep, scheme: SchemeDep) -> dict[str, Any]:
    alert = _row(session, user, Alert, alert_id, "alert")
    f = alert.finding
    rec = ap.finding_record(session, scheme, f)
    names = {s.code: s.name for s in session.scalars(select(Staff).where(Staff.hall_id == f.hall_id))}
    appeal = session.scalars(select(Appeal).where(Appeal.finding_id == f.id)).first()
    return {"alert_id": alert.id, "finding_id": f.finding_id, "status": rec.status,
            "charged": {"staff_id": rec.staff_id, "name": names.get(rec.staff_id or ""), "basis": rec.attribution},
            "approval": rec.approval, "appeal": ap.appeal_brief(appeal) if appeal else None,
            "queue": queue.finding_queue(session, f), "staff_names": names}


@api.get("/halls/{hall_id}/service-summary",
         summary="Per window: tickets, 好差评, most waiting, and 空岗 findings with people waiting")
def service_summary(hall_id: str, user: ViewerUser, session: SessionDep, since: str | None = None,
                    until: str | None = None) -> dict[str, Any]:
    hall = _hall(session, user, hall_id)
    tz = ZoneInfo(hall.timezone)
    start = _when(since, tz) or dt.datetime.combine(utcnow().astimezone(tz).date(), dt.time(), tz)
    end = _when(until, tz, end=True) or start + dt.timedelta(days=1)
    if end <= start or end - start > dt.timedelta(days=400):
        raise HTTPException(422, "the range must be positive and at most 400 days")
    return {"hall_id": hall_id, "since": start.isoformat(), "until": end.isoformat(),
            "windows": queue.window_summary(session, hall_id, start, end)}


# --------------------------------------------------------------------------- notification channels (admin)


class ChannelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["wecom", "dingtalk", "smtp", "webhook"] = Field(description="Channel kind.")
    name: str = Field(min_length=1, max_length=100, description="Shown in the delivery log.")
    url: str = Field(min_length=1, max_length=1000, description="Robot/webhook URL, or smtp[s]://host:port.")
    secret: str | None = Field(default=None, max_length=500,
                               description="DingTalk 加签 secret, webhook HMAC key or SMTP password (write-only).")
    options: dict[str, Any] = Field(default_factory=dict, description="smtp: sender, recipients, username, "
                                    "starttls; wecom: mentioned_mobiles; dingtalk: at_mobiles.")
    events: list[str] = Field(default_factory=lambda: list(notify.DEFAULT_EVENTS),
                              description=f"Events delivered: {', '.join(notify.EVENTS)}.")
    enabled: bool = Field(default=True)


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, min_length=1, max_length=1000)
    secret: str | None = Field(default=None, max_length=500, description="New secret; empty string clears it.")
    options: dict[str, Any] | None = None
    events: list[str] | None = None
    enabled: bool | None = None


def _audit_channel(session: Any, user: User, action: str, c: NotificationChannel) -> None:
    from server.audit import audit

    audit(session, actor=user.username, user_id=user.id, action=f"notify_channel.{action}",
          entity_type="notification_channel", entity_id=c.id, after=notify.channel_view(c))


@api.get("/halls/{hall_id}/channels", summary="Notification channels of a hall (secrets are never shown)")
def get_channels(hall_id: str, user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    rows = session.scalars(select(NotificationChannel).where(NotificationChannel.hall_id == hall_id)
                           .order_by(NotificationChannel.id))
    return [notify.channel_view(c) for c in rows]


@api.post("/halls/{hall_id}/channels", status_code=201, summary="Add a WeCom/DingTalk robot, mail or webhook channel")
def post_channel(hall_id: str, body: ChannelBody, user: AdminUser, session: SessionDep) -> dict[str, Any]:
    _hall(session, user, hall_id)
    try:
        notify.check_channel(body.kind, body.url, body.options, body.events)
    except notify.ChannelError as exc:
        raise _bad(exc) from None
    c = NotificationChannel(hall_id=hall_id, kind=body.kind, name=body.name, url=body.url, secret=body.secret or None,
                            options=body.options, events=body.events, enabled=body.enabled, created_by=user.username)
    session.add(c)
    session.flush()
    _audit_channel(session, user, "create", c)
    return notify.channel_view(c)


@api.patch("/channels/{channel_id}", summary="Change a channel")
def patch_channel(channel_id: int, body: ChannelPatch, user: AdminUser, session: SessionDep) -> dict[str, Any]:
    c = _row(session, user, NotificationChannel, channel_id, "channel")
    for name in ("name", "url", "options", "events", "enabled"):
        if getattr(body, name) is not None:
            setattr(c, name, getattr(body, name))
    if body.secret is not None:
        c.secret = body.secret or None
    try:
        notify.check_channel(c.kind, c.url, c.options or {}, c.events or [])
    except notify.ChannelError as exc:
        raise _bad(exc) from None
    _audit_channel(session, user, "update", c)
    return notify.channel_view(c)


@api.delete("/channels/{channel_id}", status_code=204, summary="Remove a channel (and its pending deliveries)")
def delete_channel(channel_id: int, user: AdminUser, session: SessionDep) -> None:
    c = _row(session, user, NotificationChannel, channel_id, "channel")
    _audit_channel(session, user, "delete", c)
    session.delete(c)


@api.post("/channels/{channel_id}/test", status_code=202, summary="Queue a test message to this channel")
def test_channel(channel_id: int, user: AdminUser, session: SessionDep) -> dict[str, Any]:
    from server.people.models import NotificationDelivery

    c = _row(session, user, NotificationChannel, channel_id, "channel")
    hall = session.get(Hall, c.hall_id)
    d = NotificationDelivery(channel_id=c.id, event="test", dedup_key=f"test:{utcnow().isoformat()}",
                             payload={"event": "test", "at": utcnow().isoformat(),
                                      "hall": {"id": c.hall_id, "name": hall.name if hall else ""},
                                      "text": f"测试消息，由 {user.username} 发送 / test message from HallWatch"})
    session.add(d)
    session.flush()
    return {"delivery_id": d.id, "status": d.status}


@api.get("/halls/{hall_id}/deliveries", summary="Recent notification deliveries and their results")
def get_deliveries(hall_id: str, user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    return notify.delivery_views(session, hall_id)


# --------------------------------------------------------------------------- integration tokens (admin)


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: Literal["queue", "attendance"] = Field(description="queue: 叫号/好差评 events; attendance: absences.")
    label: str = Field(default="", max_length=100, description="Which system holds it.")


@api.get("/halls/{hall_id}/integration-tokens", summary="The hall systems' tokens (never the secrets)")
def get_tokens(hall_id: str, user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    return tokens.token_views(session, hall_id)


@api.post("/halls/{hall_id}/integration-tokens", status_code=201, summary="Issue a token (shown once)")
def post_token(hall_id: str, body: TokenBody, user: AdminUser, session: SessionDep) -> dict[str, Any]:
    _hall(session, user, hall_id)
    row, token = tokens.issue_token(session, hall_id, body.purpose, body.label, actor=user.username, user_id=user.id)
    return {"id": row.id, "purpose": row.purpose, "token": token}


@api.post("/integration-tokens/{token_id}/revoke", summary="Revoke a token")
def post_revoke(token_id: int, user: AdminUser, session: SessionDep) -> dict[str, Any]:
    row = _row(session, user, IntegrationToken, token_id, "token")
    tokens.revoke_token(session, row, actor=user.username, user_id=user.id)
    return {"id": row.id, "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


# --------------------------------------------------------------------------- retention (admin)


@api.post("/retention/run", summary="Run a retention pass now (dry_run: count only)")
async def run_retention(request: Request, user: AdminUser, dry_run: bool = True) -> dict[str, Any]:
    from server import retention

    if user.hall_id is not None:
        raise HTTPException(403, "retention covers every hall: a global admin runs it")
    s = request.app.state.settings
    report = await run_in_threadpool(retention.purge, request.app.state.sessionmaker, request.app.state.store,
                                     evidence_days=s.retention_evidence_days, archive_days=s.retention_archive_days,
                                     readings_days=s.sensor_reading_retention_days, dry_run=dry_run,
                                     window_states_days=s.window_state_retention_days,
                                     actor=user.username)
    return report.as_dict()


# --------------------------------------------------------------------------- the hall systems (token)

systems = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


class AbsencesPush(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[Any] = Field(min_length=1, max_length=1000, description="AbsenceBody fields, plus "
                                          "'cancelled': true to cancel the record with that external_id.")


@systems.post("/absences", summary="The attendance system pushes approved absences (attendance token)")
def push_absences(body: AbsencesPush, token: tokens.AttendanceToken, session: SessionDep) -> dict[str, Any]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "cancelled": 0}
    rejected = []
    for i, raw in enumerate(body.records):
        try:
            cancelled = bool(raw.get("cancelled")) if isinstance(raw, dict) else False
            fields = {k: v for k, v in raw.items() if k != "cancelled"} if isinstance(raw, dict) else raw
            if cancelled:
                rec = AbsenceIn(staff_id="", kind="leave", start=utcnow(), end=utcnow(), approver="",
                                external_id=str(fields.get("external_id") or ""), cancelled=True)
            else:
                rec = AbsenceBody.model_validate(fields).record()
            with session.begin_nested():
                _, what = record_absence(session, token.hall_id, rec, source="api",
                                         actor=f"integration:{token.label or token.id}")
            counts[what] += 1
        except ValidationError as exc:
            first = exc.errors()[0]
            rejected.append({"index": i, "external_id": raw.get("external_id") if isinstance(raw, dict) else None,
                             "error": f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}"})
        except ApprovalError as exc:
            rejected.append({"index": i, "external_id": raw.get("external_id") if isinstance(raw, dict) else None,
                             "error": str(exc)})
    return {**counts, "rejected": rejected}


@systems.post("/service-events", summary="The queue/evaluation system posts 叫号 and 好差评 events (queue token)")
def push_service_events(body: queue.ServiceEventsIn, token: tokens.QueueToken, session: SessionDep) -> dict[str, Any]:
    return queue.ingest_events(session, token.hall_id, body.events)


router.include_router(api)
router.include_router(systems)
