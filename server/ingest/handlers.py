"""What each edge message type does to the database (called by service.ingest inside a SAVEPOINT)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, insert, inspect, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import get_history, set_committed_value

from edge import contract as c
from server import events
from server.alerts import open_alert
from server.db import (
    Camera,
    DutyCheck,
    DutyCheckWindow,
    Edge,
    Evidence,
    Finding,
    FindingEvidence,
    SafetyCheck,
    SafetyCheckItem,
    Sensor,
    SensorReadingRow,
    Staff,
    Window,
    WindowStateRow,
    utcnow,
)

log = logging.getLogger(__name__)
CACHE = "hallwatch_ingest_rows"  # session.info key: rows looked up by code within one batch
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)  # overridden from settings (ingest_max_clock_skew_s) by the app


class Reject(Exception):
    def __init__(self, reason: str, detail: str):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")


def _by_code(session: Session, model: type, hall_id: str, code: str | None) -> Any:
    if code is None:
        return None
    cache = session.info.get(CACHE)
    if cache is not None and (model, hall_id, code) in cache:
        return cache[(model, hall_id, code)]
    row = session.scalars(select(model).filter_by(hall_id=hall_id, code=code)).first()
    if cache is not None and row is not None:
        cache[(model, hall_id, code)] = row
    return row


ROWS = "hallwatch_ingest_bulk"  # session.info key: append-only rows of a batch, inserted together at its end


def append_row(session: Session, model: type, **values: Any) -> None:
    """Add an append-only row (a reading, a window state, a processed message id): collected and inserted with one
    statement per table when a batch collects them (``session.info[ROWS]``), else added to the session."""
    rows = session.info.get(ROWS)
    if rows is None:
        session.add(model(**values))
    else:
        rows.setdefault(model, []).append(values)


def flush_rows(session: Session) -> None:
    """Insert the collected append-only rows: one COPY per table on PostgreSQL, one executemany elsewhere."""
    pg = session.get_bind().dialect.name == "postgresql"
    for model, rows in session.info.get(ROWS, {}).items():
        if rows:
            if pg:
                _copy_rows(session, model.__table__, rows)
            else:
                session.execute(insert(model.__table__), rows)
    session.info[ROWS] = {}


def _copy_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` in the session's transaction, each value through its column type's bind
    processing (aware UTC times, JSON), exactly as an INSERT would send it; rows grouped by the columns they set."""
    dialect = session.get_bind().dialect
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    raw = session.connection().connection.driver_connection
    for keys, group in groups.items():
        procs = [table.c[k].type.bind_processor(dialect) for k in keys]
        names = ", ".join(dialect.identifier_preparer.quote(k) for k in keys)
        with raw.cursor() as cur, cur.copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) "
                                           "FROM STDIN") as copy:
            for row in group:
                copy.write_row([p(row[k]) if p is not None else row[k] for k, p in zip(keys, procs)])


def _array_values(dialect: Any, col: Any, values: list[Any]) -> list[Any]:
    """Values as the elements of a typed array parameter: JSON as its text (cast back by the statement), everything
    else through the column type's bind processing."""
    if isinstance(col.type, JSON):
        proc = dialect._json_serializer or json.dumps
    else:
        proc = col.type.bind_processor(dialect)
    return [None if v is None else proc(v) if proc else v for v in values]


def _live_sql(dialect: Any, table: Any, pk: Any, cols: list[Any]) -> str:
    """``UPDATE table SET col = v.cN … FROM unnest(arrays) AS v WHERE table.pk = v.pk`` with each array cast to its
    column's type (one statement text per table and column set: prepared once by the server)."""
    q = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    arrays = [f"CAST(:pk AS {pk.type.compile(dialect)}[])"] + \
        [f"CAST(:c{i} AS {c.type.compile(dialect)}[])" for i, c in enumerate(cols)]
    sets = ", ".join(f"{q(c.name)} = v.c{i}" for i, c in enumerate(cols))
    names = ", ".join(["pk"] + [f"c{i}" for i in range(len(cols))])
    return f"UPDATE {name} SET {sets} FROM unnest({', '.join(arrays)}) AS v({names}) WHERE {name}.{q(pk.name)} = v.pk"


