"""Duty checks and safety checks over the real broker: the server sends the command, a real edge-side MQTT
client answers with contract results, the server's consumer stores them and the console judges them."""

from __future__ import annotations

import datetime as dt

import pytest

from edge import contract as c
from server.console.background import scheduler_pass
from server.console.settings import ConsoleSettings
from tests.conftest import wait_for
from tests.test_console_helpers import EdgeResponder, live_console, upload  # noqa: F401

UTC = dt.timezone.utc


@pytest.fixture
def pictures(media_dir):
    return [p.read_bytes() for p in sorted((media_dir / "images").glob("*/*.jpg"))[:3]]


def test_duty_check_round_trip(live_console, mqtt_broker, pictures):
    con = live_console
    refs = [upload(con, p) for p in pictures]
    windows = [c.WindowSnapshot(window_id="W01", state="staffed", persons=1, camera_id="cam-w01", evidence=[refs[0]]),
               c.WindowSnapshot(window_id="W02", state="empty", persons=0, camera_id="cam-w02", evidence=[refs[1]]),
               c.WindowSnapshot(window_id="W03", state="staffed", persons=2, camera_id="cam-w03", evidence=[refs[2]])]
    edge = EdgeResponder(mqtt_broker, con.prefix, con.hall_id, con.edge_id, windows=windows)
    try:
        r = con.post(f"/api/v1/console/halls/{con.hall_id}/duty-checks", "supervisor")
        assert r.status_code == 201, r.text
        check_id = r.json()["id"]
        sheet = wait_for(lambda: (lambda d: d if d["status"] == "complete" else None)(
            con.get(f"/api/v1/console/duty-checks/{check_id}").json()), "the edge's duty check result")
    finally:
        edge.close()
    assert [cmd.type for cmd in edge.commands] == ["command.duty_check"]
    rows = {w["window_id"]: w for w in sheet["windows"]}
    assert rows["W01"]["state"] == "staffed" and rows["W01"]["snapshot_sha256"] == refs[0].sha256
    assert rows["W02"]["state"] == "empty" and rows["W02"]["persons"] == 0
    assert rows["W08"]["state"] == "closed"  # not answered, but marked closed in the config
    assert rows["W05"]["state"] is None       # not answered: shown as unknown, not invented
    assert rows["W01"]["staff_a"] == "王建国" and sheet["requested_by"] == "Supervisor 张"
    assert sheet["windows_answered"] == 3 and sheet["windows_total"] == 8
    pdf = con.get(f"/api/v1/console/duty-checks/{check_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.count(b"/Subtype /Image") == 3
    history = con.get(f"/api/v1/console/halls/{con.hall_id}/duty-checks").json()
    assert [h["id"] for h in history] == [check_id]


def test_safety_check_round_trip_opens_alerts_for_failed_items(live_console, mqtt_broker, pictures):
    con = live_console
    now = dt.datetime.now(UTC)
    snap = upload(con, pictures[0])
    for sensor, kind, value in (("smoke-hall", "smoke", False), ("contact-main-door", "contact", True),
                                ("lock-exit-east", "lock", "UNLOCK"), ("plug-w01-pc", "power", 2.5)):
        con.ingest(c.SensorReading(hall_id=con.hall_id, edge_id=con.edge_id, sensor_id=sensor, kind=kind,
                                   value=value, at=now - dt.timedelta(minutes=2)))
    items = [c.SafetyItem(item="nobody_present", subject=con.hall_id, passed=True, detail="0 persons", evidence=[snap]),
             c.SafetyItem(item="power_off", subject="plug-w03-pc", passed=False, detail="62 W > 10 W", value=62.0),
             c.SafetyItem(item="exit_clear", subject="exit-east", passed=True, evidence=[snap])]
    edge = EdgeResponder(mqtt_broker, con.prefix, con.hall_id, con.edge_id, items=items)
    try:
        r = con.post(f"/api/v1/console/halls/{con.hall_id}/safety-checks", "inspector", params={"mode": "full"})
        assert r.status_code == 201 and r.json()["command_error"] is None, r.text
        cid = r.json()["id"]
        sheet = wait_for(lambda: (lambda d: d if d["outcome"] else None)(
            con.get(f"/api/v1/console/safety-checks/{cid}").json()), "the edge's safety check result")
    finally:
        edge.close()
    lines = {(i["item"], i["subject"]): i for i in sheet["items"]}
    assert sheet["outcome"] == "failed" and sheet["trigger"] == "manual"
    assert lines[("nobody_present", con.hall_id)]["passed"] is True
    assert lines[("nobody_present", con.hall_id)]["evidence"][0]["sha256"] == snap.sha256
    assert lines[("smoke_normal", "smoke-hall")]["passed"] is True          # from the server's own readings
    assert lines[("door_closed", "contact-main-door")]["passed"] is True
    assert lines[("exit_unlocked", "lock-exit-east")]["passed"] is True
    assert lines[("power_off", "plug-w01-pc")]["passed"] is True
    failed = lines[("power_off", "plug-w03-pc")]
    assert failed["passed"] is False and failed["source"] == "edge" and failed["alert_id"]
    assert [i for i in sheet["items"] if i["passed"] is False] == [failed]
    alert = con.get(f"/api/v1/console/alerts/{failed['alert_id']}").json()
    assert alert["rule"] == "power_left_on" and alert["status"] == "open" and alert["sensor_id"] == "plug-w03-pc"
    assert alert["window_id"] == "W03" and alert["details"]["safety_check_id"] == cid
    # the duty officer signs off; the PDF is there
    s = con.post(f"/api/v1/console/safety-checks/{cid}/sign", "inspector", json={"comment": "已通知3号窗口关机"})
    assert s.status_code == 200 and s.json()["signed_by"] == "Inspector 张"
    assert con.get(f"/api/v1/console/safety-checks/{cid}/report.pdf").content.startswith(b"%PDF")


def test_scheduler_runs_the_automatic_check_once_after_closing_plus_grace(live_console, mqtt_broker):
    con = live_console
    settings = ConsoleSettings(background=False, result_timeout_s=3600)
    friday_1759 = dt.datetime(2026, 11, 20, 9, 59, tzinfo=UTC)   # 17:59 Shanghai; closing 17:30 + 30 min grace
    friday_1800 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    edge = EdgeResponder(mqtt_broker, con.prefix, con.hall_id, con.edge_id,
                         items=[c.SafetyItem(item="nobody_present", subject=con.hall_id, passed=True)])
    try:
        assert scheduler_pass(con.app, settings, friday_1759, [con.hall_id]) == []
        started = scheduler_pass(con.app, settings, friday_1800, [con.hall_id])
        assert len(started) == 1
        assert scheduler_pass(con.app, settings, friday_1800 + dt.timedelta(minutes=5), [con.hall_id]) == []
        wait_for(lambda: con.get(f"/api/v1/console/safety-checks/{started[0]}").json()["outcome"],
                 "the automatic check's result")
    finally:
        edge.close()
    history = con.get(f"/api/v1/console/halls/{con.hall_id}/safety-checks").json()
    assert [(h["id"], h["trigger"]) for h in history] == [(started[0], "auto")]
    assert history[0]["outcome"] == "incomplete"  # no sensor readings tonight: those items are undetermined


def test_a_check_nobody_answers_is_judged_from_server_data_after_the_timeout(live_console):
    con = live_console
    r = con.post(f"/api/v1/console/halls/{con.hall_id}/safety-checks", "inspector",
                 params={"mode": "full"})  # no responder running
    assert r.status_code == 201 and r.json()["command_error"] is None, r.text
    cid = r.json()["id"]
    settings = ConsoleSettings(background=False, result_timeout_s=30)
    started = dt.datetime.fromisoformat(r.json()["started_at"])
    scheduler_pass(con.app, settings, started + dt.timedelta(seconds=10), [con.hall_id])
    assert con.get(f"/api/v1/console/safety-checks/{cid}").json()["status"] == "pending"
    scheduler_pass(con.app, settings, started + dt.timedelta(seconds=31), [con.hall_id])
    sheet = con.get(f"/api/v1/console/safety-checks/{cid}").json()
    assert sheet["outcome"] == "incomplete"
    assert all(i["passed"] is None for i in sheet["items"] if i["item"] == "nobody_present")


def test_a_duty_check_nobody_answers_is_closed_as_failed_after_the_timeout(live_console):
    con = live_console
    r = con.post(f"/api/v1/console/halls/{con.hall_id}/duty-checks", "supervisor")  # no responder running
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    started = dt.datetime.fromisoformat(r.json()["requested_at"])
    settings = ConsoleSettings(background=False, result_timeout_s=30)
    scheduler_pass(con.app, settings, started + dt.timedelta(seconds=29), [con.hall_id])
    assert con.get(f"/api/v1/console/duty-checks/{r.json()['id']}").json()["status"] == "pending"
    scheduler_pass(con.app, settings, started + dt.timedelta(seconds=31), [con.hall_id])
    sheet = con.get(f"/api/v1/console/duty-checks/{r.json()['id']}").json()
    assert sheet["status"] == "failed" and "no edge answered within 30 s" in sheet["note"]
