"""Broker authentication: a throwaway Mosquitto started with the password file and ACL the server generates
from its edge registry. Each edge logs in with its own credentials and can publish only under its own topics."""

from __future__ import annotations

import datetime as dt
import queue
import shutil
import subprocess
import uuid

import paho.mqtt.client as mqtt
import pytest

from server.edges import issue_edge_token
from server.mqtt_auth import edge_username, mosquitto_conf, write_broker_auth
from server.siteimport import import_site
from server.testing import unique_site
from tests.conftest import Broker, free_port, need, wait_for, wait_port

PREFIX = "hallwatch"


@pytest.fixture
def secured_broker(db_session, tmp_path):
    need(shutil.which("mosquitto") is not None, "mosquitto binary not installed")
    a, b = unique_site(), unique_site()
    for cfg in (a, b):
        import_site(db_session, cfg, actor="test")
    _, tok_a = issue_edge_token(db_session, a.hall.id, "edge-a", actor="test")
    _, tok_b = issue_edge_token(db_session, b.hall.id, "edge-b", actor="test")
    db_session.commit()
    server_pw = uuid.uuid4().hex
    auth = write_broker_auth(db_session, tmp_path / "auth", prefix=PREFIX, server_user="hallwatch-server",
                             server_password=server_pw)
    assert edge_username(a.hall.id, "edge-a") in auth.edges and edge_username(b.hall.id, "edge-b") in auth.edges
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("user root\npersistence false\n" + mosquitto_conf(auth, port=port, bind="127.0.0.1"))
    broker = Broker("127.0.0.1", port, conf=conf)
    broker.start()
    yield {"broker": broker, "a": (a.hall.id, "edge-a", tok_a), "b": (b.hall.id, "edge-b", tok_b),
           "server": ("hallwatch-server", server_pw)}
    broker.stop()


def connect(broker: Broker, user: str | None, password: str | None, *, expect_ok: bool = True):
    events: queue.Queue = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv311)
    if user is not None:
        client.username_pw_set(user, password)
    client.on_connect = lambda c, u, f, rc, p=None: events.put(("connack", rc))
    client.on_message = lambda c, u, m: events.put(("message", m.topic, m.payload))
    client.connect(broker.host, broker.port)
    client.loop_start()
    kind, rc = events.get(timeout=60)
    assert kind == "connack"
    if expect_ok:
        assert not rc.is_failure, f"{user} refused: {rc}"
    return client, events, rc


def received(events: queue.Queue, seen: list, want: bytes) -> bool:
    while not events.empty():
        item = events.get_nowait()
        if item[0] == "message":
            seen.append((item[1], item[2]))
    return any(payload == want for _, payload in seen)


def test_anonymous_and_wrong_passwords_are_refused(secured_broker) -> None:
    broker = secured_broker["broker"]
    hall, edge, token = secured_broker["a"]
    for user, password in ((None, None), (edge_username(hall, edge), "wrong-" + token),
                           (edge_username(*secured_broker["b"][:2]), token)):
        client, _, rc = connect(broker, user, password, expect_ok=False)
        assert rc.is_failure, f"{user!r} got in"
        client.loop_stop()
        client.disconnect()


