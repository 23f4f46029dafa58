"""Role × hall × endpoint, generated from the OpenAPI: a user bound to hall A never reaches hall B's objects.

Every operation of ``app.openapi()`` is either classified below (public, own account, edge or integration
credentials, global-only, hall-filtered list) or has path parameters this test knows how to fill with hall B's
objects; a new route that is neither fails ``test_every_route_is_classified``. For each hall route an admin,
a supervisor and a viewer of hall A get 403 or 404, and a global admin reaches the same object (not 404), so the
ids point at real rows and the check is not vacuous.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import uuid

import pytest
from sqlalchemy import select

from server.db import Alert, DutyCheck, Evidence, Finding, SafetyCheck, Staff, User, Window
from server.db.security import EvidenceHall
from server.ingest import ingest
from server.siteimport import import_site
from server.testing import auth_headers, make_user, unique_site
from tests.test_ingest_service import opened

PUBLIC = {"GET /healthz", "GET /metrics", "POST /api/v1/auth/login"}
OWN = {"POST /api/v1/auth/logout", "GET /api/v1/auth/me", "GET /api/v1/console/me", "GET /api/v1/console/rules",
       "GET /api/v1/assessment/scheme", "GET /api/v1/events/stream", "GET /api/v1/people/me",
       "GET /api/v1/people/me/sheet/{period}", "GET /api/v1/people/me/evidence/{sha256}",
       "GET /api/v1/people/me/appeals", "POST /api/v1/people/me/appeals"}
EDGE = {"PUT /api/v1/evidence/{sha256}", "POST /api/v1/ingest", "PUT /api/v1/edges/live/{camera_id}"}
INTEGRATION = {"POST /api/v1/integrations/absences", "POST /api/v1/integrations/service-events"}
GLOBAL_ONLY = {"POST /api/v1/people/retention/run"}
# lists: the hall filter travels in the query (or the body); B's hall id must never appear in A's answer
LISTS = {"GET /api/v1/users": {}, "GET /api/v1/halls": {}, "GET /api/v1/findings": {"hall": "B"},
         "GET /api/v1/alerts": {"hall": "B"}, "GET /api/v1/edges": {"hall": "B"},
         "GET /api/v1/console/halls": {}, "GET /api/v1/console/alerts": {"hall_id": "B"},
         "GET /api/v1/console/patrol-findings": {"hall_id": "B"}, "GET /api/v1/console/handovers": {"hall_id": "B"},
         "GET /api/v1/county/tree": {}, "GET /api/v1/county/board": {}, "GET /api/v1/county/ranking": {},
         "GET /api/v1/console/alerts/export.csv": {"hall_id": "B"},
         "GET /api/v1/console/handovers/receivers": {"hall_id": "B"},
         "GET /api/v1/console/handovers/summary": {"hall_id": "B"},
         "GET /api/v1/console/users/audit": {}}
# writes whose hall is in the body
BODY_HALL = {"POST /api/v1/users", "POST /api/v1/edges", "POST /api/v1/console/handovers",
             "POST /api/v1/console/patrol-findings"}
# the global admin's call would send commands to edges; the foreign calls are still checked
OWNER_SKIP = {"POST /api/v1/console/halls/{hall_id}/duty-checks", "POST /api/v1/console/halls/{hall_id}/safety-checks",
              "POST /api/v1/people/channels/{channel_id}/test"}
OWNER_MAY_404 = {"GET /api/v1/assessment/halls/{hall_id}/sheets/{period}/verify",
                 "PUT /api/v1/county/users/{user_id}/region"}  # the fixture's user is no county user  # not signed: 404 for everyone

FOREIGN_ROLES = ("admin", "supervisor", "viewer")


def bodies(b: dict) -> dict[str, dict]:
    now = dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC)
    return {
        "POST /api/v1/users": {"json": {"username": f"u{uuid.uuid4().hex[:8]}", "password": "password-123",
                                        "role": "admin", "hall_id": b["hall_id"]}},
        "PATCH /api/v1/users/{user_id}": {"json": {"password": "new-password-1"}},
        # a live stream ends after ``seconds`` (a test client never disconnects)
        "GET /api/v1/console/halls/{hall_id}/live/{camera_id}.mjpeg": {"params": {"seconds": 0.3}},
        "PUT /api/v1/county/users/{user_id}/region": {"json": {"region_id": "r-any"}},
        "POST /api/v1/edges": {"json": {"hall_id": b["hall_id"], "code": "edge-x"}},
        "POST /api/v1/alerts/{alert_id}/{action}": {"json": {"comment": "x"}},
        "POST /api/v1/console/alerts/{alert_id}/{action}": {"json": {"comment": "x"}},
        "POST /api/v1/console/safety-checks/{check_id}/sign": {"json": {"comment": "x"}},
        "POST /api/v1/console/handovers": {"json": {"hall_id": b["hall_id"], "to_user_id": b["user_id"],
                                                    "notes": "x", "signature_png": b["signature_png"],
                                                    "idempotency_key": str(uuid.uuid4())}},
        "POST /api/v1/console/handovers/{handover_id}/accept": {"json": {"signature_png": b["signature_png"]}},
        "PUT /api/v1/console/halls/{hall_id}/map/markers/{kind}/{ref}": {"json": {"x": 0.5, "y": 0.5}},
        "POST /api/v1/console/halls/{hall_id}/duty-roster": {"json": {"day": now.date().isoformat(),
                                                                      "kind": "duty_officer", "name": "x"}},
        "PATCH /api/v1/console/duty-roster/{shift_id}": {"json": {"note": "changed"}},
        "POST /api/v1/console/patrol-findings": {"data": {"hall_id": b["hall_id"], "category": "other",
                                                          "description": "x"}},
        "POST /api/v1/assessment/findings/{finding_id}/reassign": {"json": {"staff_id": None, "reason": "wrong"}},
        "POST /api/v1/assessment/halls/{hall_id}/entries": {"json": {"item_id": "absent_half_day",
                                                                     "at": now.isoformat()}},
        "POST /api/v1/assessment/halls/{hall_id}/sheets/{period}/amend": {"json": {"reason": "fix it"}},
        "POST /api/v1/people/halls/{hall_id}/absences": {"json": {
            "staff_id": "S001", "kind": "leave", "start": now.isoformat(),
            "end": (now + dt.timedelta(hours=2)).isoformat(), "approver": "boss"}},
        "POST /api/v1/people/halls/{hall_id}/absences/import": {"files": {"file": ("a.csv", b"staff_id\n")}},
        "POST /api/v1/people/halls/{hall_id}/pauses": {"json": {
            "window_id": "W01", "start": now.isoformat(), "end": (now + dt.timedelta(hours=1)).isoformat(),
            "reason": "system down"}},
        "POST /api/v1/people/halls/{hall_id}/staff-accounts": {"json": {
            "staff_id": "S001", "username": f"s{uuid.uuid4().hex[:8]}", "password": "password-123"}},
        "POST /api/v1/people/appeals/{appeal_id}/decide": {"json": {"decision": "uphold", "comment": "ok"}},
        "POST /api/v1/people/halls/{hall_id}/channels": {"json": {"kind": "webhook", "name": "n",
                                                                  "url": "http://127.0.0.1:9/x"}},
        "PATCH /api/v1/people/channels/{channel_id}": {"json": {"name": "renamed"}},
        "POST /api/v1/people/halls/{hall_id}/integration-tokens": {"json": {"purpose": "queue"}},
    }


@pytest.fixture
def hall_b(app, db_session) -> dict:
    """Hall A (the callers' home) and hall B with one object of every kind a route can name."""
    from server.db import Camera, Handover
    from server.feedback.models import FeedbackSample
    from server.hallops.live import live_dir, save_picture
    from server.hallops.models import DutyShift, HallMap, MapMarker
    from server.people.models import Absence, Appeal, IntegrationToken, NotificationChannel, WindowPause

    a, b = unique_site(), unique_site()
    for cfg in (a, b):
        import_site(db_session, cfg, actor="test")
    db_session.flush()
    hb = b.hall.id
    msg = opened(hb)
    assert ingest(db_session, msg).status == "accepted"
    finding = db_session.scalars(select(Finding).where(Finding.hall_id == hb)).one()
    alert = db_session.scalars(select(Alert).where(Alert.hall_id == hb)).one()
    staff = db_session.scalars(select(Staff).where(Staff.hall_id == hb)).first()
    window = db_session.scalars(select(Window).where(Window.hall_id == hb)).first()
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "JPEG")
    data = out.getvalue() + uuid.uuid4().bytes
    sha = hashlib.sha256(data).hexdigest()
    app.state.store.put(sha, io.BytesIO(data))
    db_session.add(Evidence(sha256=sha, kind="snapshot", content_type="image/jpeg", size=len(data), stored=True))
    db_session.flush()
    db_session.add(EvidenceHall(sha256=sha, hall_id=hb))
    now = dt.datetime.now(dt.UTC)
    duty = DutyCheck(hall_id=hb, request_id=str(uuid.uuid4()))
    safety = SafetyCheck(hall_id=hb, request_id=str(uuid.uuid4()))
    absence = Absence(hall_id=hb, staff_id=staff.id, kind="leave", starts_at=now, ends_at=now + dt.timedelta(hours=1),
                      approver="x", created_by="test")
    pause = WindowPause(hall_id=hb, window_id=window.id, starts_at=now, ends_at=now + dt.timedelta(hours=1),
                        reason="x", created_by="test")
    appeal = Appeal(hall_id=hb, finding_id=finding.id, staff_id=staff.id, reason="not me")
    channel = NotificationChannel(hall_id=hb, kind="webhook", name="n", url="http://127.0.0.1:9/x", created_by="t")
    token = IntegrationToken(hall_id=hb, purpose="queue", token_hash=uuid.uuid4().hex * 2, created_by="t")
    user = User(username=f"b-{uuid.uuid4().hex[:8]}", password_hash="x", role="admin", hall_id=hb)
    sample = FeedbackSample(hall_id=hb, finding_uuid=str(uuid.uuid4()), rule="window_unstaffed",
                            label="false_positive", decided_by="t", crop_jpeg=out.getvalue())
    camera = db_session.scalars(select(Camera).where(Camera.hall_id == hb, Camera.active.is_(True))).first()
    save_picture(live_dir(app.state.settings.data_dir), hb, camera.code, out.getvalue())
    plan = HallMap(hall_id=hb, image=out.getvalue(), content_type="image/jpeg", width=8, height=8, updated_by="t")
    marker = MapMarker(hall_id=hb, kind="window", ref=window.code, x=0.5, y=0.5, updated_by="t")
    shift = DutyShift(hall_id=hb, day=now.date(), kind="duty_officer", name="x", created_by="t")
    db_session.add_all([duty, safety, absence, pause, appeal, channel, token, user, sample, plan, marker, shift])
    db_session.flush()
    handover = Handover(hall_id=hb, handed_by="x", status="pending", to_user_id=user.id, summary={})
    db_session.add(handover)
    db_session.commit()
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 0)).save(png, "PNG")
    return {"A": a.hall.id, "hall_id": hb, "alert_id": alert.id, "finding_pk": finding.id,
            "finding_id": str(finding.finding_id), "check_id": None, "duty_check_id": duty.id,
            "safety_check_id": safety.id, "sha256": sha, "absence_id": absence.id, "pause_id": pause.id,
            "appeal_id": appeal.id, "channel_id": channel.id, "sample_id": sample.id, "token_id": token.id, "user_id": user.id,
            "period": "2026Q3", "kind": "windows", "subject_id": window.code, "fmt": "csv",
            "action": "acknowledge", "handover_id": handover.id, "camera_id": camera.code, "shift_id": shift.id,
            "marker_kind": "window", "marker_ref": window.code,
            "signature_png": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()}


