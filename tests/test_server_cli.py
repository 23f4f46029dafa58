"""`hallwatch server` as a user runs it: zero configuration on SQLite, serving /docs; admin/edge/import commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port, wait_port

HALLWATCH = str(Path(sys.executable).with_name("hallwatch"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLWATCH_")}
    env.update(extra)
    return env


def test_server_starts_with_zero_configuration(tmp_path):
    port = free_port()
    # zero configuration, except that this test must not share the default MQTT client id with a running demo
    env = clean_env(HALLWATCH_MQTT_CLIENT_ID=f"hw-cli-test-{port}")
    proc = subprocess.Popen([HALLWATCH, "server", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        up = wait_port("127.0.0.1", port, timeout=60)
        if not up:
            proc.kill()
            raise AssertionError(f"server did not start:\n{proc.communicate()[0][-3000:]}")
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=10)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).json()
        assert "/api/v1/ingest" in spec["paths"] and "/api/v1/evidence/{sha256}" in spec["paths"]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["database"] == "ok"
        assert (tmp_path / "data" / "server" / "hallwatch.db").is_file()
        login = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/login", json={"username": "admin",
                                                                              "password": "admin"}, timeout=10)
        assert login.status_code == 200  # development default, announced in the log
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "admin/admin" in out


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([HALLWATCH, "server", *args], cwd=cwd, env=clean_env(**env), capture_output=True,
                          text=True, timeout=120)


def test_cli_import_site_create_edge_create_admin(tmp_path, demo_config_path):
    r = run(["import-site", str(demo_config_path)], tmp_path)
    assert r.returncode == 0 and "hall zhegou" in r.stdout, r.stderr
    again = run(["import-site", str(demo_config_path)], tmp_path)
    assert "created -, updated -, deactivated -" in again.stdout
    edge = run(["create-edge", "zhegou", "zhegou-edge-1"], tmp_path)
    assert edge.returncode == 0 and edge.stdout.strip().startswith("hwe_")
    assert run(["create-edge", "nowhere", "e"], tmp_path).returncode == 1
    admin = run(["create-admin", "chief", "--password", "a-long-password"], tmp_path)
    assert admin.returncode == 0, admin.stderr
    assert run(["create-admin", "chief", "--password", "a-long-password"], tmp_path).returncode == 1
    prod = run(["migrate"], tmp_path, HALLWATCH_MODE="production")
    assert prod.returncode == 0  # migrate needs no secret
    refused = subprocess.run([HALLWATCH, "server", "run", "--port", "1"], cwd=tmp_path, capture_output=True, text=True,
                             env=clean_env(HALLWATCH_MODE="production"), timeout=60)
    assert refused.returncode == 2 and "SECRET_KEY" in refused.stderr
