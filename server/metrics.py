"""A small thread-safe Prometheus text exporter (counters and gauges with labels)."""

from __future__ import annotations

import threading
from collections import defaultdict


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels) + "}"


class Counter:
    def __init__(self, name: str, help_: str) -> None:
        self.name, self.help = name, help_
        self._values: dict[tuple[tuple[str, str], ...], float] = defaultdict(float)
        self._remote: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}  # other processes' counts
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] += amount

    def snapshot(self) -> dict[tuple[tuple[str, str], ...], float]:
        """This process's own counts (for a worker process to report)."""
        with self._lock:
            return dict(self._values)

    def absorb(self, source: str, values: dict[tuple[tuple[str, str], ...], float]) -> None:
        """Add a worker process's counts (its latest snapshot replaces the previous one from ``source``)."""
        with self._lock:
            self._remote[source] = dict(values)

    def _merged(self) -> dict[tuple[tuple[str, str], ...], float]:
        with self._lock:
            merged = defaultdict(float, self._values)
            for values in self._remote.values():
                for k, v in values.items():
                    merged[k] += v
        return merged

    def value(self, **labels: str) -> float:
        return self._merged().get(tuple(sorted(labels.items())), 0.0)

    def total(self) -> float:
        return sum(self._merged().values())

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        items = sorted(self._merged().items())
        lines += [f"{self.name}{_labels(k)} {v:g}" for k, v in items]
        return "\n".join(lines)


def gauge(name: str, help_: str, samples: list[tuple[dict[str, str], float]]) -> str:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} gauge"]
    lines += [f"{name}{_labels(tuple(sorted(lbl.items())))} {v:g}" for lbl, v in samples]
    return "\n".join(lines)


INGEST_ACCEPTED = Counter("hallwatch_ingest_accepted_total", "Edge messages applied, by type and transport.")
INGEST_DUPLICATE = Counter("hallwatch_ingest_duplicate_total", "Edge messages already applied (redelivery).")
INGEST_REJECTED = Counter("hallwatch_ingest_rejected_total", "Edge messages rejected, by reason and transport.")
EVIDENCE_UPLOADS = Counter("hallwatch_evidence_uploads_total", "Evidence PUTs, by result.")
ALERT_TRANSITIONS = Counter("hallwatch_alert_transitions_total", "Alert lifecycle steps, by action.")
MQTT_CONNECTS = Counter("hallwatch_mqtt_connects_total", "MQTT consumer (re)connections, by result.")

ALL_COUNTERS = [INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_REJECTED, EVIDENCE_UPLOADS, ALERT_TRANSITIONS,
                MQTT_CONNECTS]
