"""A hall clock that follows the simulator, for demos run faster than real time.

``hallwatch sensors simulate --speed 60`` publishes, retained, on ``<namespace>hallwatch-sim/clock``::

    {"real": <epoch s when simulated time t0 was published>, "sim": <t0 epoch s>, "speed": 60}

A SensorHub built with ``clock=SimClock()`` subscribes to that topic and from then on reads
``sim + (now - real) * speed``, so durations, schedule gates and silence checks all run on the simulated
day. Before any announcement (and for a malformed one) it is the wall clock. Never used in production.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

TOPIC = "hallwatch-sim/clock"


def announcement(sim_t0: dt.datetime, speed: float, real_t0: float | None = None) -> bytes:
    return json.dumps({"real": real_t0 if real_t0 is not None else time.time(), "sim": sim_t0.timestamp(),
                       "speed": speed}).encode()


class SimClock:
    topic = TOPIC

    def __init__(self) -> None:
        self._anchor: tuple[float, float, float] | None = None
        self._lock = threading.Lock()

    def update(self, payload: bytes) -> bool:
        try:
            data = json.loads(payload)
            anchor = (float(data["real"]), float(data["sim"]), float(data["speed"]))
        except (ValueError, KeyError, TypeError):
            return False
        if anchor[2] <= 0:
            return False
        with self._lock:
            self._anchor = anchor
        return True

    @property
    def anchored(self) -> bool:
        """Whether the simulator's clock announcement has arrived (before it, this clock is the wall clock)."""
        with self._lock:
            return self._anchor is not None

    def __call__(self) -> dt.datetime:
        now = time.time()
        with self._lock:
            a = self._anchor
        if a is None:
            return dt.datetime.fromtimestamp(now, dt.UTC)
        real, sim, speed = a
        return dt.datetime.fromtimestamp(sim + (now - real) * speed, dt.UTC)
