"""``ingest(session, message) -> IngestOutcome``: validate, deduplicate and apply one edge message;
``ingest_batch(factory, items)``: the same for many messages in one transaction.

Used by the MQTT consumer (batches) and ``POST /api/v1/ingest`` (one message). Both go through
``prepare`` (parse and check, no database) and ``apply`` (dedup and handler). A single ``ingest`` runs
inside the caller's transaction in a SAVEPOINT, so a failing message rolls back only its own effects;
the caller commits. Every rejection is logged with its reason and counted
(``hallwatch_ingest_rejected_total{reason=…}``); whatever the bytes, ``prepare`` never raises.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from edge.contract import TOPIC_OF, ContractError, parse_message
from server import metrics
from server.alerts import ALERT_IDS, reserve_alert_ids
from server.db import Edge, Hall, ProcessedMessage
from server.ingest import handlers
from server.metrics import INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_REJECTED

log = logging.getLogger(__name__)

Hook = Callable[[Session, Any, Any], None]
_HOOKS: dict[str, list[Hook]] = {}
INGEST_BATCHES = metrics.Counter(
    "hallwatch_ingest_batches_total", "Ingest batches by path: fast (one flush), savepoint (a message needed its "
    "own SAVEPOINT), single (one transaction per message).")
if all(x.name != INGEST_BATCHES.name for x in metrics.ALL_COUNTERS):
    metrics.ALL_COUNTERS.append(INGEST_BATCHES)
_TIME_FIELDS = ("sent_at", "at", "since", "started_at", "ended_at", "taken_at")


def register_hook(message_type: str, fn: Hook) -> None:
    """Call ``fn(session, message, row)`` after a message of this type is applied (same transaction).
    ``row`` is the Finding / DutyCheck / SafetyCheck / Window / Edge / Sensor the message touched."""
    _HOOKS.setdefault(message_type, []).append(fn)


@dataclass(frozen=True)
class IngestOutcome:
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    detail: str | None = None
    type: str | None = None
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "rejected"


def count(outcome: IngestOutcome, via: str) -> None:
    """Count one final outcome (``hallwatch_ingest_*_total``)."""
    if outcome.status == "accepted":
        INGEST_ACCEPTED.inc(type=outcome.type or "", via=via)
    elif outcome.status == "duplicate":
        INGEST_DUPLICATE.inc(type=outcome.type or "", via=via)
    else:
        INGEST_REJECTED.inc(reason=outcome.reason or "error", via=via)


def _rejected(reason: str, detail: str, via: str, msg: Any = None, source: str = "") -> IngestOutcome:
    mtype = getattr(msg, "type", None)
    mid = str(msg.id) if msg is not None and hasattr(msg, "id") else None
    log.warning("ingest rejected (%s, via %s%s): %s%s", reason, via, f" {source}" if source else "", detail,
                f" [message {mid} {mtype}]" if mid else "")
    return IngestOutcome("rejected", reason, detail, mtype, mid)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def horizon() -> dt.datetime:
    """The latest time an edge message may carry: now plus the allowed clock skew."""
    return now() + handlers.MAX_CLOCK_SKEW


def prepare(message: bytes | str | dict[str, Any] | BaseModel, *, via: str = "http", topic: str | None = None,
            topic_prefix: str | None = None, edge: Edge | None = None) -> Any:
    """Parse and check one message without the database: the contract message, or a rejected IngestOutcome.
    Never raises, whatever the bytes (deep nesting, bad encodings, validator bugs)."""
    try:
        msg = message if isinstance(message, BaseModel) else parse_message(message)
    except ContractError as exc:
        return _rejected(exc.reason, exc.detail, via, source=topic or "")
    except RecursionError:
        return _rejected("not_json", "nested too deeply", via, source=topic or "")
    except Exception as exc:  # noqa: BLE001 - any parser failure is the message's fault
        return _rejected("invalid", f"{type(exc).__name__}: {exc}"[:200], via, source=topic or "")
    if topic is not None:
        want = f"{msg.hall_id}/{msg.edge_id}/{TOPIC_OF[msg.type]}"
        ok = topic.endswith("/" + want) and (topic_prefix is None or topic == f"{topic_prefix}/{want}")
        if not ok:
            return _rejected("topic_mismatch", f"topic {topic!r} does not match {want!r}", via, msg)
    if edge is not None and (edge.hall_id != msg.hall_id or edge.code != msg.edge_id):
        return _rejected("edge_mismatch", f"token of {edge.hall_id}/{edge.code} cannot send for "
                         f"{msg.hall_id}/{msg.edge_id}", via, msg)
    limit = horizon()
    for name in _TIME_FIELDS:
        value = getattr(msg, name, None)
        if isinstance(value, dt.datetime) and value > limit:
            return _rejected("future_time", f"{name} {value.isoformat()} is more than "
                             f"{handlers.MAX_CLOCK_SKEW.total_seconds():g} s ahead of the server clock", via, msg)
    return msg


def _apply(session: Session, msg: Any, via: str) -> None:
    row = handlers.HANDLERS[msg.type](session, msg)
    for hook in _HOOKS.get(msg.type, []):
        hook(session, msg, row)
    handlers.append_row(session, ProcessedMessage, message_id=str(msg.id), type=msg.type, hall_id=msg.hall_id,
                        edge_code=msg.edge_id, via=via, received_at=now())


def apply(session: Session, msg: Any, via: str) -> IngestOutcome:
    """Deduplicate and apply one prepared message in a SAVEPOINT of the caller's transaction."""
    if session.get(Hall, msg.hall_id) is None:
        return _rejected("unknown_hall", f"hall {msg.hall_id!r} is not configured", via, msg)
    mid = str(msg.id)
    if session.get(ProcessedMessage, mid) is not None:
        log.info("ingest duplicate %s %s via %s", msg.type, mid, via)
        return IngestOutcome("duplicate", None, "message already applied", msg.type, mid)
    try:
        with session.begin_nested():
            _apply(session, msg, via)
            session.flush()
    except handlers.Reject as exc:
        if exc.reason == "duplicate_finding":
            return IngestOutcome("duplicate", None, exc.detail, msg.type, mid)
        return _rejected(exc.reason, exc.detail, via, msg)
    except IntegrityError as exc:
        if "processed_messages" in str(exc.orig):  # another server process applied it concurrently
            return IngestOutcome("duplicate", None, "applied concurrently", msg.type, mid)
        return _rejected("conflict", str(exc.orig).splitlines()[0][:200], via, msg)
    except Exception as exc:  # a bug must not kill the loop; the message is reported and counted
        if not session.is_active or getattr(exc, "connection_invalidated", False):
            raise  # the transaction itself is gone (database down): the caller decides
        log.exception("ingest failed for %s %s", msg.type, mid)
        return _rejected("error", f"{type(exc).__name__}: {exc}"[:200], via, msg)
    return IngestOutcome("accepted", None, None, msg.type, mid)


