"""No input stops ingest: poison payloads are rejected, counted and acknowledged while the messages behind them
are stored (real broker); times far in the future are refused and never freeze live state; a consumer that
cannot store shows as stuck on /healthz."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from edge import contract as c
from server.db import Edge, Finding, Window
from server.db.session import make_engine, make_sessionmaker
from server.ingest import ingest
from server.ingest.mqtt import MqttConsumer
from server.metrics import INGEST_REJECTED
from server.testing import *  # noqa: F401,F403 - fixtures
from server.testing import make_edge_token
from tests.conftest import wait_until
from tests.test_ingest_mqtt import committed_hall, mqtt_settings, publisher, wait_processed  # noqa: F401
from tests.test_ingest_service import opened

DEEP = ("[" * 20000 + "]" * 20000).encode()
DEEP_OBJECT = ('{"a":' * 5000 + "1" + "}" * 5000).encode()


def test_twenty_deep_nested_messages_then_a_valid_one_is_stored(mqtt_broker, mqtt_settings, server_engine,
                                                                committed_hall):
    hall = committed_hall.hall.id
    consumer = MqttConsumer(mqtt_settings, make_sessionmaker(server_engine))
    consumer.start()
    pub = publisher(mqtt_broker)
    try:
        assert consumer.subscribed.wait(60), "consumer did not subscribe"
        finding = opened(hall)
        topic = c.topic_for(finding, mqtt_settings.mqtt_topic_prefix)
        before = INGEST_REJECTED.value(reason="not_json", via="mqtt")
        for i in range(20):
            pub.publish(topic, DEEP if i % 2 == 0 else DEEP_OBJECT, qos=1).wait_for_publish(10)
        pub.publish(topic, c.encode(finding), qos=1).wait_for_publish(10)
        wait_processed(consumer, 21)
        assert INGEST_REJECTED.value(reason="not_json", via="mqtt") == before + 20
        with Session(server_engine) as s:
            assert s.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id == hall)) == 1
        assert not consumer.stuck
    finally:
        pub.loop_stop()
        pub.disconnect()
        consumer.stop()


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b"\xff\xfe\x00", b'{"schema_version": 1e999999}'],
                         ids=["deep-array", "deep-object", "bad-utf8", "huge-number"])
def test_http_ingest_answers_4xx_for_poison_bodies(client, db_session, seeded_hall, body):
    token = make_edge_token(db_session, seeded_hall.hall.id, "zhegou-edge-1")
    r = client.post("/api/v1/ingest", content=body, headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["status"] == "rejected"


FUTURE = dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)


def _window_state(hall: str, **kw) -> c.WindowState:
    base = dict(hall_id=hall, edge_id="zhegou-edge-1", window_id="W02", camera_id="cam-w02", state="staffed",
                since=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1), persons=1)
    base.update(kw)
    return c.WindowState(**base)


@pytest.mark.parametrize("field", ["sent_at", "since"])
def test_times_far_in_the_future_are_refused(db_session, seeded_hall, field):
    out = ingest(db_session, c.encode(_window_state(seeded_hall.hall.id, **{field: FUTURE})), via="mqtt")
    assert (out.status, out.reason) == ("rejected", "future_time")


def test_a_small_clock_skew_is_accepted(db_session, seeded_hall):
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)
    assert ingest(db_session, c.encode(_window_state(seeded_hall.hall.id, sent_at=soon))).status == "accepted"


def test_a_stored_future_stamp_does_not_freeze_window_or_edge(db_session, seeded_hall):
    """State stamped in 2099 before the refusal existed: the next real update still applies."""
    hall = seeded_hall.hall.id
    assert ingest(db_session, c.encode(c.Heartbeat(hall_id=hall, edge_id="zhegou-edge-1", uptime_s=1,
                                                   outbox_pending=0))).status == "accepted"
    db_session.execute(update(Window).where(Window.hall_id == hall, Window.code == "W02")
                       .values(live_state="empty", live_updated_at=FUTURE))
    db_session.execute(update(Edge).where(Edge.hall_id == hall).values(online=False, last_seen=FUTURE))
    assert ingest(db_session, c.encode(_window_state(hall, state="staffed"))).status == "accepted"
    assert ingest(db_session, c.encode(c.Heartbeat(hall_id=hall, edge_id="zhegou-edge-1", uptime_s=5,
                                                   outbox_pending=0))).status == "accepted"
    db_session.expire_all()
    w = db_session.scalars(select(Window).where(Window.hall_id == hall, Window.code == "W02")).one()
    e = db_session.scalars(select(Edge).where(Edge.hall_id == hall, Edge.code == "zhegou-edge-1")).one()
    assert w.live_state == "staffed" and w.live_updated_at < FUTURE
    assert e.online is True and e.last_seen < FUTURE
    # an ordinary late message still never overwrites a newer real one
    late = _window_state(hall, state="empty", sent_at=w.live_updated_at - dt.timedelta(seconds=10))
    ingest(db_session, c.encode(late))
    db_session.expire_all()
    assert db_session.get(Window, w.id).live_state == "staffed"


def test_healthz_reports_a_consumer_that_cannot_store(mqtt_broker, mqtt_settings, committed_hall, app):
    """The database is unreachable: the message stays unacknowledged and /healthz answers 503 'stuck'."""
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    settings = mqtt_settings.model_copy(update={"ingest_stuck_after_s": 0.5})
    consumer = MqttConsumer(settings, make_sessionmaker(dead))
    consumer.start()
    pub = publisher(mqtt_broker)
    try:
        assert consumer.subscribed.wait(60)
        finding = opened(committed_hall.hall.id)
        pub.publish(c.topic_for(finding, settings.mqtt_topic_prefix), c.encode(finding), qos=1).wait_for_publish(10)
        assert wait_until(lambda: consumer.stuck), "consumer never reported stuck"
        assert consumer.processed == 0
        app.state.mqtt = consumer
        r = TestClient(app).get("/healthz")
        assert (r.status_code, r.json()["ingest"], r.json()["status"]) == (503, "stuck", "degraded")
    finally:
        app.state.mqtt = None
        pub.loop_stop()
        pub.disconnect()
        consumer.stop()
        dead.dispose()


def test_lanes_split_findings_from_bulk(mqtt_broker, mqtt_settings, server_engine, committed_hall):
    """The app's consumers: findings and check results on the urgent lane, the bulk on the other; both store."""
    from server.ingest.mqtt import ConsumerLanes

    hall = committed_hall.hall.id
    lanes = ConsumerLanes(mqtt_settings, make_sessionmaker(server_engine))
    lanes.start()
    pub = publisher(mqtt_broker)
    try:
        assert lanes.subscribed.wait(60), "lanes did not subscribe"
        now = dt.datetime.now(dt.timezone.utc)
        msgs = [opened(hall), _window_state(hall),
                c.SensorReading(hall_id=hall, edge_id="zhegou-edge-1", sensor_id="plug-w01-pc", kind="power",
                                value=3.0, unit="W", at=now),
                c.Heartbeat(hall_id=hall, edge_id="zhegou-edge-1", uptime_s=3, outbox_pending=0)]
        for m in msgs:
            pub.publish(c.topic_for(m, mqtt_settings.mqtt_topic_prefix), c.encode(m), qos=1).wait_for_publish(10)
        urgent, bulk = lanes.lanes
        assert wait_until(lambda: urgent.processed >= 1 and bulk.processed >= 3), (urgent.processed, bulk.processed)
        assert (urgent.processed, bulk.processed) == (1, 3)
        assert urgent.last_outcome.type == "finding.opened" and not lanes.stuck
    finally:
        pub.loop_stop()
        pub.disconnect()
        lanes.stop()


