"""Time-series tables: readings and window states land in day partitions on PostgreSQL (the default partition
catches the rest and hands rows over when their day is created), retention by age per kind drops whole days."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from edge import contract as c
from server import timeseries
from server.db import SensorReadingRow, WindowStateRow
from server.db.session import make_sessionmaker
from server.ingest.service import BatchItem, ingest_batch
from server.testing import *  # noqa: F401,F403 - fixtures
from tests.test_ingest_mqtt import committed_hall  # noqa: F401 - fixture

NOW = dt.datetime.now(dt.timezone.utc)


def _rows(engine, model, hall: str) -> list:
    with Session(engine) as s:
        return list(s.scalars(select(model).where(model.hall_id == hall).order_by(model.at)))


def _add(engine, hall: str, at: dt.datetime) -> None:
    with Session(engine) as s:
        s.add(SensorReadingRow(hall_id=hall, sensor_code="plug-w01-pc", kind="power", value_num=1.0, at=at))
        s.add(WindowStateRow(hall_id=hall, window_code="W01", state="staffed", persons=1, since=at, at=at))
        s.commit()


def _where(engine, table: str, hall: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text(f"SELECT DISTINCT tableoid::regclass::text FROM {table} WHERE hall_id = :h"),
                                {"h": hall}).scalars())


def test_ingested_readings_and_window_states_are_kept_as_series(server_engine, committed_hall):
    hall = committed_hall.hall.id
    msgs = [c.SensorReading(hall_id=hall, edge_id="zhegou-edge-1", sensor_id="plug-w01-pc", kind="power", value=9.5,
                            unit="W", at=NOW),
            c.WindowState(hall_id=hall, edge_id="zhegou-edge-1", window_id="W01", camera_id="cam-w01", state="empty",
                          since=NOW - dt.timedelta(minutes=3), persons=0)]
    assert [o.status for o in ingest_batch(make_sessionmaker(server_engine), [BatchItem(c.encode(m)) for m in msgs])
            ] == ["accepted", "accepted"]
    (r,), (w,) = _rows(server_engine, SensorReadingRow, hall), _rows(server_engine, WindowStateRow, hall)
    assert (r.value_num, r.unit) == (9.5, "W")
    assert (w.window_code, w.state, w.persons) == ("W01", "empty", 0)
    if server_engine.dialect.name == "postgresql":
        day = f"_p{NOW:%Y%m%d}"
        assert _where(server_engine, "sensor_readings", hall) == {f"sensor_readings{day}"}
        assert _where(server_engine, "window_states", hall) == {f"window_states{day}"}


def test_default_partition_hands_rows_to_their_new_day(server_engine, committed_hall):
    if server_engine.dialect.name != "postgresql":
        pytest.skip("partitions are a PostgreSQL feature; SQLite keeps one table")
    hall = committed_hall.hall.id
    old = NOW - dt.timedelta(days=300)  # no partition that far back: the default partition takes it
    _add(server_engine, hall, old)
    assert _where(server_engine, "sensor_readings", hall) == {"sensor_readings_default"}
    assert timeseries.ensure_partitions(server_engine, today=old.date(), days_ahead=0) == 2
    assert _where(server_engine, "sensor_readings", hall) == {f"sensor_readings_p{old:%Y%m%d}"}
    assert _where(server_engine, "window_states", hall) == {f"window_states_p{old:%Y%m%d}"}
    assert len(_rows(server_engine, SensorReadingRow, hall)) == 1


def test_retention_by_age_per_kind(server_engine, committed_hall):
    hall = committed_hall.hall.id
    if server_engine.dialect.name == "postgresql":  # a whole old day partition, and rows in the default one
        timeseries.ensure_partitions(server_engine, today=(NOW - dt.timedelta(days=40)).date(), days_ahead=0)
    for age in (200, 40, 20, 0):
        _add(server_engine, hall, NOW - dt.timedelta(days=age, hours=1))
    out = timeseries.prune(server_engine, NOW, {"sensor_readings": 14, "window_states": 30})
    assert out["sensor_readings"] >= 3 and out["window_states"] >= 2
    ages = {m: sorted(round((NOW - r.at).total_seconds() / 86400) for r in _rows(server_engine, m, hall))
            for m in (SensorReadingRow, WindowStateRow)}
    assert ages == {SensorReadingRow: [0], WindowStateRow: [0, 20]}
    if server_engine.dialect.name == "postgresql":
        with server_engine.connect() as conn:
            days = timeseries.partitions(conn, "sensor_readings")
        assert (NOW - dt.timedelta(days=40)).date() not in days  # dropped whole
        assert all((NOW.date() + dt.timedelta(days=i)) in days for i in range(timeseries.DAYS_AHEAD + 1))


def test_retention_pass_prunes_both_kinds(server_engine, committed_hall, tmp_path):
    from server import retention
    from server.storage import LocalDiskStore

    hall = committed_hall.hall.id
    _add(server_engine, hall, NOW - dt.timedelta(days=500))
    report = retention.purge(make_sessionmaker(server_engine), LocalDiskStore(tmp_path), evidence_days=120,
                             archive_days=1096, readings_days=14, window_states_days=90)
    assert report.readings_deleted >= 1 and report.window_states_deleted >= 1
    with Session(server_engine) as s:
        assert s.scalar(select(func.count()).select_from(WindowStateRow).where(WindowStateRow.hall_id == hall)) == 0