LIVE_MODELS = (Sensor, Window, Edge, Camera)  # the rows whose live state the bulk messages overwrite


def flush_live(session: Session, models: tuple[type, ...]) -> int:
    """PostgreSQL: write the changed columns of the session's modified rows of ``models`` (the live state of
    sensors, windows, edges and cameras a batch touched) with one ``UPDATE … FROM unnest(…)`` per model and set
    of changed columns, instead of one UPDATE per row; the rows are then clean for the ORM's flush. Rows with a
    changed relationship, new or deleted rows are left to the ORM. Returns the rows written."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    groups: dict[tuple[type, tuple[str, ...]], list[Any]] = {}
    for obj in list(session.dirty):
        if type(obj) not in models:
            continue
        state = inspect(obj)
        if not state.persistent:
            continue
        columns = state.mapper.column_attrs
        changed = tuple(sorted(k for k in state.committed_state if get_history(obj, k).has_changes()))
        if not changed or any(k not in columns for k in changed):
            continue
        groups.setdefault((type(obj), changed), []).append(obj)
    written = 0
    dialect = session.get_bind().dialect
    for (model, keys), objs in sorted(groups.items(), key=lambda g: (g[0][0].__name__, g[0][1])):
        mapper = inspect(model)
        cols = [mapper.column_attrs[k].columns[0] for k in keys]
        pk = mapper.primary_key[0]
        objs.sort(key=lambda o: getattr(o, pk.key))  # rows locked in one order by every server process
        params: dict[str, list[Any]] = {"pk": [getattr(o, pk.key) for o in objs]}
        for i, (k, col) in enumerate(zip(keys, cols)):
            params[f"c{i}"] = _array_values(dialect, col, [getattr(o, k) for o in objs])
        with session.no_autoflush:  # else the ORM would flush these very rows one UPDATE each first
            session.execute(text(_live_sql(dialect, mapper.local_table, pk, cols)), params)
        for o in objs:
            for k in keys:
                set_committed_value(o, k, getattr(o, k))
        written += len(objs)
    return written


def _wanted(msg: Any) -> list[tuple[type, str | None]]:
    """(model, code) pairs a message looks up in its hall."""
    t = msg.type
    if t == "sensor.reading":
        return [(Sensor, msg.sensor_id)]
    if t == "window.state":
        return [(Window, msg.window_id)]
    if t == "edge.heartbeat":
        return [(Edge, msg.edge_id)] + [(Camera, x.camera_id) for x in msg.cameras] + \
            [(Sensor, x.sensor_id) for x in msg.sensors]
    if t == "edge.status":
        return [(Edge, msg.edge_id)]
    if t == "finding.opened":
        return [(Window, msg.window_id), (Camera, msg.camera_id), (Sensor, msg.sensor_id), (Staff, msg.staff_id)]
    return []


FINDING_TYPES = frozenset({"finding.opened", "finding.updated", "finding.closed"})


def _finding_key(finding_id: Any) -> tuple[type, str, str]:
    return (Finding, "", str(finding_id))


def prefetch(session: Session, msgs: list[Any]) -> dict[tuple[type, str, str | None], Any]:
    """Load, in one query per model, the rows a batch of messages looks up by code; the returned dict (kept in
    ``session.info[CACHE]``) also keeps them referenced for the batch. A code absent from its hall is cached as
    missing, so no message of the batch queries it again."""
    wanted: dict[type, set[tuple[str, str]]] = {}
    for msg in msgs:
        for model, code in _wanted(msg):
            if code is not None:
                wanted.setdefault(model, set()).add((msg.hall_id, code))
    cache: dict[tuple[type, str, str | None], Any] = {}
    for model, pairs in wanted.items():
        cache.update({(model, h, c): None for h, c in pairs})
        for row in session.scalars(select(model).where(tuple_(model.hall_id, model.code).in_(list(pairs)))):
            cache[(model, row.hall_id, row.code)] = row
    # the findings the batch opens, updates or closes, with their alert and evidence links: one query each for the
    # batch instead of a duplicate check, a lookup and two lazy loads per message
    fids = {str(m.finding_id) for m in msgs if m.type in FINDING_TYPES}
    if fids:
        cache.update({_finding_key(f): None for f in fids})
        for row in session.scalars(select(Finding).where(Finding.finding_id.in_(fids))
                                   .options(selectinload(Finding.alert), selectinload(Finding.evidence_links))):
            cache[_finding_key(row.finding_id)] = row
    return cache


_NOT_CACHED = object()


def _cached(session: Session, key: tuple[type, str, str]) -> Any:
    """The batch cache's row for ``key`` (None: known not to exist), ``_NOT_CACHED`` outside a batch."""
    cache = session.info.get(CACHE)
    return cache.get(key, _NOT_CACHED) if cache is not None else _NOT_CACHED


