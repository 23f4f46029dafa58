"""MQTT consumer (a network thread and a batch worker started by the app lifespan) and the command publisher.

paho-mqtt 2.x, ``CallbackAPIVersion.VERSION2``, MQTT v5, QoS 1, persistent session
(``clean_start=False`` + session expiry, fixed client id), subscription made in ``on_connect``
to the shared subscription ``$share/<group>/<prefix>/+/+/+`` so several server processes split
the load. The network thread only queues messages; the worker applies them in batches (at most
``ingest_batch_max`` messages, waiting ``ingest_batch_wait_ms`` to fill one), one transaction per batch
(``ingest_batch``), and acknowledges and receipts each message after its batch committed. Every message
ends acknowledged: stored, duplicate, or rejected and counted, whatever its bytes. While the database is
unreachable the batch is kept, retried with a back-off and left unacknowledged; ``stuck`` turns true
(and ``/healthz`` answers 503) once a message waited ``ingest_stuck_after_s``. The app runs ``ConsumerLanes``:
an urgent lane (findings, check results) and a bulk lane, each its own session and worker.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

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
from server.ingest.service import BatchItem, DatabaseUnavailable, IngestOutcome, ingest_batch
from server.metrics import INGEST_REJECTED, MQTT_CONNECTS
from server.settings import Settings

if TYPE_CHECKING:
    from server.ingest.worker import BulkProcess

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


class _Pending:
    __slots__ = ("item", "mid", "qos", "parts", "generation", "received")

    def __init__(self, message: mqtt.MQTTMessage, generation: int) -> None:
        self.item = BatchItem(bytes(message.payload), message.topic)
        self.mid, self.qos, self.parts = message.mid, message.qos, message.topic.split("/")
        self.generation, self.received = generation, time.monotonic()


# Lanes: findings and check results (alerts, what a duty officer waits for) get their own MQTT session and
# worker, so they never queue behind thousands of readings and heartbeats in the broker or in a batch.
YIELD_MAX_S = 1.0  # longest a bulk batch waits for the urgent lane's backlog (the bulk is never starved)
LANES: dict[str, tuple[str, ...]] = {"urgent": ("finding", "result"), "bulk": ("window", "sensor", "status",
                                                                            "heartbeat")}


def _lane_subscriptions(settings: Settings, lane: str) -> list[str]:
    everything = server_subscription(settings.mqtt_topic_prefix, settings.mqtt_share_group)
    if lane == "all":
        return [everything]
    return [everything[:-1] + leaf for leaf in LANES[lane]]


def _lane_client_id(settings: Settings, lane: str) -> str:
    """The bulk lane (and a single consumer) keeps the server's client id, so its persistent session carries on."""
    if lane in ("all", "bulk"):
        return settings.client_id
    return f"{settings.client_id[:57]}-{lane}"


