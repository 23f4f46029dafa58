"""End-to-end acknowledgement: with await_receipts, a message is done only when a server receipts it. Until
then it is published again when a server comes online and after a back-off; receipts stop the repeats."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt

from edge import contract as c
from edge.outbox import Outbox
from tests.test_outbox import EDGE, HALL, finding, wait_until


class FakeServer:
    """A stand-in for the server's consumer on the real broker: counts deliveries, receipts on request."""

    def __init__(self, broker, prefix: str) -> None:
        self.prefix, self.seen, self.lock = prefix, Counter(), threading.Lock()
        self.receipting = False
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fake-srv-{uuid.uuid4().hex[:6]}")
        ready = threading.Event()
        self.c.on_connect = lambda cl, u, f, rc, p: (cl.subscribe(f"{prefix}/{HALL}/{EDGE}/finding", qos=1),
                                                     ready.set())
        self.c.on_message = self._on_message
        self.c.connect(broker.host, broker.port)
        self.c.loop_start()
        assert ready.wait(60)

    def _on_message(self, cl, u, m) -> None:
        mid = json.loads(m.payload)["id"]
        with self.lock:
            self.seen[mid] += 1
        if self.receipting:
            receipt = c.Receipt(ids=[mid], status="accepted")
            cl.publish(c.receipt_topic(HALL, EDGE, self.prefix), receipt.model_dump_json(), qos=1)

    def announce_online(self) -> None:
        status = c.ServerStatus(server_id="fake", online=True)
        self.c.publish(c.server_status_topic("fake", self.prefix), status.model_dump_json(), qos=1)

    def close(self) -> None:
        self.c.publish(c.server_status_topic("fake", self.prefix), b"", retain=True).wait_for_publish(5)
        self.c.disconnect()
        self.c.loop_stop()


def test_unreceipted_messages_are_resent_until_receipted(mqtt_broker, topic_prefix, tmp_path: Path) -> None:
    server = FakeServer(mqtt_broker, topic_prefix)
    ob = Outbox(tmp_path / "ob", prefix=topic_prefix, await_receipts=True, resend_after_s=0.5)
    ob.start_mqtt(mqtt_broker.host, mqtt_broker.port, HALL, EDGE, keepalive=5)
    try:
        ids = []
        for i in range(3):
            m = finding(i)
            ob.put(m)
            ids.append(str(m.id))
        assert wait_until(lambda: all(server.seen[i] >= 1 for i in ids), 60)
        assert ob.pending() == 3, "a broker PUBACK is not a receipt"
        # no receipts: the back-off (0.5 s, then doubling) publishes them again
        assert wait_until(lambda: all(server.seen[i] >= 2 for i in ids), 60), server.seen
        assert ob.counters["messages_resent"] >= 3
        # receipts stop the repeats
        server.receipting = True
        server.announce_online()
        assert wait_until(lambda: ob.pending() == 0, 60), ob.pending_detail()
        settled = dict(server.seen)
        time.sleep(3)  # longer than the back-off's next step: nothing may come any more
        assert dict(server.seen) == settled, "receipted messages were published again"
    finally:
        ob.stop()
        server.close()


def test_server_online_resends_everything_unreceipted(mqtt_broker, topic_prefix, tmp_path: Path) -> None:
    """A server announcing itself online gets every unreceipted message again at once (the back-off here is an
    hour, so only the announcement can explain a second delivery)."""
    server = FakeServer(mqtt_broker, topic_prefix)
    ob = Outbox(tmp_path / "ob", prefix=topic_prefix, await_receipts=True, resend_after_s=3600)
    ob.start_mqtt(mqtt_broker.host, mqtt_broker.port, HALL, EDGE, keepalive=5)
    try:
        ids = []
        for i in range(3):
            m = finding(i)
            ob.put(m)
            ids.append(str(m.id))
        assert wait_until(lambda: ob.counters["messages_acked"] >= 3 and all(server.seen[i] for i in ids), 60)
        # what was sent over a second ago is resent on an announcement: announce until that holds
        assert wait_until(lambda: server.announce_online() or all(server.seen[i] >= 2 for i in ids), 60,
                          interval=0.5), server.seen
        assert ob.counters["messages_resent"] >= 3 and ob.pending() == 3
    finally:
        ob.stop()
        server.close()


def test_bad_receipts_are_counted_and_ignored(mqtt_broker, topic_prefix, tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "ob", prefix=topic_prefix, await_receipts=True)
    ob.start_mqtt(mqtt_broker.host, mqtt_broker.port, HALL, EDGE, keepalive=5)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"junk-{uuid.uuid4().hex[:6]}")
    pub.connect(mqtt_broker.host, mqtt_broker.port)
    pub.loop_start()
    topic = c.receipt_topic(HALL, EDGE, topic_prefix)
    try:
        first = finding(0)
        ob.put(first)
        assert wait_until(lambda: ob.counters["messages_acked"] >= 1, 60)
        pub.publish(topic, c.Receipt(ids=[str(first.id)], status="accepted").model_dump_json(), qos=1)
        assert wait_until(lambda: ob.pending() == 0, 60), "a valid receipt was not applied"  # receipts arrive now
        for junk in (b"not json", b'{"type": "receipt", "ids": []}', b'{"ids": ["x"], "status": "accepted"}'):
            pub.publish(topic, junk, qos=1).wait_for_publish(30)
        assert wait_until(lambda: ob.counters["bad_receipts"] == 3, 60), ob.counters
        ob.put(finding(1))
        assert wait_until(lambda: ob.counters["messages_acked"] >= 2, 60)
        assert ob.pending() == 1
    finally:
        pub.loop_stop()
        ob.stop()
