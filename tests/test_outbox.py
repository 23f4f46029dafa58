"""Durable outbox: broker and server down mid-run, an abrupt edge restart, nothing lost or doubled."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.contract import EvidenceRef, FindingOpened, utcnow
from edge.outbox import Outbox, sha256_file
from tests.conftest import free_port, wait_until

HALL, EDGE = "hall-t", "edge-t"


class UploadReceiver:
    """A tiny evidence endpoint: PUT /api/v1/evidence/<sha> stores the body when its hash matches."""

    def __init__(self, port: int, reject: set[str] | None = None):
        self.port = port
        self.files: dict[str, bytes] = {}
        self.puts: Counter[str] = Counter()
        self.reject = reject or set()
        self.auth: set[str] = set()
        self._srv: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        recv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802
                sha = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recv.puts[sha] += 1
                recv.auth.add(self.headers.get("Authorization", ""))
                ok = hashlib.sha256(body).hexdigest() == sha and sha not in recv.reject
                if ok:
                    code = 200 if sha in recv.files else 201
                    recv.files[sha] = body
                else:
                    code = 422
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a) -> None:  # quiet
                pass

        self._srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self._srv.allow_reuse_address = True
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None


class Subscriber:
    """Persistent-session QoS 1 subscriber counting finding messages by id."""

    def __init__(self, host: str, port: int, prefix: str):
        self.counts: Counter[str] = Counter()
        self.redelivered: Counter[str] = Counter()
        self.status: list[dict] = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{prefix}", clean_session=False)
        self.c.reconnect_delay_set(0.2, 1)
        self.prefix = prefix
        self.connected = threading.Event()
        self.sessions: list[bool] = []

        def on_connect(c, u, f, rc, p):  # noqa: ANN001
            self.sessions.append(bool(f.session_present))
            c.subscribe(f"{prefix}/#", qos=1)
            self.connected.set()

        def on_message(c, u, m):  # noqa: ANN001
            data = json.loads(m.payload)
            with self.lock:
                if m.topic.endswith("/finding"):
                    # a broker redelivering to this subscriber after its own restart sets DUP; only
                    # fresh deliveries count, so a doubled id here was published twice by the edge
                    (self.redelivered if m.dup else self.counts)[data["id"]] += 1
                elif m.topic.endswith("/status"):
                    self.status.append(data)

        self.c.on_connect = on_connect
        self.c.on_message = on_message
        self.c.connect(host, port)
        self.c.loop_start()
        assert self.connected.wait(60)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def finding(i: int) -> FindingOpened:
    return FindingOpened(hall_id=HALL, edge_id=EDGE, finding_id=uuid.uuid4(), rule="window_unstaffed",
                         severity="warning", started_at=utcnow(), window_id="W01", details={"n": i})



def persistent(broker) -> None:  # noqa: ANN001
    """Let the throwaway broker really persist sessions across a restart.

    Started as root, mosquitto 2 drops to user 'mosquitto', which cannot write the pytest tmp dir, so it
    silently loses every session on restart ("Error saving in-memory database"). Keep it root here."""
    assert broker.conf is not None
    if "user root" not in broker.conf.read_text():
        broker.stop()
        broker.conf.write_text(broker.conf.read_text() + "user root\n")
        broker.start()


def test_broker_and_server_down_and_edge_restart_lose_nothing(own_broker, topic_prefix, tmp_path: Path):
    persistent(own_broker)
    port = free_port()
    server = UploadReceiver(port)
    server.start()
    sub = Subscriber(own_broker.host, own_broker.port, topic_prefix)
    sent: list[str] = []
    files: list[EvidenceRef] = []

    def start_outbox() -> Outbox:
        ob = Outbox(tmp_path / "outbox", prefix=topic_prefix)
        ob.start_mqtt(own_broker.host, own_broker.port, HALL, EDGE, keepalive=5, version="test")
        ob.start_uploads(f"http://127.0.0.1:{port}", "tok-1", max_backoff_s=0.5)
        return ob

    def put_batch(ob: Outbox, n: int, tag: str) -> None:
        for i in range(n):
            m = finding(len(sent))
            ob.put(m)
            sent.append(str(m.id))
        files.append(ob.put_file(f"{tag}-{len(sent)}".encode() * 100, "snapshot", "image/jpeg",
                                 dt.datetime.now(dt.timezone.utc)))

    ob = start_outbox()
    put_batch(ob, 15, "a")
    assert wait_until(lambda: ob.pending() == 0), ob.pending_detail()

    # broker and server go down; the edge keeps producing
    own_broker.stop()
    server.stop()
    put_batch(ob, 15, "b")
    time.sleep(0.5)
    assert ob.pending() >= 16

    # broker back; mid-stream the edge process dies abruptly and restarts on the same directory
    own_broker.start()
    put_batch(ob, 10, "c")
    unsent_at_crash = {r[0] for r in ob._db.execute("SELECT id FROM messages WHERE sent IS NULL")}
    ob.stop(graceful=False)
    ob = start_outbox()
    put_batch(ob, 10, "d")
    server.start()  # server back last
    ob.retry_now()
    assert wait_until(lambda: ob.pending() == 0, 60), ob.pending_detail()
    assert wait_until(lambda: set(sub.counts) >= set(sent), 30), sorted(sent.index(x) for x in set(sent) - set(sub.counts))
    ob.stop()
    sub.close()
    server.stop()

    assert set(sub.counts) == set(sent), "every finding arrived"
    doubled = {k for k, v in sub.counts.items() if v > 1}
    # QoS 1 may only repeat what was unacknowledged when the process died (the server dedups by id)
    assert doubled <= unsent_at_crash, sorted((sent.index(x), sub.counts[x], x in unsent_at_crash) for x in doubled)
    assert {f.sha256 for f in files} == set(server.files), "every file arrived"
    for f in files:
        assert hashlib.sha256(server.files[f.sha256]).hexdigest() == f.sha256
    assert server.auth == {"Bearer tok-1"}
    assert sub.sessions[-1] is True, "the subscriber's session survived the broker restart"
    # the status topic saw the edge online
    assert any(s["online"] for s in sub.status)


@pytest.mark.parametrize(
    "content, kind, ctype",
    [
        (b"\xff\xd8jpeg-bytes", "snapshot", "image/jpeg"),
        (b"\x00\x00\x00\x20ftypisom", "clip", "video/mp4"),
        (b"", "chart", "image/png"),
    ],
)
def test_put_file_is_content_addressed_and_idempotent(tmp_path: Path, content: bytes, kind: str, ctype: str):
    ob = Outbox(tmp_path)
    a = ob.put_file(content, kind, ctype)  # type: ignore[arg-type]
    src = tmp_path / "src.bin"
    src.write_bytes(content)
    b = ob.put_file(src, kind, ctype)  # type: ignore[arg-type]
    assert a.sha256 == b.sha256 == hashlib.sha256(content).hexdigest()
    assert a.size == len(content) and a.kind == kind and a.content_type == ctype
    assert sha256_file(ob.file_path(a.sha256)) == a.sha256
    assert ob.pending_detail() == {"messages": 0, "files": 1, "files_failed": 0}
    ob.stop()


def test_rejected_file_is_parked_and_does_not_block_others(tmp_path: Path):
    port = free_port()
    ob = Outbox(tmp_path)
    bad = ob.put_file(b"bad" * 10, "snapshot", "image/jpeg")
    good = ob.put_file(b"good" * 10, "frame", "image/jpeg")
    server = UploadReceiver(port, reject={bad.sha256})
    server.start()
    ob.start_uploads(f"http://127.0.0.1:{port}", None, max_backoff_s=0.2)
    assert wait_until(lambda: ob.pending_detail()["files"] == 0, 20)
    detail = ob.pending_detail()
    ob.stop()
    server.stop()
    assert set(server.files) == {good.sha256}
    assert detail["files_failed"] == 1
    assert ob.counters["files_failed"] == 1


def test_messages_survive_restart_without_broker(tmp_path: Path):
    ob = Outbox(tmp_path, prefix="p")
    ids = []
    for i in range(5):
        m = finding(i)
        ob.put(m)
        ob.put(m)  # the same message twice is stored once
        ids.append(str(m.id))
    ob.stop()
    ob2 = Outbox(tmp_path, prefix="p")
    rows = ob2._db.execute("SELECT id, topic FROM messages ORDER BY seq").fetchall()
    ob2.stop()
    assert [r[0] for r in rows] == ids
    assert {r[1] for r in rows} == {f"p/{HALL}/{EDGE}/finding"}
