"""The server keeps a labelled sample of every supervisor decision (HTTP ingest + the alert API, test database):
the crop comes from the raw frame, a late evidence file is cut later, a second decision relabels, the server's own
suppressions are no judgement, and the seat-tuning API refuses what the edges could not use."""

from __future__ import annotations

import hashlib
import uuid

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from edge import contract as c
from server.alerts import transition
from server.db import Alert, AuditLog
from server.db import Finding as DbFinding
from server.feedback.models import FeedbackSample, SeatTuning
from server.feedback.samples import fill_crops
from server.people.approvals import approval_actor
from server.testing import *
from tests.people_helpers import Hall, local, make_hall

SEAT = [[0.25, 0.5], [0.75, 0.5], [0.75, 1.0], [0.25, 1.0]]


@pytest.fixture
def hall(client, db_session) -> Hall:
    return make_hall(client, db_session)


def frame_jpeg(seed: str) -> bytes:
    """A 400x200 picture: grey, with a white block where the seat is (so a crop of the seat is white)."""
    image = np.full((200, 400, 3), 80, np.uint8)
    image[100:200, 100:300] = 255
    image[0, 0] = [int(b) for b in hashlib.sha256(seed.encode()).digest()[:3]]  # unique per test
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return buf.tobytes()


def upload(hall: Hall, data: bytes) -> None:
    sha = hashlib.sha256(data).hexdigest()
    r = hall.client.put(f"/api/v1/evidence/{sha}", content=data, headers={
        "Authorization": f"Bearer {hall.edge_token}", "Content-Type": "image/jpeg"})
    assert r.status_code in (200, 201), r.text


def ref(data: bytes, kind: str = "frame") -> c.EvidenceRef:
    return c.EvidenceRef(sha256=hashlib.sha256(data).hexdigest(), kind=kind, content_type="image/jpeg", size=len(data))


def post_finding(hall: Hall, rule: str, details: dict, evidence: list[c.EvidenceRef]) -> str:
    fid = uuid.uuid4()
    hall.ingest(c.FindingOpened(hall_id=hall.hall_id, edge_id=hall.edge_id, finding_id=fid, rule=rule,
                                severity="warning", started_at=local(2026, 11, 23, 10), window_id="W02",
                                camera_id="cam-w02", zone_id="seat-w02", details=details, evidence=evidence))
    return str(fid)


def decide(hall: Hall, fid: str, action: str, comment: str = "复核") -> None:
    r = hall.post(f"/api/v1/alerts/{hall.alert(fid)['id']}/{action}", json={"comment": comment})
    assert r.status_code == 200, r.text


def sample(hall: Hall, fid: str) -> FeedbackSample | None:
    hall.session.expire_all()
    return hall.session.scalars(select(FeedbackSample).where(FeedbackSample.finding_uuid == fid)).first()


def seat_details(conf: float) -> dict:
    return {"seat_zone": {"id": "seat-w02", "polygon": SEAT}, "frame_size": [400, 200],
            "boxes": [{"label": "person", "confidence": conf, "xyxy": [0.4, 0.55, 0.6, 0.95]}],
            "seat_cues": {"min_person_conf": 0.4, "max_person_conf": conf, "persons_in_zone": 0}}


