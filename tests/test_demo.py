"""`hallwatch demo` as a user runs it: the stack comes up on free ports, a real finding (real model on real
footage, or the sensor simulator) reaches the server with its evidence, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from server import demo
from tests.conftest import free_port, wait_until

pytestmark = pytest.mark.slow


def api(base: str, path: str, token: str | None = None, body: dict | None = None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,ppid,sid"], capture_output=True, text=True).stdout.split("\n")[1:]
    rows = [tuple(map(int, line.split())) for line in out if line.strip()]
    kids = {p for p, pp, _ in rows if pp == pid}
    return sorted(kids | {p for p, _, sid in rows if sid in kids})


@pytest.mark.parametrize("when, expect_tz", [
    (dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc), "Asia/Shanghai"),  # Monday 10:00 in Beijing
    (dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.timezone.utc), "Etc/GMT-8"),  # Sunday: fixed zone, it is 10:00
    (dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.timezone.utc), "Etc/GMT+4"),  # 21:00 Beijing → 09:00 at UTC-4
])
def test_demo_hall_clock_is_in_service(tmp_path: Path, demo_config_path: Path, when, expect_tz) -> None:
    out = demo.demo_config(demo_config_path, tmp_path / "d.yaml", mqtt_port=1, server_url="http://x", data_dir=tmp_path,
                           now_utc=when)
    cfg = yaml.safe_load(out.read_text())
    assert cfg["hall"]["timezone"] == expect_tz
    from edge.site import load_site_config

    site = load_site_config(out)
    assert site.schedule.in_service(site.local(when)), "the demo hall must be in service when the demo starts"


def test_demo_end_to_end(tmp_path: Path, models_dir: Path, media_dir: Path) -> None:
    port, mqtt_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "demo", "--data-dir", str(tmp_path / "demo"),
                             "--port", str(port), "--mqtt-port", str(mqtt_port), "--run-for", "400"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HALLWATCH_SHARED_DIR": str(models_dir.parent)})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        token = None
        while token is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            try:
                token = api(base, "/api/v1/auth/login", body={"username": demo.DEMO_USER,
                                                              "password": demo.DEMO_PASSWORD})["access_token"]
            except OSError:
                time.sleep(1)
        assert token, "the demo server never accepted the demo login"
        deadline = time.monotonic() + 240
        findings: list[dict] = []
        while time.monotonic() < deadline:
            findings = api(base, "/api/v1/findings?limit=50", token)
            video = [f for f in findings if f["rule"] in ("window_unstaffed", "phone_use")]
            if any(e["stored"] and e["kind"] == "snapshot" for f in video for e in f["evidence"]):
                break
            time.sleep(3)
        rules = {f["rule"] for f in findings}
        assert rules & {"window_unstaffed", "phone_use"}, f"no video finding from the real model; got {rules}"
        snapshots = [e for f in findings if f["rule"] in rules & {"window_unstaffed", "phone_use"}
                     for e in f["evidence"] if e["stored"] and e["kind"] == "snapshot"]
        assert snapshots, "video findings arrived without their annotated snapshot"
        req = urllib.request.Request(f"{base}/api/v1/evidence/{snapshots[0]['sha256']}",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.read(3) == b"\xff\xd8\xff", "the snapshot is not a JPEG"
        if shutil.which("mosquitto"):  # the finding came over the authenticated broker: anonymous clients are refused
            from paho.mqtt import publish
            from paho.mqtt.exception import MQTTException

            with pytest.raises(MQTTException):
                publish.single("hallwatch/zhegou/zhegou-edge-1/finding", b"{}", hostname="127.0.0.1", port=mqtt_port)
    finally:
        kids = children_of(proc.pid)
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail("the demo did not stop within 60 s of Ctrl-C")
    assert "stopped." in out

    def alive() -> list[int]:
        running = []
        for k in kids:
            try:
                status = Path(f"/proc/{k}/status").read_text(errors="replace").lower()
            except OSError:  # gone
                continue
            if "zombie" not in status:
                running.append(k)
        return running

    assert wait_until(lambda: not alive()), f"processes left running after Ctrl-C: {alive()}"