def test_the_bulk_lane_lets_the_urgent_backlog_go_first(mqtt_settings, server_engine):
    """Before each bulk batch the bulk worker waits (bounded) until the urgent lane has applied what it received."""
    from server.ingest import mqtt as ingest_mqtt

    lanes = ingest_mqtt.ConsumerLanes(mqtt_settings, make_sessionmaker(server_engine))
    urgent, bulk = lanes.lanes
    assert bulk.yield_to is urgent and urgent.yield_to is None
    order: list[str] = []

    class Idle:
        def wait(self, timeout):
            order.append(f"wait {timeout}")
            return True

    urgent.idle = Idle()
    bulk._apply = lambda batch: (order.append(f"apply {len(batch)}"), setattr(bulk, "processed", len(batch)))
    bulk._received = 1
    bulk.idle.clear()  # as _on_message leaves it
    bulk._queue.put(object())
    bulk._queue.put(None)  # stop after this batch
    bulk._work()
    assert order == [f"wait {ingest_mqtt.YIELD_MAX_S}", "apply 1"]
    assert bulk.idle.is_set()  # everything it received is applied


def test_the_urgent_lane_waits_for_no_batch_to_fill(mqtt_settings, server_engine):
    """A finding is applied with whatever is queued already; only the bulk lane waits ``ingest_batch_wait_ms``."""
    import threading

    from server.ingest import mqtt as ingest_mqtt

    hour = mqtt_settings.model_copy(update={"ingest_batch_wait_ms": 3_600_000})
    lanes = ingest_mqtt.ConsumerLanes(hour, make_sessionmaker(server_engine))
    urgent, bulk = lanes.lanes
    got: dict[str, list] = {}
    for lane in (urgent, bulk):
        lane._queue.put("first")
        lane._queue.put("queued")
    took = threading.Thread(target=lambda: got.setdefault("urgent", urgent._next_batch()), daemon=True)
    took.start()
    took.join(60)  # an urgent lane that waited for its batch to fill would sit here for the hour
    assert not took.is_alive() and got["urgent"] == ["first", "queued"]
    waiting = threading.Thread(target=lambda: got.setdefault("bulk", bulk._next_batch()), daemon=True)
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive()  # the bulk lane is still filling its batch
    bulk._queue.put(None)  # stop: the batch so far is handed out
    waiting.join(60)
    assert got["bulk"] == ["first", "queued"]