def ingest(session: Session, message: bytes | str | dict[str, Any] | BaseModel, *, via: str = "http",
           topic: str | None = None, topic_prefix: str | None = None, edge: Edge | None = None) -> IngestOutcome:
    """Apply one message. ``topic`` (MQTT) must match the message's hall/edge/type; ``edge`` (HTTP, the
    authenticated edge) must be the message's sender. Never raises for bad input."""
    msg = prepare(message, via=via, topic=topic, topic_prefix=topic_prefix, edge=edge)
    outcome = msg if isinstance(msg, IngestOutcome) else apply(session, msg, via)
    count(outcome, via)
    if outcome.status == "accepted":
        log.debug("ingest accepted %s %s via %s", outcome.type, outcome.message_id, via)
    return outcome


# ---------------------------------------------------------------------------------------------- batches
@dataclass(frozen=True)
class BatchItem:
    payload: bytes | str | dict[str, Any] | BaseModel
    topic: str | None = None


class DatabaseUnavailable(RuntimeError):
    """The batch could not be stored because the database is unreachable; nothing was applied."""


_BULK = frozenset({"sensor.reading", "window.state", "edge.heartbeat", "edge.status"})


def _fast(session: Session, msgs: list[tuple[int, Any]], via: str) -> dict[int, IngestOutcome] | None:
    """Apply all messages without SAVEPOINTs (one flush at the end). None when any message needs the careful
    path (a rejection, an error, a constraint): the caller rolls back and retries one SAVEPOINT per message."""
    out: dict[int, IngestOutcome] = {}
    ids = [str(m.id) for _, m in msgs]
    seen = set(session.scalars(select(ProcessedMessage.message_id).where(ProcessedMessage.message_id.in_(ids))))
    hall_ids = {m.hall_id for _, m in msgs}
    known = set(session.scalars(select(Hall.id).where(Hall.id.in_(hall_ids))))
    if known != hall_ids:
        return None
    session.info[handlers.CACHE] = handlers.prefetch(session, [m for _, m in msgs])
    session.info[handlers.ROWS] = {}
    reserve_alert_ids(session, sum(1 for _, m in msgs if m.type == "finding.opened"))
    # Findings and check results first: their queries then autoflush little. Live state (window, sensor, edge)
    # never depends on them, and each kind keeps its own order.
    ordered = [x for x in msgs if x[1].type not in _BULK] + [x for x in msgs if x[1].type in _BULK]
    try:
        for i, msg in ordered:
            mid = str(msg.id)
            if mid in seen:
                out[i] = IngestOutcome("duplicate", None, "message already applied", msg.type, mid)
                continue
            seen.add(mid)
            _apply(session, msg, via)
            out[i] = IngestOutcome("accepted", None, None, msg.type, mid)
        handlers.flush_live(session, handlers.LIVE_MODELS)
        session.flush()
        handlers.flush_rows(session)
    except handlers.Reject:
        return None
    except IntegrityError:
        return None
    finally:
        session.info.pop(handlers.ROWS, None)
        session.info.pop(ALERT_IDS, None)
    return out


