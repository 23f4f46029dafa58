"""Escalation: unacknowledged alerts are marked escalated after N minutes and POSTed to a real local webhook."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.console.background import escalation_pass
from server.console.escalation import Notifier
from server.console.metrics import WEBHOOK_POSTS
from server.console.settings import ConsoleSettings
from server.db import Alert, utcnow
from server.db.session import unit_of_work
from tests.conftest import free_port
from tests.test_console_helpers import console  # noqa: F401


class Receiver:
    """A real HTTP server on localhost that records JSON bodies; ``status`` sets its answer."""

    def __init__(self, port: int | None = None):
        self.bodies: list[dict] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.status == 200:
                    outer.bodies.append(json.loads(body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _age_alert(con, alert_id: int, minutes: float) -> None:
    with unit_of_work(con.app.state.sessionmaker) as s:
        s.get(Alert, alert_id).created_at = utcnow() - dt.timedelta(minutes=minutes)


def _sweep(con, after_min: float):
    settings = ConsoleSettings(background=False, escalate_after_min=after_min)
    with unit_of_work(con.app.state.sessionmaker) as s:
        from server.console.escalation import sweep
        return sweep(s, utcnow(), settings.escalate_after_min, hall_ids=[con.hall_id])


@pytest.mark.parametrize("age_min, action, escalated", [
    (11, None, True),            # open and older than 10 min
    (9, None, False),            # not old enough yet
    (30, "acknowledge", False),  # acknowledged in time: nobody to chase
    (30, "confirm", False),      # decided
])
def test_escalation_rules(console, age_min, action, escalated):
    aid = console.alert_id(console.open_finding())
    if action:
        assert console.post(f"/api/v1/console/alerts/{aid}/{action}", "supervisor", json={"comment": "ok"}).status_code == 200
    _age_alert(console, aid, age_min)
    payloads = _sweep(console, 10)
    assert [p["alert"]["id"] for p in payloads] == ([aid] if escalated else [])
    detail = console.get(f"/api/v1/console/alerts/{aid}").json()
    assert detail["escalated"] is escalated
    assert ("escalate" in [e["action"] for e in detail["timeline"]]) is escalated
    assert _sweep(console, 10) == []  # never twice
    if escalated:
        rows = console.get("/api/v1/console/alerts", params={"hall_id": console.hall_id, "status": "escalated"}).json()
        assert [r["id"] for r in rows] == [aid]


def test_escalated_alerts_reach_the_webhook(console, receiver):
    aid = console.alert_id(console.open_finding(rule="smoke_detected", window=None, severity="critical"))
    _age_alert(console, aid, 15)
    payloads = _sweep(console, 10)
    sent = asyncio.run(Notifier(receiver.url).deliver(payloads))
    assert sent == 1
    (body,) = receiver.bodies
    assert body["event"] == "alert.escalated" and body["alert"]["id"] == aid
    assert body["alert"]["rule"] == "smoke_detected" and body["alert"]["rule_name"] == "烟雾报警"
    assert body["alert"]["hall_id"] == console.hall_id and body["after_min"] == 10


def test_a_failing_webhook_is_retried_and_never_stops_the_loop(receiver):
    before_err = WEBHOOK_POSTS.value(result="error")
    notifier = Notifier(receiver.url, max_attempts=3)
    receiver.status = 500
    assert asyncio.run(notifier.deliver([{"event": "alert.escalated", "alert": {"id": 1}}])) == 0
    assert len(notifier.pending) == 1 and WEBHOOK_POSTS.value(result="error") == before_err + 1
    receiver.status = 200
    assert asyncio.run(notifier.deliver([{"event": "alert.escalated", "alert": {"id": 2}}])) == 2
    assert [b["alert"]["id"] for b in receiver.bodies] == [1, 2] and notifier.pending == []


def test_an_unreachable_webhook_gives_up_after_max_attempts():
    notifier = Notifier(f"http://127.0.0.1:{free_port()}/nobody", timeout_s=1, max_attempts=2)
    before = WEBHOOK_POSTS.value(result="dropped")
    for _ in range(2):
        assert asyncio.run(notifier.deliver([] if notifier.pending else [{"alert": {"id": 9}}])) == 0
    assert notifier.pending == [] and WEBHOOK_POSTS.value(result="dropped") == before + 1


def test_escalation_pass_uses_its_own_unit_of_work(console):
    aid = console.alert_id(console.open_finding())
    _age_alert(console, aid, 60)
    settings = ConsoleSettings(background=False, escalate_after_min=10)
    payloads = escalation_pass(console.app.state.sessionmaker, settings, utcnow(), [console.hall_id])
    assert aid in [p["alert"]["id"] for p in payloads]
    assert console.get(f"/api/v1/console/alerts/{aid}").json()["escalated"] is True