def operations(app) -> list[tuple[str, str]]:
    return [(m.upper(), path) for path, item in app.openapi()["paths"].items() for m in item
            if m in ("get", "post", "put", "patch", "delete")]


def fill(path: str, b: dict) -> str | None:
    def value(m: re.Match) -> str:
        name = m.group(1)
        if name == "check_id":
            name = "duty_check_id" if "/duty-checks/" in path else "safety_check_id"
        if "/map/markers/" in path and name in ("kind", "ref"):
            name = f"marker_{name}"
        return str(b[name])

    try:
        return re.sub(r"\{(\w+)\}", value, path)
    except KeyError:
        return None


def test_every_route_is_classified(app, hall_b) -> None:
    known = PUBLIC | OWN | EDGE | INTEGRATION | GLOBAL_ONLY | set(LISTS) | BODY_HALL
    unclassified = [f"{m} {p}" for m, p in operations(app)
                    if f"{m} {p}" not in known and ("{" not in p or fill(p, hall_b) is None)]
    assert not unclassified, f"routes without a hall classification (add a hall check and a row here): {unclassified}"


def call(client, method: str, url: str, headers: dict, spec: dict, params: dict | None = None):
    spec = dict(spec)
    params = {**spec.pop("params", {}), **(params or {})} or None
    return client.request(method, url, headers=headers, params=params, **spec)


