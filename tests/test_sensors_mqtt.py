"""The hub against a real Mosquitto: every adapter's payloads, malformed and retained junk next to valid
messages, the simulate/tail commands, and a broker restart that must not lose rule state."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from edge.sensors.hub import SensorHub
from edge.sensors.simformats import availability_messages, state_messages
from tests.conftest import wait_until
from tests.test_sensors_adapters import REJECTS
from tests.test_sensors_support import MONDAY, SENSORS, Clock, at, make_cfg

VALUES = {"plug": 96.0, "power_meter": 110.0, "contact": "open", "occupancy": True, "smoke": False, "lock": "locked"}



class Publisher:
    def __init__(self, host: str, port: int, ns: str):
        self.ns = ns + "/"
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.c.connect(host, port)
        self.c.loop_start()

    def pub(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.c.publish(self.ns + topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def clear_retained(host: str, port: int, ns: str) -> int:
    """Delete every retained message under the test namespace (availability, ESPHome states, sim clock)."""
    topics: set[str] = set()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.on_message = lambda cl, u, m: topics.add(m.topic) if m.retain and m.payload else None
    c.connect(host, port)
    c.loop_start()
    c.subscribe(f"{ns}/#", qos=1)
    time.sleep(0.5)
    for t in topics:
        c.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
    c.loop_stop()
    c.disconnect()
    return len(topics)


@pytest.fixture(autouse=True)
def _no_retained_leftovers(request, topic_prefix):
    yield
    broker = request.node.funcargs.get("mqtt_broker")
    if broker is not None:
        clear_retained(broker.host, broker.port, topic_prefix)


def cfg_for(broker):
    cfg = make_cfg()
    return cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"host": broker.host, "port": broker.port})})


@pytest.fixture
def hub_on(mqtt_broker, topic_prefix):
    hubs = []

    def make(clock, **kw):
        events, readings = [], []
        hub = SensorHub(cfg_for(mqtt_broker), on_event=events.append, on_reading=readings.append, clock=clock,
                        namespace=topic_prefix, reading_every_s=0, client_id=f"{topic_prefix}-hub", **kw)
        hub.start()
        hubs.append(hub)
        assert hub.subscribed.wait(60), "hub did not subscribe"
        return hub, events, readings

    yield make
    for h in hubs:
        h.stop()


def test_every_adapter_over_the_broker(mqtt_broker, topic_prefix, hub_on):
    clock = Clock(at(MONDAY, "10:00:00"))
    hub, _events, readings = hub_on(clock)
    pub = Publisher(mqtt_broker.host, mqtt_broker.port, topic_prefix)
    try:
        for s in hub.cfg.sensors:
            for t, p, r in availability_messages(s, True) + state_messages(s, VALUES[s.kind], clock.now, hub.cfg.tz):
                pub.pub(t, p, r)
        ids = {s["id"] for s in SENSORS}
        assert wait_until(lambda: {r.sensor_id for r in readings if r.kind != "availability"} == ids, 20)
        for s in hub.cfg.sensors:
            main = [r.value for r in readings if r.sensor_id == s.id and r.kind not in ("availability", "switch",
                                                                                        "energy")]
            assert main == [pytest.approx(VALUES[s.kind])], s.id
        assert hub.counters["rejected"] == 0
    finally:
        pub.close()


def test_malformed_and_retained_junk_never_stop_valid_messages(mqtt_broker, topic_prefix, hub_on):
    pub = Publisher(mqtt_broker.host, mqtt_broker.port, topic_prefix)
    try:
        pub.pub("zigbee2mqtt/main_door", b"\x00\x01 retained junk {", retain=True)  # waiting before the hub starts
        pub.pub("zigbee2mqtt/exit_lock", b'{"lock_state":42}', retain=True)
        clock = Clock(at(MONDAY, "10:00:00"))
        hub, _events, readings = hub_on(clock)
        assert wait_until(lambda: hub.counters["rejected"] == 2, 20)
        assert hub.counters["rejected:not_json"] == 1 and hub.counters["rejected:wrong_type"] == 1
        for i, (topic, payload, reason) in enumerate(REJECTS):
            pub.pub(topic, payload)
            pub.pub("zigbee2mqtt/w01_pc", b'{"power":%d}' % (100 + i))
        n = len(REJECTS)
        assert wait_until(lambda: len([r for r in readings if r.sensor_id == "pc-w01"]) == n, 30)
        assert [r.value for r in readings if r.sensor_id == "pc-w01"] == [100.0 + i for i in range(n)]
        expected: dict[str, int] = {}
        for _, _, reason in REJECTS:
            expected[reason] = expected.get(reason, 0) + 1
        expected["not_json"] += 1
        expected["wrong_type"] += 1
        got = {k.split(":", 1)[1]: v for k, v in hub.counters.items() if k.startswith("rejected:")}
        assert got == expected
        assert hub.counters["rejected"] == n + 2
    finally:
        pub.pub("zigbee2mqtt/main_door", b"", retain=True)  # clear the retained junk
        pub.pub("zigbee2mqtt/exit_lock", b"", retain=True)
        pub.close()


def test_broker_restart_reconnects_resubscribes_and_keeps_rule_state(own_broker, topic_prefix):
    cfg = make_cfg()
    cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"host": own_broker.host, "port": own_broker.port,
                                                                    "keepalive_s": 5})})
    clock = Clock(at(MONDAY, "17:55:00"))
    events = []
    hub = SensorHub(cfg, on_event=events.append, clock=clock, namespace=topic_prefix, tick_s=3600,
                    client_id=f"{topic_prefix}-restart")
    hub.start()
    pub = None
    try:
        assert hub.subscribed.wait(60), "hub did not subscribe"
        pub = Publisher(own_broker.host, own_broker.port, topic_prefix)
        s = next(x for x in cfg.sensors if x.id == "pc-w01")
        for t, p, r in state_messages(s, 95.0, at(MONDAY, "17:55:00"), cfg.tz):
            pub.pub(t, p, r)
        assert wait_until(lambda: hub.counters["readings"] >= 3, 20)
        pub.close()
        pub = None

        own_broker.stop()
        assert wait_until(lambda: not hub.connected.is_set(), 60)
        hub.tick(at(MONDAY, "18:05:00"))  # time passes while the broker is down; state stays in the hub
        own_broker.start()
        assert wait_until(lambda: hub.counters["connects"] >= 2, 60), "hub did not reconnect"
        assert hub.subscribed.wait(60), "hub did not subscribe again"

        pub = Publisher(own_broker.host, own_broker.port, topic_prefix)
        clock.now = at(MONDAY, "18:10:00")
        for t, p, r in state_messages(s, 96.0, clock.now, cfg.tz):  # only arrives if resubscribed
            pub.pub(t, p, r)
        assert wait_until(lambda: hub.counters["readings"] >= 6, 20), "no messages after the restart"
        opened = [e for e in events if e.rule == "power_left_on" and e.kind == "opened"]
        assert [e.at for e in opened] == [at(MONDAY, "18:00:00")]  # the episode began before the restart
        assert hub.counters["disconnects"] >= 1
    finally:
        if pub:
            pub.close()
        hub.stop()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge.cli", "sensors", *args]


def test_simulate_and_tail_commands(mqtt_broker, topic_prefix, tmp_path: Path):
    cfg = cfg_for(mqtt_broker)
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), allow_unicode=True))
    broker = f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    tail = subprocess.Popen(_cli("tail", "--config", str(path), "--broker", broker, "--namespace", topic_prefix,
                                 "--seconds", "60", "--sim-clock"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        line = tail.stderr.readline()  # "tailing N sensors …" once subscribed
        assert line.startswith("tailing"), line
        sim = subprocess.run(_cli("simulate", "--config", str(path), "--scenario", "kettle", "--speed", "600",
                                  "--date", str(MONDAY), "--broker", broker, "--namespace", topic_prefix),
                             capture_output=True, text=True, timeout=120, env=env, check=False)
        assert sim.returncode == 0, sim.stderr
        assert "published" in sim.stderr
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.extend(tail.stdout), daemon=True)
        reader.start()
        assert wait_until(lambda: any("high_power_appliance closed" in x for x in out), 30), out[-20:]
    finally:
        tail.terminate()
        tail.wait(10)
    kettle = [x for x in out if "office-plug" in x and " power " in x]
    assert any(float(x.split()[4]) >= 1700 for x in kettle)
    assert any("** high_power_appliance opened sensor=office-plug at 10:02:00" in x for x in out)
    assert any("duration 240 s" in x for x in out if "high_power_appliance closed" in x)
