"""Horizontal scale: two real server processes on one PostgreSQL database; an alert confirmed through process A
shows up live on a console SSE stream held open on process B (LISTEN/NOTIFY relay)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from edge import contract as c
from server.db.session import make_sessionmaker, unit_of_work
from server.edges import issue_edge_token
from server.testing import *  # noqa: F401,F403 - fixtures
from server.testing import drop_hall, unique_site
from server.users import create_user
from tests.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s" * 48

pytestmark = pytest.mark.slow


class ServerProcess:
    def __init__(self, tmp: Path, name: str, database_url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HALLWATCH_DATABASE_URL": database_url,
               "HALLWATCH_SECRET_KEY": SECRET, "HALLWATCH_MQTT_ENABLED": "false", "HALLWATCH_RUN_MIGRATIONS": "false",
               "HALLWATCH_DATA_DIR": str(tmp / name), "HALLWATCH_CONSOLE_BACKGROUND": "false",
               "HALLWATCH_PEOPLE_BACKGROUND": "false", "HALLWATCH_LIVE_EVENTS": "postgresql"}
        self.log = open(tmp / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "server.app:create_app",
                                      "--port", str(self.port), "--log-level", "warning"], cwd=str(ROOT), env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def up(self) -> bool:
        assert self.proc.poll() is None, f"server exited, see {self.log.name}"
        try:
            return httpx.get(self.url + "/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class SseCollector(threading.Thread):
    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.events, self.connected = url, token, [], threading.Event()
        self.closing = False

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url + "/api/v1/events/stream", timeout=httpx.Timeout(10, read=None),
                              headers={"Authorization": f"Bearer {self.token}"}) as r:
                name = None
                for line in r.iter_lines():
                    self.connected.set()
                    if self.closing:
                        return
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        self.events.append((name, json.loads(line[5:])))
        except httpx.HTTPError:
            return

    def find(self, name: str, pred) -> dict | None:
        return next((d for n, d in list(self.events) if n == name and pred(d)), None)


def test_confirm_through_one_process_reaches_the_other_processes_console(tmp_path, database_url, server_engine):
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (HALLWATCH_TEST_DATABASE_URL)")
    cfg = unique_site()
    hall = cfg.hall.id
    from server.siteimport import import_site

    with unit_of_work(make_sessionmaker(server_engine)) as s:
        import_site(s, cfg, actor="test")
        create_user(s, username=f"sup-{hall}", password="supervisor-pw-1", role="supervisor", actor="test",
                    hall_id=hall)
        _, edge_token = issue_edge_token(s, hall, cfg.edge.id, actor="test")
    a, b = ServerProcess(tmp_path, "a", database_url), ServerProcess(tmp_path, "b", database_url)
    sse = None
    try:
        wait_for(lambda: a.up() and b.up(), "both server processes")
        token = httpx.post(a.url + "/api/v1/auth/login", json={"username": f"sup-{hall}", "password": "supervisor-pw-1"},
                           timeout=30).json()["access_token"]
        sse = SseCollector(b.url, token)
        sse.start()
        assert sse.connected.wait(60), "SSE stream on B did not open"
        msg = c.FindingOpened(hall_id=hall, edge_id=cfg.edge.id, finding_id=uuid.uuid4(), rule="window_unstaffed",
                              severity="major", window_id="W01", started_at=dt.datetime.now(dt.timezone.utc))
        r = httpx.post(a.url + "/api/v1/ingest", content=c.encode(msg), timeout=30,
                       headers={"Authorization": f"Bearer {edge_token}", "Content-Type": "application/json"})
        assert r.status_code == 202, r.text
        opened = wait_for(lambda: sse.find("alert", lambda d: d["hall_id"] == hall), "the new alert on B's stream")
        r = httpx.post(f"{a.url}/api/v1/alerts/{opened['id']}/confirm", json={"comment": "确认"}, timeout=30,
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        wait_for(lambda: sse.find("alert.updated", lambda d: d["id"] == opened["id"] and d["status"] == "confirmed"),
                 "the confirm made on A, live on B's stream")
    finally:
        if sse is not None:
            sse.closing = True
        a.stop()
        b.stop()
        drop_hall(server_engine, hall)


@pytest.mark.parametrize("sizes", [[10], [100] * 500, [7000, 10, 7000], [9000, 20, 20], [3700, 3700, 3700]],
                         ids=["one", "many-small", "near-limit", "oversized-dropped", "pairs-at-the-edge"])
def test_relay_payloads_keep_every_event_in_order_under_the_notify_limit(sizes):
    from server import live

    relay = live.PgRelay("postgresql://relay-unused/db")  # payloads only: nothing connects
    events = [{"type": "window.state", "n": i, "pad": "窗" * (size // 3)} for i, size in enumerate(sizes)]
    payloads = relay._payloads(events)
    assert all(len(p.encode()) <= live.MAX_PAYLOAD for p in payloads)
    decoded = [json.loads(p) for p in payloads]
    assert {d["o"] for d in decoded} == {live.ORIGIN}
    kept = [e for d in decoded for e in d["e"]]
    fits = [e for e in events if len(json.dumps(e, ensure_ascii=False).encode()) + 64 <= live.MAX_PAYLOAD]
    assert kept == fits


def test_an_alert_whose_rendered_view_is_too_large_is_relayed_without_it():
    """The other processes' consoles then read the alert's rows; the alert itself is never dropped for its view."""
    from server import live

    relay = live.PgRelay("postgresql://relay-unused/db")
    alert = {"type": "alert.opened", "alert_id": 7, "hall_id": "h1",
             "console": ["alert", {"id": 7, "summary": "窗" * 4000}]}
    small = {"type": "alert.opened", "alert_id": 8, "hall_id": "h1", "console": ["alert", {"id": 8}]}
    kept = [e for p in relay._payloads([alert, small]) for e in json.loads(p)["e"]]
    assert kept == [{k: v for k, v in alert.items() if k != "console"}, small]
