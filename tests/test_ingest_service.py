"""ingest(): dedup, malformed input (each rejected and counted while the next valid message lands),
finding lifecycle with evidence, live state, check results."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import func, select

from edge import contract as c
from server.db import (
    Alert,
    AlertEvent,
    DutyCheck,
    Edge,
    Evidence,
    Finding,
    ProcessedMessage,
    SafetyCheck,
    SensorReadingRow,
    Window,
)
from server.ingest import ingest
from server.metrics import INGEST_REJECTED
from server.testing import *  # noqa: F401,F403 - fixtures


@pytest.fixture(autouse=True)
def core_only(monkeypatch):
    """These tests pin the core's behaviour: hooks other packages registered (console) are set aside."""
    from server import alerts
    from server.ingest import service

    monkeypatch.setattr(service, "_HOOKS", {})
    monkeypatch.setattr(alerts, "TRANSITION_HOOKS", [])


T0 = dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.timezone.utc)
SHA = "ab" * 32


def opened(hall: str, **kw) -> c.FindingOpened:
    base = dict(hall_id=hall, edge_id="zhegou-edge-1", finding_id=uuid.uuid4(), rule="window_unstaffed",
                severity="warning", started_at=T0, window_id="W02", camera_id="cam-w02", staff_id="S003",
                details={"absent_s": 120.0},
                evidence=[c.EvidenceRef(sha256=SHA, kind="snapshot", content_type="image/jpeg", size=10)])
    base.update(kw)
    return c.FindingOpened(**base)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def findings_of(session, hall) -> int:
    return session.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id == hall))


def test_same_message_twice_lands_once(db_session, seeded_hall):
    hall = seeded_hall.hall.id
    msg = opened(hall)
    first = ingest(db_session, c.encode(msg))
    second = ingest(db_session, c.encode(msg))
    assert (first.status, second.status) == ("accepted", "duplicate")
    assert findings_of(db_session, hall) == 1
    f = db_session.scalars(select(Finding).where(Finding.hall_id == hall)).one()
    assert f.alert.status == "open" and [e.action for e in f.alert.events] == ["opened"]
    win = db_session.get(Window, f.window_id)
    assert win.code == "W02" and f.staff_id is not None
    # a new message id for an already-opened finding does not create a second finding either
    again = ingest(db_session, c.encode(msg.model_copy(update={"id": uuid.uuid4()})))
    assert again.status == "duplicate" and findings_of(db_session, hall) == 1


def _bad_cases(hall: str) -> list[tuple[str, bytes, str | None]]:
    good = json.loads(c.encode(opened(hall)))
    return [
        ("not_json", b"{not json", None),
        ("not_object", b"[1, 2]", None),
        ("schema_version", json.dumps({**good, "schema_version": 99}).encode(), None),
        ("unknown_type", json.dumps({**good, "type": "finding.exploded"}).encode(), None),
        ("invalid", json.dumps({**good, "severity": "apocalyptic"}).encode(), None),
        ("oversized", json.dumps({**good, "details": {"x": "y" * (c.MAX_MESSAGE_BYTES + 1)}}).encode(), None),
        ("unknown_hall", json.dumps({**good, "hall_id": "no-such-hall"}).encode(), None),
        ("topic_mismatch", c.encode(opened(hall)), f"hw/{hall}/other-edge/finding"),
    ]


@pytest.mark.parametrize("reason", ["not_json", "not_object", "schema_version", "unknown_type", "invalid",
                                    "oversized", "unknown_hall", "topic_mismatch"])
def test_malformed_rejected_counted_and_next_valid_stored(db_session, seeded_hall, reason):
    hall = seeded_hall.hall.id
    raw, topic = next((r, t) for name, r, t in _bad_cases(hall) if name == reason)
    before = INGEST_REJECTED.value(reason=reason, via="mqtt")
    out = ingest(db_session, raw, via="mqtt", topic=topic, topic_prefix="hw" if topic else None)
    assert (out.status, out.reason) == ("rejected", reason)
    assert INGEST_REJECTED.value(reason=reason, via="mqtt") == before + 1
    good = opened(hall)
    ok = ingest(db_session, c.encode(good), via="mqtt", topic=c.topic_for(good, "hw"), topic_prefix="hw")
    assert ok.status == "accepted"
    assert findings_of(db_session, hall) == 1


