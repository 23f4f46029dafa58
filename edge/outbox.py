"""Durable outbox: every contract message and evidence file waits on disk until acknowledged.

Messages live in a SQLite database (WAL) in ``dir``; evidence files are stored content-addressed
under ``dir/files/<aa>/<sha256>``. Two delivery jobs drain it:

- MQTT: messages are handed to paho-mqtt 2.x (QoS 1, fixed client id, persistent session) in
  insertion order; a row is marked sent only when its PUBACK arrives (``on_publish``). Paho
  itself resends in-flight messages after a reconnect, so the outbox never hands the same row to
  paho twice in one process; after an edge restart every unacknowledged row is published again
  (the server deduplicates by message id).
- HTTP: files are ``PUT {server_url}/api/v1/evidence/{sha256}`` with a Bearer token, retried with
  exponential back-off; 200/201 mark the file uploaded; 400/422 (hash mismatch) re-check the
  file on disk and park it as failed (logged, counted) so one bad file never blocks the others;
  415 (not a JPEG, PNG or MP4) parks it too.

The status topic carries a retained ``EdgeStatus``: online on connect, and offline as last will.

With ``await_receipts`` (the agent's setting) a message is done only when the *server* names it in a receipt
(``<p>/<hall>/<edge>/receipt``), not when the broker PUBACKs it: until then it is published again when a
server announces itself online (``<p>/_server/+/status``) and after a growing back-off, so a broker that
drops its queue (Mosquitto loses shared-subscription queues when it restarts) loses nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Callable

import httpx
import paho.mqtt.client as mqtt
from pydantic import BaseModel

from edge import contract
from edge.contract import EdgeStatus, EvidenceKind, EvidenceRef

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    created REAL NOT NULL,
    sent REAL
);
CREATE INDEX IF NOT EXISTS messages_unsent ON messages(sent, seq);
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    uploaded REAL,
    failed TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0
);
"""

