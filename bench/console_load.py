"""Console page loads with 10,000 alerts in the database: server time of the feed, the hall board and the alert
detail (budget 500 ms each), and the feed search with the trigram index, without it (sequential scan), and as
the console searched before (the newest 2,000 alerts rendered, then filtered in Python).

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/console_load.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/hw_console [--alerts 10000] [--runs 7]

Server time = one in-process ASGI call (routing, auth, queries, JSON), median of ``--runs`` after a warm-up.
The bench hall (``bench-console``) is seeded once and reused; drop it with ``--reseed``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text

from edge.paths import PROJECT_ROOT
from edge.site import load_site_config
from models.machine import describe
from server.app import create_app
from server.console.settings import ConsoleSettings
from server.console.views import alert_view
from server.db import Alert, Camera, Finding, Hall, Sensor, SensorReadingRow, Window
from server.db.session import unit_of_work
from server.settings import Settings
from server.siteimport import import_site
from server.users import create_user

HALL = "bench-console"
BUDGET_MS = 500.0
RULES = [("window_unstaffed", "major"), ("phone_use", "warning"), ("sleeping", "warning"), ("smoking", "major"),
         ("power_left_on", "major"), ("sensor_offline", "warning"), ("smoke_detected", "critical"),
         ("exit_blocked", "major"), ("high_power_appliance", "major"), ("camera_frozen", "warning")]
WORDS = ["打印机卡纸", "群众排队", "窗口无人", "手机游戏", "电水壶", "安全出口", "门禁", "烟感", "standby", "printer",
         "queue", "desk", "lunch", "reading", "offline", "signal"]


def seed(app, n: int, reseed: bool) -> None:
    cfg = load_site_config(PROJECT_ROOT / "configs" / "demo-hall.yaml")
    cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"id": HALL})})
    with unit_of_work(app.state.sessionmaker) as s:
        if reseed and s.get(Hall, HALL) is not None:
            s.execute(delete(Hall).where(Hall.id == HALL))
        if s.get(Hall, HALL) is None:
            import_site(s, cfg, today=dt.date(2026, 1, 1))
            create_user(s, username="bench-console", password="bench-console-pw", role="supervisor", actor="bench",
                        hall_id=HALL, display_name="压测 督查")
    with unit_of_work(app.state.sessionmaker) as s:
        have = s.scalar(select(func.count()).select_from(Alert).where(Alert.hall_id == HALL))
        if have >= n:
            return
        rng = random.Random(7)
        windows = list(s.scalars(select(Window.id).where(Window.hall_id == HALL)))
        cams = list(s.scalars(select(Camera.id).where(Camera.hall_id == HALL)))
        sensors = list(s.scalars(select(Sensor).where(Sensor.hall_id == HALL)))
        start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=120)
        for i in range(have, n):
            rule, sev = rng.choice(RULES)
            sensor = rng.choice(sensors) if rule in ("power_left_on", "sensor_offline", "smoke_detected",
                                                    "high_power_appliance") else None
            f = Finding(finding_id=str(uuid.uuid4()), hall_id=HALL, edge_code="bench", rule=rule, severity=sev,
                        window_id=None if sensor else rng.choice(windows),
                        camera_id=None if sensor else rng.choice(cams),
                        sensor_id=sensor.id if sensor else None,
                        started_at=start + dt.timedelta(seconds=i * 1000 + rng.randint(0, 900)), status="closed",
                        details={"note": " ".join(rng.sample(WORDS, 3)), "seq": i, "seconds": rng.randint(10, 900)})
            s.add(f)
            s.add(Alert(finding=f, hall_id=HALL, status=rng.choice(["open", "acknowledged", "confirmed", "dismissed",
                                                                       "closed", "closed", "closed"]),
                        escalated=rng.random() < 0.05))
            if i % 1000 == 999:
                s.flush()
        kettle = next(x for x in sensors if x.kind in ("plug", "power_meter"))
        t0 = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
        for k in range(60):
            s.add(SensorReadingRow(hall_id=HALL, sensor_code=kettle.code, kind="power", unit="W",
                                   value_num=3.0 if k < 20 else 1900.0, at=t0 + dt.timedelta(seconds=10 * k)))
        f = Finding(finding_id=str(uuid.uuid4()), hall_id=HALL, edge_code="bench", rule="high_power_appliance",
                    severity="major", sensor_id=kettle.id, started_at=t0 + dt.timedelta(seconds=200), status="open",
                    details={"watts": 1900.0, "limit_w": 800})
        s.add(f)
        s.add(Alert(finding=f, hall_id=HALL, status="open"))


def ms(call, runs: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = call()
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hw_console")
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--reseed", action="store_true")
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="hw-bench-console-"))
    app = create_app(Settings(data_dir=data, database_url=args.database_url, mqtt_enabled=False))
    app.state.console_settings = ConsoleSettings(background=False)
    with TestClient(app) as client:
        seed(app, args.alerts, args.reseed)
        tok = client.post("/api/v1/auth/login", json={"username": "bench-console", "password": "bench-console-pw"})
        headers = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        client.cookies.clear()
        with unit_of_work(app.state.sessionmaker) as s:
            total = s.scalar(select(func.count()).select_from(Alert))
            in_hall = s.scalar(select(func.count()).select_from(Alert).where(Alert.hall_id == HALL))
            detail_id = s.scalar(select(Alert.id).join(Finding)
                                 .where(Alert.hall_id == HALL, Finding.rule == "high_power_appliance",
                                        Finding.status == "open").order_by(Alert.id.desc()))
        get = lambda path, **params: (lambda: client.get(path, params=params, headers=headers))  # noqa: E731
        print(f"# measured on {describe()}; {args.database_url.split('@')[-1]}; {in_hall} alerts in the bench hall, "
              f"{total} in the database; median of {args.runs}")
        pages = [("feed (200 newest)", get("/api/v1/console/alerts", hall_id=HALL)),
                 ("feed, escalated filter", get("/api/v1/console/alerts", hall_id=HALL, status="escalated")),
                 ("hall board", get(f"/api/v1/console/halls/{HALL}/board")),
                 ("alert detail (sensor chart)", get(f"/api/v1/console/alerts/{detail_id}"))]
        print(f"\n{'page':<30} {'server ms':>10} {'budget':>8}")
        for name, call in pages:
            t = ms(call, args.runs)
            print(f"{name:<30} {t:>10.1f} {'ok' if t < BUDGET_MS else 'OVER':>8}")

        def old_search(q: str):
            """The console's search before: 2,000 newest alerts rendered, then filtered in Python."""
            class R:
                status_code = 200
            with app.state.sessionmaker() as s:
                stmt = (select(Alert).join(Finding, Alert.finding_id == Finding.id).where(Alert.hall_id == HALL)
                        .order_by(Finding.started_at.desc()).limit(2000))
                views = [alert_view(s, a) for a in s.scalars(stmt)]
                needle = q.lower()
                [v for v in views if needle in " ".join(str(v.get(k) or "") for k in (
                    "rule", "rule_name", "window_id", "window_name", "hall_id", "summary")).lower()][:200]
            return R()

        pg = args.database_url.startswith("postgresql")
        print(f"\n{'search q=':<22} {'trigram index':>14} {'no index':>10} {'before (Python)':>16}  rows")
        for q in ("打印机卡纸", "standby", "烟雾报警", "zzz-no-hit"):
            call = get("/api/v1/console/alerts", hall_id=HALL, q=q)
            rows = len(call().json())
            with_index = ms(call, args.runs) if pg else float("nan")
            with app.state.sessionmaker.kw["bind"].begin() as conn:
                if pg:
                    conn.execute(text("DROP INDEX IF EXISTS ix_findings_details_trgm"))
            try:
                no_index = ms(call, args.runs)
            finally:
                if pg:
                    with app.state.sessionmaker.kw["bind"].begin() as conn:
                        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_findings_details_trgm ON findings "
                                          "USING gin (lower((details::jsonb)::text) gin_trgm_ops)"))
            before = ms(lambda q=q: old_search(q), max(1, args.runs // 2))
            print(f"{q:<22} {with_index:>12.1f}ms {no_index:>8.1f}ms {before:>14.1f}ms  {rows}")
        print("\nsearch: the where-clause of server/console/api_alerts.py search_condition (rule / window / sensor "
              "ids, plus LIKE over the details); 'before' did not search older alerts than the newest 2,000 at all.")


if __name__ == "__main__":
    main()
