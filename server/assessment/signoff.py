"""Sign-off, amendments and integrity of quarterly sheets.

- ``sign_off`` freezes the quarter's hall sheet: the snapshot JSON and its SHA-256 are stored and never
  updated. From then on the quarter's effective sheet is the snapshot (or the latest amendment), never a
  live recomputation, so later edits of findings cannot silently change a signed result.
- ``amend`` is the only way to correct a signed quarter: it recomputes the sheet, records the reason and
  the per-subject before/after (score, lines removed, lines added), chains its hash to the previous one,
  and writes an audit row.
- ``verify`` re-hashes the snapshot, every amendment, and every evidence file the effective sheet relies
  on (from the evidence store), and reports each mismatch or missing file.
- Each sign-off and amendment is sealed with an HMAC-SHA256 under the server's sealing key (``seal``): someone
  who can edit the database but does not hold the key can recompute a SHA-256 after changing a snapshot, but not
  its seal, so ``verify`` reports the edit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any, BinaryIO, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.assessment.models import AssessmentAmendment, AssessmentSignoff
from server.assessment.scheme import Scheme
from server.assessment.scoring import Period
from server.assessment.service import AssessmentError, build_hall_sheet, sheet_hash
from server.audit import audit
from server.db import Hall, User, utcnow

SEAL_KEY: str | None = None
"""The key sealing sign-offs and amendments; ``server.app.create_app`` sets it from the settings."""


def configure_seal_key(key: str) -> None:
    global SEAL_KEY
    SEAL_KEY = key


def _key(key: str | None) -> bytes:
    key = key or SEAL_KEY
    if not key:
        raise AssessmentError("no sealing key configured (HALLWATCH_SIGNOFF_KEY or HALLWATCH_SECRET_KEY)")
    return key.encode()


def seal(parts: tuple[Any, ...], key: str | None = None) -> str:
    """HMAC-SHA256 (hex) of the parts joined by newlines."""
    msg = "\n".join(str(p) for p in parts).encode()
    return hmac.new(_key(key), msg, hashlib.sha256).hexdigest()


def signoff_seal(row: AssessmentSignoff, key: str | None = None) -> str:
    return seal(("hallwatch-signoff-v1", row.hall_id, row.period, row.scheme_id, row.actor, row.sha256), key)


def amendment_seal(signoff: AssessmentSignoff, row: AssessmentAmendment, key: str | None = None) -> str:
    return seal(("hallwatch-amendment-v1", signoff.hall_id, signoff.period, signoff.sha256, row.seq, row.actor,
                 row.prev_sha256, row.sha256), key)


_LINE_KEYS = ("kind", "item_id", "ref_id", "points", "staff_id", "window_id", "tier", "multiplier")


def quarter_of(period_text: str) -> Period:
    p = Period.parse(period_text)
    if p.kind != "quarter":
        raise AssessmentError(f"sign-off is per quarter, got {period_text!r}")
    return p


def get_signoff(session: Session, hall_id: str, quarter: str) -> AssessmentSignoff | None:
    return session.scalars(select(AssessmentSignoff).where(AssessmentSignoff.hall_id == hall_id,
                                                           AssessmentSignoff.period == quarter)).first()


def amendments(session: Session, signoff: AssessmentSignoff) -> list[AssessmentAmendment]:
    return list(session.scalars(select(AssessmentAmendment).where(AssessmentAmendment.signoff_id == signoff.id)
                                .order_by(AssessmentAmendment.seq)))


def effective(session: Session, signoff: AssessmentSignoff) -> tuple[dict[str, Any], str]:
    """(sheet, sha256) in force for a signed quarter: the latest amendment's result, else the snapshot."""
    ams = amendments(session, signoff)
    if ams:
        return ams[-1].after, ams[-1].sha256
    return signoff.snapshot, signoff.sha256


