"""Supervised jobs: one thread per job, restarted by the watchdog when it dies (logged and counted)."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Callable

log = logging.getLogger(__name__)


class Job:
    """A named loop ``target(stop_event)`` in its own thread.

    The target should loop until ``stop`` is set and handle its own per-iteration errors; if it
    raises or returns anyway, ``ensure()`` (called by the watchdog) starts it again after
    ``restart_delay_s`` and counts the restart.
    """

    def __init__(self, name: str, target: Callable[[threading.Event], None], restart_delay_s: float = 1.0):
        self.name = name
        self.target = target
        self.restart_delay_s = restart_delay_s
        self.stop_event = threading.Event()
        self.restarts = 0
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None
        self._died_at: float | None = None

    def _run(self) -> None:
        try:
            self.target(self.stop_event)
        except BaseException as exc:  # noqa: BLE001 - report any death to the watchdog
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.exception("job %s died", self.name)
        finally:
            self._died_at = time.monotonic()

    def start(self) -> None:
        self._died_at = None
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure(self) -> bool:
        """Restart the job if it died (and is not being stopped). True when it was restarted."""
        if self.stop_event.is_set() or self.alive() or self._thread is None:
            return False
        if self._died_at is not None and time.monotonic() - self._died_at < self.restart_delay_s:
            return False
        self.restarts += 1
        log.error("watchdog: job %s is dead (%s); restarting (restart #%d)", self.name,
                  self.last_error or "returned", self.restarts)
        self.start()
        return True

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)


class Supervisor:
    """Holds the jobs; ``check()`` restarts dead ones. Run ``check`` every second from the main thread."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.counters: Counter[str] = Counter()

    def add(self, job: Job, start: bool = True) -> Job:
        self.jobs[job.name] = job
        if start:
            job.start()
        return job

    def check(self) -> list[str]:
        restarted = [name for name, job in self.jobs.items() if job.ensure()]
        for name in restarted:
            self.counters[f"restart:{name}"] += 1
        return restarted

    def stop(self) -> None:
        for job in self.jobs.values():
            job.stop_event.set()
        for job in self.jobs.values():
            job.stop()
