"""Live events across server processes: PostgreSQL LISTEN/NOTIFY under the in-process broadcaster.

Every event broadcast in this process (after its transaction committed) is also sent on the
``hallwatch_events`` channel; every event another process sent there is delivered to this process's
subscribers (the console's SSE streams). So a confirm made through one server process shows up live on
consoles connected to any other. Events are sent in batches (one ``pg_notify`` per batch, each payload
under PostgreSQL's 8000-byte limit) by a sender thread; a listener thread holds one ``LISTEN`` connection
and reconnects when it drops. Each process tags what it sends and ignores its own.

``live_events`` (settings): ``auto`` uses PostgreSQL when the database is PostgreSQL, ``local`` keeps events
in the process (one server process; SQLite), ``postgresql`` insists. While the database is unreachable, events
of that spell reach only the local consoles (the console reloads its lists on reconnect).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from typing import Any

from sqlalchemy.engine import make_url

from server.events import broadcaster, coalesce

log = logging.getLogger(__name__)

CHANNEL = "hallwatch_events"
ORIGIN = uuid.uuid4().hex  # this process
MAX_PAYLOAD = 7500


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgRelay:
    def __init__(self, database_url: str, *, listen: bool = True) -> None:
        self.conninfo = _conninfo(database_url)
        self._out: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.listening = threading.Event()
        self.sent = self.received = 0
        self._threads = [threading.Thread(target=self._send_loop, name="hallwatch-live-send", daemon=True)]
        if listen:  # a process without consoles (the bulk ingest worker) only sends
            self._threads.append(threading.Thread(target=self._listen_loop, name="hallwatch-live-listen",
                                                  daemon=True))

    def start(self) -> None:
        broadcaster.relays.append(self.publish)
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        if self.publish in broadcaster.relays:
            broadcaster.relays.remove(self.publish)
        self._out.put(None)
        for t in self._threads:
            t.join(5)

    def publish(self, event: dict[str, Any]) -> None:
        self._out.put(event)

    # -- sender
    def _payloads(self, events: list[dict[str, Any]]) -> list[str]:
        """The events as NOTIFY payloads under MAX_PAYLOAD bytes each, every event encoded once."""
        head, tail = f'{{"o": "{ORIGIN}", "e": ['.encode(), b"]}"
        out: list[str] = []
        chunk: list[bytes] = []
        size = len(head) + len(tail)
        for ev in events:
            part = json.dumps(ev, ensure_ascii=False, default=str).encode()
            if len(head) + len(part) + len(tail) > MAX_PAYLOAD and "console" in ev:
                # without the view rendered at commit: the other processes' consoles read the rows instead
                part = json.dumps({k: v for k, v in ev.items() if k != "console"}, ensure_ascii=False,
                                  default=str).encode()
            if len(head) + len(part) + len(tail) > MAX_PAYLOAD:
                log.warning("live event %s too large to relay (%d bytes)", ev.get("type"), len(part))
                continue
            if chunk and size + 2 + len(part) > MAX_PAYLOAD:
                out.append((head + b", ".join(chunk) + tail).decode())
                chunk, size = [], len(head) + len(tail)
            size += len(part) + (2 if chunk else 0)
            chunk.append(part)
        if chunk:
            out.append((head + b", ".join(chunk) + tail).decode())
        return out

    def _send_loop(self) -> None:
        import psycopg

        conn = None
        while not self._stop.is_set():
            first = self._out.get()
            if first is None:
                break
            events = [first]
            while len(events) < 500:
                try:
                    ev = self._out.get_nowait()
                except queue.Empty:
                    break
                if ev is None:
                    self._stop.set()
                    break
                events.append(ev)
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                for payload in self._payloads(coalesce(events)):  # a window's states of one burst: the newest
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                self.sent += len(events)
            except Exception:  # noqa: BLE001 - database away: these events stay local
                log.warning("could not relay %d live events to other server processes", len(events), exc_info=True)
                if conn is not None:
                    conn.close()
                conn = None
                self._stop.wait(1.0)
        if conn is not None:
            conn.close()

    # -- listener
    def _listen_loop(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._deliver(note.payload)
            except Exception:  # noqa: BLE001 - reconnect
                self.listening.clear()
                if not self._stop.is_set():
                    log.warning("live event listener lost its connection; reconnecting", exc_info=True)
                    self._stop.wait(1.0)
        self.listening.clear()

    def _deliver(self, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if data.get("o") == ORIGIN:
            return
        events = [ev for ev in data.get("e", []) if isinstance(ev, dict)]
        self.received += len(events)
        broadcaster.deliver_many(events)


_relays: dict[str, tuple[PgRelay, int]] = {}  # one relay per database in a process, shared by its apps
_guard = threading.Lock()


def start(settings: Any, dialect: str) -> PgRelay | None:
    """The relay this app needs (None: events stay in the process); ``release`` it when the app stops."""
    mode = settings.live_events
    if mode == "local" or (mode == "auto" and dialect != "postgresql"):
        return None
    if dialect != "postgresql":
        raise ValueError("live_events=postgresql needs a PostgreSQL database")
    with _guard:
        relay, users = _relays.get(settings.db_url, (None, 0))
        if relay is None:
            relay = PgRelay(settings.db_url)
            relay.start()
            log.info("live events shared with other server processes over PostgreSQL NOTIFY %s", CHANNEL)
        _relays[settings.db_url] = (relay, users + 1)
    return relay


def release(relay: PgRelay) -> None:
    with _guard:
        for url, (r, users) in list(_relays.items()):
            if r is relay:
                if users > 1:
                    _relays[url] = (r, users - 1)
                    return
                del _relays[url]
    relay.stop()