@pytest.mark.parametrize("message, reason", [
    (lambda h: c.WindowState(hall_id=h, edge_id="e", window_id="W99", state="empty", since=T0), "unknown_window"),
    (lambda h: c.SensorReading(hall_id=h, edge_id="e", sensor_id="nope", kind="power", value=3.0, at=T0),
     "unknown_sensor"),
    (lambda h: c.FindingClosed(hall_id=h, edge_id="e", finding_id=uuid.uuid4(), rule="smoking", ended_at=T0,
                               duration_s=1), "unknown_finding"),
])
def test_references_to_unknown_things_rejected(db_session, seeded_hall, message, reason):
    out = ingest(db_session, message(seeded_hall.hall.id))
    assert (out.status, out.reason) == ("rejected", reason)
    assert db_session.get(ProcessedMessage, out.message_id) is None  # may be retried later


def test_finding_lifecycle_with_evidence_before_and_after_file(db_session, seeded_hall):
    hall = seeded_hall.hall.id
    db_session.add(Evidence(sha256="cd" * 32, stored=True, size=5))  # the clip's file arrived first
    db_session.flush()
    msg = opened(hall)
    assert ingest(db_session, msg).status == "accepted"
    upd = c.FindingUpdated(hall_id=hall, edge_id=msg.edge_id, finding_id=msg.finding_id, rule=msg.rule,
                           at=T0 + dt.timedelta(seconds=30), details={"clip": True},
                           evidence=[c.EvidenceRef(sha256="cd" * 32, kind="clip", content_type="video/mp4", size=5)])
    end = T0 + dt.timedelta(minutes=31)
    closed = c.FindingClosed(hall_id=hall, edge_id=msg.edge_id, finding_id=msg.finding_id, rule=msg.rule,
                             ended_at=end, duration_s=(end - T0).total_seconds(), details={"returned": "S003"})
    assert [ingest(db_session, m).status for m in (upd, closed)] == ["accepted", "accepted"]
    f = db_session.scalars(select(Finding).where(Finding.finding_id == str(msg.finding_id))).one()
    assert (f.status, f.duration_s, f.ended_at) == ("closed", 1860.0, end)
    assert f.details == {"absent_s": 120.0, "clip": True, "returned": "S003"}
    assert {(lk.sha256, lk.evidence.stored) for lk in f.evidence_links} == {(SHA, False), ("cd" * 32, True)}
    assert db_session.get(Evidence, "cd" * 32).content_type == "video/mp4"


def test_closed_before_started_is_rejected(db_session, seeded_hall):
    msg = opened(seeded_hall.hall.id)
    ingest(db_session, msg)
    bad = c.FindingClosed(hall_id=msg.hall_id, edge_id=msg.edge_id, finding_id=msg.finding_id, rule=msg.rule,
                          ended_at=T0 - dt.timedelta(seconds=1), duration_s=0)
    out = ingest(db_session, bad)
    assert (out.status, out.reason) == ("rejected", "invalid")
    assert db_session.scalars(select(Finding).where(Finding.finding_id == str(msg.finding_id))).one().status == "open"


def test_window_state_ignores_older_message(db_session, seeded_hall):
    hall = seeded_hall.hall.id
    newer = c.WindowState(hall_id=hall, edge_id="e1", window_id="W01", state="empty", since=T0,
                          sent_at=T0 + dt.timedelta(seconds=10))
    older = c.WindowState(hall_id=hall, edge_id="e1", window_id="W01", state="staffed", since=T0, persons=1,
                          sent_at=T0 + dt.timedelta(seconds=5))
    assert [ingest(db_session, m).status for m in (newer, older)] == ["accepted", "accepted"]
    w = db_session.scalars(select(Window).where(Window.hall_id == hall, Window.code == "W01")).one()
    assert (w.live_state, w.live_since) == ("empty", T0)


