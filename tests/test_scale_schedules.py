"""Schedules at scale: two app instances on one database run the scheduler and the escalation sweep at the same
moment; each hall gets one automatic safety check per day and each alert is escalated once."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import func, select, update

from edge import contract as c
from edge.site import load_site_config
from server.app import create_app
from server.console.background import escalation_pass, scheduler_pass
from server.console.settings import ConsoleSettings
from server.db import Alert, AlertEvent, Hall, ProcessedMessage, SafetyCheck
from server.db.session import unit_of_work
from server.ingest import ingest
from server.settings import Settings
from server.siteimport import import_site

UTC = dt.timezone.utc
FRIDAY_1800 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 18:00 Shanghai: closing 17:30 + 30 min grace passed
HALLS = 4


@pytest.fixture
def two_apps(tmp_path, database_url, demo_config_path):
    apps = []
    for i in range(2):
        settings = Settings(data_dir=tmp_path / f"s{i}", database_url=database_url, mqtt_enabled=False,
                            mqtt_url="mqtt://127.0.0.1:1", mqtt_client_id=f"hw-two-{i}-{uuid.uuid4().hex[:6]}",
                            secret_key="k" * 40, run_migrations=i == 0)
        app = create_app(settings)
        app.state.console_settings = ConsoleSettings(background=False)
        apps.append(app)
    from server.db.migrate import upgrade

    upgrade(apps[0].state.engine)
    cfg = load_site_config(demo_config_path)
    halls = [f"s{uuid.uuid4().hex[:10]}" for _ in range(HALLS)]
    with unit_of_work(apps[0].state.sessionmaker) as s:
        for h in halls:
            import_site(s, cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"id": h})}),
                        today=dt.date(2026, 1, 1))
    yield apps, halls
    with unit_of_work(apps[0].state.sessionmaker) as s:
        s.execute(Hall.__table__.delete().where(Hall.id.in_(halls)))
        s.execute(ProcessedMessage.__table__.delete().where(ProcessedMessage.hall_id.in_(halls)))
    for app in apps:
        app.state.commands.close()
        app.state.engine.dispose()


def together(fn, apps) -> list:
    """Run ``fn(app)`` for each app in its own thread, released at the same moment."""
    barrier, results, errors = threading.Barrier(len(apps)), [None] * len(apps), []

    def run(i):
        try:
            barrier.wait(60)
            results[i] = fn(apps[i])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    return results


def test_automatic_safety_check_once_per_hall_and_day_across_processes(two_apps):
    apps, halls = two_apps
    settings = ConsoleSettings(background=False, result_timeout_s=3600)
    for _ in range(2):  # a second round the same evening starts nothing either
        together(lambda app: scheduler_pass(app, settings, FRIDAY_1800, halls), apps)
    with apps[0].state.sessionmaker() as s:
        per_hall = dict(s.execute(select(SafetyCheck.hall_id, func.count()).where(
            SafetyCheck.hall_id.in_(halls), SafetyCheck.trigger == "auto").group_by(SafetyCheck.hall_id)).all())
    assert per_hall == {h: 1 for h in halls}


def test_each_alert_escalated_once_across_processes(two_apps):
    apps, halls = two_apps
    with unit_of_work(apps[0].state.sessionmaker) as s:
        for h in halls:
            for w in ("W01", "W02"):
                msg = c.FindingOpened(hall_id=h, edge_id="zhegou-edge-1", finding_id=uuid.uuid4(),
                                      rule="window_unstaffed", severity="major", window_id=w,
                                      started_at=dt.datetime.now(UTC) - dt.timedelta(hours=1))
                assert ingest(s, c.encode(msg)).status == "accepted"
        s.execute(update(Alert).where(Alert.hall_id.in_(halls))
                  .values(created_at=dt.datetime.now(UTC) - dt.timedelta(hours=1)))
    settings = ConsoleSettings(background=False, escalate_after_min=10)
    payloads = together(lambda app: escalation_pass(app.state.sessionmaker, settings, dt.datetime.now(UTC), halls),
                        apps)
    assert sum(len(p) for p in payloads) == 2 * HALLS  # one webhook payload per alert in all
    with apps[0].state.sessionmaker() as s:
        counts = s.execute(select(AlertEvent.alert_id, func.count()).join(Alert).where(
            Alert.hall_id.in_(halls), AlertEvent.action == "escalate").group_by(AlertEvent.alert_id)).all()
    assert len(counts) == 2 * HALLS and {n for _, n in counts} == {1}
