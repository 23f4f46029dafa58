"""The Python fallback broker keeps persistent sessions across a restart (QoS 1 queued while away)."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from server.embedded_broker import EmbeddedBroker
from tests.conftest import free_port, wait_port


def client(cid: str, port: int, received: list[bytes] | None = None, got: threading.Event | None = None):
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False,
                    protocol=mqtt.MQTTv311)
    if received is not None:
        def on_message(_c, _u, msg):
            received.append(msg.payload)
            if got is not None:
                got.set()
        c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_persistent_session_survives_restart(tmp_path) -> None:
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port, tmp_path)
    broker.start()
    topic = f"t/{uuid.uuid4().hex}"
    sub = client("hw-sub", port)
    done = threading.Event()
    sub.on_subscribe = lambda *a, **k: done.set()
    sub.subscribe(topic, qos=1)
    assert done.wait(60)
    sub.disconnect()
    sub.loop_stop()

    broker.stop()
    broker = EmbeddedBroker("127.0.0.1", port, tmp_path)
    broker.start()
    assert wait_port("127.0.0.1", port)

    pub = client("hw-pub", port)
    info = pub.publish(topic, b"while-away", qos=1)
    info.wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()

    received: list[bytes] = []
    got = threading.Event()
    back = client("hw-sub", port, received, got)  # same client id, clean_session=False: no new subscribe
    try:
        assert got.wait(60), "queued message was not delivered to the persistent session after the restart"
        assert received == [b"while-away"]
    finally:
        back.disconnect()
        back.loop_stop()
        broker.stop()
