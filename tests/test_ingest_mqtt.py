"""The MQTT consumer on a real broker: duplicates land once, malformed payloads are rejected while
the loop keeps storing valid messages; commands reach the edge's command topic."""

from __future__ import annotations

import json
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge import contract as c
from server.db import Finding, SensorReadingRow
from server.db.session import make_sessionmaker, unit_of_work
from server.ingest.mqtt import CommandPublisher, MqttConsumer
from server.metrics import INGEST_REJECTED
from server.settings import Settings
from server.siteimport import import_site
from server.testing import *  # noqa: F401,F403 - fixtures
from server.testing import drop_hall, unique_site
from tests.conftest import MIN_DEADLINE_S, wait_until
from tests.test_ingest_service import T0, opened


@pytest.fixture
def committed_hall(server_engine):
    """A hall really committed (the consumer thread uses its own sessions); dropped afterwards."""
    cfg = unique_site()
    with unit_of_work(make_sessionmaker(server_engine)) as s:
        import_site(s, cfg, actor="test")
    yield cfg
    drop_hall(server_engine, cfg.hall.id)


@pytest.fixture
def mqtt_settings(mqtt_broker, topic_prefix, tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, mqtt_url=f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}",
                    mqtt_topic_prefix=topic_prefix, mqtt_share_group=f"g{uuid.uuid4().hex[:8]}",
                    mqtt_client_id=f"hw-test-{uuid.uuid4().hex[:8]}", mqtt_session_expiry_s=0, secret_key="x" * 40)


def publisher(broker) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def wait_processed(consumer: MqttConsumer, n: int, timeout: float = MIN_DEADLINE_S) -> None:
    assert wait_until(lambda: consumer.processed >= n, timeout), f"consumer processed {consumer.processed} of {n} messages"


def test_mqtt_duplicates_and_malformed(mqtt_broker, mqtt_settings, server_engine, committed_hall):
    hall = committed_hall.hall.id
    p = mqtt_settings.mqtt_topic_prefix
    consumer = MqttConsumer(mqtt_settings, make_sessionmaker(server_engine))
    consumer.start()
    pub = publisher(mqtt_broker)
    try:
        assert consumer.subscribed.wait(60), "consumer did not subscribe"
        finding = opened(hall)
        topic = c.topic_for(finding, p)
        good = json.loads(c.encode(finding))
        reading = c.SensorReading(hall_id=hall, edge_id="zhegou-edge-1", sensor_id="plug-w01-pc", kind="power",
                                  value=12.0, unit="W", at=T0)
        payloads = [
            (topic, c.encode(finding)),
            (topic, c.encode(finding)),  # redelivery / duplicate publish
            (topic, b"\x00garbage"),
            (topic, json.dumps({**good, "schema_version": 7}).encode()),
            (f"{p}/no-such-hall/zhegou-edge-1/finding", json.dumps({**good, "hall_id": "no-such-hall"}).encode()),
            (topic, json.dumps({**good, "details": {"x": "y" * c.MAX_MESSAGE_BYTES}}).encode()),
            (c.topic_for(reading, p), c.encode(reading)),  # the valid message after the bad ones
        ]
        before = {r: INGEST_REJECTED.value(reason=r, via="mqtt")
                  for r in ("not_json", "schema_version", "unknown_hall", "oversized")}
        for t, body in payloads:
            pub.publish(t, body, qos=1).wait_for_publish(5)
        wait_processed(consumer, len(payloads))
        for reason, n in before.items():
            assert INGEST_REJECTED.value(reason=reason, via="mqtt") == n + 1, reason
        with Session(server_engine) as s:
            assert s.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id == hall)) == 1
            assert s.scalar(select(func.count()).select_from(SensorReadingRow)
                            .where(SensorReadingRow.hall_id == hall)) == 1
        assert consumer.last_outcome.status == "accepted" and consumer.last_outcome.type == "sensor.reading"
    finally:
        pub.loop_stop()
        pub.disconnect()
        consumer.stop()


def test_send_command_reaches_each_edge(mqtt_broker, mqtt_settings, server_engine, committed_hall):
    hall = committed_hall.hall.id
    got: list[mqtt.MQTTMessage] = []
    arrived = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-{uuid.uuid4().hex[:8]}",
                      protocol=mqtt.MQTTv5)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda cl, ud, m: (got.append(m), arrived.set())
    sub.connect(mqtt_broker.host, mqtt_broker.port)
    sub.subscribe(c.command_topic(hall, "+", mqtt_settings.mqtt_topic_prefix), qos=1)
    sub.loop_start()
    commands = CommandPublisher(mqtt_settings, make_sessionmaker(server_engine))
    try:
        assert subscribed.wait(60)
        rid = commands.send_command(hall, "duty_check")
        assert arrived.wait(60), "command not received"
        cmd = c.parse_command(got[0].payload)
        assert (str(cmd.id), cmd.type, cmd.hall_id, cmd.edge_id) == (rid, "command.duty_check", hall, "zhegou-edge-1")
        assert got[0].topic == c.command_topic(hall, "zhegou-edge-1", mqtt_settings.mqtt_topic_prefix)
        with pytest.raises(ValueError):
            commands.send_command(hall, "reboot")
    finally:
        commands.close()
        sub.loop_stop()
        sub.disconnect()


def test_persistent_session_receives_what_was_published_while_down(mqtt_broker, mqtt_settings, server_engine,
                                                                   committed_hall):
    hall = committed_hall.hall.id
    settings = mqtt_settings.model_copy(update={"mqtt_session_expiry_s": 120})
    factory = make_sessionmaker(server_engine)
    first = MqttConsumer(settings, factory)
    first.start()
    assert first.subscribed.wait(60)
    first.stop()  # server process down; the broker keeps its session and queues QoS 1 messages
    pub = publisher(mqtt_broker)
    try:
        finding = opened(hall)
        pub.publish(c.topic_for(finding, settings.mqtt_topic_prefix), c.encode(finding), qos=1).wait_for_publish(5)
        second = MqttConsumer(settings, factory)  # same client id: resumes the session
        second.start()
        try:
            wait_processed(second, 1)
            assert second.last_outcome.status == "accepted"
            with Session(server_engine) as s:
                assert s.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id == hall)) == 1
        finally:
            # end the session on the broker so nothing lingers
            second.client.disconnect()
            second.client.loop_stop()
    finally:
        pub.loop_stop()
        pub.disconnect()
