"""Home Assistant MQTT discovery over a real broker (unique discovery prefix per test): the message shapes Home
Assistant documents (``<prefix>/<component>/<object_id>/config``, a JSON config with ``unique_id``,
``state_topic``, ``availability``, ``device``), states, removal of a decided alert by an empty retained config,
republishing on Home Assistant's birth message, cleanup of stale configs after a restart, and the last will."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge import contract as c
from server.db import SafetyCheck, SafetyCheckItem
from server.integrations.homeassistant import WINDOW_STATES, HomeAssistantPublisher, object_id
from server.settings import Settings
from server.testing import *  # fixtures: client, db_session, …
from tests.conftest import wait_for, wait_until
from tests.people_helpers import Hall, local, make_hall


class Retained:
    """A dashboard's view of the broker: the last payload of every topic under the prefix."""

    def __init__(self, broker, prefix: str) -> None:
        self.topics: dict[str, bytes] = {}
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"dash-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv5)
        self.c.on_message = self._msg
        self.c.connect(broker.host, broker.port)
        self.c.subscribe(f"{prefix}/#", qos=1)
        self.c.loop_start()

    def _msg(self, client, userdata, m) -> None:
        with self.lock:
            self.topics[m.topic] = m.payload
            self.counts[m.topic] = self.counts.get(m.topic, 0) + 1

    def get(self, topic: str) -> bytes | None:
        with self.lock:
            return self.topics.get(topic)

    def configs(self) -> dict[str, dict]:
        with self.lock:
            return {t: json.loads(p) for t, p in self.topics.items() if t.endswith("/config") and p}

    def clear_retained(self) -> None:
        for topic in list(self.topics):
            self.c.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture
def hall(client, db_session) -> Hall:
    return make_hall(client, db_session)


def publisher(hall: Hall, broker, prefix: str) -> HomeAssistantPublisher:
    settings = Settings(mqtt_url=f"mqtt://{broker.host}:{broker.port}", ha_discovery=True,
                        ha_discovery_prefix=f"{prefix}/homeassistant", ha_state_prefix=f"{prefix}/hallwatch",
                        mqtt_client_id=f"hw-ha-{uuid.uuid4().hex[:8]}")
    pub = HomeAssistantPublisher(settings, hall.client.app.state.sessionmaker, hall_ids=[hall.hall_id])
    pub.start()
    assert pub.connected.wait(15), "publisher did not connect"
    return pub