class MqttConsumer:
    def __init__(self, settings: Settings, factory: sessionmaker[Session], lane: str = "all") -> None:
        self.settings, self.factory, self.lane = settings, factory, lane
        self.subscriptions = _lane_subscriptions(settings, lane)
        self.subscription = self.subscriptions[0] if len(self.subscriptions) == 1 else ",".join(self.subscriptions)
        self._everything = server_subscription(settings.mqtt_topic_prefix, settings.mqtt_share_group)
        self.client, self._props = _client(settings, _lane_client_id(settings, lane), clean=False)
        if self._props is not None:  # room for whole batches in flight (each acked only after its commit)
            self._props.ReceiveMaximum = min(65535, max(20, 4 * settings.ingest_batch_max))
        self.status_topic = server_status_topic(_lane_client_id(settings, lane), settings.mqtt_topic_prefix)
        gone = ServerStatus(server_id=_lane_client_id(settings, lane), online=False)
        self.client.will_set(self.status_topic, gone.model_dump_json(), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._subacks = 0
        self.client.on_subscribe = self._on_subscribe
        self.processed = 0
        self.batches = 0
        self.last_outcome: IngestOutcome | None = None
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._generation = 0  # bumped on every disconnect: packet ids of an older connection are never acked
        self._received = 0  # messages queued for the worker
        self._last_progress = time.monotonic()  # last batch done, or first message after an idle spell
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        self.idle = threading.Event()  # set while every received message has been applied
        self.idle.set()
        self.yield_to: MqttConsumer | None = None  # the bulk lane waits for the urgent lane to catch up

    # -- lifecycle
    def start(self) -> None:
        host, port, _, _ = self.settings.mqtt_host_port
        self._stopping.clear()
        self._worker = threading.Thread(target=self._work, name="hallwatch-ingest", daemon=True)
        self._worker.start()
        self.client.connect_async(host, port, keepalive=30, **_session_args(self._props, clean=False))
        self.client.loop_start()
        log.info("MQTT consumer %s → %s:%s %s", self.settings.client_id, host, port, self.subscription)

    def stop(self) -> None:
        if self.connected.is_set():  # a clean disconnect drops the will: say offline ourselves
            gone = ServerStatus(server_id=_lane_client_id(self.settings, self.lane), online=False)
            info = self.client.publish(self.status_topic, gone.model_dump_json(), qos=1, retain=True)
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass
        self._stopping.set()
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(30)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def stuck(self) -> bool:
        """True when the worker died or a received message has waited ``ingest_stuck_after_s`` unacknowledged."""
        if self._worker is not None and not self._worker.is_alive() and not self._stopping.is_set():
            return True
        waiting = self._received > self.processed
        return waiting and time.monotonic() - self._last_progress > self.settings.ingest_stuck_after_s

    # -- callbacks (paho's network thread)
    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            MQTT_CONNECTS.inc(result="refused")
            log.error("MQTT connect refused: %s", reason_code)
            return
        MQTT_CONNECTS.inc(result="ok")
        self.connected.set()
        self._subacks = 0
        if self.lane != "all" and flags.session_present:  # a session from before the lanes: drop its wildcard
            client.unsubscribe(self._everything)
        client.subscribe([(topic, 1) for topic in self.subscriptions])
        # edges resend what this server has not receipted yet when they see it come online
        online = ServerStatus(server_id=_lane_client_id(self.settings, self.lane), online=True)
        client.publish(self.status_topic, online.model_dump_json(), qos=1, retain=True)
        log.info("MQTT connected (session present: %s), subscribed %s", flags.session_present, self.subscription)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._generation += 1
        self.connected.clear()
        self.subscribed.clear()
        if reason_code != 0:
            log.warning("MQTT disconnected (%s); paho reconnects", reason_code)

    def _on_message(self, client: mqtt.Client, userdata, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if parts[-1] in SERVER_TO_EDGE or (len(parts) > 1 and parts[1] == "_server"):
            client.ack(message.mid, message.qos)  # our own commands, receipts and status share the topic tree
            return
        pending = _Pending(message, self._generation)
        if self._received == self.processed:
            self._last_progress = pending.received
        self.idle.clear()
        self._received += 1
        self._queue.put(pending)

    # -- the batch worker
    def _next_batch(self) -> list[_Pending]:
        first = self._queue.get()
        if first is None:
            return []
        batch = [first]
        # findings wait for nothing: their batch is what is queued already
        wait_ms = 0 if self.lane == "urgent" else self.settings.ingest_batch_wait_ms
        deadline = time.monotonic() + wait_ms / 1000
        while len(batch) < self.settings.ingest_batch_max:
            try:
                left = deadline - time.monotonic()
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._stopping.set()
                break
            batch.append(item)
        return batch

    def _work(self) -> None:
        while not self._stopping.is_set():
            batch = self._next_batch()
            if batch:
                if self.yield_to is not None:  # findings first: the batch waits (a little) for their backlog
                    self.yield_to.idle.wait(YIELD_MAX_S)
                self._apply(batch)
                if self._received == self.processed:
                    self.idle.set()

    def _apply(self, batch: list[_Pending]) -> None:
        delay = 0.5
        while True:
            try:
                outcomes = ingest_batch(self.factory, [p.item for p in batch], via="mqtt",
                                        topic_prefix=self.settings.mqtt_topic_prefix)
                break
            except DatabaseUnavailable:
                INGEST_REJECTED.inc(reason="db_error", via="mqtt")
                log.error("database unreachable; %d MQTT messages kept unacknowledged, retrying in %.1f s",
                          len(batch), delay)
            except Exception:  # a bug in the batch machinery: keep the messages, never lose them silently
                log.exception("ingest batch failed; %d MQTT messages kept, retrying in %.1f s", len(batch), delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, 10.0)
        self._receipts(batch, outcomes)
        for p in batch:
            if p.generation == self._generation:  # else the broker redelivers it on the new connection
                try:
                    self.client.ack(p.mid, p.qos)
                except Exception:  # noqa: BLE001 - connection just went away: redelivered, then a duplicate
                    log.debug("ack of %s failed", p.mid, exc_info=True)
        self.last_outcome = outcomes[-1]
        self.batches += 1
        self._last_progress = time.monotonic()
        self.processed += len(batch)

    def _receipts(self, batch: list[_Pending], outcomes: list[IngestOutcome]) -> None:
        """Tell each edge its messages are stored (or rejected for good) so it stops resending them: one receipt
        per edge and status for the batch."""
        grouped: dict[tuple[str, str, str, str], list[str]] = {}
        for p, outcome in zip(batch, outcomes, strict=True):
            if outcome.message_id is None or len(p.parts) != 4:
                continue
            grouped.setdefault((p.parts[0], p.parts[1], p.parts[2], outcome.status), []).append(outcome.message_id)
        for (prefix, hall, edge, status), ids in grouped.items():
            try:
                receipt = Receipt(ids=ids, status=status)
            except ValueError:
                continue
            self.client.publish(receipt_topic(hall, edge, prefix), receipt.model_dump_json(), qos=1)


class _AllSet:
    """``is_set``/``wait`` over several events: true when every one is set."""

    def __init__(self, events: list[threading.Event]) -> None:
        self.events = events

    def is_set(self) -> bool:
        return all(e.is_set() for e in self.events)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for e in self.events:
            if not e.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                return False
        return True


class ConsumerLanes:
    """The app's MQTT consumers: an urgent lane (findings, check results) and a bulk lane (window states,
    readings, heartbeats, status), each with its own session and batch worker; one face for /healthz. The bulk
    lane's worker lets the urgent lane's backlog go first (up to YIELD_MAX_S per batch): the two share one
    interpreter, and an alert should not wait behind thousands of readings. With ``ingest_bulk_process`` the bulk
    lane runs in a worker process instead (``server.ingest.worker``)."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        urgent = MqttConsumer(settings, factory, "urgent")
        bulk: MqttConsumer | BulkProcess
        if settings.ingest_bulk_process:  # its own interpreter: nothing to yield
            from server.ingest import worker

            worker.check(settings, factory.kw["bind"].dialect.name)
            bulk = worker.BulkProcess(settings)
        else:
            bulk = MqttConsumer(settings, factory, "bulk")
            bulk.yield_to = urgent
        self.lanes: list[MqttConsumer | BulkProcess] = [urgent, bulk]
        self.connected = _AllSet([c.connected for c in self.lanes])
        self.subscribed = _AllSet([c.subscribed for c in self.lanes])

    def start(self) -> None:
        for c in self.lanes:
            c.start()

    def stop(self) -> None:
        for c in self.lanes:
            c.stop()

    @property
    def stuck(self) -> bool:
        return any(c.stuck for c in self.lanes)

    @property
    def processed(self) -> int:
        return sum(c.processed for c in self.lanes)


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
