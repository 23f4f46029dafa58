"""A pause entered in the console reaches the hall's edges over a real broker: the plan is published retained on
each edge's command topic after the request commits, an edge that connects later still gets it, the edge's
window_unstaffed rule closes the window while the pause lasts, and cancelling it sends the new plan."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest

from edge.agent.commands import PausePlan
from edge.contract import command_topic, parse_command
from edge.rules.window_unstaffed import WindowUnstaffedRule
from edge.site import load_site_config
from server.ingest.mqtt import CommandPublisher
from server.settings import Settings
from server.testing import *  # fixtures: client, db_session, …
from tests.conftest import wait_for
from tests.people_helpers import Hall, make_hall


class EdgeInbox:
    """What an edge receives on its command topic (connecting at any time)."""

    def __init__(self, broker, topic: str) -> None:
        self.payloads: list[tuple[bytes, bool]] = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv5)
        self.c.on_message = lambda cl, ud, m: self._add(m.payload, m.retain)
        self.c.connect(broker.host, broker.port)
        self.c.subscribe(topic, qos=1)
        self.c.loop_start()

    def _add(self, payload: bytes, retain: bool) -> None:
        with self.lock:
            self.payloads.append((payload, retain))

    def last(self):
        with self.lock:
            return parse_command(self.payloads[-1][0]) if self.payloads else None

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture
def hall(client, db_session, mqtt_broker, topic_prefix) -> Hall:
    h = make_hall(client, db_session)
    app = client.app
    app.state.settings = Settings(data_dir=app.state.settings.data_dir, database_url=app.state.settings.database_url,
                                  mqtt_enabled=False, run_migrations=False, secret_key=app.state.settings.secret_key,
                                  mqtt_url=f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}",
                                  mqtt_topic_prefix=topic_prefix, mqtt_client_id=f"hw-p-{uuid.uuid4().hex[:8]}")
    app.state.commands.close()
    app.state.commands = CommandPublisher(app.state.settings, app.state.sessionmaker)
    return h


def test_pause_plan_reaches_edges_retained_and_closes_the_window(hall, mqtt_broker, topic_prefix, demo_config_path):
    topic = command_topic(hall.hall_id, hall.edge_id, topic_prefix)
    now = dt.datetime.now(dt.UTC)
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/pauses", json={
        "window_id": "W02", "start": (now - dt.timedelta(minutes=1)).isoformat(),
        "end": (now + dt.timedelta(hours=2)).isoformat(), "reason": "系统升级，暂停受理"})
    assert r.status_code == 201, r.text
    late_edge = EdgeInbox(mqtt_broker, topic)  # connects after the publish: the retained plan still arrives
    try:
        cmd = wait_for(late_edge.last, "the retained pause plan")
        assert cmd.type == "command.window_pauses" and late_edge.payloads[0][1] is True
        assert [(p.window_id, p.reason) for p in cmd.pauses] == [("W02", "系统升级，暂停受理")]

        cfg = load_site_config(demo_config_path)
        rule = WindowUnstaffedRule(cfg)
        plan = PausePlan()
        plan.replace(cmd)
        assert plan.apply(dt.datetime.now(dt.UTC), rule.set_window_closed,
                          {w.id: w.closed for w in cfg.windows}) == [("W02", True)]
        states = {s.window_id: s.state for s in rule.window_states(dt.datetime.now(dt.UTC))}
        assert states["W02"] == "closed"

        hall.post(f"/api/v1/people/pauses/{r.json()['id']}/cancel")
        cmd = wait_for(lambda: late_edge.last() if late_edge.last().pauses == [] else None, "the emptied plan")
        plan.replace(cmd)
        assert plan.apply(dt.datetime.now(dt.UTC), rule.set_window_closed,
                          {w.id: w.closed for w in cfg.windows}) == [("W02", False)]
    finally:
        late_edge.close()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        c.connect(mqtt_broker.host, mqtt_broker.port)
        c.loop_start()
        c.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)  # leave no retained message behind
        c.loop_stop()
        c.disconnect()
