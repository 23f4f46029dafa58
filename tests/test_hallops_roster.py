"""Duty roster (值班表): CSV parsing, who sits at a window (inferred), the roster API with its permissions and
audit, the import (dry run, duplicates, bad rows) and "on duty now"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from edge import contract as c
from server.db import AuditLog, Staff
from server.db.session import unit_of_work
from server.hallops.roster import Seat, infer_seat, parse_csv
from server.people.models import Absence
from tests.test_console_helpers import TZ, console  # noqa: F401  (fixture)

A = {"id": "S005", "name": "陈静"}
B = {"id": "S006", "name": "杨磊"}
COVER = {"id": "S009", "name": "周婷"}


@pytest.mark.parametrize("state, away, cover, seat", [
    ("staffed", set(), None, Seat("陈静", "A", "roster_a")),
    ("staffed", {"S005"}, None, Seat("杨磊", "B", "a_away_b")),
    ("staffed", {"S005", "S006"}, None, Seat(None, None, "a_away_unknown")),
    ("staffed", {"S005"}, COVER, Seat("周婷", "cover", "cover")),
    ("empty", set(), None, Seat(None, None, "nobody")),
    ("off_duty", set(), None, Seat(None, None, "nobody")),
    ("closed", set(), None, Seat(None, None, "closed")),
    ("unknown", set(), None, Seat(None, None, "unknown")),
])
def test_infer_seat(state, away, cover, seat):
    assert infer_seat(state, A, B, away, cover) == seat


def test_infer_seat_without_a_roster():
    assert infer_seat("staffed", None, B, set(), None) == Seat("杨磊", "B", "a_away_b")


def test_parse_csv_accepts_chinese_headers_and_reports_bad_lines():
    text = ("\ufeff日期,类型,姓名,电话,窗口,备注\n"
            "2026-12-07,值班人员,刘洋,13800000000,,\n"
            "2026/12/07,午间值守,陈静,,W03,午间\n"
            "2026-12-32,值班人员,错日期,,,\n"
            "2026-12-08,保安,王五,,,\n"
            ",,,,,\n"
            "2026-12-08,带班领导,,,,\n")
    rows, errors = parse_csv(text)
    assert [(r.day.isoformat(), r.kind, r.name, r.window_code, r.line) for r in rows] == [
        ("2026-12-07", "duty_officer", "刘洋", None, 2), ("2026-12-07", "midday_desk", "陈静", "W03", 3)]
    assert [(e["line"], e["error"]) for e in errors] == [(4, "bad_date"), (5, "bad_kind"), (7, "bad_name")]


def _add(console, role="supervisor", **body):
    body = {"day": "2026-12-07", "kind": "duty_officer", "name": "刘洋", **body}
    return console.post(f"/api/v1/console/halls/{console.hall_id}/duty-roster", role, json=body)


def test_roster_crud_permissions_and_audit(console):
    assert _add(console, role="inspector").status_code == 403
    for bad in ({"kind": "guard"}, {"name": ""}, {"window_id": "W99"}, {"day": "tomorrow"}, {"name": "x" * 101}):
        assert _add(console, **bad).status_code == 422, bad
    r = _add(console, phone="13800000000")
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    noon = _add(console, kind="midday_desk", name="陈静", window_id="W03").json()
    assert noon["window_name"] == "3 劳动保障"
    url = f"/api/v1/console/halls/{console.hall_id}/duty-roster"
    lst = console.get(url, params={"start": "2026-12-07", "end": "2026-12-07"}).json()
    assert [(x["kind"], x["name"]) for x in lst] == [("duty_officer", "刘洋"), ("midday_desk", "陈静")]
    r = console.client.patch(f"/api/v1/console/duty-roster/{sid}", json={"phone": "13900000000"},
                             headers=console.auth("supervisor"))
    assert r.status_code == 200 and r.json()["phone"] == "13900000000"
    assert console.client.delete(f"/api/v1/console/duty-roster/{sid}", headers=console.auth("viewer")).status_code == 403
    assert console.client.delete(f"/api/v1/console/duty-roster/{sid}", headers=console.auth("supervisor")).status_code == 204
    assert console.client.delete(f"/api/v1/console/duty-roster/{sid}", headers=console.auth("supervisor")).status_code == 404
    lst = console.get(url, params={"start": "2026-12-07", "end": "2026-12-07"}).json()
    assert [x["name"] for x in lst] == ["陈静"]
    assert console.get(url, params={"start": "2026-12-07", "end": "2026-12-01"}).status_code == 422
    with unit_of_work(console.app.state.sessionmaker) as s:
        acts = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.entity_type == "duty_shift",
                                                                   AuditLog.entity_id == str(sid)))]
    assert acts == ["roster.add", "roster.update", "roster.cancel"]
    assert console.get("/api/v1/console/halls/other/duty-roster").status_code == 404


def test_roster_import_dry_run_then_for_real_without_duplicates(console):
    url = f"/api/v1/console/halls/{console.hall_id}/duty-roster/import"
    csv_text = ("日期,类型,姓名,电话,窗口,备注\n2026-12-07,值班人员,刘洋,,,\n2026-12-07,午间值守,陈静,,W03,\n"
                "2026-12-08,午间值守,赵敏,,W42,\n2026-13-01,值班人员,错,,,\n").encode("gb18030")
    post = lambda dry: console.client.post(url, params={"dry_run": dry}, content=csv_text,
                                           headers=console.auth("supervisor"))
    r = post(True).json()
    assert (r["rows"], r["created"], r["unchanged"], r["dry_run"]) == (4, 2, 0, True)
    assert [(e["line"], e["error"]) for e in r["errors"]] == [(4, "bad_window"), (5, "bad_date")]
    lst = f"/api/v1/console/halls/{console.hall_id}/duty-roster?start=2026-12-07&end=2026-12-08"
    assert console.get(lst).json() == []
    assert post(False).json()["created"] == 2
    assert post(False).json()["unchanged"] == 2
    assert len(console.get(lst).json()) == 2
    bad = console.client.post(url, content=b"name;day\nx;y\n", headers=console.auth("supervisor"))
    assert bad.status_code == 422
    assert console.client.post(url, content=csv_text, headers=console.auth("inspector")).status_code == 403


def test_on_duty_now_infers_who_sits_at_each_window(console):
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(TZ).date().isoformat()
    assert _add(console, day=today, name="刘洋", phone="13800000000").status_code == 201
    assert _add(console, day=today, kind="midday_desk", name="陈静", window_id="W03").status_code == 201
    for w, state in (("W01", "staffed"), ("W02", "staffed"), ("W03", "empty")):
        console.ingest(c.WindowState(hall_id=console.hall_id, edge_id=console.edge_id, window_id=w, state=state,
                                     since=now - dt.timedelta(minutes=3), persons=1 if state == "staffed" else 0))
    with unit_of_work(console.app.state.sessionmaker) as s:
        s003 = s.scalars(select(Staff).where(Staff.hall_id == console.hall_id, Staff.code == "S003")).one()
        s.add(Absence(hall_id=console.hall_id, staff_id=s003.id, kind="leave", starts_at=now - dt.timedelta(hours=1),
                      ends_at=now + dt.timedelta(hours=3), approver="李科长", created_by="test"))
    d = console.get(f"/api/v1/console/halls/{console.hall_id}/on-duty").json()
    assert [x["name"] for x in d["duty_officer"]] == ["刘洋"] and d["duty_officer"][0]["phone"] == "13800000000"
    assert [x["window_id"] for x in d["midday_desk"]] == ["W03"]
    assert [w["id"] for w in d["midday_windows"]] == ["W03"]
    seats = {w["id"]: w for w in d["windows"]}
    assert (seats["W01"]["seated"], seats["W01"]["post"], seats["W01"]["basis"]) == ("王建国", "A", "roster_a")
    assert (seats["W02"]["seated"], seats["W02"]["post"], seats["W02"]["basis"], seats["W02"]["a_away"]) == \
        ("刘洋", "B", "a_away_b", True)
    assert seats["W03"]["seated"] is None and seats["W03"]["basis"] == "nobody"
    assert seats["W08"]["basis"] == "closed" and all(w["inferred"] for w in d["windows"])


def test_roster_import_refuses_a_file_over_the_limit(console):
    big = ("日期,类型,姓名\n" + "2026-12-07,值班人员,刘洋\n" * 80_000).encode()
    r = console.client.post(f"/api/v1/console/halls/{console.hall_id}/duty-roster/import", content=big,
                            headers=console.auth("supervisor"))
    assert r.status_code == 413 and "KiB" in r.json()["detail"]