OnCommand = Callable[[bytes], None]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Outbox:
    """SQLite-backed store-and-forward queue for one edge agent.

    ``put``/``put_file`` may be called from any thread and never block on the network.
    ``start_mqtt``/``start_uploads`` launch the delivery jobs; ``stop`` ends them.
    """

    def __init__(self, directory: str | os.PathLike[str], prefix: str = "hallwatch", max_in_flight: int = 100,
                 *, await_receipts: bool = False, resend_after_s: float = 120.0):
        self.dir = Path(directory)
        self.files_dir = self.dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_in_flight = max_in_flight
        self._db = sqlite3.connect(self.dir / "outbox.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
        for column, decl in (("receipted", "REAL"), ("resend_at", "REAL"), ("resends", "INTEGER NOT NULL DEFAULT 0")):
            if column not in columns:  # outboxes written before receipts existed
                self._db.execute(f"ALTER TABLE messages ADD COLUMN {column} {decl}")
        self.await_receipts = await_receipts
        self.resend_after_s = resend_after_s
        self._receipts: deque[list[str]] = deque()  # receipted ids, applied by the feeder
        self._resend_all = threading.Event()  # a server came online: resend everything unreceipted
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.counters: Counter[str] = Counter()
        # MQTT state
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._in_flight: dict[int, int] = {}  # paho mid -> seq
        self._last_handed = 0  # highest seq handed to paho in this process (paho resends those itself)
        self._acks: deque[int] = deque()  # PUBACKed mids, applied by the feeder
        self._subscriptions: dict[str, OnCommand] = {}
        self._status: tuple[str, str, str] | None = None  # hall, edge, version
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ store
    def put(self, msg: BaseModel, qos: int = 1) -> None:
        """Store a contract message durably (idempotent on the message id)."""
        topic = contract.topic_for(msg, self.prefix)  # type: ignore[arg-type]
        payload = contract.encode(msg)
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO messages(id, topic, payload, qos, created) VALUES (?,?,?,?,?)",
                (str(msg.id), topic, payload, qos, time.time()),  # type: ignore[attr-defined]
            )
        self.counters["messages_put"] += 1
        self._wake.set()

    def file_path(self, sha: str) -> Path:
        return self.files_dir / sha[:2] / sha

    def put_file(
        self,
        data_or_path: bytes | str | os.PathLike[str],
        kind: EvidenceKind,
        content_type: str,
        captured_at: dt.datetime | None = None,
    ) -> EvidenceRef:
        """Store an evidence file content-addressed; return its reference. Same content = same file."""
        if isinstance(data_or_path, (bytes, bytearray)):
            data = bytes(data_or_path)
            sha, size = sha256_of(data), len(data)
            dest = self.file_path(sha)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=dest.parent)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, dest)
        else:
            src = Path(data_or_path)
            sha, size = sha256_file(src), src.stat().st_size
            dest = self.file_path(sha)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_suffix(".part")
                shutil.copyfile(src, tmp)
                os.replace(tmp, dest)
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO files(sha256, kind, content_type, size, created) VALUES (?,?,?,?,?)",
                (sha, kind, content_type, size, time.time()),
            )
        self.counters["files_put"] += 1
        self._wake.set()
        return EvidenceRef(sha256=sha, kind=kind, content_type=content_type, size=size, captured_at=captured_at)

    @property
    def _undone(self) -> str:
        return "receipted IS NULL" if self.await_receipts else "sent IS NULL"

    def pending(self) -> int:
        """Messages not yet acknowledged (by the server's receipt with await_receipts, else by the broker)
        plus files not yet uploaded (failed files excluded)."""
        with self._lock:
            m = self._db.execute(f"SELECT count(*) FROM messages WHERE {self._undone}").fetchone()[0]
            f = self._db.execute("SELECT count(*) FROM files WHERE uploaded IS NULL AND failed IS NULL").fetchone()[0]
        return int(m) + int(f)

    def pending_detail(self) -> dict[str, int]:
        with self._lock:
            m = self._db.execute(f"SELECT count(*) FROM messages WHERE {self._undone}").fetchone()[0]
            f = self._db.execute("SELECT count(*) FROM files WHERE uploaded IS NULL AND failed IS NULL").fetchone()[0]
            x = self._db.execute("SELECT count(*) FROM files WHERE failed IS NOT NULL").fetchone()[0]
        return {"messages": int(m), "files": int(f), "files_failed": int(x)}

    # ------------------------------------------------------------------ MQTT delivery
    def start_mqtt(
        self,
        host: str,
        port: int,
        hall_id: str,
        edge_id: str,
        *,
        keepalive: int = 30,
        username: str | None = None,
        password: str | None = None,
        version: str | None = None,
    ) -> None:
        client_id = f"hallwatch-edge-{hall_id}-{edge_id}"[:64]
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
            protocol=mqtt.MQTTv311, reconnect_on_failure=True,
        )
        c.max_queued_messages_set(0)
        c.max_inflight_messages_set(min(self.max_in_flight, 65535))
        c.reconnect_delay_set(min_delay=1, max_delay=30)
        if username:
            c.username_pw_set(username, password)
        self._status = (hall_id, edge_id, version or "")
        if self.await_receipts:
            self._subscriptions[contract.receipt_topic(hall_id, edge_id, self.prefix)] = self._on_receipt
            self._subscriptions[contract.server_status_topic("+", self.prefix)] = self._on_server_status
        will = EdgeStatus(hall_id=hall_id, edge_id=edge_id, online=False, version=version)
        c.will_set(contract.topic_for(will, self.prefix), contract.encode(will), qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        self._client = c
        c.connect_async(host, port, keepalive=keepalive)
        c.loop_start()
        t = threading.Thread(target=self._feed_loop, name="outbox-mqtt", daemon=True)
        t.start()
        self._threads.append(t)

    def subscribe(self, topic: str, callback: OnCommand) -> None:
        """Subscribe (QoS 1) now and after every reconnect; callback gets the raw payload."""
        self._subscriptions[topic] = callback
        if self._client is not None and self._connected.is_set():
            self._client.subscribe(topic, qos=1)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def publish_volatile(self, msg: BaseModel, qos: int = 0, retain: bool = False) -> bool:
        """Best-effort publish (heartbeats): not stored, dropped when offline."""
        if self._client is None or not self._connected.is_set():
            self.counters["volatile_dropped"] += 1
            return False
        info = self._client.publish(contract.topic_for(msg, self.prefix), contract.encode(msg), qos=qos,  # type: ignore[arg-type]
                                    retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.warning("outbox: broker refused connection: %s", reason_code)
            self.counters["connect_refused"] += 1
            return
        log.info("outbox: connected to broker (session present: %s)", flags.session_present)
        self.counters["connects"] += 1
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        if self._status:
            hall, edge, version = self._status
            online = EdgeStatus(hall_id=hall, edge_id=edge, online=True, version=version or None)
            client.publish(contract.topic_for(online, self.prefix), contract.encode(online), qos=1, retain=True)
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if self._connected.is_set() and not self._stop.is_set():
            log.warning("outbox: disconnected from broker (%s); paho will reconnect and resend", reason_code)
            self.counters["disconnects"] += 1
        self._connected.clear()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:  # noqa: ANN001
        # Runs in paho's thread while it holds its own lock: never take ours here (deadlock with
        # publish() in the feeder); hand the PUBACK to the feeder instead.
        self._acks.append(mid)
        self._wake.set()

    def _apply_acks(self) -> None:
        now = time.time()
        with self._lock:
            while self._acks:
                mid = self._acks.popleft()
                seq = self._in_flight.pop(mid, None)
                if seq is None:
                    continue  # the online status or a volatile message
                self._db.execute("UPDATE messages SET sent=?, resend_at=? + ? * (1 << min(resends, 4)) WHERE seq=?",
                                 (now, now, self.resend_after_s, seq))
                self.counters["messages_acked"] += 1
            while self._receipts:
                ids = self._receipts.popleft()
                marks = ",".join("?" * len(ids))
                cur = self._db.execute(f"UPDATE messages SET receipted=? WHERE receipted IS NULL AND id IN ({marks})",
                                       (now, *ids))
                self.counters["messages_receipted"] += cur.rowcount

    # paho's thread: parse and queue only (see _on_publish)
    def _on_receipt(self, payload: bytes) -> None:
        try:
            receipt = contract.Receipt.model_validate_json(payload)
        except ValueError:
            self.counters["bad_receipts"] += 1
            return
        if receipt.status == "rejected":
            log.warning("outbox: the server rejected %d message(s) for good: %s", len(receipt.ids), receipt.ids[:3])
        self._receipts.append([str(i) for i in receipt.ids])
        self._wake.set()

    def _on_server_status(self, payload: bytes) -> None:
        try:
            status = contract.ServerStatus.model_validate_json(payload)
        except ValueError:
            self.counters["bad_server_status"] += 1
            return
        if status.online:
            self._resend_all.set()
            self._wake.set()

    def _on_message(self, client, userdata, message) -> None:  # noqa: ANN001
        for pattern, cb in self._subscriptions.items():
            if mqtt.topic_matches_sub(pattern, message.topic):
                try:
                    cb(message.payload)
                except Exception:  # a bad command must not kill the network loop
                    self.counters["command_errors"] += 1
                    log.exception("outbox: command handler failed for %s", message.topic)

    def _feed_loop(self) -> None:
        """Hand unsent rows to paho in order, at most max_in_flight unacknowledged at a time."""
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self._apply_acks()
                if self._client is None or not self._connected.is_set():
                    continue
                self._feed_once()
                if self.await_receipts:
                    self._resend_unreceipted()
            except Exception:
                self.counters["feed_errors"] += 1
                log.exception("outbox: feeding messages failed")

    def _feed_once(self) -> None:
        assert self._client is not None
        while not self._stop.is_set() and self._connected.is_set():
            with self._lock:
                room = self.max_in_flight - len(self._in_flight)
                if room <= 0:
                    return
                last = self._last_handed
                rows = self._db.execute(
                    "SELECT seq, topic, payload, qos FROM messages WHERE sent IS NULL AND seq > ? ORDER BY seq LIMIT ?",
                    (last, room),
                ).fetchall()
                if not rows:
                    return
                for seq, topic, payload, qos in rows:
                    info = self._client.publish(topic, payload, qos=qos)
                    self._last_handed = seq
                    if qos == 0:  # fire and forget: nobody receipts it
                        self._db.execute("UPDATE messages SET sent=?, receipted=? WHERE seq=?",
                                         (time.time(), time.time(), seq))
                    else:
                        self._in_flight[info.mid] = seq
                    self.counters["messages_published"] += 1

    def _resend_unreceipted(self) -> None:
        """Publish again what the broker took but no server has receipted: all of it when a server came
        online, otherwise what is past its back-off (resend_after_s doubling up to 16x)."""
        assert self._client is not None
        everything = self._resend_all.is_set()
        self._resend_all.clear()
        now = time.time()
        with self._lock:
            room = self.max_in_flight - len(self._in_flight)
            if room <= 0:
                if everything:
                    self._resend_all.set()  # try again when there is room
                return
            due = "sent < ?" if everything else "resend_at <= ?"
            rows = self._db.execute(
                f"SELECT seq, topic, payload, qos FROM messages WHERE receipted IS NULL AND sent IS NOT NULL "
                f"AND {due} ORDER BY seq LIMIT ?", (now - 1.0 if everything else now, room + len(self._in_flight)),
            ).fetchall()
            flying = set(self._in_flight.values())
            for seq, topic, payload, qos in [r for r in rows if r[0] not in flying][:room]:
                info = self._client.publish(topic, payload, qos=qos)
                self._in_flight[info.mid] = seq
                self._db.execute("UPDATE messages SET resends=resends+1, resend_at=NULL WHERE seq=?", (seq,))
                self.counters["messages_resent"] += 1

    # ------------------------------------------------------------------ HTTP uploads
    def start_uploads(self, server_url: str, token: str | None, *, max_backoff_s: float = 60.0,
                      timeout_s: float = 30.0) -> None:
        t = threading.Thread(target=self._upload_loop, args=(server_url.rstrip("/"), token, max_backoff_s, timeout_s),
                             name="outbox-upload", daemon=True)
        t.start()
        self._threads.append(t)

    def _upload_loop(self, base: str, token: str | None, max_backoff: float, timeout_s: float) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(timeout=timeout_s, headers=headers) as http:
            while not self._stop.is_set():
                try:
                    did = self._upload_once(http, base, max_backoff)
                except Exception:
                    self.counters["upload_errors"] += 1
                    log.exception("outbox: upload step failed")
                    did = False
                if not did:
                    self._wake.wait(1.0)

    def _upload_once(self, http: httpx.Client, base: str, max_backoff: float) -> bool:
        now = time.time()
        with self._lock:
            row = self._db.execute(
                "SELECT sha256, content_type, attempts FROM files WHERE uploaded IS NULL AND failed IS NULL "
                "AND next_try <= ? ORDER BY created LIMIT 1", (now,)).fetchone()
        if row is None:
            return False
        sha, ctype, attempts = row
        path = self.file_path(sha)
        if not path.exists():
            self._park(sha, "missing on disk")
            return True
        status: int | None = None
        try:
            resp = http.put(f"{base}/api/v1/evidence/{sha}", content=path.read_bytes(),
                            headers={"Content-Type": ctype})
            status = resp.status_code
        except httpx.HTTPError as exc:
            log.info("outbox: upload of %s failed (%s); will retry", sha[:12], exc.__class__.__name__)
        if status in (200, 201):
            with self._lock:
                self._db.execute("UPDATE files SET uploaded=?, attempts=attempts+1 WHERE sha256=?", (time.time(), sha))
            self.counters["files_uploaded"] += 1
            return True
        if status in (400, 422):
            actual = sha256_file(path)
            self._park(sha, f"server rejected hash (HTTP {status}); on-disk sha256 {actual[:12]}")
            return True
        if status == 415:
            self._park(sha, "server refused the file type (evidence is JPEG, PNG or MP4)")
            return True
        if status is not None:
            log.warning("outbox: upload of %s got HTTP %s; will retry", sha[:12], status)
        delay = min(max_backoff, 0.5 * (2 ** min(attempts, 10)))
        with self._lock:
            self._db.execute("UPDATE files SET attempts=attempts+1, next_try=? WHERE sha256=?",
                             (time.time() + delay, sha))
        self.counters["upload_retries"] += 1
        return False

    def _park(self, sha: str, reason: str) -> None:
        log.error("outbox: evidence %s parked: %s", sha[:12], reason)
        self.counters["files_failed"] += 1
        with self._lock:
            self._db.execute("UPDATE files SET failed=? WHERE sha256=?", (reason, sha))

    def retry_now(self) -> None:
        """Forget back-off delays (e.g. after the server came back)."""
        with self._lock:
            self._db.execute("UPDATE files SET next_try=0 WHERE uploaded IS NULL")
        self._wake.set()

    def flush(self, timeout_s: float) -> bool:
        """Wait (up to timeout_s) until nothing is pending; True when drained."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._wake.set()
            if self.pending() == 0:
                return True
            time.sleep(0.05)
        return self.pending() == 0

    # ------------------------------------------------------------------ lifecycle
    def threads_alive(self) -> dict[str, bool]:
        return {t.name: t.is_alive() for t in self._threads}

    def stop(self, graceful: bool = True) -> None:
        """Stop delivery. graceful=True disconnects cleanly (the broker then discards the will)."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(5)
        if self._client is not None:
            if graceful and self._status and self._connected.is_set():
                hall, edge, version = self._status
                off = EdgeStatus(hall_id=hall, edge_id=edge, online=False, version=version or None)
                info = self._client.publish(contract.topic_for(off, self.prefix), contract.encode(off), qos=1,
                                            retain=True)
                try:
                    info.wait_for_publish(3)
                except (RuntimeError, ValueError):
                    pass
            self._apply_acks()
            if graceful:
                self._client.disconnect()
            self._client.loop_stop()
            if not graceful:
                sock = self._client.socket()
                if sock is not None:
                    sock.close()
        with self._lock:
            self._db.close()