def sheet_for(session: Session, scheme: Scheme, hall_id: str, period_text: str, *,
              as_of: dt.datetime | None = None) -> dict[str, Any]:
    """The sheet to show: frozen for a signed quarter (with its sign-off and amendments), live otherwise."""
    period = Period.parse(period_text)
    signoff = get_signoff(session, hall_id, period.label) if period.kind == "quarter" else None
    if signoff is None:
        sheet = build_hall_sheet(session, scheme, hall_id, period, as_of=as_of)
        sheet["signoff"] = None
        return sheet
    sheet, digest = effective(session, signoff)
    out = dict(sheet)
    user = session.scalars(select(User).where(User.username == signoff.actor)).first()
    hall = session.get(Hall, hall_id)
    local = signoff.signed_at.astimezone(ZoneInfo(hall.timezone if hall else "Asia/Shanghai"))
    out["signoff"] = {"signed_by": signoff.actor, "signed_at": signoff.signed_at.isoformat(),
                      "signed_name": (user.display_name or user.username) if user else signoff.actor,
                      "signed_local": f"{local:%Y-%m-%d %H:%M}",
                      "sha256": signoff.sha256, "effective_sha256": digest,
                      "amendments": [_amendment_json(a) for a in amendments(session, signoff)]}
    return out


def sign_off(session: Session, scheme: Scheme, hall_id: str, period_text: str, *, actor: str,
             user_id: int | None = None, as_of: dt.datetime | None = None, key: str | None = None) -> AssessmentSignoff:
    period = quarter_of(period_text)
    if get_signoff(session, hall_id, period.label) is not None:
        raise AssessmentError(f"{hall_id} {period.label} is already signed off; correct it with an amendment")
    hall = session.get(Hall, hall_id)
    tz = ZoneInfo(hall.timezone if hall else "Asia/Shanghai")
    today = (as_of or utcnow()).astimezone(tz).date()
    if today <= period.last_day():
        raise AssessmentError(f"{period.label} ends on {period.last_day():%Y-%m-%d}; it can be signed off from "
                              f"{period.last_day() + dt.timedelta(days=1):%Y-%m-%d} on "
                              f"(季度结束后方可签署，最早 {period.last_day() + dt.timedelta(days=1):%Y-%m-%d})")
    sheet = build_hall_sheet(session, scheme, hall_id, period, as_of=as_of)
    row = AssessmentSignoff(hall_id=hall_id, period=period.label, scheme_id=scheme.id, snapshot=sheet,
                            sha256=sheet_hash(sheet), actor=actor)
    row.signature = signoff_seal(row, key)
    session.add(row)
    session.flush()
    audit(session, actor=actor, user_id=user_id, action="assessment.sign_off", entity_type="assessment_signoff",
          entity_id=row.id, after={"hall": hall_id, "period": period.label, "sha256": row.sha256,
                                   "windows": {w["id"]: w["sheet"]["score"] for w in sheet["windows"]}})
    return row


def _lines(entry: dict[str, Any]) -> dict[tuple, dict[str, Any]]:
    return {tuple(ln.get(k) for k in _LINE_KEYS): ln for ln in entry["sheet"]["lines"]}


