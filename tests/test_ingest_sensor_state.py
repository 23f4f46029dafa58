"""A sensor's live state on the server: availability words set online/offline, measurements set the value."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from edge import contract as c
from server.db import Sensor
from server.ingest import ingest

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("readings, online, value", [
    ([("power", 85.0, "W")], True, 85.0),
    ([("power", 85.0, "W"), ("availability", "offline", None)], False, 85.0),
    ([("availability", "offline", None), ("availability", "online", None)], True, None),
    ([("availability", "offline", None), ("power", 3.0, "W")], True, 3.0),
])
def test_sensor_live_state(db_session, seeded_hall, readings, online, value) -> None:
    hall = seeded_hall.hall.id
    for i, (kind, v, unit) in enumerate(readings):
        msg = c.SensorReading(hall_id=hall, edge_id="zhegou-edge-1", sensor_id="plug-w01-pc", kind=kind, value=v,
                              unit=unit, at=T0 + dt.timedelta(seconds=i))
        assert ingest(db_session, msg).status == "accepted"
    s = db_session.scalars(select(Sensor).where(Sensor.hall_id == hall, Sensor.code == "plug-w01-pc")).one()
    assert s.online is online
    assert (s.last_value or {}).get("value") == value
