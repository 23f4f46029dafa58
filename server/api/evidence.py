"""Evidence files by SHA-256: PUT by edges (hash verified, idempotent), GET by users."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.audit import audit
from server.db import Evidence, utcnow
from server.deps import CurrentEdge, SessionDep, ViewerUser
from server.evidence_access import evidence_response, may_read_evidence, record_hall
from server.metrics import EVIDENCE_UPLOADS
from server.storage import SNIFF_BYTES, EvidenceError, check_sha, sniff_media_type

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])


class EvidenceOut(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    sha256: str = Field(description="Content hash.")
    kind: str | None = Field(description="snapshot | frame | clip | chart | photo.")
    content_type: str | None = Field(description="MIME type.")
    size: int | None = Field(description="Bytes.")
    stored: bool = Field(description="File present in the store.")
    stored_at: dt.datetime | None = Field(description="When the file arrived.")



@router.put("/{sha256}", response_model=EvidenceOut, summary="Upload a file by its SHA-256 (201 new, 200 existing)",
            responses={201: {"description": "stored"}, 422: {"description": "hash mismatch or bad hash"},
                       415: {"description": "not a JPEG, PNG or MP4"},
                       413: {"description": "too large"}})
async def put_evidence(sha256: str, request: Request, response: Response, edge: CurrentEdge,
                       session: SessionDep) -> Evidence:
    store = request.app.state.store
    try:
        check_sha(sha256)
    except EvidenceError as exc:
        raise HTTPException(422, exc.detail) from None
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > store.max_bytes:
        EVIDENCE_UPLOADS.inc(result="too_large")
        raise HTTPException(413, f"more than {store.max_bytes} bytes")
    import tempfile

    import anyio

    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    size = 0
    head = b""
    async for chunk in request.stream():
        size += len(chunk)
        if size > store.max_bytes:
            EVIDENCE_UPLOADS.inc(result="too_large")
            raise HTTPException(413, f"more than {store.max_bytes} bytes")
        if len(head) < SNIFF_BYTES:
            head += chunk[:SNIFF_BYTES - len(head)]
        spool.write(chunk)
    spool.seek(0)
    ctype = sniff_media_type(head)
    if ctype is None:
        spool.close()
        EVIDENCE_UPLOADS.inc(result="bad_type")
        raise HTTPException(415, "evidence must be a JPEG, PNG or MP4 file (checked by its first bytes)")
    try:
        created, size = await anyio.to_thread.run_sync(store.put, sha256, spool)
    except EvidenceError as exc:
        EVIDENCE_UPLOADS.inc(result=exc.reason)
        raise HTTPException(413 if exc.reason == "too_large" else 422, f"{exc.reason}: {exc.detail}") from None
    finally:
        spool.close()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(Evidence).values(sha256=sha256, content_type=ctype, size=size, stored=True,
                                            stored_at=utcnow(), created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["sha256"]))
    ev = session.get(Evidence, sha256)
    session.refresh(ev)
    newly = not ev.stored
    if newly or ev.stored_at is None:
        ev.stored, ev.stored_at = True, utcnow()
    ev.size = size
    ev.content_type = ctype
    record_hall(session, sha256, edge.hall_id)
    if created:
        audit(session, actor=f"edge:{edge.hall_id}/{edge.code}", action="evidence.store", entity_type="evidence",
              entity_id=sha256, after={"size": size, "content_type": ev.content_type})
    EVIDENCE_UPLOADS.inc(result="created" if created else "exists")
    response.status_code = 201 if created else 200
    return ev


@router.get("/{sha256}/meta", response_model=EvidenceOut, summary="Evidence metadata")
def evidence_meta(sha256: str, user: ViewerUser, session: SessionDep) -> Evidence:
    ev = session.get(Evidence, sha256)
    if ev is None or not may_read_evidence(session, user, sha256):
        raise HTTPException(404, "unknown evidence")
    return ev


@router.get("/{sha256}", summary="Download an evidence file (JPEG, PNG or MP4; 409 when it no longer matches its "
            "hash)", response_class=Response)
def get_evidence(sha256: str, request: Request, user: ViewerUser, session: SessionDep) -> Response:
    return evidence_response(request, session, sha256, user, cache="private, max-age=31536000, immutable")