def diff_sheets(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Per window / staff member whose sheet changed: score before/after, lines removed and added."""
    changes = []
    for kind, key in (("window", "windows"), ("staff", "staff")):
        old = {e["id"]: e for e in before[key]}
        new = {e["id"]: e for e in after[key]}
        for sid in sorted(set(old) | set(new)):
            o, n = old.get(sid), new.get(sid)
            ol, nl = (_lines(o) if o else {}), (_lines(n) if n else {})
            removed = [ol[k] for k in ol if k not in nl]
            added = [nl[k] for k in nl if k not in ol]
            so = o["sheet"]["score"] if o else None
            sn = n["sheet"]["score"] if n else None
            if removed or added or so != sn:
                changes.append({"subject_kind": kind, "subject_id": sid, "score_before": so, "score_after": sn,
                                "lines_removed": removed, "lines_added": added})
    return changes


def amend(session: Session, scheme: Scheme, hall_id: str, period_text: str, reason: str, *, actor: str,
          user_id: int | None = None, as_of: dt.datetime | None = None, key: str | None = None
          ) -> AssessmentAmendment:
    """Recompute a signed quarter and record the difference as an amendment (refused when nothing changed)."""
    if not reason.strip():
        raise AssessmentError("an amendment needs a reason")
    period = quarter_of(period_text)
    signoff = get_signoff(session, hall_id, period.label)
    if signoff is None:
        raise AssessmentError(f"{hall_id} {period.label} is not signed off; the live sheet needs no amendment")
    before, prev = effective(session, signoff)
    after = build_hall_sheet(session, scheme, hall_id, period, as_of=as_of)
    changes = diff_sheets(before, after)
    if not changes:
        raise AssessmentError("nothing to amend: the recomputed sheet equals the signed one")
    seq = len(amendments(session, signoff)) + 1
    row = AssessmentAmendment(signoff_id=signoff.id, seq=seq, reason=reason.strip(), changes=changes, after=after,
                              prev_sha256=prev, sha256=sheet_hash(after), actor=actor)
    row.signature = amendment_seal(signoff, row, key)
    session.add(row)
    session.flush()
    audit(session, actor=actor, user_id=user_id, action="assessment.amend", entity_type="assessment_signoff",
          entity_id=signoff.id, before={"sha256": prev, "scores": _scores(changes, "score_before")},
          after={"sha256": row.sha256, "seq": seq, "reason": row.reason, "scores": _scores(changes, "score_after")})
    return row


def _scores(changes: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {f"{c['subject_kind']}:{c['subject_id']}": c[key] for c in changes}


def _amendment_json(a: AssessmentAmendment) -> dict[str, Any]:
    return {"seq": a.seq, "reason": a.reason, "by": a.actor, "at": a.at.isoformat(), "prev_sha256": a.prev_sha256,
            "sha256": a.sha256, "changes": a.changes}


def rehash(open_file: Callable[[str], BinaryIO], sha: str) -> str | None:
    """SHA-256 of a stored file, or None when it is missing."""
    digest = hashlib.sha256()
    try:
        with open_file(sha) as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def verify(session: Session, hall_id: str, period_text: str, open_file: Callable[[str], BinaryIO], *,
           key: str | None = None) -> dict[str, Any]:
    """Check a signed quarter: snapshot hash and seal, amendment chain and seals, every evidence file re-hashed."""
    period = quarter_of(period_text)
    signoff = get_signoff(session, hall_id, period.label)
    if signoff is None:
        raise AssessmentError(f"{hall_id} {period.label} is not signed off")
    problems: list[dict[str, Any]] = []
    if sheet_hash(signoff.snapshot) != signoff.sha256:
        problems.append({"what": "snapshot", "problem": "hash_mismatch", "expected": signoff.sha256,
                         "actual": sheet_hash(signoff.snapshot)})
    if not signoff.signature or not hmac.compare_digest(signoff.signature, signoff_seal(signoff, key)):
        problems.append({"what": "snapshot", "problem": "bad_seal" if signoff.signature else "unsealed"})
    prev = signoff.sha256
    for a in amendments(session, signoff):
        if a.prev_sha256 != prev:
            problems.append({"what": f"amendment {a.seq}", "problem": "broken_chain", "expected": prev,
                             "actual": a.prev_sha256})
        if sheet_hash(a.after) != a.sha256:
            problems.append({"what": f"amendment {a.seq}", "problem": "hash_mismatch", "expected": a.sha256,
                             "actual": sheet_hash(a.after)})
        if not a.signature or not hmac.compare_digest(a.signature, amendment_seal(signoff, a, key)):
            problems.append({"what": f"amendment {a.seq}", "problem": "bad_seal" if a.signature else "unsealed"})
        prev = a.sha256
    sheet, digest = effective(session, signoff)
    files = [e["sha256"] for e in sheet["evidence"]]
    for sha in files:
        got = rehash(open_file, sha)
        if got is None:
            problems.append({"what": f"evidence {sha}", "problem": "missing"})
        elif got != sha:
            problems.append({"what": f"evidence {sha}", "problem": "hash_mismatch", "expected": sha, "actual": got})
    return {"hall": hall_id, "period": period.label, "ok": not problems, "sheet_sha256": digest,
            "evidence_checked": len(files), "problems": problems}
