"""docker/compose.yml must validate (no Docker engine here to run it), and must refuse missing secrets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import need

COMPOSE = Path(__file__).resolve().parent.parent / "docker" / "compose.yml"
SECRETS = {"HALLWATCH_SECRET_KEY": "s", "HALLWATCH_ADMIN_PASSWORD": "p", "HALLWATCH_EDGE_TOKEN": "t",
           "HALLWATCH_MQTT_PASSWORD": "m", "POSTGRES_PASSWORD": "pg"}


def compose_cmd() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def run_config(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = compose_cmd()
    need(cmd is not None, "neither `docker compose` nor `docker-compose` is installed (.ci/run installs docker-compose)")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS} | env_extra
    return subprocess.run([*cmd, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env)


def test_compose_config_validates() -> None:
    out = run_config(SECRETS)
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    assert set(cfg["services"]) == {"broker-auth", "mosquitto", "postgres", "server", "edge"}
    assert all("healthcheck" in cfg["services"][s] for s in ("mosquitto", "postgres"))
    # every MQTT client logs in: the server with its own identity, the edge as <hall>/<edge> with its token
    services = cfg["services"]
    assert services["mosquitto"]["depends_on"]["broker-auth"]["condition"] == "service_completed_successfully"
    assert services["server"]["environment"]["HALLWATCH_MQTT_URL"] == "mqtt://hallwatch-server:m@mosquitto:1883"
    assert services["edge"]["environment"]["HALLWATCH_MQTT_USERNAME"] == "zhegou/zhegou-edge-1"
    assert services["edge"]["environment"]["HALLWATCH_MQTT_PASSWORD_ENV"] == "HALLWATCH_EDGE_TOKEN"


def test_compose_refuses_missing_secrets() -> None:
    out = run_config({})
    assert out.returncode != 0
    assert "set " in out.stderr


def test_images_bake_in_no_secrets() -> None:
    for dockerfile in COMPOSE.parent.glob("Dockerfile.*"):
        text = dockerfile.read_text()
        for word in ("PASSWORD", "SECRET", "TOKEN="):
            assert word not in text, f"{dockerfile.name} mentions {word}"