def test_an_edge_publishes_only_under_its_own_topics(secured_broker) -> None:
    broker = secured_broker["broker"]
    hall_a, edge_a, tok_a = secured_broker["a"]
    hall_b, edge_b, _ = secured_broker["b"]
    server, server_events, _ = connect(broker, *secured_broker["server"])
    server.subscribe(f"{PREFIX}/#", qos=1)
    edge, edge_events, _ = connect(broker, edge_username(hall_a, edge_a), tok_a)
    edge.subscribe(f"{PREFIX}/{hall_a}/{edge_a}/command", qos=1)
    edge.subscribe(f"{PREFIX}/{hall_b}/{edge_b}/command", qos=1)  # accepted by the broker, delivers nothing
    seen: list = []
    # the server's subscription is active once its own probe comes back
    wait_for(lambda: server.publish(f"{PREFIX}/probe", b"probe", qos=1) and received(server_events, seen, b"probe"),
             "the server's subscription")
    spoofs = {f"{PREFIX}/{hall_b}/{edge_b}/finding": b"spoof-other-hall",
              f"{PREFIX}/{hall_a}/someone-else/finding": b"spoof-other-edge",
              f"{PREFIX}/{hall_a}/{edge_a}/command": b"spoof-own-command",
              f"{PREFIX}/{hall_a}/{edge_a}/receipt": b"spoof-own-receipt"}
    for topic, payload in spoofs.items():
        edge.publish(topic, payload, qos=1).wait_for_publish(60)
    edge.publish(f"{PREFIX}/{hall_a}/{edge_a}/finding", b"own", qos=1).wait_for_publish(60)
    wait_for(lambda: received(server_events, seen, b"own"), "the edge's own finding at the server")
    # one connection's messages arrive in order: a spoof let through would have come before "own"
    assert not [p for _, p in seen if p.startswith(b"spoof")], seen
    server.publish(f"{PREFIX}/{hall_b}/{edge_b}/command", b"cmd-b", qos=1).wait_for_publish(60)
    server.publish(f"{PREFIX}/{hall_a}/{edge_a}/command", b"cmd-a", qos=1).wait_for_publish(60)
    got: list = []
    wait_for(lambda: received(edge_events, got, b"cmd-a"), "the edge's own command")
    assert [p for _, p in got if p != b"spoof-own-command"] == [b"cmd-a"], got
    for c in (edge, server):
        c.loop_stop()
        c.disconnect()


def test_rotating_the_token_rotates_the_broker_password(secured_broker, db_session, tmp_path) -> None:
    hall_a, edge_a, old = secured_broker["a"]
    _, new = issue_edge_token(db_session, hall_a, edge_a, actor="test")
    db_session.commit()
    auth = write_broker_auth(db_session, tmp_path / "auth", prefix=PREFIX, server_user="hallwatch-server",
                             server_password=secured_broker["server"][1])
    broker = secured_broker["broker"]
    broker.proc.send_signal(subprocess.signal.SIGHUP)  # Mosquitto reloads password file and ACL
    assert wait_port(broker.host, broker.port)

    def refused_old() -> bool:
        client, _, rc = connect(broker, edge_username(hall_a, edge_a), old, expect_ok=False)
        client.loop_stop()
        client.disconnect()
        return rc.is_failure

    wait_for(refused_old, "the old token to stop working at the broker")
    client, _, _ = connect(broker, edge_username(hall_a, edge_a), new)
    client.loop_stop()
    client.disconnect()
    assert auth.passwd.stat().st_mode & 0o077 == 0


def test_demo_broker_lets_the_simulator_feed_the_edge_and_nothing_else(tmp_path, demo_config_path) -> None:
    from edge.sensors import simclock
    from edge.sensors.simulator import SimMessage, publish
    from edge.site import load_site_config
    from server.demo import EDGE_ID, HALL_ID, demo_broker_auth

    need(shutil.which("mosquitto") is not None, "mosquitto binary not installed")
    token = uuid.uuid4().hex
    folder, server_login, sim_login = demo_broker_auth(load_site_config(demo_config_path), tmp_path / "auth", token)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"user root\npersistence false\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
                    f"password_file {folder / 'passwd'}\nacl_file {folder / 'acl'}\n")
    broker = Broker("127.0.0.1", port, conf=conf)
    broker.start()
    try:
        edge, events, _ = connect(broker, edge_username(HALL_ID, EDGE_ID), token)
        edge.subscribe("zigbee2mqtt/#", qos=1)
        edge.subscribe(simclock.TOPIC, qos=1)
        server, server_events, _ = connect(broker, *server_login.split(":", 1))
        server.subscribe(f"{PREFIX}/#", qos=1)
        seen: list = []
        wait_for(lambda: server.publish(f"{PREFIX}/probe", b"probe", qos=1) and received(server_events, seen,
                                                                                          b"probe"), "probe")
        now = dt.datetime.now(dt.UTC)
        user, password = sim_login.split(":", 1)
        msgs = [SimMessage(at=now, sensor_id="x", topic=f"{PREFIX}/{HALL_ID}/{EDGE_ID}/finding", payload=b"sim-spoof",
                           retain=False),
                SimMessage(at=now, sensor_id="smoke", topic="zigbee2mqtt/hall_smoke", payload=b'{"smoke": false}',
                           retain=False)]
        assert publish(msgs, broker.host, broker.port, username=user, password=password) == 2
        got: list = []
        wait_for(lambda: received(events, got, b'{"smoke": false}'), "the sensor message at the edge")
        server.publish(f"{PREFIX}/probe", b"probe-2", qos=1).wait_for_publish(60)
        wait_for(lambda: received(server_events, seen, b"probe-2"), "second probe")
        assert b"sim-spoof" not in [p for _, p in seen], "the simulator cannot write HallWatch topics"
        for c in (edge, server):
            c.loop_stop()
            c.disconnect()
    finally:
        broker.stop()


