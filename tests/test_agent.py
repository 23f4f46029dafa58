"""The edge agent runtime: supervised jobs, and a live agent on a real clip answering commands over MQTT."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.agent.jobs import Job, Supervisor
from edge.contract import Command
from edge.site import SiteConfig
from tests.conftest import free_port
from tests.test_outbox import UploadReceiver, wait_until


def _raise_once(state: dict):  # noqa: ANN202
    def target(stop: threading.Event) -> None:
        state["runs"] += 1
        if state["runs"] == 1:
            raise RuntimeError("boom")
        stop.wait()
    return target


def _return_once(state: dict):  # noqa: ANN202
    def target(stop: threading.Event) -> None:
        state["runs"] += 1
        if state["runs"] == 1:
            return
        stop.wait()
    return target


@pytest.mark.parametrize("make, error", [(_raise_once, "RuntimeError: boom"), (_return_once, None)])
def test_watchdog_restarts_a_dead_job(make, error):  # noqa: ANN001
    state = {"runs": 0}
    sup = Supervisor()
    job = sup.add(Job("worker", make(state), restart_delay_s=0.0))
    assert wait_until(lambda: not job.alive(), 5)
    assert sup.check() == ["worker"]
    assert wait_until(lambda: state["runs"] == 2, 5)
    assert job.alive() and job.restarts == 1 and job.last_error == error
    assert sup.check() == []  # alive: nothing to do
    sup.stop()
    assert not job.alive()
    assert sup.check() == []  # stopped jobs are not restarted


class Collector:
    def __init__(self, host: str, port: int, prefix: str):
        self.msgs: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"col-{prefix}")
        ready = threading.Event()
        self.c.on_connect = lambda c, u, f, rc, p: (c.subscribe(f"{prefix}/#", qos=1), ready.set())
        self.c.on_message = self._on_message
        self.c.connect(host, port)
        self.c.loop_start()
        assert ready.wait(60)

    def _on_message(self, c, u, m) -> None:  # noqa: ANN001
        try:
            data = json.loads(m.payload)
        except ValueError:
            return
        with self.lock:
            self.msgs.append((m.topic, data))

    def of(self, type_: str) -> list[dict]:
        with self.lock:
            return [d for _, d in self.msgs if d.get("type") == type_]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def agent_config(broker, prefix: str, media_dir: Path, models_dir: Path, data: Path, port: int) -> SiteConfig:  # noqa: ANN001
    dead = f"rtsp://127.0.0.1:{free_port()}/nothing-here"
    return SiteConfig.model_validate({
        "hall": {"id": "hall-a", "name": "测试大厅"},
        "schedule": {"workdays": [0, 1, 2, 3, 4, 5, 6], "sessions": ["00:00-23:59"]},
        "windows": [{"id": "W02", "number": 2, "name": "惠农政策"}],
        "cameras": [
            {"id": "cam-w02", "name": "seat", "fps": 2, "loop": True,
             "source": str(media_dir / "video/coralFallacy1011_cctv_footage.mp4"),
             "zones": [{"id": "seat-w02", "kind": "seat", "window": "W02",
                        "polygon": [[0.1, 0.25], [0.9, 0.25], [0.9, 0.95], [0.1, 0.95]]},
                       {"id": "exit-1", "kind": "exit", "polygon": [[0.0, 0.9], [0.2, 0.9], [0.2, 1.0], [0.0, 1.0]]}]},
            {"id": "cam-dead", "name": "unplugged", "fps": 2, "source": dead},
        ],
        "rules": {"camera_health": {"offline_s": 2}, "phone_use": {"enabled": False}},
        "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": prefix},
        "edge": {"id": "edge-a", "server_url": f"http://127.0.0.1:{port}", "data_dir": str(data),
                 "models_dir": str(models_dir), "heartbeat_s": 1, "clip_pre_s": 1, "clip_post_s": 1,
                 "live_snapshot_s": 1},
    })


@pytest.mark.e2e
def test_live_agent_heartbeats_findings_and_commands(mqtt_broker, topic_prefix, media_dir, models_dir, tmp_path):
    from edge.agent.runtime import EdgeAgent

    port = free_port()
    server = UploadReceiver(port)
    server.start()
    cfg = agent_config(mqtt_broker, topic_prefix, media_dir, models_dir, tmp_path / "edge", port)
    col = Collector(mqtt_broker.host, mqtt_broker.port, topic_prefix)
    agent = EdgeAgent(cfg, sensors=False)
    agent.start()
    try:
        # heartbeats: the looping clip is analysed, the unplugged camera is offline
        def hb_ok() -> bool:
            for hb in col.of("edge.heartbeat"):
                cams = {c["camera_id"]: c for c in hb["cameras"]}
                if cams["cam-w02"]["fps"] > 0 and cams["cam-w02"]["state"] == "ok" and cams["cam-dead"]["state"] == "offline":
                    return True
            return False

        assert wait_until(hb_ok, 60), col.of("edge.heartbeat")[-1:]
        assert any(s["online"] for s in col.of("edge.status"))
        offline = [f for f in col.of("finding.opened") if f["rule"] == "camera_offline"]
        assert wait_until(lambda: any(f["camera_id"] == "cam-dead" for f in col.of("finding.opened")
                                      if f["rule"] == "camera_offline"), 20), offline
        assert wait_until(lambda: any(w["window_id"] == "W02" for w in col.of("window.state")), 20)

        # duty check and safety check over the command topic
        cmd_topic = f"{topic_prefix}/hall-a/edge-a/command"
        duty = Command(hall_id="hall-a", edge_id="server", type="command.duty_check")
        safety = Command(hall_id="hall-a", edge_id="server", type="command.safety_check")
        col.c.publish(cmd_topic, b"{not json", qos=1)  # junk first: must not stop the next ones
        for cmd in (duty, safety):
            col.c.publish(cmd_topic, cmd.model_dump_json(), qos=1)
        assert wait_until(lambda: col.of("duty_check.result") and col.of("safety_check.result"), 30)
        (dres,) = [d for d in col.of("duty_check.result") if d["request_id"] == str(duty.id)]
        (w02,) = dres["windows"]
        assert w02["window_id"] == "W02" and w02["camera_id"] == "cam-w02" and w02["state"] in ("staffed", "empty")
        assert [e["kind"] for e in w02["evidence"]] == ["snapshot"]
        (sres,) = [d for d in col.of("safety_check.result") if d["request_id"] == str(safety.id)]
        items = {(i["item"], i["subject"]): i for i in sres["items"]}
        assert items[("camera_online", "cam-w02")]["passed"] is True
        assert items[("camera_online", "cam-dead")]["passed"] is False
        assert ("nobody_present", "cam-w02") in items and ("exit_clear", "exit-1") in items
        assert agent.pipeline.counters["bad_commands"] == 1
        # per-seat thresholds from the server reach the window_unstaffed rule
        tuning = Command(hall_id="hall-a", edge_id="server", type="command.seat_tuning",
                         seat_overrides={"seat-w02": {"min_person_conf": 0.3}})
        col.c.publish(cmd_topic, tuning.model_dump_json(), qos=1)
        assert wait_until(lambda: agent.pipeline.staffing.seat_min_conf("seat-w02") == 0.3, 30)
        # the snapshot reached the evidence server with the right hash
        sha = w02["evidence"][0]["sha256"]
        assert wait_until(lambda: sha in server.files, 30)
        # live pictures for the console: the analysed camera's, never one of the camera without a picture
        assert wait_until(lambda: server.puts["cam-w02"] >= 2, 30), server.puts
        assert server.puts["cam-dead"] == 0
        agent.stop()
        # a clean stop publishes the retained status offline
        assert wait_until(lambda: any(not s["online"] for s in col.of("edge.status")), 10)
    finally:
        agent.stop()
        col.close()
        server.stop()