def test_dismissal_keeps_the_seat_crop_from_the_raw_frame_and_a_second_decision_relabels(hall):
    frame, snap = frame_jpeg(hall.hall_id + "f"), frame_jpeg(hall.hall_id + "s")
    upload(hall, frame)
    upload(hall, snap)
    fid = post_finding(hall, "window_unstaffed", seat_details(0.33), [ref(snap, "snapshot"), ref(frame, "frame")])
    decide(hall, fid, "dismiss", "有人在座位上")
    s = sample(hall, fid)
    assert (s.label, s.rule, s.camera_code, s.zone_code, s.window_code, s.comment) == (
        "false_positive", "window_unstaffed", "cam-w02", "seat-w02", "W02", "有人在座位上")
    assert s.source_sha256 == hashlib.sha256(frame).hexdigest()  # the raw frame, not the annotated snapshot
    assert s.cues["max_person_conf"] == 0.33 and s.boxes[0]["label"] == "person"
    crop = cv2.imdecode(np.frombuffer(s.crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
    # the seat (200x100 px) padded by 15% of its size on each side, clipped at the bottom
    assert crop.shape[:2] == (115, 260)
    assert crop[20:100, 40:220].mean() > 240  # the white seat block fills the crop's middle
    # the alert is opened again for a new decision: the sample follows the newest decision
    alert = hall.session.get(Alert, hall.alert(fid)["id"])
    alert.status = "open"
    hall.session.commit()
    decide(hall, fid, "confirm")
    s = sample(hall, fid)
    assert s.label == "confirmed" and s.crop_jpeg is not None
    assert len(hall.session.scalars(select(FeedbackSample).where(FeedbackSample.finding_uuid == fid)).all()) == 1


def test_a_crop_whose_file_arrives_after_the_decision_is_cut_later(hall, client):
    late = frame_jpeg(hall.hall_id + "late")
    fid = post_finding(hall, "smoking", {"cigarette_box": [190, 120, 210, 130]}, [ref(late, "snapshot")])
    decide(hall, fid, "confirm")
    s = sample(hall, fid)
    assert s.crop_jpeg is None and s.zone_polygon is not None  # the camera's seat zone from the site import
    assert s.boxes == []  # pixel boxes without the frame size cannot be placed
    upload(hall, late)
    assert fill_crops(hall.session, client.app.state.store, hall.hall_id) == 1
    hall.session.commit()
    assert sample(hall, fid).crop_jpeg is not None
    listed = hall.get(f"/api/v1/feedback/halls/{hall.hall_id}/samples?rule=smoking", "inspector").json()
    assert [(x["finding_id"], x["label"], x["has_crop"]) for x in listed] == [(fid, "confirmed", True)]


def test_pixel_boxes_need_the_frame_size_to_be_normalized(hall):
    fid = post_finding(hall, "smoking", {"cigarette_box": [190, 120, 210, 130], "frame_size": [400, 200]}, [])
    decide(hall, fid, "confirm")
    assert sample(hall, fid).boxes[0]["xyxy"] == pytest.approx([0.475, 0.6, 0.525, 0.65])


def test_the_servers_own_suppression_is_not_a_sample(hall):
    fid = post_finding(hall, "window_unstaffed", seat_details(0.2), [])
    finding = hall.session.scalars(select(DbFinding).where(DbFinding.finding_id == fid)).one()
    transition(hall.session, finding.alert, "dismiss", approval_actor(), "暂停服务")
    hall.session.commit()
    assert sample(hall, fid) is None


@pytest.mark.parametrize("body, content_type, status, detail", [
    (b'{"seat_overrides": {"seat-w02": {"min_person_conf": 0.31}}, "note": "x"}', "application/json", 200, None),
    (b"seat_overrides:\n  seat-w02: {min_person_conf: 0.3}\nseats: {}\n", "application/yaml", 200, None),
    (b'{"seat_overrides": {"seat-zz": {"min_person_conf": 0.3}}}', "application/json", 422, "unknown seat zone"),
    (b'{"seat_overrides": {"seat-w02": {"min_person_conf": 1.5}}}', "application/json", 422, "outside"),
    (b'{"seat_overrides": {"seat-w02": {"min_person_conf": "low"}}}', "application/json", 422, "not a seat tuning"),
    (b"seat_overrides: [1, 2", "application/yaml", 422, "not a seat tuning"),
    (b"{}", "application/json", 422, "not a seat tuning"),
])
def test_seat_tuning_api_validates_and_audits(hall, body, content_type, status, detail):
    url = f"/api/v1/feedback/halls/{hall.hall_id}/seat-tuning"
    r = hall.client.put(url, content=body, headers={**hall.h("supervisor"), "Content-Type": content_type})
    assert r.status_code == status, r.text
    rows = hall.session.scalars(select(SeatTuning).where(SeatTuning.hall_id == hall.hall_id)).all()
    if status != 200:
        assert detail in r.json()["detail"] and rows == []
        return
    assert len(rows) == 1 and hall.get(url).json()["seat_overrides"] == rows[0].overrides
    assert hall.session.scalars(select(AuditLog).where(AuditLog.action == "seat_tuning.set",
                                                       AuditLog.entity_id == str(rows[0].id))).first() is not None


def test_seat_tuning_needs_a_supervisor_of_that_hall(hall):
    url = f"/api/v1/feedback/halls/{hall.hall_id}/seat-tuning"
    body = b'{"seat_overrides": {"seat-w02": {"min_person_conf": 0.3}}}'
    for role, status in (("inspector", 403), ("other_supervisor", 404)):
        r = hall.client.put(url, content=body, headers={**hall.h(role), "Content-Type": "application/json"})
        assert r.status_code == status, (role, r.text)
    assert hall.get(f"/api/v1/feedback/halls/{hall.hall_id}/samples", "viewer").status_code == 403


def test_a_tuning_the_broker_missed_is_published_later(hall, mqtt_broker, topic_prefix):
    from server.feedback.routes import publish_pending
    from server.ingest.mqtt import CommandPublisher
    from server.settings import Settings
    from tests.conftest import free_port, wait_for
    from tests.test_people_pause_mqtt import EdgeInbox

    app = hall.client.app

    def publisher(port: int) -> CommandPublisher:
        s = app.state.settings
        settings = Settings(data_dir=s.data_dir, database_url=s.database_url, mqtt_enabled=False,
                            run_migrations=False, secret_key=s.secret_key, mqtt_url=f"mqtt://{mqtt_broker.host}:{port}",
                            mqtt_topic_prefix=topic_prefix, mqtt_client_id=f"hw-fb-{uuid.uuid4().hex[:8]}")
        return CommandPublisher(settings, app.state.sessionmaker)

    url = f"/api/v1/feedback/halls/{hall.hall_id}/seat-tuning"
    app.state.commands.close()
    app.state.commands = publisher(free_port())  # nobody listens there
    r = hall.client.put(url, content=b'{"seat_overrides": {"seat-w02": {"min_person_conf": 0.3}}}',
                        headers={**hall.h("supervisor"), "Content-Type": "application/json"})
    assert r.status_code == 200 and hall.get(url).json()["published_at"] is None
    app.state.commands.close()
    app.state.commands = publisher(mqtt_broker.port)
    topic = c.command_topic(hall.hall_id, hall.edge_id, topic_prefix)
    edge = EdgeInbox(mqtt_broker, topic)
    try:
        assert publish_pending(app) == 1
        cmd = wait_for(edge.last, "the seat tuning")
        assert cmd.type == "command.seat_tuning" and cmd.seat_overrides == {"seat-w02": {"min_person_conf": 0.3}}
        assert hall.get(url).json()["published_at"] is not None
        assert publish_pending(app) == 0  # published once
        assert publish_pending(app, every=True) == 1  # and again on the periodic pass
    finally:
        edge.close()
        cl = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        cl.connect(mqtt_broker.host, mqtt_broker.port)
        cl.loop_start()
        cl.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)  # leave no retained message behind
        cl.loop_stop()
        cl.disconnect()


def test_old_crops_are_deleted_but_label_and_cues_stay(hall):
    import datetime as dt

    from server.feedback.samples import purge_crops

    frame = frame_jpeg(hall.hall_id + "old")
    upload(hall, frame)
    fid = post_finding(hall, "window_unstaffed", seat_details(0.3), [ref(frame)])
    decide(hall, fid, "dismiss")
    s = sample(hall, fid)
    assert s.crop_jpeg is not None
    now = s.decided_at + dt.timedelta(days=100)
    purge_crops(hall.session, now, days=180)  # (other samples of a shared test database may go)
    hall.session.commit()
    assert sample(hall, fid).crop_jpeg is not None
    assert purge_crops(hall.session, now + dt.timedelta(days=81), days=180) >= 1
    hall.session.commit()
    s = sample(hall, fid)
    assert s.crop_jpeg is None and s.label == "false_positive" and s.cues["max_person_conf"] == 0.3
    assert hall.session.scalars(select(AuditLog).where(AuditLog.action == "feedback.purge_crops")).first() is not None


@pytest.mark.parametrize("details", [
    {"seat_zone": {"id": "seat-w02", "polygon": [[0.1], [0.2, "x"]]}},
    {"seat_zone": {"id": "seat-w02", "polygon": SEAT}, "frame_size": ["wide", 2]},
    {"seat_zone": {"id": "seat-w02", "polygon": SEAT}, "seat_cues": [1, 2, 3]},
])
def test_malformed_details_cost_the_sample_not_the_decision(hall, details):
    fid = post_finding(hall, "window_unstaffed", details, [])
    decide(hall, fid, "dismiss")
    assert hall.alert(fid)["status"] == "dismissed" and sample(hall, fid) is None


def test_migration_0610_matches_the_feedback_models(tmp_path, server_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.db import Base
    from server.db.migrate import upgrade
    from server.db.session import make_engine

    mine = {"feedback_samples", "seat_tunings"}

    def include(obj, name, type_, reflected, compare_to) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in mine

    fresh = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(fresh)
    for engine in (fresh, server_engine):
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": include})
            assert compare_metadata(ctx, Base.metadata) == []
    fresh.dispose()