@pytest.mark.parametrize("role", FOREIGN_ROLES)
def test_hall_bound_users_never_reach_another_hall(client, db_session, hall_b, role) -> None:
    me = make_user(db_session, role)
    me.hall_id = hall_b["A"]
    db_session.commit()
    h = auth_headers(me)
    sample = bodies(hall_b)
    leaks = []
    for method, path in operations(client.app):
        op = f"{method} {path}"
        if op in PUBLIC | OWN | EDGE | INTEGRATION:
            continue
        if op in LISTS:
            params = {k: hall_b["hall_id"] for k in LISTS[op]}
            r = call(client, method, path, h, {}, params)
            if r.status_code < 300 and hall_b["hall_id"] in r.text:
                leaks.append((op, r.status_code, "B in the answer"))
            continue
        url = fill(path, hall_b) if "{" in path else path
        r = call(client, method, url, h, sample.get(op, {}))
        if r.status_code not in (401, 403, 404):
            leaks.append((op, r.status_code, r.text[:120]))
    assert not leaks, leaks


def test_global_admin_reaches_the_same_objects(client, db_session, hall_b) -> None:
    h = auth_headers(make_user(db_session, "admin"))
    sample = bodies(hall_b)
    missing = []
    for method, path in operations(client.app):
        op = f"{method} {path}"
        if "{" not in path or op in PUBLIC | OWN | EDGE | INTEGRATION | OWNER_SKIP | set(LISTS):
            continue
        r = call(client, method, fill(path, hall_b), h, sample.get(op, {}))
        if r.status_code >= 500 or (r.status_code == 404 and op not in OWNER_MAY_404):
            missing.append((op, r.status_code, r.text[:120]))
    assert not missing, missing


