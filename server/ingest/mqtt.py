"""MQTT consumer (a thread started by the app lifespan) and the command publisher.

paho-mqtt 2.x, ``CallbackAPIVersion.VERSION2``, MQTT v5, QoS 1, persistent session
(``clean_start=False`` + session expiry, fixed client id), subscription made in ``on_connect``
to the shared subscription ``$share/<group>/<prefix>/+/+/+`` so several server processes split
the load. Each message is applied in its own unit of work and acknowledged after the commit
(manual ack); a bad payload is rejected and acknowledged; a database failure leaves the message
unacknowledged so the broker redelivers it on the next session.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edge.contract import (
    ID_PATTERN,
    SERVER_TO_EDGE,
    Command,
    Receipt,
    ServerStatus,
    command_topic,
    encode,
    receipt_topic,
    server_status_topic,
    server_subscription,
)
from server.db import Edge, Hall
from server.db.session import unit_of_work
from server.ingest.service import IngestOutcome, ingest
from server.metrics import INGEST_REJECTED, MQTT_CONNECTS
from server.settings import Settings

log = logging.getLogger(__name__)


def _client(settings: Settings, client_id: str, clean: bool) -> tuple[mqtt.Client, Properties | None]:
    """A paho client; MQTT 5 keeps the session by expiry, MQTT 3.1.1 by clean_session=False."""
    if settings.mqtt_protocol == "3.1.1":
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                             clean_session=clean, manual_ack=not clean)
    else:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                             manual_ack=not clean)
    host, port, user, password = settings.mqtt_host_port
    if user:
        client.username_pw_set(user, password)
    if settings.mqtt_tls:
        client.tls_set(ca_certs=settings.mqtt_ca_file)
    client.reconnect_delay_set(1, 30)
    if settings.mqtt_protocol == "3.1.1":
        return client, None
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0 if clean else settings.mqtt_session_expiry_s
    return client, props


def _session_args(props: Properties | None, clean: bool) -> dict:
    """connect() arguments: MQTT 5 takes clean_start + properties; 3.1.1 set clean_session on the client."""
    return {} if props is None else {"clean_start": clean, "properties": props}


class MqttConsumer:
    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.settings, self.factory = settings, factory
        self.subscription = server_subscription(settings.mqtt_topic_prefix, settings.mqtt_share_group)
        self.client, self._props = _client(settings, settings.client_id, clean=False)
        self.status_topic = server_status_topic(settings.client_id, settings.mqtt_topic_prefix)
        gone = ServerStatus(server_id=settings.client_id, online=False)
        self.client.will_set(self.status_topic, gone.model_dump_json(), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.processed = 0
        self.last_outcome: IngestOutcome | None = None

    # -- lifecycle
    def start(self) -> None:
        host, port, _, _ = self.settings.mqtt_host_port
        self.client.connect_async(host, port, keepalive=30, **_session_args(self._props, clean=False))
        self.client.loop_start()
        log.info("MQTT consumer %s → %s:%s %s", self.settings.client_id, host, port, self.subscription)

    def stop(self) -> None:
        if self.connected.is_set():  # a clean disconnect drops the will: say offline ourselves
            gone = ServerStatus(server_id=self.settings.client_id, online=False)
            info = self.client.publish(self.status_topic, gone.model_dump_json(), qos=1, retain=True)
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # -- callbacks (paho's network thread)
    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            MQTT_CONNECTS.inc(result="refused")
            log.error("MQTT connect refused: %s", reason_code)
            return
        MQTT_CONNECTS.inc(result="ok")
        self.connected.set()
        client.subscribe(self.subscription, qos=1)
        # edges resend what this server has not receipted yet when they see it come online
        online = ServerStatus(server_id=self.settings.client_id, online=True)
        client.publish(self.status_topic, online.model_dump_json(), qos=1, retain=True)
        log.info("MQTT connected (session present: %s), subscribed %s", flags.session_present, self.subscription)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if reason_code != 0:
            log.warning("MQTT disconnected (%s); paho reconnects", reason_code)

    def _on_message(self, client: mqtt.Client, userdata, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if parts[-1] in SERVER_TO_EDGE or (len(parts) > 1 and parts[1] == "_server"):
            client.ack(message.mid, message.qos)  # our own commands, receipts and status share the topic tree
            return
        try:
            with unit_of_work(self.factory) as session:
                outcome = ingest(session, message.payload, via="mqtt", topic=message.topic,
                                 topic_prefix=self.settings.mqtt_topic_prefix)
        except Exception:  # database down or commit failed: leave unacknowledged for redelivery
            INGEST_REJECTED.inc(reason="db_error", via="mqtt")
            log.exception("could not store MQTT message on %s; left unacknowledged", message.topic)
            return
        self.last_outcome = outcome
        self.processed += 1
        self._receipt(client, parts, outcome)
        client.ack(message.mid, message.qos)

    def _receipt(self, client: mqtt.Client, parts: list[str], outcome: IngestOutcome) -> None:
        """Tell the edge its message is stored (or rejected for good) so it stops resending it."""
        if outcome.message_id is None or len(parts) != 4:
            return
        try:
            receipt = Receipt(ids=[outcome.message_id], status=outcome.status)
        except ValueError:
            return
        client.publish(receipt_topic(parts[1], parts[2], parts[0]), receipt.model_dump_json(), qos=1)


class CommandError(RuntimeError):
    pass


class CommandPublisher:
    """Publishes ``command.duty_check`` / ``command.safety_check`` to every edge of a hall."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.settings, self.factory = settings, factory
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def _connected_client(self) -> mqtt.Client:
        with self._lock:
            if self._client is None:
                cid = f"{self.settings.client_id}-cmd-{uuid.uuid4().hex[:6]}"[:64]
                client, props = _client(self.settings, cid, clean=True)
                host, port, _, _ = self.settings.mqtt_host_port
                try:
                    client.connect(host, port, keepalive=30, **_session_args(props, clean=True))
                except OSError as exc:
                    raise CommandError(f"MQTT broker {host}:{port} unreachable: {exc}") from None
                client.loop_start()
                self._client = client
            return self._client

    def send_command(self, hall_id: str, kind: str, request_id: str | uuid.UUID | None = None,
                     timeout_s: float = 5.0) -> str:
        """Publish the command (QoS 1) to each edge of the hall; returns the request id (= command id).
        Create the DutyCheck/SafetyCheck row with that request id *before* calling this."""
        if kind not in ("duty_check", "safety_check"):
            raise ValueError(f"unknown command kind {kind!r}")
        rid = uuid.UUID(str(request_id)) if request_id else uuid.uuid4()
        self.publish_to_edges(hall_id, lambda code: Command(type=f"command.{kind}", id=rid, hall_id=hall_id,
                                                            edge_id=code), timeout_s=timeout_s)
        return str(rid)

    def publish_to_edges(self, hall_id: str, build: Callable[[str], Command], *, retain: bool = False,
                         timeout_s: float = 5.0) -> list[str]:
        """Publish ``build(edge_code)`` (QoS 1, retained when asked) on each edge's command topic of the hall;
        returns the edge codes. Raises CommandError for an unknown hall, a hall without edges or no PUBACK."""
        with self.factory() as session:
            if session.get(Hall, hall_id) is None:
                raise CommandError(f"unknown hall {hall_id!r}")
            edges = session.scalars(select(Edge.code).where(Edge.hall_id == hall_id)).all()
        if not edges:
            raise CommandError(f"hall {hall_id!r} has no edge")
        good = [code for code in edges if re.fullmatch(ID_PATTERN, code) and re.fullmatch(ID_PATTERN, hall_id)]
        for code in set(edges) - set(good):
            log.error("not sending to edge %r of hall %r: its id is not a valid topic level", code, hall_id)
        if not good:
            raise CommandError(f"hall {hall_id!r} has no edge with a valid id")
        client = self._connected_client()
        kind = ""
        try:
            for code in good:
                cmd = build(code)
                kind = cmd.type
                info = client.publish(command_topic(hall_id, code, self.settings.mqtt_topic_prefix), encode(cmd),
                                      qos=1, retain=retain)
                info.wait_for_publish(timeout_s)
                if not info.is_published():
                    raise CommandError(f"command to {hall_id}/{code} not acknowledged by the broker")
        except Exception:
            self.close()  # a broken connection is not reused: the next command connects afresh
            raise
        log.info("sent %s to %s/%s", kind, hall_id, ",".join(good))
        return list(good)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.disconnect()
            finally:
                client.loop_stop()