def test_compose_bootstrap_admits_the_server_and_the_edge_and_nobody_else(tmp_path, monkeypatch, capsys,
                                                                           demo_config_path) -> None:
    """docker/compose.yml's broker-auth service, run here with the same commands and docker/mosquitto.conf's auth
    lines: the provisioned token stays out of the logs, the files go to the broker's user, the server reads the
    broker's uptime (the health check), the edge logs in with its token, an anonymous client is refused."""
    import os
    from pathlib import Path

    from server.cli import main

    need(shutil.which("mosquitto") is not None, "mosquitto binary not installed")
    token, server_pw = uuid.uuid4().hex, uuid.uuid4().hex
    for key, value in {"HALLWATCH_DATA_DIR": str(tmp_path / "server"),
                       "HALLWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'hw.db'}",
                       "HALLWATCH_MQTT_URL": f"mqtt://hallwatch-server:{server_pw}@127.0.0.1:1883",
                       "HALLWATCH_EDGE_TOKEN": token}.items():
        monkeypatch.setenv(key, value)
    auth = tmp_path / "auth"
    assert main(["import-site", str(demo_config_path)]) == 0
    assert main(["create-edge", "zhegou", "zhegou-edge-1", "--token-env", "HALLWATCH_EDGE_TOKEN"]) == 0
    assert main(["mqtt-acl", "--out", str(auth), "--owner", f"{os.getuid()}:{os.getgid()}"]) == 0
    assert token not in capsys.readouterr().out
    assert (auth / "passwd").stat().st_uid == os.getuid()
    with pytest.raises(SystemExit):
        main(["mqtt-acl", "--out", str(auth), "--owner", "mosquitto"])
    shipped = (Path(__file__).resolve().parent.parent / "docker" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in shipped and "allow_anonymous true" not in shipped
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"user root\npersistence false\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
                    f"password_file {auth / 'passwd'}\nacl_file {auth / 'acl'}\n")
    broker = Broker("127.0.0.1", port, conf=conf)
    broker.start()
    try:
        server, events, _ = connect(broker, "hallwatch-server", server_pw)
        server.subscribe("$SYS/broker/uptime", qos=0)
        wait_for(lambda: any(e[0] == "message" and e[1] == "$SYS/broker/uptime" for e in _drain(events)),
                 "the broker's uptime for the server (the compose health check)", timeout=30)
        edge, _, _ = connect(broker, edge_username("zhegou", "zhegou-edge-1"), token)
        for c in (server, edge):
            c.loop_stop()
            c.disconnect()
        anonymous, _, rc = connect(broker, None, None, expect_ok=False)
        anonymous.loop_stop()
        assert rc.is_failure
    finally:
        broker.stop()


def _drain(events: queue.Queue) -> list:
    out = []
    while not events.empty():
        out.append(events.get_nowait())
    return out