def test_hall_bound_admin_cannot_create_or_reset_global_admins(client, db_session, hall_b) -> None:
    boss = make_user(db_session, "admin")  # global
    local = make_user(db_session, "admin")
    local.hall_id = hall_b["A"]
    db_session.commit()
    h = auth_headers(local)
    r = client.post("/api/v1/users", json={"username": f"g{uuid.uuid4().hex[:6]}", "password": "password-123",
                                           "role": "admin", "hall_id": None}, headers=h)
    assert r.status_code == 201 and r.json()["hall_id"] == hall_b["A"], "a user created by a hall admin stays there"
    assert client.patch(f"/api/v1/users/{boss.id}", json={"password": "taken-over-1"}, headers=h).status_code == 404
    assert {u["hall_id"] for u in client.get("/api/v1/users", headers=h).json()} == {hall_b["A"]}
    assert client.post("/api/v1/people/retention/run", headers=h).status_code == 403


def test_reassign_checks_the_findings_hall(client, db_session, hall_b) -> None:
    sup = make_user(db_session, "supervisor")
    sup.hall_id = hall_b["A"]
    db_session.commit()
    r = client.post(f"/api/v1/assessment/findings/{hall_b['finding_id']}/reassign",
                    json={"staff_id": None, "reason": "not theirs"}, headers=auth_headers(sup))
    assert r.status_code == 404
