"""Home Assistant (or any MQTT dashboard) through MQTT discovery, as Home Assistant documents it:
``<discovery_prefix>/<component>/<object_id>/config`` with a JSON config per entity (``unique_id`` as the object
id, ``device``, ``origin``, ``availability``), retained; an empty retained config removes the entity.

Entities per hall (one HA device per hall):

- ``sensor`` per window: its state (staffed, empty, closed, off_duty, unknown; a paused window is closed), the
  persons seen, the roster and a running pause as attributes;
- ``binary_sensor`` (device class ``problem``) per open alert (open or acknowledged), removed once decided;
- ``sensor`` for the last safety check (passed, failed, incomplete, pending, none) with its failed items;
- ``sensor`` with the number of open alerts.

Availability: the publisher's MQTT client has a last will ``offline`` (retained) on
``<state_prefix>/status`` and publishes ``online`` there when connected; every config lists that topic, so
Home Assistant greys the entities out when the server is gone. When Home Assistant announces itself
(``<discovery_prefix>/status`` = ``online``, its birth message) everything is published again. Retained configs
of entities that no longer exist (an alert decided while the server was down) are found through the
subscription to our own config topics and removed.

Enable it on one server process (``HALLWATCH_HA_DISCOVERY=true``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import typing
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edge.contract import RULES, WindowStateName
from server.db import Alert, Finding, Hall, SafetyCheck, Window, utcnow
from server.db.session import unit_of_work
from server.settings import Settings

log = logging.getLogger(__name__)
VERSION = "0.1.0"
WINDOW_STATES = list(typing.get_args(WindowStateName))
SAFETY_STATES = ["passed", "failed", "incomplete", "pending", "none"]
OWN = "hallwatch_"
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def object_id(*parts: str) -> str:
    """An HA object id / unique id: ``hallwatch_<parts>`` in the class [a-zA-Z0-9_-]."""
    return OWN + "_".join(_SAFE.sub("_", p) for p in parts)


class Entities:
    """Builds the retained topic → payload map HallWatch wants on the broker now (pure over the database)."""

    def __init__(self, discovery_prefix: str, state_prefix: str, hall_ids: list[str] | None = None) -> None:
        self.dp, self.sp, self.hall_ids = discovery_prefix.rstrip("/"), state_prefix.rstrip("/"), hall_ids

    @property
    def availability_topic(self) -> str:
        return f"{self.sp}/status"

    def _config(self, hall: Hall, component: str, uid: str, name: str, state_topic: str,
                **extra: Any) -> tuple[str, dict[str, Any]]:
        cfg = {"name": name, "unique_id": uid, "state_topic": state_topic,
               "json_attributes_topic": f"{state_topic}/attributes",
               "availability": [{"topic": self.availability_topic, "payload_available": "online",
                                 "payload_not_available": "offline"}],
               "device": {"identifiers": [object_id(hall.id)], "name": hall.name, "manufacturer": "HallWatch",
                          "model": "政务服务大厅 / service hall", "sw_version": VERSION},
               "origin": {"name": "HallWatch", "sw_version": VERSION}, **extra}
        return f"{self.dp}/{component}/{uid}/config", cfg

    def build(self, session: Session, now: dt.datetime) -> dict[str, bytes]:
        from server.people.approvals import active_pause

        out: dict[str, bytes] = {}

        def put(topic: str, value: Any) -> None:
            out[topic] = value.encode() if isinstance(value, str) else json.dumps(
                value, ensure_ascii=False, sort_keys=True).encode()

        q = select(Hall).order_by(Hall.id)
        if self.hall_ids is not None:
            q = q.where(Hall.id.in_(self.hall_ids))
        for hall in session.scalars(q):
            base = f"{self.sp}/{hall.id}"
            for w in hall.windows:
                if not w.active:
                    continue
                uid = object_id(hall.id, w.code, "state")
                st = f"{base}/window/{w.code}"
                topic, cfg = self._config(hall, "sensor", uid, f"{w.number}号窗口 {w.name}", st,
                                          device_class="enum", options=WINDOW_STATES, icon="mdi:account-tie")
                put(topic, cfg)
                pause = active_pause(session, w.id, now)
                state = "closed" if (w.closed or pause is not None) else w.live_state
                put(st, state if state in WINDOW_STATES else "unknown")
                put(f"{st}/attributes", {"window": w.code, "number": w.number, "persons": w.live_persons,
                                         "since": w.live_since.isoformat() if w.live_since else None,
                                         "paused": pause.reason if pause is not None else None})
            alerts = list(session.scalars(select(Alert).join(Finding, Finding.id == Alert.finding_id).where(
                Alert.hall_id == hall.id, Alert.status.in_(("open", "acknowledged"))).order_by(Alert.id)))
            for a in alerts:
                f = a.finding
                w = session.get(Window, f.window_id) if f.window_id else None
                uid = object_id(hall.id, "alert", str(a.id))
                st = f"{base}/alert/{a.id}"
                where = f" {w.number}号窗口" if w else ""
                topic, cfg = self._config(hall, "binary_sensor", uid, f"告警 #{a.id} {RULES.get(f.rule, f.rule)}{where}",
                                          st, device_class="problem", payload_on="ON", payload_off="OFF",
                                          icon="mdi:alert")
                put(topic, cfg)
                put(st, "ON")
                put(f"{st}/attributes", {"alert_id": a.id, "rule": f.rule, "severity": f.severity,
                                         "status": a.status, "escalated": a.escalated,
                                         "window": w.code if w else None, "started_at": f.started_at.isoformat()})
            uid = object_id(hall.id, "open_alerts")
            st = f"{base}/open_alerts"
            topic, cfg = self._config(hall, "sensor", uid, "未处理告警", st, state_class="measurement",
                                      icon="mdi:alert-circle")
            put(topic, cfg)
            put(st, str(len(alerts)))
            put(f"{st}/attributes", {"alert_ids": [a.id for a in alerts]})
            chk = session.scalars(select(SafetyCheck).where(SafetyCheck.hall_id == hall.id)
                                  .order_by(SafetyCheck.requested_at.desc(), SafetyCheck.id.desc())).first()
            uid = object_id(hall.id, "safety_check")
            st = f"{base}/safety_check"
            topic, cfg = self._config(hall, "sensor", uid, "下班安全检查", st, device_class="enum",
                                      options=SAFETY_STATES, icon="mdi:shield-check")
            put(topic, cfg)
            put(st, (chk.status if chk.status in SAFETY_STATES else "incomplete") if chk else "none")
            put(f"{st}/attributes", {} if chk is None else {
                "check_id": chk.id, "trigger": chk.trigger, "requested_at": chk.requested_at.isoformat(),
                "completed_at": chk.completed_at.isoformat() if chk.completed_at else None,
                "signed_by": chk.signed_name,
                "failed": [f"{i.item}:{i.subject}" for i in chk.items if i.passed is False]})
        return out


class HomeAssistantPublisher:
    """Keeps the broker's retained discovery configs and states equal to ``Entities.build`` (``sync``)."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], hall_ids: list[str] | None = None) -> None:
        self.settings, self.factory = settings, factory
        self.entities = Entities(settings.ha_discovery_prefix, settings.ha_state_prefix, hall_ids)
        self.published: dict[str, bytes] = {}
        self.seen_configs: set[str] = set()  # our retained config topics on the broker
        self.connected = threading.Event()
        self.dirty = threading.Event()
        self._lock = threading.Lock()
        cid = f"{settings.client_id}-ha-{uuid.uuid4().hex[:6]}"[:64]
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
        host, port, user, password = settings.mqtt_host_port
        if user:
            self.client.username_pw_set(user, password)
        self.client.will_set(self.entities.availability_topic, "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self._host, self._port = host, port

    def start(self) -> None:
        self.client.connect_async(self._host, self._port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        if self.connected.is_set():
            self.client.publish(self.entities.availability_topic, "offline", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("Home Assistant publisher: broker refused connection: %s", reason_code)
            return
        dp = self.entities.dp
        client.subscribe([(f"{dp}/status", 1), (f"{dp}/sensor/+/config", 1), (f"{dp}/binary_sensor/+/config", 1)])
        client.publish(self.entities.availability_topic, "online", qos=1, retain=True)
        with self._lock:
            self.published.clear()  # the broker may have lost retained messages: publish everything again
        self.connected.set()
        self.dirty.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic == f"{self.entities.dp}/status":
                if message.payload == b"online":  # Home Assistant (re)started: it wants every config again
                    with self._lock:
                        self.published.clear()
                    self.dirty.set()
                return
            parts = message.topic.split("/")
            if len(parts) >= 3 and parts[-2].startswith(OWN):
                with self._lock:
                    if message.payload:
                        self.seen_configs.add(message.topic)
                    else:
                        self.seen_configs.discard(message.topic)
        except Exception:  # one odd message never stops the network loop
            log.exception("Home Assistant publisher: message on %s", message.topic)

    def sync(self, now: dt.datetime | None = None, timeout_s: float = 10.0) -> int:
        """Publish what changed (retained); remove entities that are gone. Returns messages published."""
        if not self.connected.is_set():
            return 0
        self.dirty.clear()
        with unit_of_work(self.factory) as session:
            want = self.entities.build(session, now or utcnow())
        infos = []
        with self._lock:
            stale = [t for t in self.seen_configs | {t for t in self.published if t.endswith("/config")}
                     if t not in want]
            for topic in stale:  # removed entity: an empty retained config deletes it in Home Assistant
                infos.append(self.client.publish(topic, b"", qos=1, retain=True))
                self.published.pop(topic, None)
                self.seen_configs.discard(topic)
            for topic, payload in want.items():
                if self.published.get(topic) != payload:
                    infos.append(self.client.publish(topic, payload, qos=1, retain=True))
                    self.published[topic] = payload
            gone_states = [t for t in self.published if t not in want]
            for topic in gone_states:  # states and attributes of removed entities: clear the retained copy
                infos.append(self.client.publish(topic, b"", qos=1, retain=True))
                del self.published[topic]
        for info in infos:
            info.wait_for_publish(timeout_s)
        return len(infos)
