"""``ingest(session, message) -> IngestOutcome``: validate, deduplicate and apply one edge message.

Used by the MQTT consumer and ``POST /api/v1/ingest``. Runs inside the caller's transaction in a
SAVEPOINT, so a failing message rolls back only its own effects; the caller commits. Every
rejection is logged with its reason and counted (``hallwatch_ingest_rejected_total{reason=…}``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from edge.contract import TOPIC_OF, ContractError, parse_message
from server.db import Edge, Hall, ProcessedMessage
from server.ingest import handlers
from server.metrics import INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_REJECTED

log = logging.getLogger(__name__)

Hook = Callable[[Session, Any, Any], None]
_HOOKS: dict[str, list[Hook]] = {}


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


def _reject(reason: str, detail: str, via: str, msg: Any = None, source: str = "") -> IngestOutcome:
    INGEST_REJECTED.inc(reason=reason, via=via)
    mtype = getattr(msg, "type", None)
    mid = str(msg.id) if msg is not None and hasattr(msg, "id") else None
    log.warning("ingest rejected (%s, via %s%s): %s%s", reason, via, f" {source}" if source else "", detail,
                f" [message {mid} {mtype}]" if mid else "")
    return IngestOutcome("rejected", reason, detail, mtype, mid)


def ingest(session: Session, message: bytes | str | dict[str, Any] | BaseModel, *, via: str = "http",
           topic: str | None = None, topic_prefix: str | None = None, edge: Edge | None = None) -> IngestOutcome:
    """Apply one message. ``topic`` (MQTT) must match the message's hall/edge/type; ``edge`` (HTTP, the
    authenticated edge) must be the message's sender. Never raises for bad input."""
    try:
        msg = message if isinstance(message, BaseModel) else parse_message(message)
    except ContractError as exc:
        return _reject(exc.reason, exc.detail, via, source=topic or "")
    if topic is not None:
        want = f"{msg.hall_id}/{msg.edge_id}/{TOPIC_OF[msg.type]}"
        ok = topic.endswith("/" + want) and (topic_prefix is None or topic == f"{topic_prefix}/{want}")
        if not ok:
            return _reject("topic_mismatch", f"topic {topic!r} does not match {want!r}", via, msg)
    if edge is not None and (edge.hall_id != msg.hall_id or edge.code != msg.edge_id):
        return _reject("edge_mismatch", f"token of {edge.hall_id}/{edge.code} cannot send for "
                       f"{msg.hall_id}/{msg.edge_id}", via, msg)
    if session.get(Hall, msg.hall_id) is None:
        return _reject("unknown_hall", f"hall {msg.hall_id!r} is not configured", via, msg)
    mid = str(msg.id)
    if session.get(ProcessedMessage, mid) is not None:
        INGEST_DUPLICATE.inc(type=msg.type, via=via)
        log.info("ingest duplicate %s %s via %s", msg.type, mid, via)
        return IngestOutcome("duplicate", None, "message already applied", msg.type, mid)
    try:
        with session.begin_nested():
            row = handlers.HANDLERS[msg.type](session, msg)
            for hook in _HOOKS.get(msg.type, []):
                hook(session, msg, row)
            session.add(ProcessedMessage(message_id=mid, type=msg.type, hall_id=msg.hall_id,
                                         edge_code=msg.edge_id, via=via))
            session.flush()
    except handlers.Reject as exc:
        if exc.reason == "duplicate_finding":
            INGEST_DUPLICATE.inc(type=msg.type, via=via)
            return IngestOutcome("duplicate", None, exc.detail, msg.type, mid)
        return _reject(exc.reason, exc.detail, via, msg)
    except IntegrityError as exc:
        if "processed_messages" in str(exc.orig):  # another server process applied it concurrently
            INGEST_DUPLICATE.inc(type=msg.type, via=via)
            return IngestOutcome("duplicate", None, "applied concurrently", msg.type, mid)
        return _reject("conflict", str(exc.orig).splitlines()[0][:200], via, msg)
    except Exception as exc:  # a bug must not kill the loop; the message is reported and counted
        log.exception("ingest failed for %s %s", msg.type, mid)
        return _reject("error", f"{type(exc).__name__}: {exc}"[:200], via, msg)
    INGEST_ACCEPTED.inc(type=msg.type, via=via)
    return IngestOutcome("accepted", None, None, msg.type, mid)
