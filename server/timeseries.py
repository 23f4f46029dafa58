"""Time-series tables (sensor readings, window states): daily range partitions on PostgreSQL, plain tables on
SQLite, retention by age per kind.

On PostgreSQL each table is ``PARTITION BY RANGE (at)`` with one partition per UTC day named
``<table>_pYYYYMMDD`` plus a ``<table>_default`` partition for rows outside every day partition (clock
errors, a server that stayed down past the days created ahead). ``ensure_partitions`` creates the days from
today to ``DAYS_AHEAD`` ahead (moving any rows the default partition holds for such a day into it), at start
and on every retention pass. ``prune`` drops whole day partitions older than the kind's retention and deletes
older rows from the default partition; on SQLite it deletes rows by age.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import Connection, Engine, delete, text

from server.db import Base

log = logging.getLogger(__name__)

TABLES = ("sensor_readings", "window_states")
DAYS_AHEAD = 7
_PART = re.compile(r"^(?P<table>[a-z_]+)_p(?P<day>\d{8})$")


def _day(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def _bounds(d: dt.date) -> tuple[str, str]:
    lo = dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc)
    return lo.isoformat(), (lo + dt.timedelta(days=1)).isoformat()


def partitioned(conn: Connection, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text("SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                                  "WHERE c.relname = :t AND pg_table_is_visible(c.oid)"), {"t": table}).first())


def partitions(conn: Connection, table: str) -> dict[dt.date, str]:
    """Day partitions of ``table`` by day."""
    rows = conn.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                             "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t AND pg_table_is_visible(p.oid)"),
                        {"t": table}).scalars()
    out = {}
    for name in rows:
        m = _PART.match(name)
        if m and m["table"] == table:
            out[dt.datetime.strptime(m["day"], "%Y%m%d").date()] = name
    return out


def create_day(conn: Connection, table: str, day: dt.date) -> None:
    """Create the partition of ``day``; rows the default partition holds for that day move into it."""
    name, (lo, hi) = f"{table}_p{_day(day)}", _bounds(day)
    held = conn.execute(text(f"SELECT 1 FROM {table}_default WHERE at >= :lo AND at < :hi LIMIT 1"),
                        {"lo": lo, "hi": hi}).first()
    if held is None:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
                          f"FOR VALUES FROM ('{lo}') TO ('{hi}')"))
        return
    conn.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    conn.execute(text(f"WITH moved AS (DELETE FROM {table}_default WHERE at >= :lo AND at < :hi RETURNING *) "
                      f"INSERT INTO {name} SELECT * FROM moved"), {"lo": lo, "hi": hi})
    conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')"))


def ensure_partitions(engine_or_conn: Engine | Connection, today: dt.date | None = None,
                      days_ahead: int = DAYS_AHEAD) -> int:
    """Create the missing day partitions from ``today`` to ``days_ahead`` ahead; returns how many were created.
    Concurrent callers (several server processes) serialise on an advisory lock."""
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.begin() as conn:
            return ensure_partitions(conn, today, days_ahead)
    conn = engine_or_conn
    if conn.dialect.name != "postgresql":
        return 0
    today = today or dt.datetime.now(dt.timezone.utc).date()
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('hallwatch.timeseries'))"))
    created = 0
    for table in TABLES:
        if not partitioned(conn, table):
            continue
        have = partitions(conn, table)
        for i in range(days_ahead + 1):
            day = today + dt.timedelta(days=i)
            if day not in have:
                create_day(conn, table, day)
                created += 1
    if created:
        log.info("time series: %d day partitions created", created)
    return created


def prune(bind: Engine | Connection, now: dt.datetime, keep_days: dict[str, float | None]) -> dict[str, int]:
    """Delete rows older than ``keep_days[table]`` days (None keeps everything): whole day partitions are dropped
    on PostgreSQL. Returns rows deleted (partitions dropped count their rows) by table."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            return prune(conn, now, keep_days)
    with bind.begin_nested() if bind.in_transaction() else bind.begin():
        return _prune(bind, now, keep_days)


def _prune(conn: Connection, now: dt.datetime, keep_days: dict[str, float | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('hallwatch.timeseries'))"))
    for table, days in keep_days.items():
        if days is None or table not in TABLES:
            continue
        cutoff = now - dt.timedelta(days=days)
        n = 0
        if partitioned(conn, table):
            for day, name in sorted(partitions(conn, table).items()):
                hi = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc) + dt.timedelta(days=1)
                if hi <= cutoff:
                    n += conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                    conn.execute(text(f"DROP TABLE {name}"))
            n += conn.execute(text(f"DELETE FROM {table}_default WHERE at < :c"), {"c": cutoff}).rowcount or 0
            # rows of a partly expired day stay until the whole day is past the cutoff
        else:
            t = Base.metadata.tables[table]
            n += conn.execute(delete(t).where(t.c.at < cutoff)).rowcount or 0
        out[table] = n
    ensure_partitions(conn, now.date())
    return out