def test_window_state_uncertain_is_stored(db_session, seeded_hall):
    hall = seeded_hall.hall.id
    msg = c.WindowState(hall_id=hall, edge_id="e1", window_id="W01", state="uncertain", since=T0)
    assert ingest(db_session, msg).status == "accepted"
    w = db_session.scalars(select(Window).where(Window.hall_id == hall, Window.code == "W01")).one()
    assert w.live_state == "uncertain"


def test_heartbeat_status_and_readings(db_session, seeded_hall):
    hall = seeded_hall.hall.id
    hb = c.Heartbeat(hall_id=hall, edge_id="zhegou-edge-1", outbox_pending=3,
                     cameras=[c.CameraHealth(camera_id="cam-w01", state="frozen", fps=1.5, lag_s=0.4)])
    rd = c.SensorReading(hall_id=hall, edge_id="zhegou-edge-1", sensor_id="plug-w01-pc", kind="power",
                         value=42.5, unit="W", at=T0)
    off = c.EdgeStatus(hall_id=hall, edge_id="zhegou-edge-1", online=False,
                       sent_at=hb.sent_at + dt.timedelta(seconds=1))
    assert [ingest(db_session, m).status for m in (hb, rd, off)] == ["accepted"] * 3
    edge = db_session.scalars(select(Edge).where(Edge.hall_id == hall)).one()
    assert (edge.online, edge.outbox_pending) == (False, 3)
    assert db_session.scalar(select(SensorReadingRow.value_num).where(SensorReadingRow.hall_id == hall)) == 42.5


@pytest.mark.parametrize("items, status", [
    ([True, True], "passed"), ([True, False], "failed"), ([True, None], "incomplete"),
])
def test_safety_check_result_attaches_to_request(db_session, seeded_hall, items, status):
    hall = seeded_hall.hall.id
    rid = uuid.uuid4()
    db_session.add(SafetyCheck(hall_id=hall, request_id=str(rid), trigger="manual"))
    db_session.flush()
    msg = c.SafetyCheckResult(hall_id=hall, edge_id="zhegou-edge-1", request_id=rid, taken_at=T0, items=[
        c.SafetyItem(item="power_off", subject=f"plug-{i}", passed=p) for i, p in enumerate(items)])
    assert ingest(db_session, msg).status == "accepted"
    chk = db_session.scalars(select(SafetyCheck).where(SafetyCheck.request_id == str(rid))).one()
    assert (chk.status, chk.trigger, len(chk.items)) == (status, "manual", len(items))


def test_duty_check_result_without_request_is_recorded(db_session, seeded_hall):
    hall = seeded_hall.hall.id
    rid = uuid.uuid4()
    msg = c.DutyCheckResult(hall_id=hall, edge_id="zhegou-edge-1", request_id=rid, taken_at=T0, windows=[
        c.WindowSnapshot(window_id="W01", state="staffed", persons=1, evidence=[
            c.EvidenceRef(sha256="ef" * 32, kind="snapshot", content_type="image/jpeg", size=1)])])
    assert ingest(db_session, msg).status == "accepted"
    chk = db_session.scalars(select(DutyCheck).where(DutyCheck.request_id == str(rid))).one()
    assert [(w.window_code, w.state, w.evidence) for w in chk.windows] == [("W01", "staffed", ["ef" * 32])]
    assert chk.windows[0].window_id is not None and db_session.get(Evidence, "ef" * 32).stored is False


def test_a_failing_message_rolls_back_only_itself(db_session, seeded_hall):
    hall = seeded_hall.hall.id
    first = opened(hall)
    ingest(db_session, first)
    alerts_before = count(db_session, Alert)
    events_before = count(db_session, AlertEvent)
    # same finding id under a different hall-less edge: handled as duplicate, nothing half-written
    out = ingest(db_session, c.encode(opened(hall, finding_id=first.finding_id)))
    assert out.status == "duplicate"
    assert (count(db_session, Alert), count(db_session, AlertEvent)) == (alerts_before, events_before)
