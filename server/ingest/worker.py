"""The bulk lane in a process of its own (``ingest_bulk_process``).

Window states, sensor readings, heartbeats and status are most of what the halls send. In one interpreter their
batches hold the GIL while a finding waits; in a worker process they use a core of their own and the server's
interpreter is left to the urgent lane and the console. The worker is the same ``MqttConsumer`` (lane ``bulk``, the
server's MQTT client id and persistent session) on its own engine, with the app's ingest hooks, and its live events
(window states, heartbeats) reach this process's consoles over the PostgreSQL NOTIFY relay (``server.live``):
so it needs PostgreSQL.

``BulkProcess`` is the server's handle on it with the consumer's face (``connected``, ``subscribed``, ``stuck``,
``processed``): the worker reports its state and its ingest counters twice a second over a pipe, and
``/metrics`` adds those counters to the server's own. A watchdog restarts a worker that died; what it had received
but not committed was never acknowledged, so the broker delivers it again to the new one.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from server import metrics
from server.settings import Settings

log = logging.getLogger(__name__)

REPORT_S = 0.5  # how often the worker reports its state
BULK_NICE = 10  # the worker's scheduling priority below the server's: findings and the console first on a busy box
RESTART_MAX_S = 30.0  # longest back-off between restarts of a worker that keeps dying


def check(settings: Settings, dialect: str) -> None:
    """Refuse a configuration in which the worker's live events could not reach the consoles."""
    if dialect != "postgresql":
        raise ValueError("HALLWATCH_INGEST_BULK_PROCESS needs a PostgreSQL database (its live events reach the "
                         f"console over LISTEN/NOTIFY); the database here is {dialect}")
    if settings.live_events == "local":
        raise ValueError("HALLWATCH_INGEST_BULK_PROCESS needs HALLWATCH_LIVE_EVENTS auto or postgresql, not local")


def _counters() -> dict[str, dict[Any, float]]:
    return {c.name: c.snapshot() for c in metrics.ALL_COUNTERS}


def _worker_main(settings: Settings, conn: Connection, log_level: int) -> None:
    """The worker process: the bulk lane's consumer until the server says stop or goes away."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s [bulk] %(name)s: %(message)s")
    if hasattr(os, "nice"):
        os.nice(BULK_NICE)
    from server import live
    from server.app import create_app
    from server.ingest.mqtt import MqttConsumer

    app = create_app(settings)  # the same routers, hence the same ingest hooks, as the server
    relay = live.PgRelay(settings.db_url, listen=False)
    relay.start()
    consumer = MqttConsumer(settings, app.state.sessionmaker, "bulk")
    consumer.start()
    try:
        while True:
            conn.send({"connected": consumer.connected.is_set(), "subscribed": consumer.subscribed.is_set(),
                       "stuck": consumer.stuck, "processed": consumer.processed,
                       "counters": _counters()})
            if conn.poll(REPORT_S):
                conn.recv()  # the only message is "stop"
                break
    except (EOFError, OSError, BrokenPipeError):
        pass  # the server is gone: stop as well
    finally:
        consumer.stop()
        relay.stop()
        app.state.engine.dispose()


class BulkProcess:
    """The server's handle on the bulk-lane worker process (see the module docstring)."""

    lane = "bulk"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.restarts = 0
        self._state: dict[str, Any] = {}
        self._processed_before = 0  # by workers that died
        self._proc: mp.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._last_report = time.monotonic()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._source = f"bulk-{id(self)}"  # counters of this handle (a process may build several apps)

    @property
    def processed(self) -> int:
        return self._processed_before + int(self._state.get("processed", 0))

    @property
    def stuck(self) -> bool:
        """The worker is stuck when it says so, or when it has not reported for ``ingest_stuck_after_s``."""
        if self._stopping.is_set():
            return False
        silent = time.monotonic() - self._last_report > self.settings.ingest_stuck_after_s
        return bool(self._state.get("stuck")) or silent

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        self._stopping.clear()
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name="hallwatch-bulk-watch", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        ctx = mp.get_context("spawn")  # never fork a process with threads
        ours, theirs = ctx.Pipe()
        self._proc = ctx.Process(target=_worker_main, name="hallwatch-bulk",
                                 args=(self.settings, theirs, logging.getLogger().getEffectiveLevel()), daemon=True)
        self._proc.start()
        theirs.close()
        self._conn = ours
        self._last_report = time.monotonic()
        log.info("bulk ingest worker process %s started", self._proc.pid)

    def _watch(self) -> None:
        """Read the worker's reports; restart it (with a back-off) when it dies."""
        delay = 1.0
        while not self._stopping.is_set():
            conn, proc = self._conn, self._proc
            try:
                if conn is not None and conn.poll(REPORT_S):
                    self._report(conn.recv())
                    delay = 1.0
                    continue
            except (EOFError, OSError):
                pass
            if proc is not None and not proc.is_alive() and not self._stopping.is_set():
                log.error("bulk ingest worker %s exited (code %s); restarting in %.0f s", proc.pid, proc.exitcode,
                          delay)
                self.connected.clear()
                self.subscribed.clear()
                self._processed_before += int(self._state.get("processed", 0))
                self._state = {"stuck": True}
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, RESTART_MAX_S)
                self.restarts += 1
                self._spawn()

    def _report(self, state: dict[str, Any]) -> None:
        self._last_report = time.monotonic()
        counters = state.pop("counters", {})
        self._state = state
        for counter in metrics.ALL_COUNTERS:
            counter.absorb(f"{self._source}-{self.restarts}", counters.get(counter.name, {}))
        (self.connected.set if state.get("connected") else self.connected.clear)()
        (self.subscribed.set if state.get("subscribed") else self.subscribed.clear)()

    def stop(self) -> None:
        self._stopping.set()
        conn, proc = self._conn, self._proc
        if conn is not None:
            try:
                conn.send("stop")
            except (OSError, ValueError):
                pass
        if proc is not None:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        if self._thread is not None:
            self._thread.join(5)
        if conn is not None:
            conn.close()
        self.connected.clear()
        self.subscribed.clear()
