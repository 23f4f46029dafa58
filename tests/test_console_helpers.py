"""Shared fixture and helpers of the console tests (imported by tests/test_console_*.py).

Each test gets its own hall (a copy of the demo hall with a unique id), users of every role bound to it,
an edge token, and the real app on the test database and broker (unique topic prefix).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from edge import contract as c
from edge.site import SiteConfig, load_site_config
from server.app import create_app
from server.console.settings import ConsoleSettings
from server.db.session import unit_of_work
from server.edges import issue_edge_token
from server.settings import Settings
from server.siteimport import import_site
from server.users import create_user

TZ = ZoneInfo("Asia/Shanghai")
ROLES = ("viewer", "inspector", "supervisor", "admin")


@dataclass
class Console:
    app: Any
    client: TestClient
    cfg: SiteConfig
    hall_id: str
    edge_id: str
    edge_token: str
    prefix: str
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str = "viewer", **kw: Any):
        return self.client.get(path, headers=self.auth(role), **kw)

    def post(self, path: str, role: str, **kw: Any):
        return self.client.post(path, headers=self.auth(role), **kw)

    def ingest(self, msg: c._Msg) -> None:
        r = self.client.post("/api/v1/ingest", content=c.encode(msg),
                             headers={"Authorization": f"Bearer {self.edge_token}", "Content-Type": "application/json"})
        assert r.status_code in (200, 201, 202), r.text

    def open_finding(self, rule: str = "window_unstaffed", window: str | None = "W01", severity: str = "major",
                     started_at: dt.datetime | None = None, **kw: Any) -> c.FindingOpened:
        msg = c.FindingOpened(hall_id=self.hall_id, edge_id=self.edge_id, finding_id=uuid.uuid4(), rule=rule,
                              severity=severity, window_id=window,
                              started_at=started_at or dt.datetime.now(dt.timezone.utc), **kw)
        self.ingest(msg)
        return msg

    def alert_id(self, finding: c.FindingOpened) -> int:
        rows = self.get("/api/v1/console/alerts", params={"hall_id": self.hall_id}).json()
        (hit,) = [a for a in rows if a["rule"] == finding.rule and a["started_at"] and
                  dt.datetime.fromisoformat(a["started_at"]) == finding.started_at]
        return hit["id"]


def make_console(tmp_path, database_url, broker, prefix, demo_config_path, console_settings=None,
                 mqtt_enabled: bool = False):
    settings = Settings(data_dir=tmp_path, database_url=database_url,
                        mqtt_url=f"mqtt://{broker.host}:{broker.port}" if broker else "mqtt://127.0.0.1:1",
                        mqtt_enabled=mqtt_enabled, mqtt_topic_prefix=prefix,
                        mqtt_client_id=f"hw-console-{uuid.uuid4().hex[:8]}", mqtt_session_expiry_s=0)
    app = create_app(settings)
    app.state.console_settings = console_settings or ConsoleSettings(background=False)
    cfg = load_site_config(demo_config_path)
    hall_id = f"c{uuid.uuid4().hex[:10]}"
    cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"id": hall_id})})
    return app, cfg, hall_id


@pytest.fixture
def console(tmp_path, database_url, demo_config_path, topic_prefix):
    """App without MQTT (API tests: messages go through the HTTP ingest)."""
    yield from _console(tmp_path, database_url, None, topic_prefix, demo_config_path, mqtt_enabled=False)


def _console(tmp_path, database_url, broker, prefix, demo_config_path, mqtt_enabled, console_settings=None):
    app, cfg, hall_id = make_console(tmp_path, database_url, broker, prefix, demo_config_path,
                                     console_settings, mqtt_enabled)
    with TestClient(app) as client:
        with unit_of_work(app.state.sessionmaker) as s:
            import_site(s, cfg, today=dt.date(2026, 1, 1))
            for role in ROLES:
                create_user(s, username=f"{role}-{hall_id}", password=f"{role}-password", role=role, actor="test",
                            hall_id=hall_id, display_name=f"{role.title()} 张")
            _, edge_token = issue_edge_token(s, hall_id, cfg.edge.id, actor="test")
        con = Console(app, client, cfg, hall_id, cfg.edge.id, edge_token, prefix)
        for role in ROLES:
            r = client.post("/api/v1/auth/login", json={"username": f"{role}-{hall_id}", "password": f"{role}-password"})
            assert r.status_code == 200, r.text
            con.tokens[role] = r.json()["access_token"]
        client.cookies.clear()  # every call states its role explicitly
        if mqtt_enabled:
            assert app.state.mqtt.subscribed.wait(60), "server consumer did not subscribe"
        yield con


@pytest.fixture
def live_console(tmp_path, database_url, demo_config_path, topic_prefix, mqtt_broker):
    """App with its MQTT consumer on the test broker (commands out, results in)."""
    yield from _console(tmp_path, database_url, mqtt_broker, topic_prefix, demo_config_path, mqtt_enabled=True)


class EdgeResponder:
    """A real edge-side MQTT client: answers command.duty_check / command.safety_check with the given
    windows / items, publishing contract messages on the hall's result topic (QoS 1)."""

    def __init__(self, broker, prefix: str, hall_id: str, edge_id: str,
                 windows: list[c.WindowSnapshot] | None = None, items: list[c.SafetyItem] | None = None):
        import paho.mqtt.client as mqtt

        self.prefix, self.hall_id, self.edge_id = prefix, hall_id, edge_id
        self.windows, self.items = windows or [], items or []
        self.commands: list[c.Command] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        import threading
        self.ready = threading.Event()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.ready.wait(60), "edge responder did not connect"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        client.subscribe(c.command_topic(self.hall_id, self.edge_id, self.prefix), qos=1)
        self.ready.set()

    def _on_message(self, client, userdata, message):
        cmd = c.parse_command(message.payload)
        self.commands.append(cmd)
        now = dt.datetime.now(dt.timezone.utc)
        if cmd.type == "command.duty_check":
            res: c._Msg = c.DutyCheckResult(hall_id=self.hall_id, edge_id=self.edge_id, request_id=cmd.id,
                                            taken_at=now, windows=self.windows)
        else:
            res = c.SafetyCheckResult(hall_id=self.hall_id, edge_id=self.edge_id, request_id=cmd.id, taken_at=now,
                                      items=self.items)
        client.publish(c.topic_for(res, self.prefix), c.encode(res), qos=1)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def upload(con: Console, data: bytes, kind: str = "snapshot", content_type: str = "image/jpeg") -> c.EvidenceRef:
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    r = con.client.put(f"/api/v1/evidence/{sha}", content=data, headers={"Authorization": f"Bearer {con.edge_token}"})
    assert r.status_code in (200, 201), r.text
    return c.EvidenceRef(sha256=sha, kind=kind, content_type=content_type, size=len(data))
