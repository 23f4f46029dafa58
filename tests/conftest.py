"""Shared fixtures: real services when the environment names them, throwaway ones otherwise.

- ``HALLWATCH_TEST_MQTT=mqtt://host:port`` → the machine's broker (CI: Mosquitto on 127.0.0.1:1883);
  otherwise a throwaway ``mosquitto`` on a random port when the binary is installed.
- ``HALLWATCH_TEST_DATABASE_URL`` → that database (CI: PostgreSQL ``test``); otherwise SQLite in tmp. With
  parallel workers (``make test`` runs pytest-xdist) each worker gets ``<database>_<worker>`` on the same server.
- ``HALLWATCH_REQUIRE_SERVICES=1`` (set by .ci/run) turns every "service missing" skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from edge import paths

pytest_plugins = ["server.testing"]  # db_session, app, client, login, seeded_hall

REQUIRE = os.environ.get("HALLWATCH_REQUIRE_SERVICES") == "1"
# the console's scheduler/escalation loops act on every hall; tests that want them start them explicitly
os.environ.setdefault("HALLWATCH_CONSOLE_BACKGROUND", "false")
os.environ.setdefault("HALLWATCH_PEOPLE_BACKGROUND", "false")  # retention, notifications, pause plans: called directly
# live servers keep login counters in a database shared by every run; the throttling tests set their own limit
os.environ.setdefault("HALLWATCH_LOGIN_MAX_FAILURES", "1000")


# Run order: quick unit tables first, then the real model on real media, then slow tests, the browser last.
# The sort is stable, so tests keep their file order within each group.
RUN_ORDER = ("e2e", "slow", "browser")


def run_rank(item: pytest.Item) -> int:
    names = {m.name for m in item.iter_markers()}
    return max((i + 1 for i, name in enumerate(RUN_ORDER) if name in names), default=0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=run_rank)


def need(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (CI) when a required service or file is missing."""
    if condition:
        return
    if REQUIRE:
        pytest.fail(f"required for CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# A wait returns as soon as its condition holds; its deadline only decides how long a broken test takes to fail.
# Another process can stall a thread for many seconds on a busy 2-core machine, so no deadline is shorter.
MIN_DEADLINE_S = 60.0


def wait_until(pred, timeout: float = MIN_DEADLINE_S, interval: float = 0.05) -> bool:
    """Poll ``pred`` until it is truthy or the deadline (``timeout``, at least MIN_DEADLINE_S) passes: waiting for
    other threads, never measuring speed."""
    deadline = time.monotonic() + max(timeout, MIN_DEADLINE_S)
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def wait_for(predicate, what: str, timeout: float = MIN_DEADLINE_S):
    """Poll until ``predicate()`` returns a truthy value and return it; fail the test naming ``what`` otherwise
    (deadline ``timeout``, at least MIN_DEADLINE_S)."""
    deadline = time.monotonic() + max(timeout, MIN_DEADLINE_S)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


@dataclass
class Broker:
    host: str
    port: int
    proc: subprocess.Popen | None = None  # set when the fixture started the broker itself
    conf: Path | None = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def start(self) -> None:
        """(Re)start a throwaway broker on the same port (for restart tests)."""
        assert self.conf is not None, "only a throwaway broker can be restarted"
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        assert wait_port(self.host, self.port), "mosquitto did not start"


def start_throwaway_mosquitto(tmp: Path) -> Broker:
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {tmp}/\nautosave_interval 1\n"
    )
    b = Broker("127.0.0.1", port, conf=conf)
    b.start()
    return b


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory) -> Broker:
    """A reachable MQTT broker: the machine's one (env) or a throwaway mosquitto."""
    url = os.environ.get("HALLWATCH_TEST_MQTT")
    if url:
        u = urlparse(url)
        host, port = u.hostname or "127.0.0.1", u.port or 1883
        need(wait_port(host, port, 5), f"MQTT broker {url} not reachable")
        yield Broker(host, port)
        return
    need(shutil.which("mosquitto") is not None,
         "no HALLWATCH_TEST_MQTT and no mosquitto binary installed (apt-get install mosquitto, or .ci/system-deps)")
    b = start_throwaway_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield b
    b.stop()


@pytest.fixture
def own_broker(tmp_path) -> Broker:
    """A broker this test may stop and restart (always a throwaway mosquitto)."""
    need(shutil.which("mosquitto") is not None,
         "mosquitto binary not installed (needed for restart tests; apt-get install mosquitto, or .ci/system-deps)")
    b = start_throwaway_mosquitto(tmp_path)
    yield b
    b.stop()


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix so tests sharing the machine's broker never see each other's messages."""
    return f"hwtest-{uuid.uuid4().hex[:10]}"


def worker_database(url: str, worker: str) -> str:
    """The URL of ``<database>_<worker>`` next to ``url``, created when missing: parallel test workers (pytest-xdist)
    each migrate and fill their own PostgreSQL database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("HALLWATCH_TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url and worker and url.startswith("postgresql"):
        return worker_database(url, worker)
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db')}/hallwatch-test.db"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    d = paths.shared_dir()
    need(d.is_dir(), f"shared data folder {d} not found (set HALLWATCH_SHARED_DIR)")
    return d


@pytest.fixture(scope="session")
def models_dir(shared_dir) -> Path:
    d = paths.models_dir()
    need((d / "yolo11n_int8_openvino_model").is_dir(), f"models folder {d} has no yolo11n_int8_openvino_model")
    return d


@pytest.fixture(scope="session")
def media_dir(shared_dir) -> Path:
    d = paths.media_dir()
    need((d / "MANIFEST.tsv").is_file(), f"media folder {d} not found")
    return d


@pytest.fixture(scope="session")
def demo_config_path() -> Path:
    return paths.PROJECT_ROOT / "configs" / "demo-hall.yaml"
