"""ingest_batch: one transaction per batch, duplicates inside and across batches, a poison message rejects alone,
live events only for what committed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge import contract as c
from server import events
from server.db import Finding, ProcessedMessage, SensorReadingRow
from server.db.session import make_sessionmaker
from server.ingest import service
from server.ingest.service import BatchItem, ingest_batch
from server.metrics import INGEST_REJECTED
from server.testing import *  # noqa: F401,F403 - fixtures
from tests.test_ingest_mqtt import committed_hall  # noqa: F401 - fixture
from tests.test_ingest_service import opened


def reading(hall: str, value: float, sensor: str = "plug-w01-pc") -> c.SensorReading:
    return c.SensorReading(hall_id=hall, edge_id="zhegou-edge-1", sensor_id=sensor, kind="power", value=value,
                           unit="W", at=dt.datetime.now(dt.timezone.utc))


def readings_of(engine, hall: str) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(SensorReadingRow).where(SensorReadingRow.hall_id == hall))


@pytest.fixture
def captured_events(monkeypatch):
    got: list[dict] = []
    monkeypatch.setattr(events.broadcaster, "broadcast", got.append)
    monkeypatch.setattr(events, "broadcast", got.append)
    return got


def test_duplicates_inside_and_across_batches(server_engine, committed_hall):
    hall = committed_hall.hall.id
    factory = make_sessionmaker(server_engine)
    r1, r2 = reading(hall, 1.0), reading(hall, 2.0)
    out = ingest_batch(factory, [BatchItem(c.encode(r1)), BatchItem(c.encode(r2)), BatchItem(c.encode(r1))])
    assert [o.status for o in out] == ["accepted", "accepted", "duplicate"]
    again = ingest_batch(factory, [BatchItem(c.encode(r2)), BatchItem(c.encode(reading(hall, 3.0)))])
    assert [o.status for o in again] == ["duplicate", "accepted"]
    assert readings_of(server_engine, hall) == 3


def test_finding_opened_updated_closed_in_one_batch(server_engine, committed_hall, captured_events):
    hall = committed_hall.hall.id
    o = opened(hall)
    upd = c.FindingUpdated(hall_id=hall, edge_id=o.edge_id, finding_id=o.finding_id, rule=o.rule, at=o.started_at,
                           details={"absent_s": 200.0})
    closed = c.FindingClosed(hall_id=hall, edge_id=o.edge_id, finding_id=o.finding_id, rule=o.rule,
                             ended_at=o.started_at + dt.timedelta(minutes=5), duration_s=300.0)
    fast = service.INGEST_BATCHES.value(path="fast")
    out = ingest_batch(make_sessionmaker(server_engine), [BatchItem(c.encode(m)) for m in (o, upd, closed)])
    assert [x.status for x in out] == ["accepted"] * 3
    assert service.INGEST_BATCHES.value(path="fast") == fast + 1  # no message needed the careful path
    with Session(server_engine) as s:
        f = s.scalars(select(Finding).where(Finding.hall_id == hall)).one()
        assert (f.status, f.details["absent_s"]) == ("closed", 200.0)
    types = [e["type"] for e in captured_events if e.get("hall_id") == hall]
    assert "finding.updated" in types and "finding.closed" in types


@pytest.mark.parametrize("poison", ["handler_error", "reject", "bad_bytes", "future"])
def test_a_poison_message_rejects_alone(server_engine, committed_hall, monkeypatch, captured_events, poison):
    hall = committed_hall.hall.id

    def explode(session, msg, row):
        if msg.value == 666.0:
            raise RuntimeError("boom")

    monkeypatch.setitem(service._HOOKS, "sensor.reading", [explode])
    bad = {"handler_error": c.encode(reading(hall, 666.0)),
           "reject": c.encode(reading(hall, 5.0, sensor="no-such-sensor")),
           "bad_bytes": b"[" * 30000,
           "future": c.encode(reading(hall, 5.0).model_copy(
               update={"at": dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)}))}[poison]
    good = [reading(hall, float(i)) for i in range(10)]
    items = [BatchItem(c.encode(m)) for m in good[:5]] + [BatchItem(bad)] + [BatchItem(c.encode(m)) for m in good[5:]]
    before = INGEST_REJECTED.total()
    out = ingest_batch(make_sessionmaker(server_engine), items)
    assert [o.status for o in out] == ["accepted"] * 5 + ["rejected"] + ["accepted"] * 5
    assert INGEST_REJECTED.total() == before + 1
    assert readings_of(server_engine, hall) == 10
    with Session(server_engine) as s:
        ids = set(s.scalars(select(ProcessedMessage.message_id).where(ProcessedMessage.hall_id == hall)))
    assert ids == {str(m.id) for m in good}


def test_nothing_applied_when_the_database_is_down(committed_hall):
    from server.db.session import make_engine

    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(service.DatabaseUnavailable):
            ingest_batch(make_sessionmaker(dead), [BatchItem(c.encode(reading(committed_hall.hall.id, 1.0)))])
    finally:
        dead.dispose()


def test_live_state_of_a_batch_is_what_the_newest_message_says(server_engine, committed_hall):
    """The bulk path (on PostgreSQL: one UPDATE per table and column set, readings and window states by COPY) leaves
    sensors, windows, the edge and its cameras exactly as the messages say, a late older reading changing nothing."""
    from server.db import Camera, Edge, Sensor, Window, WindowStateRow

    hall = committed_hall.hall.id
    t0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(minutes=1)
    edge = "zhegou-edge-1"

    def at(s: float) -> dt.datetime:
        return t0 + dt.timedelta(seconds=s)

    def power(value: float, s: float, sensor: str = "plug-w01-pc") -> c.SensorReading:
        return c.SensorReading(hall_id=hall, edge_id=edge, sensor_id=sensor, kind="power", value=value, unit="W",
                               at=at(s))

    batch = [
        power(10.0, 0), power(20.0, 2), power(99.0, -10),  # the last one arrives late: older than what is stored
        c.SensorReading(hall_id=hall, edge_id=edge, sensor_id="plug-w02-printer", kind="availability",
                        value="offline", at=at(1)),
        c.WindowState(hall_id=hall, edge_id=edge, window_id="W01", state="staffed", persons=1, camera_id="cam-w01",
                      since=at(-30), sent_at=at(1)),
        c.WindowState(hall_id=hall, edge_id=edge, window_id="W02", state="uncertain", persons=0,
                      camera_id="cam-w02", since=at(-5), sent_at=at(1)),
        c.Heartbeat(hall_id=hall, edge_id=edge, sent_at=at(2), outbox_pending=7, uptime_s=42.0,
                    cameras=[c.CameraHealth(camera_id="cam-w01", state="ok", fps=1.5, lag_s=0.4),
                             c.CameraHealth(camera_id="cam-w02", state="frozen", fps=0.0, lag_s=9.0)]),
    ]
    fast = service.INGEST_BATCHES.value(path="fast")
    out = ingest_batch(make_sessionmaker(server_engine), [BatchItem(c.encode(m)) for m in batch])
    assert [o.status for o in out] == ["accepted"] * len(batch)
    assert service.INGEST_BATCHES.value(path="fast") == fast + 1
    with Session(server_engine) as s:
        def one(model, code):
            return s.scalars(select(model).filter_by(hall_id=hall, code=code)).one()

        pc = one(Sensor, "plug-w01-pc")
        assert (pc.online, pc.last_seen, pc.last_value["value"], pc.last_value["unit"]) == (True, at(2), 20.0, "W")
        printer = one(Sensor, "plug-w02-printer")
        assert (printer.online, printer.last_seen) == (False, at(1))
        w1, w2 = one(Window, "W01"), one(Window, "W02")
        assert (w1.live_state, w1.live_persons, w1.live_since, w1.live_updated_at) == ("staffed", 1, at(-30), at(1))
        assert (w2.live_state, w2.live_camera) == ("uncertain", "cam-w02")
        e = one(Edge, edge)
        assert (e.online, e.last_seen, e.outbox_pending, e.uptime_s) == (True, at(2), 7, 42.0)
        c1, c2 = one(Camera, "cam-w01"), one(Camera, "cam-w02")
        assert (c1.health, c1.fps, c1.lag_s, c1.last_seen) == ("ok", 1.5, 0.4, at(2))
        assert (c2.health, c2.fps) == ("frozen", 0.0)
        rows = s.execute(select(SensorReadingRow.sensor_code, SensorReadingRow.value_num, SensorReadingRow.value_text,
                                SensorReadingRow.at).where(SensorReadingRow.hall_id == hall)
                         .order_by(SensorReadingRow.at)).all()
        assert [tuple(r) for r in rows] == [("plug-w01-pc", 99.0, None, at(-10)), ("plug-w01-pc", 10.0, None, at(0)),
                                            ("plug-w02-printer", None, "offline", at(1)),
                                            ("plug-w01-pc", 20.0, None, at(2))]
        assert s.scalar(select(func.count()).select_from(WindowStateRow).where(WindowStateRow.hall_id == hall)) == 2
    later = ingest_batch(make_sessionmaker(server_engine), [BatchItem(c.encode(power(30.0, 3)))])
    assert [o.status for o in later] == ["accepted"]
    with Session(server_engine) as s:
        pc = s.scalars(select(Sensor).filter_by(hall_id=hall, code="plug-w01-pc")).one()
        assert (pc.last_seen, pc.last_value["value"]) == (at(3), 30.0)
