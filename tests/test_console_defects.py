"""Console behaviour the people on duty rely on: a safety check during service hours is a preview, sensor state
has one source of truth, a duty check is complete only with its pictures stored, handover is a two-party act."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from edge import contract as c
from server.console import api_checks, checks
from server.db import Hall
from server.db.session import unit_of_work
from tests.conftest import wait_for
from tests.test_console_helpers import TZ, console, upload  # noqa: F401

UTC = dt.timezone.utc


def _local(y, m, d, hh, mm):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ).astimezone(UTC)


@pytest.mark.parametrize("when, in_service", [
    (_local(2026, 3, 4, 10, 0), True),    # Wednesday morning session
    (_local(2026, 3, 4, 12, 30), True),   # lunch break: staff still in the hall
    (_local(2026, 3, 4, 17, 45), True),   # after closing, within the 30 min grace
    (_local(2026, 3, 4, 18, 5), False),   # after closing + grace
    (_local(2026, 3, 4, 7, 0), False),    # before opening
    (_local(2026, 3, 7, 10, 0), False),   # Saturday
])
def test_in_service_hours(console, when, in_service):
    with unit_of_work(console.app.state.sessionmaker) as s:
        assert checks.in_service_hours(s.get(Hall, console.hall_id), when) is in_service


def _open_alerts(con) -> list[dict]:
    return [a for a in con.get("/api/v1/console/alerts", params={"hall_id": con.hall_id}).json()]


@pytest.mark.parametrize("mode, at, preview", [
    ("auto", _local(2026, 3, 4, 10, 0), True),
    ("auto", _local(2026, 3, 4, 19, 0), False),
    ("preview", _local(2026, 3, 4, 19, 0), True),
    ("full", _local(2026, 3, 4, 10, 0), False),
])
def test_a_safety_check_in_service_hours_is_a_preview_that_opens_no_alerts(console, monkeypatch, mode, at, preview):
    now = dt.datetime.now(UTC)
    # a working PC in service hours: the full check would call it 下班未关电源
    console.ingest(c.SensorReading(hall_id=console.hall_id, edge_id=console.edge_id, sensor_id="plug-w01-pc",
                                   kind="power", value=85.0, at=now - dt.timedelta(minutes=1)))
    monkeypatch.setattr(api_checks, "utcnow", lambda: at)
    r = console.post(f"/api/v1/console/halls/{console.hall_id}/safety-checks", "inspector", params={"mode": mode})
    assert r.status_code == 201, r.text
    sheet = r.json()
    assert sheet["preview"] is preview and sheet["trigger"] == ("preview" if preview else "manual")
    power = [i for i in sheet["items"] if i["item"] == "power_off" and i["subject"] == "plug-w01-pc"]
    assert power and power[0]["passed"] is False
    alerts = _open_alerts(console)
    assert (alerts == []) is preview
    sign = console.post(f"/api/v1/console/safety-checks/{sheet['id']}/sign", "inspector", json={"comment": "ok"})
    assert sign.status_code == (409 if preview else 200), sign.text


@pytest.mark.parametrize("reported, seen_ago_s, online", [
    (True, 30, True),          # the edge's heartbeat says online and saw it recently: no reading needed
    (True, 3 * 86400, False),  # reported online, silent for days: offline on the board and in the check
    (False, 30, False),
])
def test_sensor_state_on_the_board_and_in_the_safety_check_agree(console, reported, seen_ago_s, online):
    now = dt.datetime.now(UTC)
    console.ingest(c.Heartbeat(hall_id=console.hall_id, edge_id=console.edge_id, cameras=[], sensors=[
        c.SensorHealth(sensor_id="smoke-hall", online=reported, last_seen=now - dt.timedelta(seconds=seen_ago_s))]))
    board = console.get(f"/api/v1/console/halls/{console.hall_id}/board").json()
    on_board = next(s for s in board["sensors"] if s["id"] == "smoke-hall")["online"]
    r = console.post(f"/api/v1/console/halls/{console.hall_id}/safety-checks", "inspector", params={"mode": "full"})
    line = next(i for i in r.json()["items"] if i["item"] == "sensor_online" and i["subject"] == "smoke-hall")
    assert on_board is online and line["passed"] is online


def test_a_duty_check_is_complete_only_when_its_pictures_are_stored(console, media_dir):
    import hashlib
    import uuid

    pictures = [p.read_bytes() + uuid.uuid4().bytes for p in sorted((media_dir / "images").glob("*/*.jpg"))[:2]]
    refs = [c.EvidenceRef(sha256=hashlib.sha256(b).hexdigest(), kind="snapshot", content_type="image/jpeg",
                          size=len(b)) for b in pictures]
    console.ingest(c.DutyCheckResult(
        hall_id=console.hall_id, edge_id=console.edge_id, request_id=uuid.uuid4(), taken_at=dt.datetime.now(UTC),
        windows=[c.WindowSnapshot(window_id=w, state="staffed", persons=1, camera_id=f"cam-{w.lower()}", evidence=[e])
                 for w, e in zip(("W01", "W02"), refs)]))
    (row,) = console.get(f"/api/v1/console/halls/{console.hall_id}/duty-checks").json()

    def sheet() -> dict:
        return console.get(f"/api/v1/console/duty-checks/{row['id']}").json()

    expected = [("uploading", 2, [None, None]), ("uploading", 1, [refs[0].sha256, None]),
                ("complete", 0, [refs[0].sha256, refs[1].sha256])]
    for step, (status, waiting, shas) in enumerate(expected):
        if step:
            upload(console, pictures[step - 1])
        d = sheet()
        by_window = {w["window_id"]: w for w in d["windows"]}
        assert (d["status"], d["pictures_waiting"]) == (status, waiting)
        assert [by_window[w]["snapshot_sha256"] for w in ("W01", "W02")] == shas
        for sha in shas:  # a picture the sheet shows is always there to load
            if sha:
                assert console.get(f"/api/v1/console/evidence/{sha}").status_code == 200


def _signature(strokes: bool = True) -> str:
    """A drawn signature as the browser's canvas.toDataURL() sends it (transparent, ink where drawn)."""
    import base64
    import io

    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    if strokes:
        ImageDraw.Draw(im).line([(20, 70), (80, 20), (140, 80), (260, 30)], fill=(0, 0, 0, 255), width=4)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _me(con, role: str) -> dict:
    return con.get("/api/v1/console/me", role).json()