def _database_alive(factory: sessionmaker[Session]) -> bool:
    try:
        with factory() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001
        return False


def ingest_batch(factory: sessionmaker[Session], items: Sequence[BatchItem], *, via: str = "mqtt",
                 topic_prefix: str | None = None) -> list[IngestOutcome]:
    """Apply ``items`` in one transaction and return one outcome per item, counted once the batch committed.

    Duplicates (in the database or earlier in the same batch) are reported as such; a message that fails
    rejects alone: the batch is retried with one SAVEPOINT per message, and if even that transaction fails
    while the database answers, each message gets its own transaction. Raises DatabaseUnavailable (nothing
    counted, nothing applied) when the database does not answer."""
    outcomes: list[IngestOutcome | None] = [None] * len(items)
    msgs: list[tuple[int, Any]] = []
    for i, item in enumerate(items):
        m = prepare(item.payload, via=via, topic=item.topic, topic_prefix=topic_prefix)
        if isinstance(m, IngestOutcome):
            outcomes[i] = m
        else:
            msgs.append((i, m))
    if msgs:
        done = _store(factory, msgs, via)
        for i, o in done.items():
            outcomes[i] = o
    final = [o if o is not None else IngestOutcome("rejected", "error", "not applied") for o in outcomes]
    for o in final:
        count(o, via)
    return final


def _store(factory: sessionmaker[Session], msgs: list[tuple[int, Any]], via: str) -> dict[int, IngestOutcome]:
    try:
        with factory() as session:
            try:  # the batch's rows stay referenced (and in the identity map) until the commit has run its hooks
                out = _fast(session, msgs, via)
                if out is not None:
                    session.commit()
                    INGEST_BATCHES.inc(path="fast")
                    return out
            finally:
                session.info.pop(handlers.CACHE, None)
            session.rollback()
            out = {}
            for i, msg in msgs:
                out[i] = apply(session, msg, via)
            session.commit()
            INGEST_BATCHES.inc(path="savepoint")
            return out
    except Exception:  # noqa: BLE001
        log.warning("batch of %d messages failed as a whole; retrying one transaction each", len(msgs),
                    exc_info=True)
    if not _database_alive(factory):
        raise DatabaseUnavailable("database unreachable")
    out = {}
    INGEST_BATCHES.inc(path="single")
    for i, msg in msgs:
        try:
            with factory() as session:
                out[i] = apply(session, msg, via)
                session.commit()
        except Exception as exc:  # noqa: BLE001
            if not _database_alive(factory):
                raise DatabaseUnavailable("database unreachable") from exc
            log.exception("message %s %s cannot be stored; rejected", msg.type, msg.id)
            out[i] = _rejected("error", f"{type(exc).__name__}: {exc}"[:200], via, msg)
    return out
