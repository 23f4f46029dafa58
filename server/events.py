"""In-process pub/sub for live events (the console's SSE stream subscribes here).

``broadcast(event)`` may be called from any thread (the MQTT consumer runs in one);
``subscribe()`` is an async context manager yielding an ``EventQueue`` of event dicts.
``after_commit(session, event)`` queues an event that is broadcast only if the session's
transaction commits (so nobody sees an alert that was rolled back). Just before that transaction commits, every
function in ``broadcaster.renderers`` gets the session and the pending events and may add what subscribers would
otherwise read from the database for each of them (the console's alert view): built once, in the transaction that
made the change, instead of once per subscriber and process after it.

A subscriber that falls behind (a console stream while thousands of window states and heartbeats arrive a second)
never loses an alert to them: live-state events are coalesced per subject in its queue (a window's newer state
replaces the older one not yet sent, in its place), a full queue gives way by dropping the oldest live-state
event before anything else, and alerts (every event that is not live state) are taken before pending live state.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
QUEUE_SIZE = 1000
COALESCE: dict[str, tuple[str, ...]] = {  # live-state events: the newest per subject is all a subscriber needs
    "window.state": ("hall_id", "window"),
    "edge.heartbeat": ("hall_id", "edge"),
    "edge.status": ("hall_id", "edge"),
}


def live_key(event: dict[str, Any]) -> tuple[str, ...] | None:
    """The subject of a live-state event (``COALESCE``), None for every other event."""
    fields = COALESCE.get(str(event.get("type", "")))
    return (event["type"], *(str(event.get(f)) for f in fields)) if fields else None


def coalesce(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` with each subject's live state only once: its newest, in the place of its first."""
    out: list[dict[str, Any]] = []
    where: dict[tuple[str, ...], int] = {}
    for event in events:
        key = live_key(event)
        if key is None:
            out.append(event)
        elif key in where:
            out[where[key]] = event
        else:
            where[key] = len(out)
            out.append(event)
    return out


class EventQueue:
    """A subscriber's pending events (used from its event loop's thread only).

    ``put_nowait`` coalesces the events of ``COALESCE`` (live state) per subject and, at ``maxsize``, drops the oldest
    of them to make room (raising ``asyncio.QueueFull`` only when nothing coalescible is pending). ``await get()``
    takes the oldest pending event that is not live state (alerts, findings, checks: in their order) before any
    live state, then the live state in its order: an alert never waits behind a backlog of window states."""

    def __init__(self, maxsize: int = QUEUE_SIZE) -> None:
        self.maxsize = maxsize
        self._events: deque[dict[str, Any]] = deque()  # alerts and every other event that is not live state
        self._live: OrderedDict[Any, dict[str, Any]] = OrderedDict()  # live state by subject, oldest first
        self._ready = asyncio.Event()
        self.coalesced = 0

    def empty(self) -> bool:
        return not self._events and not self._live

    def put_nowait(self, event: dict[str, Any]) -> None:
        key = live_key(event)
        if key is not None and key in self._live:
            self._live[key] = event  # newer state, same place in the line
            self.coalesced += 1
            return
        if len(self._events) + len(self._live) >= self.maxsize:
            if not self._live:
                raise asyncio.QueueFull
            self._live.popitem(last=False)
        if key is None:
            self._events.append(event)
        else:
            self._live[key] = event
        self._ready.set()

    def get_nowait(self) -> dict[str, Any]:
        if self._events:
            event = self._events.popleft()
        elif self._live:
            _, event = self._live.popitem(last=False)
        else:
            raise asyncio.QueueEmpty
        if self.empty():
            self._ready.clear()
        return event

    async def get(self) -> dict[str, Any]:
        while self.empty():
            await self._ready.wait()
        return self.get_nowait()


class Broadcaster:
    def __init__(self) -> None:
        self._subs: set[tuple[asyncio.AbstractEventLoop, EventQueue]] = set()
        self._lock = threading.Lock()
        self.dropped = 0
        self.relays: list[Any] = []  # callables that carry events to other server processes (server.live)
        self.renderers: list[Callable[[Session, list[dict[str, Any]]], None]] = []  # see the module docstring

    def add_renderer(self, fn: Callable[[Session, list[dict[str, Any]]], None]) -> None:
        if fn not in self.renderers:
            self.renderers.append(fn)

    def broadcast(self, event: dict[str, Any]) -> None:
        """Deliver to this process's subscribers and hand to the relays."""
        self.deliver(event)
        for relay in list(self.relays):
            relay(event)

    def deliver(self, event: dict[str, Any]) -> None:
        """Deliver to this process's subscribers only (events relayed from another process)."""
        self.deliver_many([event])

    def deliver_many(self, events: list[dict[str, Any]]) -> None:
        """``deliver`` for several events in their order, with one wake-up of each subscriber's loop."""
        if not events:
            return
        with self._lock:
            subs = list(self._subs)
        for loop, queue in subs:
            try:
                loop.call_soon_threadsafe(self._put, queue, events)
            except RuntimeError:  # loop closed
                with self._lock:
                    self._subs.discard((loop, queue))

    def _put(self, queue: EventQueue, events: list[dict[str, Any]]) -> None:
        for event in events:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped += 1
                log.warning("live event dropped for a slow subscriber (%s)", event.get("type"))

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[EventQueue]:
        queue = EventQueue(QUEUE_SIZE)
        key = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subs.add(key)
        try:
            yield queue
        finally:
            with self._lock:
                self._subs.discard(key)

    @property
    def subscribers(self) -> int:
        return len(self._subs)


broadcaster = Broadcaster()
broadcast = broadcaster.broadcast
subscribe = broadcaster.subscribe

_PENDING = "hallwatch_pending_events"


def after_commit(session: Session, event: dict[str, Any]) -> None:
    """Broadcast ``event`` once ``session``'s outermost transaction commits. Dropped when that transaction, or
    the SAVEPOINT it was registered in (one ingested message), rolls back."""
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((tx, event))


def _within(tx: Any, ancestor: Any) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


@sa_event.listens_for(Session, "before_commit")
def _render_events(session: Session) -> None:
    """Let the renderers add to the events of the outermost transaction while it can still be read. A renderer
    that fails leaves its events as they are (subscribers then read the rows themselves)."""
    if session.in_nested_transaction() or not broadcaster.renderers:
        return
    pending = [ev for _, ev in session.info.get(_PENDING, [])]
    if not pending:
        return
    for render in list(broadcaster.renderers):
        try:
            render(session, pending)
        except Exception:  # noqa: BLE001 - the commit goes on; the console falls back to its own lookup
            log.exception("live event renderer %s failed", getattr(render, "__name__", render))


@sa_event.listens_for(Session, "after_commit")
def _flush_events(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT was released: the rows are not visible to others yet
        return
    for _, ev in session.info.pop(_PENDING, []):
        broadcast(ev)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_events(session: Session, previous_transaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [(tx, ev) for tx, ev in pending if not _within(tx, previous_transaction)]