def test_handover_is_a_two_party_idempotent_act_listing_open_alerts_and_the_last_safety_check(console):
    import uuid

    hall = console.hall_id
    smoke = console.open_finding(rule="smoke_detected", window=None, severity="critical", sensor_id="smoke-hall")
    check = console.post(f"/api/v1/console/halls/{hall}/safety-checks", "inspector", params={"mode": "full"}).json()
    supervisor = _me(console, "supervisor")
    receivers = console.get("/api/v1/console/handovers/receivers", "inspector", params={"hall_id": hall}).json()
    assert supervisor["id"] in [r["id"] for r in receivers]
    assert _me(console, "inspector")["id"] not in [r["id"] for r in receivers]  # not to oneself

    key = str(uuid.uuid4())
    body = {"hall_id": hall, "to_user_id": supervisor["id"], "notes": "3号窗口打印机卡纸已报修",
            "signature_png": _signature(), "idempotency_key": key}
    assert console.post("/api/v1/console/handovers", "viewer", json=body).status_code == 403
    for bad, code in ((dict(body, signature_png=_signature(strokes=False)), 422),   # an empty box is no signature
                      (dict(body, signature_png="张三"), 422),                      # a typed name is no signature
                      (dict(body, to_user_id=_me(console, "viewer")["id"]), 422)):  # a viewer cannot take over
        assert console.post("/api/v1/console/handovers", "inspector", json=bad).status_code == code
    first = console.post("/api/v1/console/handovers", "inspector", json=body)
    again = console.post("/api/v1/console/handovers", "inspector", json=body)  # the double tap
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    rows = console.get("/api/v1/console/handovers", params={"hall_id": hall}).json()
    assert len(rows) == 1
    h = rows[0]
    assert h["status"] == "pending" and h["from_user_id"] == _me(console, "inspector")["id"]
    assert h["to_name"] == (supervisor["display_name"] or supervisor["username"])
    assert [a["rule"] for a in h["summary"]["open_alerts"]] == ["smoke_detected"]
    assert h["summary"]["last_safety_check"]["id"] == check["id"]
    assert console.get(f"/api/v1/console/evidence/{h['from_signature']}").headers["content-type"] == "image/png"
    assert smoke  # the alert listed is the one opened above

    accept = {"signature_png": _signature()}
    assert console.post(f"/api/v1/console/handovers/{h['id']}/accept", "admin", json=accept).status_code == 403
    done = console.post(f"/api/v1/console/handovers/{h['id']}/accept", "supervisor", json=accept)
    twice = console.post(f"/api/v1/console/handovers/{h['id']}/accept", "supervisor", json=accept)
    assert done.status_code == twice.status_code == 200, done.text
    assert done.json()["status"] == "accepted" and done.json()["to_signature"] and done.json()["received_at"]
    assert twice.json()["received_at"] == done.json()["received_at"]


