"""The console's background work, started by the router lifespan:

- escalation: every ``escalation_interval_s``, unacknowledged alerts older than ``escalate_after_min`` are
  marked escalated and POSTed to ``escalation_webhook``;
- safety-check scheduler: every ``scheduler_interval_s``, each hall whose closing time + grace has passed
  today gets its automatic 下班安全检查 (once per hall-local day), and checks no edge answered within
  ``result_timeout_s`` are judged from the server's own data.

Every pass runs in a worker thread with its own unit of work; an error is logged and counted and the
loop goes on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from server.console import checks, escalation
from server.console.api_checks import send
from server.console.metrics import BACKGROUND_ERRORS
from server.console.safety import pending_auto_check
from server.console.settings import ConsoleSettings
from server.console.views import site_config
from server.db import Hall, utcnow
from server.db.session import unit_of_work
from server.locks import exclusive

log = logging.getLogger(__name__)


def escalation_pass(factory: Any, settings: ConsoleSettings, now: dt.datetime,
                    hall_ids: list[str] | None = None) -> list[dict[str, Any]]:
    with unit_of_work(factory) as session:
        exclusive(session, "hallwatch.escalation")  # one process escalates each alert, once
        return escalation.sweep(session, now, settings.escalate_after_min, hall_ids=hall_ids)


def scheduler_pass(app: Any, settings: ConsoleSettings, now: dt.datetime,
                   hall_ids: list[str] | None = None) -> list[int]:
    """Start due automatic safety checks and judge overdue pending ones; returns ids of checks started.
    ``hall_ids`` limits the pass to some halls (tests on a shared database)."""
    factory = app.state.sessionmaker
    started: list[tuple[int, str, str]] = []
    with unit_of_work(factory) as session:
        exclusive(session, "hallwatch.scheduler")  # once per hall and day, however many server processes
        q = select(Hall).order_by(Hall.id)
        if hall_ids is not None:
            q = q.where(Hall.id.in_(hall_ids))
        for hall in session.scalars(q):
            cfg = site_config(hall)
            if cfg is None:
                continue
            local_midnight = dt.datetime.combine(cfg.local(now).date(), dt.time(0), tzinfo=cfg.tz)
            done = {cfg.local(now).date()} if checks.auto_checks_done(session, hall, local_midnight) else set()
            if pending_auto_check(cfg, now, done) is None:
                continue
            chk = checks.create_safety_check(session, hall, "auto", None, now=now)
            started.append((chk.id, hall.id, chk.request_id))
            log.info("automatic safety check %s for hall %s", chk.id, hall.id)
    for check_id, hall_id, request_id in started:
        send(app, hall_id, "safety_check", request_id)  # failures: judged by the timeout pass below
    with unit_of_work(factory) as session:
        exclusive(session, "hallwatch.scheduler")
        for chk in checks.overdue_pending(session, now, settings.result_timeout_s, hall_ids):
            log.info("safety check %s: no edge answered within %.0f s, judging from server data", chk.id,
                     settings.result_timeout_s)
            checks.finalize_safety_check(session, chk, now)
        checks.expire_duty_checks(session, now, settings.result_timeout_s, hall_ids)
    return [c for c, _, _ in started]


async def run_loops(app: Any, settings: ConsoleSettings) -> None:
    notifier = escalation.Notifier(settings.escalation_webhook, timeout_s=settings.webhook_timeout_s)
    loop = asyncio.get_running_loop()
    # first passes after one interval: a server that starts and stops quickly (tests) never sweeps
    next_escalation = loop.time() + settings.escalation_interval_s
    next_schedule = loop.time() + settings.scheduler_interval_s
    while True:
        t = loop.time()
        if t >= next_escalation:
            next_escalation = t + settings.escalation_interval_s
            try:
                payloads = await asyncio.to_thread(escalation_pass, app.state.sessionmaker, settings, utcnow())
                await notifier.deliver(payloads)
            except Exception:  # noqa: BLE001 - the loop must survive anything
                BACKGROUND_ERRORS.inc(loop="escalation")
                log.exception("console escalation pass failed")
        if t >= next_schedule:
            next_schedule = t + settings.scheduler_interval_s
            try:
                await asyncio.to_thread(scheduler_pass, app, settings, utcnow())
            except Exception:  # noqa: BLE001
                BACKGROUND_ERRORS.inc(loop="scheduler")
                log.exception("console safety-check scheduler pass failed")
        await asyncio.sleep(max(0.05, min(next_escalation, next_schedule) - loop.time()))
