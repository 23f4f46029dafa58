"""The people API through the real app on the test database: approved absence (entry, import, push), pauses
(server-side suppression, the sheet line with the approval), appeals (a clerk sees only their own record), and
who may call what."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from edge.paths import PROJECT_ROOT
from server.db import AuditLog, User
from server.testing import *  # fixtures: client, db_session, …
from server.testing import auth_headers
from tests.people_helpers import TZ, Hall, local, make_hall

EXAMPLE = PROJECT_ROOT / "configs" / "examples" / "absences.csv"


@pytest.fixture
def hall(client, db_session) -> Hall:
    return make_hall(client, db_session)


def absence(staff="S001", kind="leave", start=None, end=None, **kw):
    start = start or local(2026, 11, 23, 8, 30)
    return {"staff_id": staff, "kind": kind, "start": start.isoformat(),
            "end": (end or start + dt.timedelta(hours=4)).isoformat(), "approver": "李科长", **kw}


def staff_login(hall: Hall, staff: str) -> dict[str, str]:
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/staff-accounts", "admin",
                  json={"staff_id": staff, "username": f"{staff}-{hall.hall_id}", "password": "clerk-pass-1"})
    assert r.status_code == 201, r.text
    return auth_headers(hall.session.get(User, r.json()["user_id"]))


# --------------------------------------------------------------------------- absences


def test_absence_entry_list_cancel_and_audit(hall):
    url = f"/api/v1/people/halls/{hall.hall_id}/absences"
    r = hall.post(url, json=absence())
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["staff"], a["kind"], a["approver"], a["status"], a["source"]) == (
        {"id": "S001", "name": "王建国"}, "leave", "李科长", "approved", "console")
    cover = hall.post(url, json=absence("S009", "cover", window_id="W01", covers_staff_id="S001"))
    assert cover.status_code == 201 and cover.json()["window"]["id"] == "W01", cover.text
    listed = hall.get(f"{url}?since=2026-11-23&until=2026-11-23").json()
    assert {x["id"] for x in listed} == {a["id"], cover.json()["id"]}
    assert hall.get(f"{url}?since=2026-11-24").json() == []
    assert [x["id"] for x in hall.get(f"{url}?staff_id=S001").json()] == [cover.json()["id"], a["id"]]  # covers S001
    assert hall.post(f"/api/v1/people/absences/{a['id']}/cancel").json()["status"] == "cancelled"
    assert [x["id"] for x in hall.get(url).json()] == [cover.json()["id"]]
    assert len(hall.get(f"{url}?include_cancelled=true").json()) == 2
    actions = set(hall.session.scalars(select(AuditLog.action).where(AuditLog.entity_type == "absence",
                                                                     AuditLog.entity_id == str(a["id"]))))
    assert actions == {"absence.create", "absence.cancel"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (absence(end=local(2026, 11, 23, 8, 0)), "not after start"),
        (absence(staff="S999"), "unknown staff"),
        (absence(kind="cover"), "needs the window covered"),
        (absence(kind="cover", window_id="W77"), "unknown window"),
        (absence(staff="S001", kind="cover", window_id="W01", covers_staff_id="S001"), "cannot cover their own"),
        (absence(approver=" "), "needs its approver"),
        (absence(end=local(2028, 1, 1)), "at most 366 days"),
    ],
)
def test_bad_absences_are_refused_with_the_reason(hall, body, error):
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/absences", json=body)
    assert r.status_code == 422 and error in r.text, r.text


def test_naive_times_are_refused(hall):
    body = absence()
    body["start"] = "2026-11-23T08:30:00"
    assert hall.post(f"/api/v1/people/halls/{hall.hall_id}/absences", json=body).status_code == 422


def test_import_example_csv_then_again_unchanged(hall):
    url = f"/api/v1/people/halls/{hall.hall_id}/absences/import"
    data = EXAMPLE.read_bytes()
    dry = hall.post(f"{url}?dry_run=true", files={"file": ("absences.csv", data, "text/csv")}).json()
    assert dry == {"rows": 5, "created": 5, "updated": 0, "unchanged": 0, "cancelled": 0, "errors": [], "dry_run": True}
    assert hall.get(f"/api/v1/people/halls/{hall.hall_id}/absences").json() == []  # a dry run writes nothing
    first = hall.post(url, files={"file": ("absences.csv", data, "text/csv")}).json()
    assert (first["created"], first["errors"]) == (5, [])
    again = hall.post(url, files={"file": ("absences.csv", data, "text/csv")}).json()
    assert (again["created"], again["unchanged"]) == (0, 5)
    rows = {x["external_id"]: x for x in hall.get(f"/api/v1/people/halls/{hall.hall_id}/absences").json()}
    when = dt.datetime.fromisoformat
    assert when(rows["QJ-2026-1102"]["start"]) == local(2026, 11, 24, 0)  # dates in hall time,
    assert when(rows["QJ-2026-1102"]["end"]) == local(2026, 11, 26, 0)  # the end date included
    assert rows["DG-2026-0012"]["kind"] == "cover" and rows["DG-2026-0012"]["covers"]["id"] == "S007"
    assert rows["GC-2026-0031"]["kind"] == "official" and rows["QJ-2026-1101"]["source"] == "import"


def test_import_gb18030_csv_with_bad_rows_keeps_the_good_ones(hall):
    text = ("编号,工号,姓名,类型,开始,结束,批准人,状态\n"
            "A1,S001,王建国,请假,2026-11-23 08:30,2026-11-23 12:00,李科长,已批准\n"
            "A2,S002,错名字,请假,2026-11-23,2026-11-23,李科长,\n"
            "A3,S003,张伟,旅游,2026-11-23,2026-11-23,李科长,\n"
            "A4,S004,刘洋,公出,2026-11-23 17:00,2026-11-23 09:00,李科长,\n"
            "A1,S001,王建国,请假,2026-11-23 08:30,2026-11-23 11:00,李科长,\n"  # the same record corrected
            "A9,S001,,请假,2026-11-20,2026-11-20,李科长,已撤销\n")  # cancels nothing known
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/absences/import",
                  files={"file": ("考勤.csv", text.encode("gb18030"), "text/csv")})
    rep = r.json()
    assert (rep["created"], rep["updated"]) == (1, 1), rep
    assert [(e["row"], e["error"].split(" ")[0]) for e in rep["errors"]] == [
        (3, "name"), (4, "unknown"), (5, "end"), (7, "no")]
    (a1,) = hall.get(f"/api/v1/people/halls/{hall.hall_id}/absences").json()
    assert dt.datetime.fromisoformat(a1["end"]) == local(2026, 11, 23, 11)


def test_import_xlsx_and_cancel_by_record_id(hall):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["id", "staff_id", "kind", "start", "end", "approver", "status"])
    ws.append(["X1", "S005", "training", dt.datetime(2026, 11, 24, 8, 30), dt.date(2026, 11, 24), "中心 赵主任", ""])
    buf = io.BytesIO()
    wb.save(buf)
    url = f"/api/v1/people/halls/{hall.hall_id}/absences/import"
    rep = hall.post(url, files={"file": ("a.xlsx", buf.getvalue(), "application/octet-stream")}).json()
    assert (rep["created"], rep["errors"]) == (1, []), rep
    ws.append(["X1", "S005", "training", dt.datetime(2026, 11, 24, 8, 30), dt.date(2026, 11, 24), "赵主任", "cancelled"])
    ws.delete_rows(2)
    buf = io.BytesIO()
    wb.save(buf)
    rep = hall.post(url, files={"file": ("a.xlsx", buf.getvalue(), "application/octet-stream")}).json()
    assert rep["cancelled"] == 1, rep
    assert hall.get(f"/api/v1/people/halls/{hall.hall_id}/absences").json() == []


@pytest.mark.parametrize(
    ("content", "name", "error"),
    [(b"PK\x03\x04 broken", "a.xlsx", "not a readable XLSX"), (b"\xff\xfe\x00\x00\x81", "a.csv", "neither UTF-8"),
     ("姓名,类型\n王建国,请假\n".encode(), "a.csv", "missing column"), (b"", "a.csv", "empty")],
)
def test_unreadable_import_files(hall, content, name, error):
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/absences/import", files={"file": (name, content, "text/csv")})
    assert r.status_code == 422 and error in r.text, r.text


def test_attendance_system_pushes_with_its_token(hall):
    tok = hall.post(f"/api/v1/people/halls/{hall.hall_id}/integration-tokens", "admin",
                    json={"purpose": "attendance", "label": "考勤系统"}).json()["token"]
    queue_tok = hall.post(f"/api/v1/people/halls/{hall.hall_id}/integration-tokens", "admin",
                          json={"purpose": "queue"}).json()["token"]
    body = {"records": [absence(external_id="K-1"), absence("S999", external_id="K-2"), {"staff_id": "S001"},
                        absence("S002", external_id="K-3")]}
    assert hall.client.post("/api/v1/integrations/absences", json=body).status_code == 401
    assert hall.client.post("/api/v1/integrations/absences", json=body,
                            headers={"Authorization": f"Bearer {queue_tok}"}).status_code == 401  # wrong purpose
    r = hall.client.post("/api/v1/integrations/absences", json=body, headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["created"] == 2 and [x["index"] for x in out["rejected"]] == [1, 2], out
    cancel = {"records": [{"external_id": "K-1", "cancelled": True}]}
    assert hall.client.post("/api/v1/integrations/absences", json=cancel,
                            headers={"Authorization": f"Bearer {tok}"}).json()["cancelled"] == 1
    (left,) = hall.get(f"/api/v1/people/halls/{hall.hall_id}/absences").json()
    assert (left["external_id"], left["source"]) == ("K-3", "api")


# --------------------------------------------------------------------------- leave and pause on the sheet


def test_a_on_leave_is_judged_on_b(hall):
    hall.post(f"/api/v1/people/halls/{hall.hall_id}/absences", json=absence())  # S001 (W01 A) 08:30-12:30
    during = hall.finding("phone_use", "W01", local(2026, 11, 23, 10), duration_s=60)
    after = hall.finding("phone_use", "W01", local(2026, 11, 23, 14), duration_s=60)
    hall.confirm(during)
    hall.confirm(after)
    base = f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026-11"
    lines = {ln["ref_id"]: ln for ln in hall.get(f"{base}/windows/W01").json()["sheet"]["lines"]}
    assert (lines[during]["staff_id"], lines[during]["attribution"]) == ("S002", "stand_in")
    assert lines[during]["approval"]["effect"] == "reattributed"
    assert lines[during]["approval"]["items"][0]["staff_id"] == "S001"
    assert (lines[after]["staff_id"], lines[after]["attribution"], lines[after]["approval"]) == ("S001", "roster_a", None)
    assert hall.get(f"{base}/staff/S002").json()["sheet"]["score"] == 99.0
    assert hall.get(f"{base}/staff/S001").json()["sheet"]["score"] == 99.0  # only the afternoon one
    ctx = hall.get(f"/api/v1/people/alerts/{hall.alert(during)['id']}/context").json()
    assert ctx["charged"] == {"staff_id": "S002", "name": "李秀英", "basis": "stand_in"}


def test_pause_suppresses_presence_findings_and_the_sheet_shows_it(hall):
    before = hall.finding("window_unstaffed", "W02", local(2026, 11, 23, 9, 30))  # already open when paused
    smoking = hall.finding("smoking", "W02", local(2026, 11, 23, 9, 40), severity="major")
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/pauses",
                  json={"window_id": "W02", "start": local(2026, 11, 23, 9).isoformat(),
                        "end": local(2026, 11, 23, 11).isoformat(), "reason": "系统升级，暂停受理"})
    assert r.status_code == 201, r.text
    assert hall.alert(before)["status"] == "dismissed"
    arriving = hall.finding("window_unstaffed", "W02", local(2026, 11, 23, 10, 30), duration_s=2400)
    later = hall.finding("window_unstaffed", "W02", local(2026, 11, 23, 11, 30), duration_s=2400)
    late = hall.finding("late_arrival", "W02", local(2026, 11, 23, 9), duration_s=600)
    assert [hall.alert(f)["status"] for f in (arriving, later, late, smoking)] == [
        "dismissed", "open", "dismissed", "open"]  # smoking is still a violation at a paused window
    detail = hall.get(f"/api/v1/alerts/{hall.alert(arriving)['id']}").json()
    last = detail["events"][-1]
    assert (last["actor"], last["to_status"]) == ("system:approval", "dismissed") and "系统升级" in last["comment"]
    hall.confirm(later)
    lines = {ln["ref_id"]: ln for ln in hall.get(
        f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026-11/windows/W02").json()["sheet"]["lines"]}
    assert set(lines) == {before, arriving, late, later}
    for fid in (before, arriving, late):
        assert (lines[fid]["kind"], lines[fid]["points"]) == ("not_deducted", 0.0)
        assert lines[fid]["approval"]["items"][0]["reason"] == "系统升级，暂停受理"
    assert (lines[later]["kind"], lines[later]["points"]) == ("deduction", 0.5)
    csv_text = hall.get(f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026Q4/export.csv").content.decode()
    assert "已批准，不扣分：暂停服务" in csv_text
    ctx = hall.get(f"/api/v1/people/alerts/{hall.alert(arriving)['id']}/context").json()
    assert ctx["approval"]["effect"] == "suppressed" and ctx["status"] == "excused"


def test_pause_plan_lists_current_and_coming_pauses(hall):
    now = dt.datetime.now(TZ)
    url = f"/api/v1/people/halls/{hall.hall_id}/pauses"
    past = hall.post(url, json={"window_id": "W01", "start": (now - dt.timedelta(hours=3)).isoformat(),
                                "end": (now - dt.timedelta(hours=2)).isoformat(), "reason": "已结束"}).json()
    soon = hall.post(url, json={"window_id": "W03", "start": (now + dt.timedelta(hours=1)).isoformat(),
                                "end": (now + dt.timedelta(hours=2)).isoformat(), "reason": "培训"}).json()
    plan = hall.get(f"/api/v1/people/halls/{hall.hall_id}/pause-plan").json()
    assert [(p["window_id"], p["reason"]) for p in plan] == [("W03", "培训")]
    assert not past["active"] and not soon["active"]
    hall.post(f"/api/v1/people/pauses/{soon['id']}/cancel")
    assert hall.get(f"/api/v1/people/halls/{hall.hall_id}/pause-plan").json() == []
    bad = hall.post(url, json={"window_id": "W03", "start": now.isoformat(), "end": now.isoformat(), "reason": "x"})
    assert bad.status_code == 422


# --------------------------------------------------------------------------- appeals


def test_clerk_sees_only_their_own_record_and_appeals(hall, media_dir):
    pic = hall.upload(min((media_dir / "images" / "smoking").glob("*.jpg")))
    other_pic = hall.upload(sorted((media_dir / "images" / "smoking").glob("*.jpg"))[1])
    mine = hall.finding("phone_use", "W01", local(2026, 11, 24), duration_s=90, evidence=[pic])
    theirs = hall.finding("phone_use", "W02", local(2026, 11, 24), duration_s=90, evidence=[other_pic])
    pending = hall.finding("phone_use", "W01", local(2026, 11, 25), duration_s=90)
    hall.confirm(mine)
    hall.confirm(theirs)
    clerk = staff_login(hall, "S001")
    c = hall.client
    me = c.get("/api/v1/people/me", headers=clerk).json()
    assert me["staff"] == {"id": "S001", "name": "王建国", "department": "农业农村办"}
    sheet = c.get("/api/v1/people/me/sheet/2026-11", headers=clerk).json()
    (line,) = sheet["sheet"]["lines"]
    assert (line["ref_id"], line["can_appeal"], line["appeal"]) == (mine, True, None)
    assert c.get(f"/api/v1/people/me/evidence/{pic.sha256}", headers=clerk).status_code == 200
    assert c.get(f"/api/v1/people/me/evidence/{other_pic.sha256}", headers=clerk).status_code == 404
    for path in (f"/api/v1/findings?hall={hall.hall_id}", f"/api/v1/console/alerts?hall_id={hall.hall_id}",
                 f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026-11", f"/api/v1/console/evidence/{pic.sha256}",
                 f"/api/v1/people/halls/{hall.hall_id}/absences", f"/api/v1/people/halls/{hall.hall_id}/appeals"):
        assert c.get(path, headers=clerk).status_code == 403, path
    assert c.get("/api/v1/console/me", headers=clerk).json()["can"] == ["own_record"]
    url = "/api/v1/people/me/appeals"
    assert c.post(url, headers=clerk, json={"finding_id": theirs, "reason": "不是我"}).status_code == 403
    assert c.post(url, headers=clerk, json={"finding_id": pending, "reason": "未核实"}).status_code == 409
    r = c.post(url, headers=clerk, json={"finding_id": mine, "reason": "当时在用手机查询政策文件，属工作需要"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.json()["finding"]["finding_id"] == mine
    assert c.post(url, headers=clerk, json={"finding_id": mine, "reason": "再次申诉"}).status_code == 409
    other_clerk = staff_login(hall, "S003")
    assert c.get(url, headers=other_clerk).json() == []
    assert c.post(f"/api/v1/people/appeals/{r.json()['id']}/decide", headers=clerk,
                  json={"decision": "withdraw", "comment": "自己批准"}).status_code == 403
    listed = hall.get(f"/api/v1/people/halls/{hall.hall_id}/appeals?status=pending", "supervisor").json()
    assert [a["id"] for a in listed] == [r.json()["id"]]
    assert hall.get(f"/api/v1/people/halls/{hall.hall_id}/appeals", "viewer").status_code == 403
    d = hall.post(f"/api/v1/people/appeals/{r.json()['id']}/decide",
                  json={"decision": "withdraw", "comment": "调阅录像：查询的是政策文件"})
    assert d.status_code == 200 and d.json()["status"] == "withdrawn" and d.json()["amendment"] is None, d.text
    assert c.get("/api/v1/people/me/sheet/2026-11", headers=clerk).json()["sheet"]["lines"] == []
    assert hall.get(f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026-11/staff/S001").json()["sheet"]["score"] == 100
    again = hall.post(f"/api/v1/people/appeals/{r.json()['id']}/decide", json={"decision": "uphold", "comment": "改判"})
    assert again.status_code == 409


def test_appeal_window_and_withdrawal_on_a_signed_quarter(hall):
    clerk = staff_login(hall, "S005")
    late = hall.finding("smoking", "W03", local(2026, 8, 10), duration_s=60)
    ontime = hall.finding("smoking", "W03", local(2026, 8, 12), duration_s=60)
    upheld = hall.finding("smoking", "W03", local(2026, 8, 13), duration_s=60)
    for f in (late, ontime, upheld):
        hall.confirm(f)
    from server.db import Alert

    old = hall.session.get(Alert, hall.alert(late)["id"])
    old.decided_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)  # confirmed 8 days ago
    hall.session.commit()
    signed = hall.post(f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026Q3/sign-off")
    assert signed.status_code == 201, signed.text
    sheet = hall.client.get("/api/v1/people/me/sheet/2026Q3", headers=clerk).json()
    can = {ln["ref_id"]: ln["can_appeal"] for ln in sheet["sheet"]["lines"]}
    assert can == {late: False, ontime: True, upheld: True} and sheet["signoff"] is True
    url = "/api/v1/people/me/appeals"
    r = hall.client.post(url, headers=clerk, json={"finding_id": late, "reason": "逾期申诉"})
    assert r.status_code == 409 and "appeal period" in r.text
    a1 = hall.client.post(url, headers=clerk, json={"finding_id": ontime, "reason": "手里是笔不是烟"}).json()
    a2 = hall.client.post(url, headers=clerk, json={"finding_id": upheld, "reason": "不是我"}).json()
    up = hall.post(f"/api/v1/people/appeals/{a2['id']}/decide", json={"decision": "uphold", "comment": "录像清晰"})
    assert up.json()["status"] == "upheld" and up.json()["amendment"] is None
    wd = hall.post(f"/api/v1/people/appeals/{a1['id']}/decide", json={"decision": "withdraw", "comment": "确为笔"})
    assert wd.status_code == 200 and wd.json()["amendment"]["seq"] == 1, wd.text
    frozen = hall.get(f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026Q3/staff/S005").json()
    assert {ln["ref_id"] for ln in frozen["sheet"]["lines"]} == {late, upheld}
    (am,) = frozen["signoff"]["amendments"]
    assert f"申诉复核 #{a1['id']} 撤销" in am["reason"] and am["by"] == hall.users["supervisor"].username
    assert hall.get(f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026Q3/verify").json()["ok"]
    mine = {a["id"]: a["status"] for a in hall.client.get(url, headers=clerk).json()}
    assert mine == {a1["id"]: "withdrawn", a2["id"]: "upheld"}


def test_staff_login_needs_a_known_unlinked_staff_record(hall):
    url = f"/api/v1/people/halls/{hall.hall_id}/staff-accounts"
    body = {"staff_id": "S004", "username": f"s004-{hall.hall_id}", "password": "clerk-pass-1"}
    assert hall.post(url, "supervisor", json=body).status_code == 403
    assert hall.post(url, "admin", json=body).status_code == 201
    again = hall.post(url, "admin", json={**body, "username": f"s004b-{hall.hall_id}"})
    assert again.status_code == 409
    assert hall.post(url, "admin", json={**body, "staff_id": "S999", "username": "x-" + hall.hall_id}).status_code == 422
    (acct,) = hall.get(url, "admin").json()
    assert acct["staff"]["id"] == "S004"
    user = hall.session.get(User, acct["user_id"])
    assert (user.role, user.hall_id) == ("staff", hall.hall_id)


# --------------------------------------------------------------------------- who may call what

ENDPOINTS = [
    ("GET", "/api/v1/people/halls/{hall}/absences", None, "viewer"),
    ("POST", "/api/v1/people/halls/{hall}/absences", absence(), "supervisor"),
    ("GET", "/api/v1/people/halls/{hall}/pauses", None, "viewer"),
    ("POST", "/api/v1/people/halls/{hall}/pauses", {"window_id": "W01", "start": "2026-11-23T09:00:00+08:00",
                                                    "end": "2026-11-23T10:00:00+08:00", "reason": "r"}, "supervisor"),
    ("GET", "/api/v1/people/halls/{hall}/pause-plan", None, "viewer"),
    ("GET", "/api/v1/people/halls/{hall}/appeals", None, "supervisor"),
    ("GET", "/api/v1/people/halls/{hall}/service-summary", None, "viewer"),
    ("GET", "/api/v1/people/halls/{hall}/channels", None, "admin"),
    ("GET", "/api/v1/people/halls/{hall}/deliveries", None, "admin"),
    ("GET", "/api/v1/people/halls/{hall}/integration-tokens", None, "admin"),
    ("GET", "/api/v1/people/halls/{hall}/staff-accounts", None, "admin"),
]
RANK = {"viewer": 0, "inspector": 1, "supervisor": 2, "admin": 3}


@pytest.mark.parametrize(("method", "path", "body", "minimum"), ENDPOINTS)
def test_roles_and_halls(hall, method, path, body, minimum):
    url = path.format(hall=hall.hall_id)
    for role in ("viewer", "inspector", "supervisor", "admin"):
        r = hall.client.request(method, url, json=body, headers=hall.h(role))
        want = (201 if method == "POST" else 200) if RANK[role] >= RANK[minimum] else 403
        assert r.status_code == want, (role, r.status_code, r.text)
    r = hall.client.request(method, url, json=body, headers=hall.h("other_supervisor"))
    assert r.status_code in (403, 404), r.text  # another hall's supervisor never reaches this hall
    assert hall.client.request(method, url, json=body).status_code == 401
    clerk = staff_login(hall, "S012")
    assert hall.client.request(method, url, json=body, headers=clerk).status_code == 403
