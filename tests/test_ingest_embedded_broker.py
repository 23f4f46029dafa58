"""The server consumer on the embedded Python broker (MQTT 3.1.1, no shared subscriptions): the demo's fallback
when Mosquitto is not installed. A finding published by an edge lands once; the session survives a restart."""

from __future__ import annotations

import uuid

import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from edge import contract as c
from server.db import Finding
from server.db.session import make_sessionmaker
from server.embedded_broker import EmbeddedBroker
from server.ingest.mqtt import MqttConsumer
from server.settings import Settings
from tests.conftest import free_port, wait_until
from tests.test_ingest_mqtt import committed_hall, wait_processed  # noqa: F401 - fixture
from tests.test_ingest_service import opened


def edge_client(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def disconnected(broker: EmbeddedBroker, client_id: str) -> bool:
    """The broker has closed this client's connection and keeps its persistent session (amqtt's own view).
    A message that arrives while the broker still delivers to a connection being taken over is lost by amqtt
    (the edge's outbox resends it until receipted); what is tested here is the queue of a server that is down."""
    session, _ = broker._broker.sessions.get(client_id, (None, None))
    return session is not None and session.transitions.state == "disconnected"


def test_consumer_on_embedded_broker(tmp_path, server_engine, committed_hall, database_url) -> None:  # noqa: F811
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port, tmp_path / "broker")
    broker.start()
    prefix = f"hwtest-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, database_url=database_url, mqtt_url=f"mqtt://127.0.0.1:{port}",
                        mqtt_topic_prefix=prefix, mqtt_share_group="", mqtt_protocol="3.1.1",
                        mqtt_client_id=f"hw-srv-{uuid.uuid4().hex[:8]}", secret_key="x" * 40)
    consumer = MqttConsumer(settings, make_sessionmaker(server_engine))
    assert consumer.subscription == f"{prefix}/+/+/+"
    consumer.start()
    edge = edge_client(port)
    hall = committed_hall.hall.id
    try:
        assert consumer.subscribed.wait(60), "consumer did not subscribe"
        first = opened(hall)
        for _ in range(2):  # a redelivery lands once
            edge.publish(c.topic_for(first, prefix), c.encode(first), qos=1).wait_for_publish(5)
        wait_processed(consumer, 2, timeout=60)

        consumer.stop()  # server down; the broker keeps its persistent session and queues what edges publish
        assert wait_until(lambda: disconnected(broker, settings.client_id), 60), "the broker never saw the server go"
        second = opened(hall)
        edge.publish(c.topic_for(second, prefix), c.encode(second), qos=1).wait_for_publish(5)
        consumer = MqttConsumer(settings, make_sessionmaker(server_engine))
        consumer.start()
        wait_processed(consumer, 1, timeout=60)
        with make_sessionmaker(server_engine)() as s:
            stored = s.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id == hall))
        assert stored == 2
    finally:
        edge.loop_stop()
        consumer.stop()
        broker.stop()