def test_discovery_states_removal_birth_and_last_will(hall, mqtt_broker, topic_prefix):
    hall.ingest(c.WindowState(hall_id=hall.hall_id, edge_id=hall.edge_id, window_id="W01", state="empty",
                              since=local(2026, 11, 23, 9), persons=0))
    hall.ingest(c.WindowState(hall_id=hall.hall_id, edge_id=hall.edge_id, window_id="W02", state="staffed",
                              since=local(2026, 11, 23, 9), persons=1))
    fid = hall.finding("window_unstaffed", "W01", local(2026, 11, 23, 9, 5))
    chk = SafetyCheck(hall_id=hall.hall_id, request_id=str(uuid.uuid4()), trigger="auto", status="failed",
                      requested_at=local(2026, 11, 23, 18), completed_at=local(2026, 11, 23, 18, 1))
    chk.items.append(SafetyCheckItem(item="power_off", subject="plug-w01-pc", passed=False))
    hall.session.add(chk)
    hall.session.commit()
    dash = Retained(mqtt_broker, topic_prefix)
    dp, sp = f"{topic_prefix}/homeassistant", f"{topic_prefix}/hallwatch"
    pub = publisher(hall, mqtt_broker, topic_prefix)
    try:
        assert pub.sync() > 0
        alert_id = hall.alert(fid)["id"]
        w01 = object_id(hall.hall_id, "W01", "state")
        alert_uid = object_id(hall.hall_id, "alert", str(alert_id))
        want = {f"{dp}/sensor/{w01}/config", f"{dp}/binary_sensor/{alert_uid}/config",
                f"{dp}/sensor/{object_id(hall.hall_id, 'safety_check')}/config",
                f"{dp}/sensor/{object_id(hall.hall_id, 'open_alerts')}/config"}
        configs = wait_for(lambda: dash.configs() if want <= set(dash.configs()) else None, "discovery configs")
        assert wait_until(lambda: dash.get(f"{sp}/status") == b"online")
        for topic, cfg in configs.items():  # the documented shape of every config
            component, uid = topic.split("/")[-3], topic.split("/")[-2]
            assert component in ("sensor", "binary_sensor") and uid == cfg["unique_id"]
            assert all(ch.isalnum() or ch in "_-" for ch in uid)
            assert cfg["state_topic"] and cfg["availability"] == [
                {"topic": f"{sp}/status", "payload_available": "online", "payload_not_available": "offline"}]
            assert cfg["device"]["identifiers"] == [object_id(hall.hall_id)] and cfg["device"]["name"]
            assert cfg["origin"]["name"] == "HallWatch" and cfg["name"]
            state = wait_for(lambda cfg=cfg: dash.get(cfg["state_topic"]), f"state of {uid}")
            if cfg.get("device_class") == "enum":
                assert state.decode() in cfg["options"]
            assert json.loads(wait_for(lambda cfg=cfg: dash.get(cfg["json_attributes_topic"]), "attributes")) \
                is not None
        w = configs[f"{dp}/sensor/{w01}/config"]
        assert w["options"] == WINDOW_STATES and dash.get(w["state_topic"]) == b"empty"
        a = configs[f"{dp}/binary_sensor/{alert_uid}/config"]
        assert (a["device_class"], a["payload_on"], a["payload_off"]) == ("problem", "ON", "OFF")
        assert dash.get(a["state_topic"]) == b"ON"
        s = configs[f"{dp}/sensor/{object_id(hall.hall_id, 'safety_check')}/config"]
        assert dash.get(s["state_topic"]) == b"failed"
        assert json.loads(dash.get(s["json_attributes_topic"]))["failed"] == ["power_off:plug-w01-pc"]

        # the alert is decided: its entity is removed (empty retained config) and the count drops
        hall.post(f"/api/v1/alerts/{alert_id}/dismiss", json={"comment": "误报：人在柜台下取材料"})
        pub.sync()
        assert wait_until(lambda: dash.get(f"{dp}/binary_sensor/{alert_uid}/config") == b"")
        assert wait_until(lambda: dash.get(f"{sp}/{hall.hall_id}/open_alerts") == b"0")
        assert pub.sync() == 0  # nothing changed, nothing published

        # Home Assistant restarts: its birth message makes HallWatch publish every config again
        before = dash.counts.get(f"{dp}/sensor/{w01}/config", 0)
        dash.c.publish(f"{dp}/status", b"online", qos=1).wait_for_publish(5)
        assert wait_until(pub.dirty.is_set)
        pub.sync()
        assert wait_until(lambda: dash.counts.get(f"{dp}/sensor/{w01}/config", 0) > before)

        # the server dies: the broker publishes its last will
        pub.client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
        assert wait_until(lambda: dash.get(f"{sp}/status") == b"offline")
        pub.client.loop_stop()

        # a stale config of an alert decided while the server was down is removed by the next server
        stale = f"{dp}/binary_sensor/{object_id(hall.hall_id, 'alert', '999999')}/config"
        dash.c.publish(stale, json.dumps({"name": "old", "unique_id": "x", "state_topic": "x"}), qos=1,
                       retain=True).wait_for_publish(5)
        assert wait_until(lambda: dash.get(stale) not in (None, b""))
        pub2 = publisher(hall, mqtt_broker, topic_prefix)
        try:
            assert wait_until(lambda: stale in pub2.seen_configs)
            pub2.sync()
            assert wait_until(lambda: dash.get(stale) == b"")
            assert wait_until(lambda: dash.get(f"{sp}/status") == b"online")
        finally:
            pub2.stop()
        assert wait_until(lambda: dash.get(f"{sp}/status") == b"offline")  # a clean stop says offline too
    finally:
        dash.clear_retained()


def test_paused_window_shows_closed(hall, mqtt_broker, topic_prefix):
    now = dt.datetime.now(dt.UTC)
    hall.ingest(c.WindowState(hall_id=hall.hall_id, edge_id=hall.edge_id, window_id="W03", state="empty",
                              since=now - dt.timedelta(minutes=5)))
    hall.post(f"/api/v1/people/halls/{hall.hall_id}/pauses", json={
        "window_id": "W03", "start": (now - dt.timedelta(minutes=1)).isoformat(),
        "end": (now + dt.timedelta(hours=1)).isoformat(), "reason": "系统升级"})
    dash = Retained(mqtt_broker, topic_prefix)
    pub = publisher(hall, mqtt_broker, topic_prefix)
    try:
        pub.sync()
        st = f"{topic_prefix}/hallwatch/{hall.hall_id}/window/W03"
        assert wait_until(lambda: dash.get(st) == b"closed")
        assert json.loads(wait_for(lambda: dash.get(f"{st}/attributes"), "attributes"))["paused"] == "系统升级"
    finally:
        pub.stop()
        dash.clear_retained()
