"""The bulk lane in a worker process of its own (``ingest_bulk_process``): on a real broker and PostgreSQL, its
readings and window states are stored, its live events reach this process's console subscribers over NOTIFY,
its counters show in /metrics, and a worker killed mid-run is restarted by the watchdog with nothing lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge import contract as c
from server.db import Finding, SensorReadingRow, Window
from server.events import subscribe
from server.ingest import worker
from server.settings import Settings
from server.testing import *  # noqa: F401,F403 - fixtures
from tests.conftest import wait_until
from tests.test_ingest_mqtt import committed_hall, mqtt_settings, publisher  # noqa: F401 - fixtures
from tests.test_ingest_service import opened


@pytest.mark.parametrize("dialect, live_events, refused", [
    ("postgresql", "auto", False), ("postgresql", "postgresql", False), ("postgresql", "local", True),
    ("sqlite", "auto", True), ("sqlite", "local", True)])
def test_the_worker_process_needs_live_events_over_postgresql(tmp_path, dialect, live_events, refused):
    settings = Settings(data_dir=tmp_path, live_events=live_events, ingest_bulk_process=True)
    if refused:
        with pytest.raises(ValueError, match="HALLWATCH_INGEST_BULK_PROCESS"):
            worker.check(settings, dialect)
    else:
        worker.check(settings, dialect)


class Collector(threading.Thread):
    """A console subscriber of this process: the live events it is given."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.events: list[dict] = []
        self.ready, self.done = threading.Event(), threading.Event()

    def run(self) -> None:
        async def main() -> None:
            async with subscribe() as queue:
                self.ready.set()
                while not self.done.is_set():
                    try:
                        self.events.append(await asyncio.wait_for(queue.get(), 0.2))
                    except TimeoutError:
                        pass

        asyncio.run(main())

    def seen(self, kind: str, **fields) -> bool:
        return any(e.get("type") == kind and all(str(e.get(k)) == str(v) for k, v in fields.items())
                   for e in list(self.events))


def reading(hall: str, value: float) -> c.SensorReading:
    return c.SensorReading(hall_id=hall, edge_id="zhegou-edge-1", sensor_id="plug-w01-pc", kind="power", value=value,
                           unit="W", at=dt.datetime.now(dt.timezone.utc))


def test_bulk_lane_in_its_own_process_stores_relays_counts_and_survives_a_kill(
        mqtt_broker, mqtt_settings, server_engine, committed_hall, database_url):  # noqa: F811
    if not database_url.startswith("postgresql"):
        pytest.skip("the bulk worker process needs PostgreSQL (HALLWATCH_TEST_DATABASE_URL)")
    from server.app import create_app

    hall, p = committed_hall.hall.id, mqtt_settings.mqtt_topic_prefix
    settings = mqtt_settings.model_copy(update={"ingest_bulk_process": True, "metrics_token": "m" * 40})
    app = create_app(settings, engine=server_engine)
    events = Collector()
    events.start()
    pub = publisher(mqtt_broker)
    try:
        with TestClient(app) as client:
            lanes = app.state.mqtt
            bulk = lanes.lanes[1]
            assert isinstance(bulk, worker.BulkProcess)
            assert wait_until(lambda: lanes.subscribed.is_set(), 120), "lanes never subscribed"
            assert bulk.pid not in (None, os.getpid())
            # below the server's priority: findings and the console first when the box is busy
            assert os.getpriority(os.PRIO_PROCESS, bulk.pid) == min(19, os.nice(0) + worker.BULK_NICE)
            assert events.ready.wait(10)
            state = c.WindowState(hall_id=hall, edge_id="zhegou-edge-1", window_id="W01", camera_id="cam-w01",
                                  state="empty", since=dt.datetime.now(dt.timezone.utc), persons=0)
            finding = opened(hall)
            for m in (reading(hall, 41.0), state, finding):
                pub.publish(c.topic_for(m, p), c.encode(m), qos=1).wait_for_publish(10)
            with Session(server_engine) as s:
                assert wait_until(lambda: s.scalar(select(func.count()).select_from(SensorReadingRow)
                                                   .where(SensorReadingRow.hall_id == hall)) == 1), "reading"
                assert wait_until(lambda: s.scalar(select(Window.live_state).where(
                    Window.hall_id == hall, Window.code == "W01").execution_options(populate_existing=True))
                    == "empty"), "window state"
                assert wait_until(lambda: s.scalar(select(func.count()).select_from(Finding)
                                                   .where(Finding.hall_id == hall)) == 1), "finding"
            # the window state was applied in the worker; its event reached this process's subscribers
            assert wait_until(lambda: events.seen("window.state", hall_id=hall, window="W01")), events.events[-5:]
            assert wait_until(lambda: events.seen("alert.opened", hall_id=hall)), "the urgent lane's alert"
            assert wait_until(lambda: 'type="sensor.reading",via="mqtt"' in client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 40}).text), \
                "the worker's counters in /metrics"

            first = bulk.pid
            os.kill(first, signal.SIGKILL)
            assert wait_until(lambda: bulk.restarts == 1 and bulk.pid != first and bulk.subscribed.is_set(), 120), \
                "the watchdog did not restart the worker"
            m = reading(hall, 42.0)
            pub.publish(c.topic_for(m, p), c.encode(m), qos=1).wait_for_publish(10)
            with Session(server_engine) as s:
                assert wait_until(lambda: s.scalar(select(func.count()).select_from(SensorReadingRow)
                                                   .where(SensorReadingRow.hall_id == hall)) == 2), \
                    "reading after the restart"
            assert wait_until(lambda: client.get("/healthz").status_code == 200)
        assert not bulk.connected.is_set() and bulk._proc is not None and not bulk._proc.is_alive()
    finally:
        events.done.set()
        pub.loop_stop()
        pub.disconnect()

