"""A batch of findings costs the database a fixed number of lookups, not a few per message: the findings a batch
opens, updates or closes are loaded once with their alerts and evidence links, and a new finding gets its links and
its alert without any lookup. (Under a flood each round trip of the urgent lane is an alert's latency.)"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import event, select

from edge import contract as c
from server.db import AlertEvent, AuditLog
from server.ingest.service import BatchItem, ingest_batch
from tests.test_console_helpers import console  # noqa: F401

LOOKUPS = re.compile(r"^\s*SELECT\b.*?\bFROM (findings|alerts|finding_evidence)\b", re.S | re.I)


def _lookups(console, msgs) -> tuple[list[str], int]:
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        m = LOOKUPS.match(statement)
        if m:
            seen.append(m.group(1))

    engine = console.app.state.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        out = ingest_batch(console.app.state.sessionmaker, [BatchItem(c.encode(m)) for m in msgs])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [o.status for o in out] == ["accepted"] * len(msgs), [o.detail for o in out]
    return seen, len(msgs)


@pytest.mark.parametrize("n", [1, 12])
def test_finding_lookups_per_batch_do_not_grow_with_the_batch(console, n):
    now = dt.datetime.now(dt.timezone.utc)
    hall, edge = console.hall_id, console.edge_id
    old = [console.open_finding(window=f"W0{1 + k % 3}", started_at=now - dt.timedelta(minutes=5)) for k in range(n)]
    new = [c.FindingOpened(hall_id=hall, edge_id=edge, finding_id=uuid.uuid4(), rule="window_unstaffed",
                           severity="major", window_id="W02", started_at=now,
                           evidence=[c.EvidenceRef(sha256=f"{k:064x}", kind="snapshot",
                                                   content_type="image/jpeg", size=10, captured_at=now)])
           for k in range(n)]
    msgs = [*new,
            *[c.FindingUpdated(hall_id=hall, edge_id=edge, finding_id=f.finding_id, rule=f.rule, at=now,
                               details={"k": k}) for k, f in enumerate(new)],
            *[c.FindingUpdated(hall_id=hall, edge_id=edge, finding_id=f.finding_id, rule=f.rule, at=now,
                               details={"k": k}) for k, f in enumerate(old)],
            *[c.FindingClosed(hall_id=hall, edge_id=edge, finding_id=f.finding_id, rule=f.rule, ended_at=now,
                              duration_s=300.0) for f in old]]
    seen, count = _lookups(console, msgs)
    # one query for the batch's findings, one each for their alerts and evidence links (selectin loads)
    assert sorted(seen) == ["alerts", "finding_evidence", "findings"], (count, seen)
    rows = console.get("/api/v1/console/alerts", params={"hall_id": hall}).json()
    assert sum(1 for a in rows if a["finding_status"] == "closed") == n
    assert sum(1 for a in rows if a["window_id"] == "W02" and a["finding_status"] == "open") == n


WRITES = re.compile(r"^\s*INSERT INTO (findings|alerts|alert_events|audit_log)\b", re.I)


@pytest.mark.parametrize("n", [1, 12])
def test_a_batch_of_new_findings_is_inserted_together_on_postgresql(console, n):
    """Alert ids come from the sequence reserved for the batch, so nothing flushes per finding: each table gets one
    INSERT for the whole batch (SQLite flushes per alert to learn its id)."""
    engine = console.app.state.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("alert ids are reserved from a PostgreSQL sequence (HALLWATCH_TEST_DATABASE_URL)")
    now = dt.datetime.now(dt.timezone.utc)
    msgs = [c.FindingOpened(hall_id=console.hall_id, edge_id=console.edge_id, finding_id=uuid.uuid4(),
                            rule="window_unstaffed", severity="major", window_id=f"W0{1 + k % 3}", started_at=now)
            for k in range(n)]
    writes: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        m = WRITES.match(statement)
        if m:
            writes.append(m.group(1))

    event.listen(engine, "before_cursor_execute", record)
    try:
        out = ingest_batch(console.app.state.sessionmaker, [BatchItem(c.encode(m)) for m in msgs])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [o.status for o in out] == ["accepted"] * n
    assert sorted(writes) == ["alert_events", "alerts", "audit_log", "findings"], writes
    rows = console.get("/api/v1/console/alerts", params={"hall_id": console.hall_id}).json()
    assert len(rows) == n and len({a["id"] for a in rows}) == n
    with console.app.state.sessionmaker() as s:  # every alert's audit row names its own id
        audited = set(s.scalars(select(AuditLog.entity_id).where(AuditLog.action == "alert.open")))
        events_of = {a: set(s.scalars(select(AlertEvent.action).where(AlertEvent.alert_id == a)))
                     for a in (r["id"] for r in rows)}
    assert {str(a["id"]) for a in rows} <= audited
    assert all(v == {"opened"} for v in events_of.values()), events_of
