"""End to end: the real yolo11n INT8 model on the Intel 'one by one' counter clip through the agent's pipeline
(``edge analyze``), its messages and evidence files sent to the server's HTTP ingest.

The clip (media time 0 = Monday 2026-11-23 09:00 hall time): window 1's seat is empty for the first 6.5 s, so a 空岗
episode opens and closes (absent_s shortened to 5 s); window 5's seat is never staffed. Window 5 is paused
(暂停服务) before the footage arrives: its finding is suppressed on arrival (no alert to handle) and stays on the
sheet with zero points and the pause as the reason. Window 1's finding is first charged to 王建国 (S001, the A post,
as the edge named him); then his leave is entered afterwards (电话请假，事后补办, approved until 09:00:30), and the
same finding is charged to 李秀英 (S002, the B post, who must then be at the seat) with the leave next to it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from edge.agent.analyze import analyze
from edge.site import load_site_config
from server.db import User
from server.siteimport import import_site
from server.testing import *  # fixtures: client, db_session, …
from server.testing import auth_headers, make_edge_token

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CLIP = "video/intel-iot-devkit_one-by-one-person-detection.mp4"


@pytest.fixture(scope="module")
def detector(models_dir):
    from edge.detect.base import load_detector

    return load_detector("yolo11n-coco-int8", "openvino", models_dir)


def test_leave_entered_afterwards_moves_the_empty_seat_to_b_and_a_pause_suppresses(
        client, db_session, detector, media_dir, demo_config_path, tmp_path):
    cfg = load_site_config(demo_config_path)
    hall_id = f"e{uuid.uuid4().hex[:10]}"
    rules = cfg.rules.model_copy(update={
        "window_unstaffed": cfg.rules.window_unstaffed.model_copy(update={"absent_s": 5.0, "return_s": 1.0}),
        "phone_use": cfg.rules.phone_use.model_copy(update={"enabled": False})})
    cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"id": hall_id}), "rules": rules})
    import_site(db_session, cfg, actor="test", today=dt.date(2026, 1, 1))
    db_session.commit()
    sup = User(username=f"sup-{hall_id}", password_hash="x", role="supervisor", hall_id=hall_id)
    db_session.add(sup)
    db_session.commit()
    h = auth_headers(sup)
    edge = {"Authorization": f"Bearer {make_edge_token(db_session, hall_id, cfg.edge.id)}"}
    t0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=cfg.tz)

    r = client.post(f"/api/v1/people/halls/{hall_id}/pauses", headers=h, json={
        "window_id": "W05", "start": t0.isoformat(), "end": (t0 + dt.timedelta(hours=1)).isoformat(),
        "reason": "党员服务窗口今日暂停"})
    assert r.status_code == 201, r.text

    result = analyze(cfg, "cam-w01", str(media_dir / CLIP), detector=detector, out_dir=tmp_path / "evidence",
                     start_at=t0, max_seconds=12)
    files = tmp_path / "evidence" / "files"
    for msg in result.messages:
        for ref in getattr(msg, "evidence", []):
            data = (files / ref.sha256[:2] / ref.sha256).read_bytes()
            up = client.put(f"/api/v1/evidence/{ref.sha256}", content=data,
                            headers={**edge, "Content-Type": ref.content_type})
            assert up.status_code in (200, 201), up.text
        r = client.post("/api/v1/ingest", content=msg.model_dump_json(),
                        headers={**edge, "Content-Type": "application/json"})
        assert r.status_code in (200, 201, 202) and r.json()["status"] == "accepted", r.text

    rows = client.get(f"/api/v1/findings?hall={hall_id}&rule=window_unstaffed", headers=h).json()
    (w01,) = [f for f in rows if f["window_code"] == "W01"]
    (w05,) = [f for f in rows if f["window_code"] == "W05"]
    assert w01["status"] == "closed" and w01["staff_id"] is not None  # the edge named the roster's A post
    assert w05["alert_status"] == "dismissed"  # suppressed on arrival: no alert to handle, nothing escalates
    assert client.post(f"/api/v1/alerts/{w01['alert_id']}/confirm", headers=h,
                       json={"comment": "录像复核属实"}).status_code == 200
    context = f"/api/v1/people/alerts/{w01['alert_id']}/context"
    before = client.get(context, headers=h).json()
    assert (before["charged"], before["approval"]) == (
        {"staff_id": "S001", "name": "王建国", "basis": "roster_a"}, None)

    r = client.post(f"/api/v1/people/halls/{hall_id}/absences", headers=h, json={
        "staff_id": "S001", "kind": "leave", "start": (t0 - dt.timedelta(minutes=30)).isoformat(),
        "end": (t0 + dt.timedelta(seconds=30)).isoformat(), "approver": "政务服务科 李科长", "reason": "电话请假，事后补办"})
    assert r.status_code == 201, r.text
    after = client.get(context, headers=h).json()
    assert after["charged"] == {"staff_id": "S002", "name": "李秀英", "basis": "stand_in"}
    assert after["approval"]["effect"] == "reattributed" and after["approval"]["items"][0]["staff_id"] == "S001"

    sheet = client.get(f"/api/v1/assessment/halls/{hall_id}/sheets/2026-11", headers=h).json()
    lines = {ln["ref_id"]: ln for w in sheet["windows"] for ln in w["sheet"]["lines"]}
    one, five = lines[w01["finding_id"]], lines[w05["finding_id"]]
    assert (one["staff_id"], one["attribution"]) == ("S002", "stand_in")
    assert one["evidence"] and one["duration_s"] == pytest.approx(6.5, abs=1.5)  # below the 30-min tier: 0 points
    assert (five["kind"], five["points"], five["approval"]["items"][0]["reason"]) == (
        "not_deducted", 0.0, "党员服务窗口今日暂停")
    staff = {s["id"]: s for s in sheet["staff"]}
    assert [ln["ref_id"] for ln in staff["S002"]["sheet"]["lines"]] == [w01["finding_id"]]
    assert staff["S001"]["sheet"]["lines"] == []