def newer(incoming: dt.datetime, stored: dt.datetime | None) -> bool:
    """Whether an update at ``incoming`` may replace state stamped ``stored``: a stamp later than now plus the
    allowed skew (a clock error stored earlier) never freezes the state."""
    if stored is None or incoming >= stored:
        return True
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=dt.timezone.utc)
    return stored > dt.datetime.now(dt.timezone.utc) + MAX_CLOCK_SKEW


def register_evidence(session: Session, refs: list[c.EvidenceRef]) -> None:
    """Create evidence rows for referenced hashes (``stored`` stays False until the file arrives)."""
    if not refs:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    with session.no_autoflush:  # evidence rows depend on nothing pending: no flush of the batch for them
        _insert_evidence(session, insert, refs)


def _insert_evidence(session: Session, insert: Any, refs: list[c.EvidenceRef]) -> None:
    for ref in refs:
        stmt = insert(Evidence).values(sha256=ref.sha256, kind=ref.kind, content_type=ref.content_type,
                                       size=ref.size, captured_at=ref.captured_at, stored=False,
                                       created_at=utcnow())
        session.execute(stmt.on_conflict_do_nothing(index_elements=["sha256"]))
        ev = session.get(Evidence, ref.sha256)
        if ev is not None and ev.kind is None:  # file came first (no metadata then)
            ev.kind, ev.content_type, ev.captured_at = ref.kind, ref.content_type, ref.captured_at


def _link_evidence(session: Session, finding: Finding, refs: list[c.EvidenceRef]) -> None:
    have = {link.sha256 for link in finding.evidence_links}  # first: a new finding's (empty) links load nothing
    register_evidence(session, refs)
    for ref in refs:
        if ref.sha256 not in have:
            finding.evidence_links.append(FindingEvidence(sha256=ref.sha256, kind=ref.kind))
            have.add(ref.sha256)


def _finding(session: Session, msg: Any) -> Finding:
    f = _cached(session, _finding_key(msg.finding_id))
    if f is _NOT_CACHED:
        f = session.scalars(select(Finding).where(Finding.finding_id == str(msg.finding_id))).first()
    if f is None:
        raise Reject("unknown_finding", f"finding {msg.finding_id} was never opened")
    if f.hall_id != msg.hall_id:
        raise Reject("invalid", f"finding {msg.finding_id} belongs to hall {f.hall_id}")
    return f


def finding_opened(session: Session, msg: c.FindingOpened) -> Finding:
    known = _cached(session, _finding_key(msg.finding_id))
    if known is _NOT_CACHED:
        known = session.scalars(select(Finding.id).where(Finding.finding_id == str(msg.finding_id))).first()
    if known is not None:
        raise Reject("duplicate_finding", f"finding {msg.finding_id} already opened")
    h = msg.hall_id
    refs = {"window": (Window, msg.window_id), "camera": (Camera, msg.camera_id), "sensor": (Sensor, msg.sensor_id),
            "staff": (Staff, msg.staff_id)}
    resolved, unresolved = {}, {}
    for name, (model, code) in refs.items():
        row = _by_code(session, model, h, code)
        resolved[name] = row.id if row is not None else None
        if code is not None and row is None:
            unresolved[name] = code
    details = dict(msg.details)
    if unresolved:
        log.warning("finding %s references unknown %s in hall %s", msg.finding_id, unresolved, h)
        details["unresolved"] = unresolved
    f = Finding(finding_id=str(msg.finding_id), hall_id=h, edge_code=msg.edge_id, rule=msg.rule,
                severity=msg.severity, window_id=resolved["window"], camera_id=resolved["camera"],
                sensor_id=resolved["sensor"], staff_id=resolved["staff"], zone_code=msg.zone_id,
                confidence=msg.confidence, started_at=msg.started_at, details=details, status="open",
                evidence_links=[], alert=None)  # known empty: nothing to load when links and the alert are added
    session.add(f)  # no flush yet: evidence links and the alert attach to the pending finding without a lookup
    _link_evidence(session, f, msg.evidence)
    if session.info.get(CACHE) is not None:
        session.info[CACHE][_finding_key(f.finding_id)] = f  # an update of it later in the batch finds it
    open_alert(session, f, actor=f"edge:{h}/{msg.edge_id}")
    return f


