"""Findings this edge has opened and not yet closed, kept on disk.

Rule state lives in memory, so after an edge restart nobody would ever close an episode that was open when the
process stopped: the server would show it open forever, and the rule would open a new one if the condition
goes on. The registry lets the restarted agent close such findings honestly — ended when the agent was last
known alive, marked ``interrupted`` — so every finding on the server is eventually closed.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS open_findings (finding_id TEXT PRIMARY KEY, rule TEXT NOT NULL, started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alive (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Interrupted:
    finding_id: uuid.UUID
    rule: str
    started_at: dt.datetime
    ended_at: dt.datetime  # when the agent was last known alive (never before the start)


class OpenFindings:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def opened(self, finding_id: uuid.UUID, rule: str, started_at: dt.datetime) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO open_findings VALUES (?,?,?)",
                             (str(finding_id), rule, started_at.isoformat()))

    def closed(self, finding_id: uuid.UUID) -> None:
        with self._lock:
            self._db.execute("DELETE FROM open_findings WHERE finding_id=?", (str(finding_id),))

    def alive(self, at: dt.datetime) -> None:
        """Record that the agent is running (called with every heartbeat)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO alive VALUES (1, ?)", (at.isoformat(),))

    def take_interrupted(self) -> list[Interrupted]:
        """The findings left open by the previous run, removed from the registry."""
        with self._lock:
            row = self._db.execute("SELECT at FROM alive WHERE id=1").fetchone()
            last_alive = dt.datetime.fromisoformat(row[0]) if row else None
            rows = self._db.execute("SELECT finding_id, rule, started_at FROM open_findings").fetchall()
            self._db.execute("DELETE FROM open_findings")
        out = []
        for fid, rule, started in rows:
            started_at = dt.datetime.fromisoformat(started)
            out.append(Interrupted(uuid.UUID(fid), rule, started_at, max(started_at, last_alive or started_at)))
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
