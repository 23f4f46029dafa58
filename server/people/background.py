"""The people package's background work, started by its router's lifespan (``people_background``):

- notification delivery every ``notify_interval_s`` (``server.notify.deliver_due``);
- the retention pass every ``retention_interval_s`` (``server.retention.purge``, when ``retention_enabled``);
- the pause plans: each hall's plan is published (retained) to its edges when it differs from the last one
  published, and again every ``REPUBLISH_S`` while it is not empty (a broker that lost its retained messages);
- Home Assistant discovery when ``ha_discovery``: a sync every ``ha_interval_s`` and soon after a live event
  that changes what it shows (window state, alert, safety check).

Every pass runs in a worker thread; an error is logged and counted and the loop goes on. ``stop`` ends the
loop between passes, so a pass in its thread always finishes before the app disposes the database engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from typing import Any

from sqlalchemy import select

from edge.contract import Command, WindowPauseSpec
from server import events
from server import metrics as core
from server.db import utcnow
from server.db.session import unit_of_work
from server.ingest.mqtt import CommandError
from server.people.approvals import pause_plan
from server.people.models import WindowPause

log = logging.getLogger(__name__)
REPUBLISH_S = 600.0
PLAN_HORIZON = dt.timedelta(days=30)
LOOP_ERRORS = core.Counter("hallwatch_people_loop_errors_total", "Errors caught in the people loops, by loop.")
if all(c.name != LOOP_ERRORS.name for c in core.ALL_COUNTERS):
    core.ALL_COUNTERS.append(LOOP_ERRORS)
HA_EVENTS = ("window.state", "alert.", "safety_check.", "finding.closed")


class PausePublisher:
    """Publishes each hall's pause plan to its edges as a retained ``command.window_pauses``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: dict[str, tuple[str, float]] = {}  # hall -> (plan hash, monotonic time published)

    def plan_command(self, hall_id: str, plan: list[dict[str, Any]]) -> Any:
        specs = [WindowPauseSpec(**p) for p in plan]
        return lambda code: Command(type="command.window_pauses", hall_id=hall_id, edge_id=code, pauses=specs)

    def publish(self, hall_id: str, now: dt.datetime | None = None, *, force: bool = False,
                mono: float = 0.0) -> bool:
        """Publish the hall's plan when it changed (or ``force``); False when the edges could not be reached."""
        with unit_of_work(self.app.state.sessionmaker) as session:
            plan = pause_plan(session, hall_id, now or utcnow())
        digest = hashlib.sha256(json.dumps(plan, default=str, sort_keys=True).encode()).hexdigest()
        last = self.sent.get(hall_id)
        if not force and last is not None and last[0] == digest and (not plan or mono - last[1] < REPUBLISH_S):
            return True
        try:
            self.app.state.commands.publish_to_edges(hall_id, self.plan_command(hall_id, plan), retain=True)
        except (CommandError, OSError) as exc:
            log.warning("pause plan of %s not published: %s", hall_id, exc)
            return False
        self.sent[hall_id] = (digest, mono)
        return True

    def halls(self, now: dt.datetime) -> list[str]:
        """Halls with a pause record that ends after ``now - 30 days`` (their plan may matter to an edge)."""
        with unit_of_work(self.app.state.sessionmaker) as session:
            return sorted(set(session.scalars(select(WindowPause.hall_id).where(
                WindowPause.ends_at > now - PLAN_HORIZON))))

    def pass_(self, mono: float) -> None:
        now = utcnow()
        for hall_id in self.halls(now):
            self.publish(hall_id, now, mono=mono)


def _run(fn: Any, name: str) -> Any:
    try:
        return fn()
    except Exception:  # the loop must survive anything
        LOOP_ERRORS.inc(loop=name)
        log.exception("people %s pass failed", name)
        return None


async def run_loops(app: Any, stop: asyncio.Event) -> None:
    from server import notify, retention

    settings = app.state.settings
    pauses: PausePublisher = app.state.pause_publisher
    ha = None
    if settings.ha_discovery:
        from server.integrations.homeassistant import HomeAssistantPublisher

        ha = HomeAssistantPublisher(settings, app.state.sessionmaker)
        ha.start()
        app.state.ha_publisher = ha
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    # first passes after a short delay: a server that starts and stops at once (tests, a crash loop) does nothing
    due = {"notify": t0 + settings.notify_interval_s, "retention": t0 + settings.retention_interval_s,
           "pauses": t0 + 10.0, "ha": t0 + 1.0}
    try:
        async with events.subscribe() as queue:
            while not stop.is_set():
                t = loop.time()
                if t >= due["notify"]:
                    due["notify"] = t + settings.notify_interval_s
                    await asyncio.to_thread(_run, lambda: notify.deliver_due(
                        app.state.sessionmaker, max_attempts=settings.notify_max_attempts), "notify")
                if t >= due["retention"] and settings.retention_enabled:
                    due["retention"] = t + settings.retention_interval_s
                    await asyncio.to_thread(_run, lambda: retention.purge(
                        app.state.sessionmaker, app.state.store, evidence_days=settings.retention_evidence_days,
                        archive_days=settings.retention_archive_days,
                        readings_days=settings.sensor_reading_retention_days,
                        window_states_days=settings.window_state_retention_days), "retention")
                if t >= due["pauses"]:
                    due["pauses"] = t + 60.0
                    await asyncio.to_thread(_run, lambda: pauses.pass_(loop.time()), "pauses")
                if ha is not None and (t >= due["ha"] or ha.dirty.is_set()):
                    due["ha"] = t + settings.ha_interval_s
                    await asyncio.to_thread(_run, ha.sync, "ha")
                wait = max(0.05, min(due.values()) - loop.time())
                got, stopping = asyncio.ensure_future(queue.get()), asyncio.ensure_future(stop.wait())
                done, pending = await asyncio.wait({got, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                for f in pending:
                    f.cancel()
                if got in done:
                    ev = got.result()
                    if ha is not None and any(str(ev.get("type", "")).startswith(p) for p in HA_EVENTS):
                        due["ha"] = min(due["ha"], loop.time() + 1.0)  # soon, coalescing a burst of events
    finally:
        if ha is not None:
            await asyncio.to_thread(ha.stop)
