"""Nothing is lost between a hall and the server: the edge's durable outbox, a real Mosquitto and the real
server (its MQTT consumer and evidence endpoint, on the test database). Mid-run the broker and the server go
down, the edge keeps producing, the edge process dies abruptly and restarts, then everything comes back:
every finding is stored exactly once and every evidence file is stored with its hash verified."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edge.contract import FindingOpened, utcnow
from edge.outbox import Outbox
from server.db import Evidence, Finding
from server.db.session import make_sessionmaker, unit_of_work
from server.edges import issue_edge_token
from server.settings import Settings
from server.siteimport import import_site
from server.testing import drop_hall, unique_site
from tests.conftest import free_port, wait_until
from tests.live import LiveServer

EDGE = "zhegou-edge-1"
TOKEN = "delivery-e2e-token-" + uuid.uuid4().hex



@pytest.mark.e2e
def test_findings_and_files_survive_broker_server_and_edge_restarts(own_broker, server_engine, database_url,
                                                                     topic_prefix, tmp_path: Path) -> None:
    cfg = unique_site()
    hall = cfg.hall.id
    factory = make_sessionmaker(server_engine)
    with unit_of_work(factory) as s:
        import_site(s, cfg, actor="test")
        issue_edge_token(s, hall, EDGE, actor="test", token=TOKEN)
    port = free_port()
    settings = Settings(data_dir=tmp_path / "server", database_url=database_url,
                        mqtt_url=f"mqtt://{own_broker.host}:{own_broker.port}", mqtt_topic_prefix=topic_prefix,
                        mqtt_client_id=f"hw-e2e-{uuid.uuid4().hex[:8]}", secret_key="k" * 40)
    from server.app import create_app

    server = LiveServer(lambda: create_app(settings), port)
    sent: list[str] = []
    files: dict[str, bytes] = {}

    def start_outbox() -> Outbox:
        ob = Outbox(tmp_path / "outbox", prefix=topic_prefix, await_receipts=True, resend_after_s=5)
        ob.start_mqtt(own_broker.host, own_broker.port, hall, EDGE, keepalive=5, version="test")
        ob.start_uploads(f"http://127.0.0.1:{port}", TOKEN, max_backoff_s=0.5)
        return ob

    def produce(ob: Outbox, n: int, tag: str) -> None:
        for _ in range(n):
            data = b"\xff\xd8\xff\xe0" + f"{tag}-{len(sent)}-".encode() * 200  # JPEG signature: accepted
            ref = ob.put_file(data, "snapshot", "image/jpeg", utcnow())
            files[ref.sha256] = data
            msg = FindingOpened(hall_id=hall, edge_id=EDGE, finding_id=uuid.uuid4(), rule="window_unstaffed",
                                severity="warning", started_at=utcnow() - dt.timedelta(minutes=3), window_id="W01",
                                evidence=[ref], details={"n": len(sent)})
            ob.put(msg)
            sent.append(str(msg.finding_id))

    def stored() -> tuple[int, int]:
        with factory() as s:
            n_findings = s.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id == hall))
            n_files = s.scalar(select(func.count()).select_from(Evidence).where(
                Evidence.sha256.in_(list(files)), Evidence.stored.is_(True)))
        return n_findings, n_files

    server.start()
    ob = start_outbox()
    try:
        produce(ob, 5, "a")
        assert wait_until(lambda: stored() == (5, 5), 60), stored()

        own_broker.stop()  # the hall's broker and the central server go down; the edge keeps producing
        server.stop()
        produce(ob, 5, "b")
        own_broker.start()
        produce(ob, 5, "c")
        ob.stop(graceful=False)  # the edge process dies abruptly …
        ob = start_outbox()  # … and restarts on the same outbox directory
        produce(ob, 5, "d")
        time.sleep(1)  # while the server is still down, the broker queues for its persistent session
        server.start()
        ob.retry_now()
        assert wait_until(lambda: ob.pending() == 0, 90), ob.pending_detail()
        assert wait_until(lambda: stored() == (20, 20), 60), stored()
        with factory() as s:
            rows = s.scalars(select(Finding.finding_id).where(Finding.hall_id == hall)).all()
            assert sorted(map(str, rows)) == sorted(sent), "each finding stored exactly once"
            for sha in files:
                ev = s.get(Evidence, sha)
                assert ev is not None and ev.stored and ev.size == len(files[sha])
        store_root = settings.evidence_path
        on_disk = {hashlib.sha256(p.read_bytes()).hexdigest() for p in store_root.rglob("*") if p.is_file()}
        assert set(files) <= on_disk, "every evidence file is on the server's disk under its hash"
    finally:
        ob.stop()
        server.stop()
        drop_hall(server_engine, hall)
