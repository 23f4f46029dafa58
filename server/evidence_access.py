"""Serving evidence files safely: hall scope, integrity (the file must still hash to its name) and fixed types.

Every route that returns an evidence file goes through :func:`evidence_response`: the media type comes from the
file's own leading bytes (JPEG, PNG or MP4 only, never the type an uploader claimed), and the response carries
``nosniff``, a CSP that forbids scripts and ``Content-Disposition`` with a fixed file name, so a file cannot run as
a page in the console's origin.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.db import Evidence, Finding, FindingEvidence, PatrolFinding, User
from server.db.security import EvidenceHall
from server.storage import EVIDENCE_TYPES, SNIFF_BYTES, EvidenceError, VerifiedFiles, check_sha, sniff_media_type

log = logging.getLogger(__name__)

EVIDENCE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
VERIFIED = VerifiedFiles()


def may_read_evidence(session: Session, user: User, sha256: str) -> bool:
    """A user without a home hall reads every file; a hall-bound one only files of its hall (stored by one of
    its edges, attached to one of its findings or patrol records)."""
    if user.hall_id is None:
        return True
    hall = user.hall_id
    return bool(session.scalar(select(
        exists().where(EvidenceHall.sha256 == sha256, EvidenceHall.hall_id == hall)
        | exists().where(FindingEvidence.sha256 == sha256, FindingEvidence.finding_id == Finding.id,
                         Finding.hall_id == hall)
        | exists().where(PatrolFinding.photo_sha256 == sha256, PatrolFinding.hall_id == hall))))


def record_hall(session: Session, sha256: str, hall_id: str) -> None:
    if session.get(EvidenceHall, (sha256, hall_id)) is None:
        session.add(EvidenceHall(sha256=sha256, hall_id=hall_id))
        session.flush()


def evidence_headers(media: str, sha256: str, cache: str) -> dict[str, str]:
    name = sha256 + EVIDENCE_TYPES.get(media, ".bin")
    return {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": EVIDENCE_CSP,
            "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": cache, "ETag": f'"{sha256}"',
            "Cross-Origin-Resource-Policy": "same-origin"}


def evidence_response(request: Request, session: Session, sha256: str, user: User | None, *,
                      cache: str = "private, max-age=86400") -> Response:
    """The file as a response, or 404 (unknown, not stored, another hall's), 409 (the file no longer matches its
    hash: tampered or corrupted) or 415 (not a JPEG, PNG or MP4)."""
    try:
        check_sha(sha256)
    except EvidenceError as exc:
        raise HTTPException(422, exc.detail) from None
    store = request.app.state.store
    if user is not None and not may_read_evidence(session, user, sha256):
        raise HTTPException(404, "evidence not found")
    if session.get(Evidence, sha256) is None or not store.exists(sha256):
        raise HTTPException(404, "evidence not stored")
    url = store.url(sha256)
    if url:
        return RedirectResponse(url)
    if hasattr(store, "path"):
        path = store.path(sha256)
        if not VERIFIED.check(sha256, path):
            log.error("evidence %s no longer matches its hash; refusing to serve it", sha256)
            raise HTTPException(409, "evidence file does not match its hash (tampered or corrupted)")
        with path.open("rb") as fh:
            media = sniff_media_type(fh.read(SNIFF_BYTES))
        if media is None:
            raise HTTPException(415, "stored file is not a JPEG, PNG or MP4")
        return FileResponse(path, media_type=media, headers=evidence_headers(media, sha256, cache))
    with store.open(sha256) as fh:
        data = fh.read()
    import hashlib

    if hashlib.sha256(data).hexdigest() != sha256:
        raise HTTPException(409, "evidence file does not match its hash (tampered or corrupted)")
    media = sniff_media_type(data[:SNIFF_BYTES])
    if media is None:
        raise HTTPException(415, "stored file is not a JPEG, PNG or MP4")
    return Response(data, media_type=media, headers=evidence_headers(media, sha256, cache))
