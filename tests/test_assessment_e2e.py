"""End to end: a finding published over MQTT (real broker, the server's consumer), its evidence uploaded
with the edge token, the alert confirmed in the console API, then the quarter's XLSX export carries the
deduction row with the finding id; sign-off and verify through the API re-hash the uploaded evidence."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient

from edge import contract as c
from edge.site import load_site_config
from server.app import create_app
from server.db.session import unit_of_work
from server.edges import issue_edge_token
from server.settings import Settings
from server.siteimport import import_site
from server.users import create_user
from tests.conftest import wait_for

TZ = ZoneInfo("Asia/Shanghai")



@pytest.fixture
def server(tmp_path, database_url, mqtt_broker, topic_prefix, demo_config_path):
    settings = Settings(data_dir=tmp_path, database_url=database_url, mqtt_url=f"mqtt://{mqtt_broker.host}:"
                        f"{mqtt_broker.port}", mqtt_topic_prefix=topic_prefix,
                        mqtt_client_id=f"hw-assess-{uuid.uuid4().hex[:8]}", mqtt_session_expiry_s=0)
    app = create_app(settings)
    with TestClient(app) as client:
        cfg = load_site_config(demo_config_path)
        hall_id = f"e{uuid.uuid4().hex[:10]}"
        cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"id": hall_id})})
        with unit_of_work(app.state.sessionmaker) as s:
            import_site(s, cfg, today=dt.date(2026, 1, 1))
            create_user(s, username=f"sup-{hall_id}", password="supervisor-pw", role="supervisor", actor="test",
                        hall_id=hall_id)
            _, edge_token = issue_edge_token(s, hall_id, cfg.edge.id, actor="test")
        login = client.post("/api/v1/auth/login", json={"username": f"sup-{hall_id}", "password": "supervisor-pw"})
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        assert app.state.mqtt.subscribed.wait(60), "server consumer did not subscribe"
        yield client, hall_id, cfg.edge.id, edge_token


def test_mqtt_finding_to_confirmed_xlsx_row(server, mqtt_broker, topic_prefix, media_dir):
    from openpyxl import load_workbook

    client, hall_id, edge_id, edge_token = server
    picture = sorted((media_dir / "images" / "smoking").glob("*.jpg"))[0].read_bytes()
    sha = hashlib.sha256(picture).hexdigest()
    up = client.put(f"/api/v1/evidence/{sha}", content=picture, headers={"Authorization": f"Bearer {edge_token}"})
    assert up.status_code in (200, 201), up.text

    fid = uuid.uuid4()
    start = dt.datetime(2026, 8, 12, 10, 5, tzinfo=TZ)
    opened = c.FindingOpened(hall_id=hall_id, edge_id=edge_id, finding_id=fid, rule="smoking", severity="major",
                             started_at=start, window_id="W03", camera_id="cam-w03", evidence=[c.EvidenceRef(
                                 sha256=sha, kind="snapshot", content_type="image/jpeg", size=len(picture),
                                 captured_at=start)])
    closed = c.FindingClosed(hall_id=hall_id, edge_id=edge_id, finding_id=fid, rule="smoking",
                             ended_at=start + dt.timedelta(seconds=95), duration_s=95)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-{uuid.uuid4().hex[:8]}",
                      protocol=mqtt.MQTTv5)
    pub.connect(mqtt_broker.host, mqtt_broker.port)
    pub.loop_start()
    try:
        for msg in (opened, closed):
            pub.publish(c.topic_for(msg, topic_prefix), c.encode(msg), qos=1).wait_for_publish(10)
    finally:
        pub.loop_stop()
        pub.disconnect()

    def alert_of_finding():
        rows = client.get("/api/v1/alerts", params={"hall": hall_id}).json()
        hit = [a for a in rows if a["finding"]["finding_id"] == str(fid) and a["finding"].get("duration_s")]
        return hit[0] if hit else None

    alert = wait_for(alert_of_finding, "the finding to arrive over MQTT and close")
    period = "2026Q3"
    # before the decision, the finding does not count
    sheet = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/windows/W03").json()
    assert sheet["sheet"]["score"] == 100.0 and sheet["sheet"]["lines"] == []

    r = client.post(f"/api/v1/alerts/{alert['id']}/confirm", json={"comment": "监控复核属实"})
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text

    staff = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/2026-08/staff/S005").json()
    assert staff["sheet"]["score"] == 99.0 and staff["sheet"]["lines"][0]["attribution"] == "roster_a"

    x = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/export.xlsx")
    assert x.status_code == 200, x.text
    wb = load_workbook(io.BytesIO(x.content))
    details = list(wb["扣分明细"].iter_rows(values_only=True))
    head = details[0]
    (row,) = [r for r in details[1:] if r[head.index("事件编号")] == str(fid)]
    assert row[head.index("考核项目")] == "上班时间在大厅内抽烟、用餐和吃零食"
    assert row[head.index("分值")] == -1.0
    assert row[head.index("责任人")] == "陈静"  # W03's A post by the roster
    assert row[head.index("证据")] == sha[:12]

    signed = client.post(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/sign-off")
    assert signed.status_code == 201, signed.text
    again = client.post(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/sign-off")
    assert again.status_code == 409
    report = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/verify").json()
    assert report == {"hall": hall_id, "period": period, "ok": True, "sheet_sha256": signed.json()["sha256"],
                      "evidence_checked": 1, "problems": []}
    other = client.get(f"/api/v1/assessment/halls/other-hall/sheets/{period}")
    assert other.status_code == 403  # a supervisor of one hall sees only that hall

    # after sign-off a reassignment is recorded but the signed sheet stands until an amendment
    bad = client.post(f"/api/v1/assessment/findings/{fid}/reassign", json={"staff_id": "S006", "reason": ""})
    assert bad.status_code == 422
    ok = client.post(f"/api/v1/assessment/findings/{fid}/reassign",
                     json={"staff_id": "S006", "reason": "录像复核：吸烟者为B岗杨磊"})
    assert ok.status_code == 200 and ok.json()["before"]["staff_id"] == "S005", ok.text
    frozen = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/staff/S005").json()
    assert frozen["sheet"]["score"] == 99.0 and frozen["signoff"]["sha256"] == signed.json()["sha256"]
    am = client.post(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/amend", json={"reason": "改派责任人"})
    assert am.status_code == 201, am.text
    scores = {(ch["subject_id"], ch["score_before"], ch["score_after"]) for ch in am.json()["changes"]}
    assert scores == {("S005", 99.0, 100.0), ("S006", 100.0, 99.0), ("W03", 99.0, 99.0)}
    report = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/verify").json()
    assert report["ok"] and report["sheet_sha256"] == am.json()["sha256"]

    pdf = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/export.pdf", params={"lang": "en"})
    assert pdf.headers["content-type"] == "application/pdf" and b"/Subtype /Image" in pdf.content
    csv_text = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/{period}/export.csv").content.decode()
    assert str(fid) in csv_text and "杨磊" in csv_text and "主管改派" in csv_text