def finding_updated(session: Session, msg: c.FindingUpdated) -> Finding:
    f = _finding(session, msg)
    f.details = {**f.details, **msg.details}
    _link_evidence(session, f, msg.evidence)
    events.after_commit(session, {"type": "finding.updated", "finding_id": f.finding_id, "hall_id": f.hall_id,
                                  "alert_id": f.alert.id if f.alert else None})
    return f


def finding_closed(session: Session, msg: c.FindingClosed) -> Finding:
    f = _finding(session, msg)
    if msg.ended_at < f.started_at:
        raise Reject("invalid", f"ended_at {msg.ended_at.isoformat()} before started_at {f.started_at.isoformat()}")
    f.ended_at, f.duration_s, f.status = msg.ended_at, msg.duration_s, "closed"
    f.details = {**f.details, **msg.details}
    _link_evidence(session, f, msg.evidence)
    events.after_commit(session, {"type": "finding.closed", "finding_id": f.finding_id, "hall_id": f.hall_id,
                                  "alert_id": f.alert.id if f.alert else None, "duration_s": f.duration_s})
    return f


def window_state(session: Session, msg: c.WindowState) -> Window:
    w = _by_code(session, Window, msg.hall_id, msg.window_id)
    if w is None:
        raise Reject("unknown_window", f"window {msg.window_id!r} not in hall {msg.hall_id}")
    append_row(session, WindowStateRow, hall_id=msg.hall_id, window_code=msg.window_id, state=msg.state,
               persons=msg.persons, camera_code=msg.camera_id, since=msg.since, at=msg.sent_at)
    if not newer(msg.sent_at, w.live_updated_at):
        return w  # an older state arriving late never overwrites a newer one
    w.live_state, w.live_since, w.live_persons = msg.state, msg.since, msg.persons
    w.live_camera, w.live_updated_at = msg.camera_id, msg.sent_at
    events.after_commit(session, {"type": "window.state", "hall_id": w.hall_id, "window": w.code,
                                  "state": w.live_state, "since": msg.since.isoformat(), "persons": msg.persons})
    return w


def sensor_reading(session: Session, msg: c.SensorReading) -> Sensor:
    s = _by_code(session, Sensor, msg.hall_id, msg.sensor_id)
    if s is None:
        raise Reject("unknown_sensor", f"sensor {msg.sensor_id!r} not in hall {msg.hall_id}")
    v = msg.value
    num = float(v) if isinstance(v, (int, float)) else None  # bool is an int: stored as 0/1
    text = v if isinstance(v, str) else None
    append_row(session, SensorReadingRow, hall_id=msg.hall_id, sensor_code=msg.sensor_id, kind=msg.kind,
               value_num=num, value_text=text, unit=msg.unit, at=msg.at)  # retention: server.timeseries
    if newer(msg.at, s.last_seen):
        s.last_seen = msg.at
        if msg.kind == "availability":  # the device's own online/offline word, not a measurement
            s.online = v == "online"
        else:
            s.online = True
            s.last_value = {"kind": msg.kind, "value": v, "unit": msg.unit, "at": msg.at.isoformat()}
    return s


def _edge(session: Session, msg: Any) -> Edge:
    e = _by_code(session, Edge, msg.hall_id, msg.edge_id)
    if e is None:
        e = Edge(hall_id=msg.hall_id, code=msg.edge_id)
        session.add(e)
        if CACHE in session.info:
            session.info[CACHE][(Edge, msg.hall_id, msg.edge_id)] = e
        log.info("first message from edge %s/%s", msg.hall_id, msg.edge_id)
    return e


