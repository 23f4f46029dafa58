"""Console API: who am I, halls, rules, the alert feed (filters, search, detail, actions), the hall board,
evidence files, and the live event stream (SSE)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from edge.contract import RULES
from server import events
from server.alerts import AlertTransitionError, transition
from server.console.permissions import capabilities, check_hall, may_see_hall
from server.console.views import alert_view, board_view, hall_summary
from server.db import Alert, DutyCheck, Finding, Hall, PatrolFinding, Window, utcnow
from server.deps import CurrentUser, SessionDep, ViewerUser
from server.evidence_access import evidence_response

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["console"])
KEEPALIVE_S = 5.0  # a 'ping' event this often: the console marks the stream dead after 3 missed ones
SSE_WRITE_MAX = 200  # events sent in one write when a burst is waiting


class MeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int = Field(description="User id.")
    username: str = Field(description="User name.")
    display_name: str | None = Field(description="Display name.")
    role: str = Field(description="admin | supervisor | inspector | viewer | staff.")
    hall_id: str | None = Field(description="Home hall; None = all halls.")
    can: list[str] = Field(description="Console capabilities granted by the role (drives the navigation).")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=2000, description="Why (required to dismiss as false positive).")


@router.get("/console/me", response_model=MeOut, summary="The current user with console capabilities")
def me(user: CurrentUser) -> MeOut:
    return MeOut(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                 hall_id=user.hall_id, can=capabilities(user))


@router.get("/console/halls", summary="Halls the user may see, with their windows")
def halls(user: CurrentUser, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(Hall).order_by(Hall.id))
    return [hall_summary(h) for h in rows if may_see_hall(user, h.id)]


@router.get("/console/rules", summary="Rule ids with their Chinese names")
def rules(user: ViewerUser) -> dict[str, str]:
    return dict(RULES)


def _day_range(day: str, tz: str) -> tuple[dt.datetime, dt.datetime]:
    try:
        d = dt.date.fromisoformat(day)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"date must be YYYY-MM-DD, got {day!r}") from None
    start = dt.datetime.combine(d, dt.time(0), tzinfo=ZoneInfo(tz))
    return start, start + dt.timedelta(days=1)


@router.get("/console/alerts", summary="Alert feed with filters and search (newest first)")
def list_alerts(user: ViewerUser, session: SessionDep, hall_id: str | None = None, window_id: str | None = None,
                rule: str | None = None, severity: str | None = None,
                status_filter: str | None = Query(default=None, alias="status"),
                date: str | None = None, q: str | None = Query(default=None, max_length=200),
                limit: int = Query(default=200, ge=1, le=500),
                offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[dict[str, Any]]:
    return [alert_view(session, a) for a in _alerts(session, user, hall_id, window_id, rule, severity, status_filter,
                                                    date, q, limit, offset)]


def _alerts(session: Any, user: Any, hall_id: str | None, window_id: str | None, rule: str | None,
            severity: str | None, status_filter: str | None, date: str | None, q: str | None, limit: int,
            offset: int) -> list[Alert]:
    """The feed's alerts, most urgent first: open critical alarms, then escalated ones, then newest first."""
    stmt = select(Alert).join(Finding, Alert.finding_id == Finding.id)
    if hall_id:
        stmt = stmt.where(Alert.hall_id == hall_id)
    if user.hall_id is not None:
        stmt = stmt.where(Alert.hall_id == user.hall_id)
    if window_id:
        stmt = stmt.join(Window, Finding.window_id == Window.id).where(Window.code == window_id)
    if rule:
        stmt = stmt.where(Finding.rule == rule)
    if severity:
        stmt = stmt.where(Finding.severity == severity)
    if status_filter == "escalated":
        stmt = stmt.where(Alert.escalated.is_(True))
    elif status_filter:
        stmt = stmt.where(Alert.status == status_filter)
    if date:
        hall = session.get(Hall, hall_id or user.hall_id) if (hall_id or user.hall_id) else None
        start, end = _day_range(date, hall.timezone if hall else "Asia/Shanghai")
        stmt = stmt.where(Finding.started_at >= start, Finding.started_at < end)
    unresolved = Alert.status.in_(("open", "acknowledged"))
    urgency = case((and_(Finding.severity == "critical", unresolved), 0),
                   (and_(Alert.escalated.is_(True), unresolved), 1), else_=2)
    if q and q.strip():
        stmt = stmt.where(search_condition(session, q))
    stmt = stmt.order_by(urgency, Finding.started_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
    stmt = stmt.options(selectinload(Alert.finding).selectinload(Finding.evidence_links))
    alerts = list(session.scalars(stmt))
    session.info["console_site_rows"] = _site_rows(session, [a.finding for a in alerts])  # held: see _site_rows
    return alerts


EXPORT_COLUMNS = (("id", "编号", "No."), ("started_at", "开始时间", "Started"), ("hall", "大厅", "Hall"),
                  ("location", "位置", "Location"), ("rule", "规则", "Rule"), ("severity", "级别", "Severity"),
                  ("status", "状态", "Status"), ("escalated", "已升级", "Escalated"))
EXPORT_WORDS = {
    "zh": {"info": "提示", "warning": "一般", "major": "较重", "critical": "严重", "open": "待处理",
           "acknowledged": "已确认收到", "confirmed": "已核实", "dismissed": "误报", "closed": "已关闭",
           True: "是", False: "否"},
    "en": {"info": "Info", "warning": "Warning", "major": "Major", "critical": "Critical", "open": "Open",
           "acknowledged": "Acknowledged", "confirmed": "Confirmed", "dismissed": "False positive",
           "closed": "Closed", True: "yes", False: "no"},
}


@router.get("/console/alerts/export.csv", summary="The feed as CSV (same filters; Chinese or English)")
def export_alerts(user: ViewerUser, session: SessionDep, hall_id: str | None = None, window_id: str | None = None,
                  rule: str | None = None, severity: str | None = None,
                  status_filter: str | None = Query(default=None, alias="status"),
                  date: str | None = None, q: str | None = Query(default=None, max_length=200),
                  lang: Literal["zh", "en"] = "zh") -> Response:
    import csv
    import io

    from server.console.rule_names import RULE_EN

    words = EXPORT_WORDS[lang]
    halls = {h.id: h for h in session.scalars(select(Hall))}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([zh if lang == "zh" else en for _, zh, en in EXPORT_COLUMNS])
    for a in _alerts(session, user, hall_id, window_id, rule, severity, status_filter, date, q, 10_000, 0):
        v = alert_view(session, a)
        hall = halls.get(a.hall_id)
        tz = ZoneInfo(hall.timezone) if hall else ZoneInfo("Asia/Shanghai")
        started = a.finding.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        w.writerow([a.id, started, hall.name if hall else a.hall_id, v["location"] or "",
                    v["rule_name"] if lang == "zh" else RULE_EN.get(v["rule"], v["rule"]),
                    words.get(v["severity"], v["severity"]), words.get(v["status"], v["status"]),
                    words[bool(v["escalated"])]])
    name = f"alerts-{utcnow():%Y%m%d-%H%M}.csv"
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _site_rows(session: Any, findings: list[Finding]) -> list[Any]:
    """Load the windows, cameras and sensors the findings name in three queries; the caller keeps them referenced
    for the request (the session's identity map holds objects weakly, so ``session.get`` would otherwise query
    them row by row)."""
    from server.db import Camera, Sensor

    rows: list[Any] = []
    for model, attr in ((Window, "window_id"), (Camera, "camera_id"), (Sensor, "sensor_id")):
        ids = {getattr(f, attr) for f in findings if getattr(f, attr) is not None}
        if ids:
            rows.extend(session.scalars(select(model).where(model.id.in_(ids))))
    return rows


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_condition(session: Any, q: str) -> Any:
    """Where-clause of the feed search: rule id or name, window / camera / sensor code or name, hall id, or any
    text in the finding details. The small site tables are matched first (their ids go into the clause); the
    details are matched in SQL: on PostgreSQL as ``lower((details::jsonb)::text)``, which the trigram index of
    migration 0402 serves (jsonb prints CJK characters as they are), on SQLite as the stored JSON text."""
    from server.db import Camera, Sensor

    needle = q.strip().lower()[:200]
    pattern = _like(needle)
    conds: list[Any] = []
    rules = [r for r, zh in RULES.items() if needle in r.lower() or needle in zh.lower()]
    if rules:
        conds.append(Finding.rule.in_(rules))
    for model, col in ((Window, Finding.window_id), (Camera, Finding.camera_id), (Sensor, Finding.sensor_id)):
        ids = list(session.scalars(select(model.id).where(or_(func.lower(model.code).like(pattern, escape="\\"),
                                                              func.lower(model.name).like(pattern, escape="\\")))))
        if ids:
            conds.append(col.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        text_of = func.lower(cast(cast(Finding.details, JSONB), Text))
        conds.append(text_of.like(pattern, escape="\\"))
    else:
        conds.append(func.lower(cast(Finding.details, Text)).like(pattern, escape="\\"))
        escaped = json.dumps(needle)[1:-1].lower()  # the stored JSON text escapes CJK as \uXXXX
        if escaped != needle:
            conds.append(func.lower(cast(Finding.details, Text)).like(_like(escaped), escape="\\"))
    return or_(*conds)


def signed_quarter(session: Any, alert: Alert) -> str | None:
    """The signed-off quarter a decided alert falls in (its sheet needs an amendment, 更正), else None."""
    from server.assessment.models import AssessmentSignoff

    hall = session.get(Hall, alert.hall_id)
    local = alert.finding.started_at.astimezone(ZoneInfo(hall.timezone if hall else "Asia/Shanghai"))
    label = f"{local.year}Q{(local.month - 1) // 3 + 1}"
    row = session.scalars(select(AssessmentSignoff.id).where(AssessmentSignoff.hall_id == alert.hall_id,
                                                             AssessmentSignoff.period == label)).first()
    return label if row is not None else None


def _alert(session: SessionDep, user: Any, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or not may_see_hall(user, alert.hall_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"alert {alert_id} not found")
    return alert


@router.get("/console/alerts/{alert_id}", summary="Alert detail: evidence, sensor readings, timeline")
def get_alert(alert_id: int, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    return alert_view(session, _alert(session, user, alert_id), detail=True)


@router.post("/console/alerts/{alert_id}/{action}", summary="acknowledge | confirm | dismiss (with a comment)")
def act(alert_id: int, action: str, body: ActionIn, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    if action not in ("acknowledge", "confirm", "dismiss", "close"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown action {action!r}")
    alert = _alert(session, user, alert_id)
    try:
        transition(session, alert, action, user, body.comment)
    except AlertTransitionError as exc:
        code = {"forbidden": 403, "conflict": 409}.get(exc.code, 422)
        raise HTTPException(code, exc.detail) from None
    session.flush()
    view = alert_view(session, alert, detail=True)
    view["needs_amendment"] = signed_quarter(session, alert) if action in ("confirm", "dismiss") else None
    view["patrol_finding_id"] = session.scalars(
        select(PatrolFinding.id).where(PatrolFinding.alert_id == alert.id)).first()
    return view


@router.get("/console/halls/{hall_id}/board", summary="Hall board: windows, roster, open alerts, health")
def board(hall_id: str, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    hall = check_hall(user, session.get(Hall, hall_id), hall_id)
    return board_view(session, hall, utcnow())


@router.get("/console/evidence/{sha256}", summary="An evidence file (snapshot, clip, chart, patrol photo)")
def evidence_file(sha256: str, request: Request, user: ViewerUser, session: SessionDep):
    return evidence_response(request, session, sha256, user)


# ----------------------------------------------------------------------------- live events (SSE)

RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def _lookup(factory: Any, fn: Any) -> Any:
    """Run ``fn(session)`` until it finds its row. Events can be broadcast a moment before their transaction is
    visible to other connections (the core's after_commit also fires on SAVEPOINT release), so retry briefly."""
    for delay in (0.0, *RETRY_DELAYS_S):
        if delay:
            time.sleep(delay)
        with factory() as s:
            found = fn(s)
        if found is not None:
            return found
    return None


_ROW_EVENTS = ("finding.updated", "finding.closed")  # with an alert_id, like every alert.* event


def _names_rows(ev: dict[str, Any]) -> bool:
    """Whether the console shows this event from rows it names (an alert, a finding's alert, a duty check)."""
    etype = str(ev.get("type", ""))
    if etype == "duty_check.result":
        return True
    return (etype.startswith("alert.") or etype in _ROW_EVENTS) and ev.get("alert_id") is not None


def _reads_database(ev: dict[str, Any]) -> bool:
    """Whether ``_console_event`` looks rows up for this event: one that names rows and was not rendered when its
    transaction committed (``render_console_events``)."""
    return _names_rows(ev) and "console" not in ev


def _row_view(s: Session, ev: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(SSE event name, data) for an event that names rows, read with ``s``; None while the row is not there (or
    the duty check is still pending)."""
    etype = str(ev.get("type", ""))
    if etype == "duty_check.result":
        chk = s.scalars(select(DutyCheck).where(DutyCheck.request_id == ev.get("request_id"))).first()
        if chk is None or chk.status == "pending":
            return None
        return "duty_check", {"id": chk.id, "hall_id": chk.hall_id, "status": chk.status}
    alert = s.get(Alert, ev["alert_id"])
    if alert is None:
        return None
    return ("alert" if etype == "alert.opened" else "alert.updated"), alert_view(s, alert)


def render_console_events(session: Session, pending: list[dict[str, Any]]) -> None:
    """Renderer for ``server.events``: the console's view of each event that names rows, built in the transaction
    that commits it, so no console stream in any server process reads the database for it."""
    for ev in pending:
        if _reads_database(ev):
            view = _row_view(session, ev)
            if view is not None:
                ev["console"] = list(view)


def _console_event(factory: Any, user_hall: str | None, ev: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Map a core event to what the console shows; None to skip it."""
    hall_id = ev.get("hall_id")
    if user_hall is not None and hall_id is not None and hall_id != user_hall:
        return None
    etype = str(ev.get("type", ""))
    if _names_rows(ev):
        if "console" in ev:
            name, data = ev["console"]
            return name, data
        return _lookup(factory, lambda s: _row_view(s, ev))
    if etype == "window.state":
        return "window", ev
    if etype in ("edge.heartbeat", "edge.status"):
        return "health", {"hall_id": hall_id, "edge": ev.get("edge")}
    if etype == "console.safety_check":
        return "safety_check", ev
    return None


@router.get("/events/stream", summary="Live events for the console (Server-Sent Events)")
async def stream(request: Request, user: ViewerUser) -> StreamingResponse:
    factory = request.app.state.sessionmaker
    user_hall = user.hall_id

    async def render(ev: dict[str, Any]) -> str:
        try:
            if _reads_database(ev):
                mapped = await run_in_threadpool(_console_event, factory, user_hall, ev)
            else:  # live state and views rendered at commit pass through: no thread hop
                mapped = _console_event(factory, user_hall, ev)
        except Exception:  # noqa: BLE001 - one bad event must not end the stream
            log.exception("console: could not render live event %s", ev.get("type"))
            return ""
        if mapped is None:
            return ""
        name, data = mapped
        return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"

    async def gen():
        async with events.subscribe() as queue:
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    ev = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield "event: ping\ndata: {}\n\n"
                    continue
                # what else is already waiting goes out in the same write (alerts first, as the queue hands them)
                parts = [await render(ev)]
                while not queue.empty() and len(parts) < SSE_WRITE_MAX:
                    parts.append(await render(queue.get_nowait()))
                text = "".join(parts)
                if text:
                    yield text

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