def test_console_migrations_match_the_models(tmp_path, server_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.db import Base
    from server.db.migrate import upgrade
    from server.db.session import make_engine

    def mine(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "index" and name == "ix_findings_details_trgm":
            return False  # expression index of the search, PostgreSQL only, outside the ORM metadata
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in ("handovers", "findings", "alerts")

    fresh = make_engine(f"sqlite:///{tmp_path}/m.db")
    for engine in (fresh, server_engine):
        upgrade(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": mine})
            assert compare_metadata(ctx, Base.metadata) == []
    fresh.dispose()


@pytest.mark.parametrize("q, hits", [
    ("打印机卡纸", {"paper"}),        # CJK text inside the details
    ("STANDBY 10", {"kettle"}),       # case-insensitive, the details' words
    ("大厅烟感", {"smoke"}),           # a sensor's name
    ("烟雾报警", {"smoke"}),           # a rule's Chinese name
    ("50%_off", set()),               # LIKE wildcards are searched literally
    ("劳动保障", {"paper"}),           # the window's name (W03)
])
def test_feed_search_runs_in_the_database(console, q, hits):
    made = {
        "paper": console.open_finding(rule="phone_use", window="W03", details={"note": "打印机卡纸"}),
        "kettle": console.open_finding(rule="high_power_appliance", window=None, sensor_id="plug-office-kettle",
                                       details={"limit": "standby 10 W"}),
        "smoke": console.open_finding(rule="smoke_detected", window=None, severity="critical", sensor_id="smoke-hall"),
    }
    ids = {k: console.alert_id(m) for k, m in made.items()}
    rows = console.get("/api/v1/console/alerts", params={"hall_id": console.hall_id, "q": q}).json()
    assert {k for k, v in ids.items() if v in {r["id"] for r in rows}} == hits


def test_a_port_left_in_time_wait_by_a_restart_is_reused():
    import socket

    from server.demo import pick_port, port_free

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = listener.accept()
    conn.close()      # the server side closes first: its end of the connection stays in TIME_WAIT
    listener.close()
    client.close()
    assert port_free(port) and pick_port(port) == port
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        assert not port_free(busy.getsockname()[1])  # a port someone listens on is still taken
    finally:
        busy.close()


def test_the_server_stops_promptly_while_a_console_event_stream_is_open(console):
    import threading
    import time

    import httpx
    import uvicorn

    from server.cli import SHUTDOWN_GRACE_S, server_config
    from tests.conftest import free_port, wait_port

    port = free_port()
    server = uvicorn.Server(server_config(console.app, "127.0.0.1", port, "warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_port("127.0.0.1", port, 30)
    got: list[str] = []

    def listen() -> None:
        try:
            with httpx.stream("GET", f"http://127.0.0.1:{port}/api/v1/events/stream", headers=console.auth("viewer"),
                              timeout=httpx.Timeout(60, connect=10)) as r:
                for line in r.iter_lines():
                    got.append(line)
        except httpx.HTTPError:
            pass

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    wait_for(lambda: any(x.startswith("event: ping") for x in got), "a ping event on the stream", timeout=30)
    started = time.monotonic()
    server.should_exit = True
    thread.join(SHUTDOWN_GRACE_S + 20)
    assert not thread.is_alive(), "the server is still waiting on the event stream"
    assert time.monotonic() - started < SHUTDOWN_GRACE_S + 20
    reader.join(10)
    assert not reader.is_alive()  # the stream was ended for the client as well


def test_feed_says_where_a_sensor_alert_is_sorts_escalated_first_pages_and_exports(console):
    import csv
    import io

    from sqlalchemy import update

    from server.db import Alert

    base = dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ)
    sensors = ["smoke-hall", "plug-w01-pc", "lock-exit-east"]
    for i, code in enumerate(sensors):
        console.open_finding(rule="sensor_offline", window=None, severity="warning", sensor_id=code,
                             started_at=base + dt.timedelta(minutes=i))
    late = console.open_finding(rule="phone_use", window="W03", started_at=base + dt.timedelta(hours=2))
    escalated = console.alert_id(console.open_finding(rule="window_unstaffed", window="W01",
                                                      started_at=base - dt.timedelta(days=1)))
    with unit_of_work(console.app.state.sessionmaker) as s:
        s.execute(update(Alert).where(Alert.id == escalated).values(escalated=True))
    rows = console.get("/api/v1/console/alerts", params={"hall_id": console.hall_id}).json()
    assert rows[0]["id"] == escalated  # the oldest, but escalated and unresolved: on top
    assert rows[1]["id"] == console.alert_id(late)
    offline = [r["location"] for r in rows if r["rule"] == "sensor_offline"]
    assert offline == ["东侧安全出口门锁", "1号窗口电脑插座", "大厅烟感"]
    assert next(r for r in rows if r["rule"] == "phone_use")["location"] == "3 劳动保障"
    only = console.get("/api/v1/console/alerts", params={"hall_id": console.hall_id, "status": "escalated"}).json()
    assert [r["id"] for r in only] == [escalated]
    pages = [console.get("/api/v1/console/alerts", params={"hall_id": console.hall_id, "limit": 2, "offset": o}).json()
             for o in (0, 2, 4)]
    assert [r["id"] for p in pages for r in p] == [r["id"] for r in rows]
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": 501}, {"offset": 10**12}):
        assert console.get("/api/v1/console/alerts", params=bad).status_code == 422

    for lang, head, word in (("zh", "位置", "传感器离线"), ("en", "Location", "Sensor offline")):
        r = console.get("/api/v1/console/alerts/export.csv", params={"hall_id": console.hall_id, "lang": lang})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith("\ufeff".encode())
        table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert head in table[0] and len(table) == 1 + len(rows)
        assert sum(1 for line in table if word in line) == 3
        assert [int(line[0]) for line in table[1:]] == [x["id"] for x in rows]


def test_timeline_names_people_by_display_name(console):
    aid = console.alert_id(console.open_finding(rule="phone_use", window="W03"))
    console.post(f"/api/v1/console/alerts/{aid}/acknowledge", "inspector", json={})
    timeline = console.get(f"/api/v1/console/alerts/{aid}").json()["timeline"]
    assert timeline[-1]["actor"] == "Inspector 张" and timeline[-1]["actor_login"].startswith("inspector-")


@pytest.mark.parametrize("fps, state", [(2.0, "ok"), (1.7, "ok"), (0.6, "slow"), (0.0, "slow")])
def test_board_shows_a_camera_far_below_its_frame_rate_as_slow(console, fps, state):
    console.ingest(c.Heartbeat(hall_id=console.hall_id, edge_id=console.edge_id, sensors=[], cameras=[
        c.CameraHealth(camera_id="cam-w01", state="ok", fps=fps, lag_s=0.2)]))
    board = console.get(f"/api/v1/console/halls/{console.hall_id}/board").json()
    cam = next(x for x in board["cameras"] if x["id"] == "cam-w01")
    assert cam["state"] == state and cam["expected_fps"] == 2.0


@pytest.mark.parametrize("machine, words", [
    ("62.0 W > 10 W", "62 W，超过待机功率 10 W"),
    ("2.5 W ≤ 10 W", "2.5 W，未超过待机功率 10 W"),
    ("unlocked", "未上锁"),
    ("SMOKE", "烟雾报警"),
    ("no power reading", "近 6 小时无功率读数"),
    ("silent for 86400 s > 1800 s", "已 86,400 秒无数据（超过 1,800 秒）"),
    ("objects cover 0% of the exit zone", "出口区域被物品遮挡 0%"),
    ("3 person(s) seen", "画面中 3 人"),
    ("camera state frozen", "摄像头画面冻结"),
    ("clear; 东侧安全出口通道占用: occupied", "畅通；东侧安全出口通道占用：有物品占用"),
    ("3号窗口电脑插座: 62.0 W (> standby 10 W)", "3号窗口电脑插座：62 W，超过待机功率 10 W"),
    ("大厅烟感: smoke False", "大厅烟感：烟感：正常"),
    ("东侧安全出口门锁: lock unlocked", "东侧安全出口门锁：门锁：未上锁"),
    ("后勤办公室插座: relay off", "后勤办公室插座：继电器已断开"),
    ("柜台上有杂物", "柜台上有杂物"),   # what the edge wrote in words stays as it is
    (None, ""),
])
def test_safety_details_in_chinese(machine, words):
    from server.console.wording import detail_zh

    assert detail_zh(machine) == words


@pytest.mark.parametrize("comment, code", [
    ("已电话通知3号窗口关机", 200),
    ("已处理👍", 422),             # an emoji would print as a different CJK character: refused
    ("注意安全⚠️", 422),           # the emoji presentation selector U+FE0F
    ("𠀀字", 422),                 # CJK extension B, outside the font's plane
    ("温度 25℃，OK ①", 200),
])
def test_a_signed_comment_prints_exactly_or_is_refused(console, comment, code):
    chk = console.post(f"/api/v1/console/halls/{console.hall_id}/safety-checks", "inspector",
                       params={"mode": "full"}).json()
    r = console.post(f"/api/v1/console/safety-checks/{chk['id']}/sign", "inspector", json={"comment": comment})
    assert r.status_code == code, r.text
    if code == 422:
        assert "无法打印" in r.text
    else:
        assert console.get(f"/api/v1/console/safety-checks/{chk['id']}/report.pdf").content.startswith(b"%PDF")


def test_a_record_holding_unprintable_text_is_refused_not_substituted():
    from server.console.report_pdf import UnprintableText, safety_check_pdf, unprintable

    assert unprintable("好😀好😀🙂") == ["😀", "🙂"]
    check = {"id": 1, "started_at": "2026-03-04T10:00:00+00:00", "trigger": "manual", "status": "failed",
             "outcome": "failed", "items": [{"item": "nobody_present", "subject": "h", "subject_name": "大厅",
                                             "passed": False, "detail": "有人😀", "evidence": []}]}
    with pytest.raises(UnprintableText):
        safety_check_pdf(check, "大厅")
    check["items"][0]["detail"] = "有人"
    assert safety_check_pdf(check, "大厅").startswith(b"%PDF")


def _quarter(d: dt.date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def test_a_quarter_is_signed_off_only_after_it_ends_and_shows_who_in_words(console):
    today = dt.datetime.now(TZ).date()
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    previous = _quarter(first - dt.timedelta(days=1))
    base = f"/api/v1/assessment/halls/{console.hall_id}/sheets"
    early = console.post(f"{base}/{_quarter(today)}/sign-off", "supervisor")
    assert early.status_code in (409, 422) and "季度结束后方可签署" in early.text
    assert console.post(f"{base}/{previous}/sign-off", "supervisor").status_code == 201
    signed = console.get(f"{base}/{previous}", "supervisor").json()["signoff"]
    assert signed["signed_name"] == "Supervisor 张"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", signed["signed_local"])


def test_a_finding_decided_after_its_quarter_was_signed_says_the_sheet_needs_an_amendment(console):
    today = dt.datetime.now(TZ).date()
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter_day = first - dt.timedelta(days=1)
    previous = _quarter(last_quarter_day)
    old = console.alert_id(console.open_finding(rule="phone_use", window="W03", started_at=dt.datetime.combine(
        last_quarter_day - dt.timedelta(days=3), dt.time(10, 0), tzinfo=TZ)))
    new = console.alert_id(console.open_finding(rule="phone_use", window="W03"))
    assert console.post(f"/api/v1/assessment/halls/{console.hall_id}/sheets/{previous}/sign-off",
                        "supervisor").status_code == 201
    late = console.post(f"/api/v1/console/alerts/{old}/confirm", "supervisor", json={"comment": "复核属实"}).json()
    now = console.post(f"/api/v1/console/alerts/{new}/confirm", "supervisor", json={"comment": "复核属实"}).json()
    assert late["needs_amendment"] == previous and now["needs_amendment"] is None


@pytest.mark.parametrize("value, unit, text", [(139.27271299999998, "kWh", "139.27 kWh"), (1942.0, "W", "1,942 W"),
                                               ("UNLOCK", None, "UNLOCK"), (True, None, "True"), (0.5, "W", "0.5 W")])
def test_readings_are_formatted(value, unit, text):
    from server.console.views import fmt_reading

    assert fmt_reading(value, unit) == text