def edge_status(session: Session, msg: c.EdgeStatus) -> Edge:
    e = _edge(session, msg)
    if newer(msg.sent_at, e.last_seen):
        e.online, e.version, e.last_seen = msg.online, msg.version or e.version, msg.sent_at
        events.after_commit(session, {"type": "edge.status", "hall_id": msg.hall_id, "edge": msg.edge_id,
                                      "online": msg.online})
    return e


def heartbeat(session: Session, msg: c.Heartbeat) -> Edge:
    e = _edge(session, msg)
    if not newer(msg.sent_at, e.last_seen):
        return e
    e.online, e.last_seen, e.outbox_pending, e.uptime_s = True, msg.sent_at, msg.outbox_pending, msg.uptime_s
    for cam in msg.cameras:
        row = _by_code(session, Camera, msg.hall_id, cam.camera_id)
        if row is not None:
            row.health, row.fps, row.lag_s, row.last_seen = cam.state, cam.fps, cam.lag_s, msg.sent_at
    for sh in msg.sensors:
        row = _by_code(session, Sensor, msg.hall_id, sh.sensor_id)
        if row is not None:
            row.online = sh.online
            if sh.last_seen is not None and (row.last_seen is None or sh.last_seen > row.last_seen):
                row.last_seen = sh.last_seen
    events.after_commit(session, {"type": "edge.heartbeat", "hall_id": msg.hall_id, "edge": msg.edge_id,
                                  "cameras": {x.camera_id: x.state for x in msg.cameras}})
    return e


def _check(session: Session, model: type, msg: Any) -> Any:
    row = session.scalars(select(model).where(model.request_id == str(msg.request_id))).first()
    if row is None:
        log.info("%s for unknown request %s: recorded as edge-initiated", msg.type, msg.request_id)
        row = model(hall_id=msg.hall_id, request_id=str(msg.request_id), requested_at=msg.taken_at)
        if model is SafetyCheck:
            row.trigger = "edge"
        session.add(row)
        session.flush()
    elif row.hall_id != msg.hall_id:
        raise Reject("invalid", f"request {msg.request_id} belongs to hall {row.hall_id}")
    return row


def duty_check_result(session: Session, msg: c.DutyCheckResult) -> DutyCheck:
    chk = _check(session, DutyCheck, msg)
    for w in msg.windows:
        register_evidence(session, w.evidence)
        win = _by_code(session, Window, msg.hall_id, w.window_id)
        chk.windows.append(DutyCheckWindow(window_id=win.id if win else None, window_code=w.window_id,
                                           edge_code=msg.edge_id, state=w.state, persons=w.persons,
                                           camera_code=w.camera_id, evidence=[e.sha256 for e in w.evidence],
                                           taken_at=msg.taken_at))
    chk.status, chk.completed_at = "complete", msg.taken_at
    events.after_commit(session, {"type": "duty_check.result", "hall_id": msg.hall_id,
                                  "request_id": chk.request_id, "windows": len(msg.windows)})
    return chk


def safety_check_result(session: Session, msg: c.SafetyCheckResult) -> SafetyCheck:
    chk = _check(session, SafetyCheck, msg)
    for it in msg.items:
        register_evidence(session, it.evidence)
        chk.items.append(SafetyCheckItem(edge_code=msg.edge_id, item=it.item, subject=it.subject, passed=it.passed,
                                         detail=it.detail, value=None if it.value is None else {"value": it.value},
                                         evidence=[e.sha256 for e in it.evidence]))
    results = [i.passed for i in chk.items]
    chk.status = "failed" if False in results else ("passed" if results and None not in results else "incomplete")
    chk.completed_at = msg.taken_at
    events.after_commit(session, {"type": "safety_check.result", "hall_id": msg.hall_id,
                                  "request_id": chk.request_id, "status": chk.status})
    return chk


HANDLERS: dict[str, Callable[[Session, Any], Any]] = {
    "finding.opened": finding_opened,
    "finding.updated": finding_updated,
    "finding.closed": finding_closed,
    "window.state": window_state,
    "sensor.reading": sensor_reading,
    "edge.status": edge_status,
    "edge.heartbeat": heartbeat,
    "duty_check.result": duty_check_result,
    "safety_check.result": safety_check_result,
}
