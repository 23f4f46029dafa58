"""Retention: evidence and sensor readings are kept only as long as their purpose needs (PIPL art. 19 and 26;
README "Retention" states the defaults and the reasons).

One pass (``purge``; the app runs it every ``retention_interval_s``, ``hallwatch server retention`` on demand):

1. evidence files older than ``retention_evidence_days`` (by capture time, else arrival) are candidates;
2. held back: every file a signed quarter's effective sheet relies on, until ``retention_archive_days`` after
   the quarter's end (``verify`` must keep working through the archive period), and every file of a finding
   with a pending appeal (the clerk and the assessment office need to see it);
3. the database rows go first, in one transaction with an audit row (``retention.purge``: cutoff, counts, the
   hashes, the legal basis) — the finding-evidence links, the evidence rows, and patrol photos' references; the
   findings themselves stay (they hold no picture);
4. then the files; a pass that died between 3 and 4 leaves files without a row, which the next pass deletes
   once they are older than the cutoff;
5. sensor readings older than ``sensor_reading_retention_days`` (no personal data; kept for the charts) and window
   states older than ``window_state_retention_days`` (``server.timeseries.prune``: whole day partitions on
   PostgreSQL).

Deleting twice is harmless, so several server processes may run passes at the same time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from server.assessment.models import AssessmentSignoff
from server.assessment.scoring import Period
from server.assessment.signoff import effective
from server.audit import audit
from server.db import Evidence, FindingEvidence, Hall, PatrolFinding, utcnow
from server.db.session import unit_of_work
from server.people.models import Appeal

log = logging.getLogger(__name__)
LEGAL_BASIS = ("PIPL art. 19 (kept no longer than the purpose needs) and art. 26 (images from cameras in public "
               "places only for the stated purpose)")
BATCH = 500


@dataclass
class RetentionReport:
    cutoff: str
    dry_run: bool = False
    evidence_deleted: int = 0
    bytes_freed: int = 0
    links_deleted: int = 0
    patrol_photos_cleared: int = 0
    held_signed: int = 0
    held_appeal: int = 0
    orphan_files_deleted: int = 0
    readings_deleted: int = 0
    window_states_deleted: int = 0
    deleted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["deleted"] = self.deleted[:50]
        return out


def held(session: Session, now: dt.datetime, archive_days: float) -> tuple[set[str], set[str]]:
    """(hashes a signed quarter within its archive period relies on, hashes of findings with a pending appeal)."""
    signed: set[str] = set()
    for so, tz in session.execute(select(AssessmentSignoff, Hall.timezone).join(
            Hall, Hall.id == AssessmentSignoff.hall_id)):
        _, end = Period.parse(so.period).bounds(ZoneInfo(tz))
        if now < end + dt.timedelta(days=archive_days):
            sheet, _ = effective(session, so)
            signed.update(e["sha256"] for e in sheet.get("evidence", []))
    appeal = set(session.scalars(select(FindingEvidence.sha256).join(
        Appeal, Appeal.finding_id == FindingEvidence.finding_id).where(Appeal.status == "pending")))
    return signed, appeal


def _candidates(session: Session, cutoff: dt.datetime, only: set[str] | None, after: str) -> list[str]:
    q = (select(Evidence.sha256).where(func.coalesce(Evidence.captured_at, Evidence.created_at) < cutoff,
                                       Evidence.sha256 > after).order_by(Evidence.sha256).limit(BATCH))
    if only is not None:
        q = q.where(Evidence.sha256.in_(only))
    return list(session.scalars(q))


def purge(factory: sessionmaker[Session], store: Any, now: dt.datetime | None = None, *, evidence_days: float,
          archive_days: float, readings_days: float | None = None, window_states_days: float | None = None,
          dry_run: bool = False,
          only: set[str] | None = None, actor: str = "system:retention") -> RetentionReport:
    """One retention pass. ``only`` restricts it to these evidence hashes (and skips readings and orphan files):
    tests on a shared database."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=evidence_days)
    report = RetentionReport(cutoff=cutoff.isoformat(), dry_run=dry_run)
    with unit_of_work(factory) as session:
        signed, appeal = held(session, now, archive_days)
    after = ""
    while True:
        with unit_of_work(factory) as session:
            batch = _candidates(session, cutoff, only, after)
            if not batch:
                break
            after = batch[-1]
            keep = [s for s in batch if s in signed or s in appeal]
            report.held_signed += sum(1 for s in keep if s in signed)
            report.held_appeal += sum(1 for s in keep if s in appeal and s not in signed)
            gone = [s for s in batch if s not in signed and s not in appeal]
            if not gone:
                continue
            if dry_run:
                report.evidence_deleted += len(gone)
                report.deleted.extend(gone)
                session.rollback()
                continue
            report.links_deleted += session.execute(
                delete(FindingEvidence).where(FindingEvidence.sha256.in_(gone))).rowcount or 0
            report.patrol_photos_cleared += session.execute(
                update(PatrolFinding).where(PatrolFinding.photo_sha256.in_(gone)).values(photo_sha256=None)
            ).rowcount or 0
            session.execute(delete(Evidence).where(Evidence.sha256.in_(gone)))
            audit(session, actor=actor, action="retention.purge", entity_type="evidence", entity_id=f"{len(gone)} files",
                  after={"cutoff": cutoff.isoformat(), "evidence_days": evidence_days, "hashes": gone,
                         "legal_basis": LEGAL_BASIS})
        for sha in gone:  # after the commit: a row never points at a deleted file
            report.bytes_freed += store.delete(sha)
        report.evidence_deleted += len(gone)
        report.deleted.extend(gone)
    if only is None and not dry_run:
        report.orphan_files_deleted = _orphans(factory, store, cutoff, report)
        if readings_days is not None or window_states_days is not None:
            from server.timeseries import prune

            with factory() as session:
                engine = session.get_bind()
            pruned = prune(engine, now, {"sensor_readings": readings_days, "window_states": window_states_days})
            report.readings_deleted = pruned.get("sensor_readings", 0)
            report.window_states_deleted = pruned.get("window_states", 0)
    if report.evidence_deleted or report.orphan_files_deleted or report.readings_deleted:
        log.info("retention: %d evidence files (%d bytes), %d orphan files, %d readings deleted; %d held by signed "
                 "quarters, %d by pending appeals%s", report.evidence_deleted, report.bytes_freed,
                 report.orphan_files_deleted, report.readings_deleted, report.held_signed, report.held_appeal,
                 " (dry run)" if dry_run else "")
    return report


def _orphans(factory: sessionmaker[Session], store: Any, cutoff: dt.datetime, report: RetentionReport) -> int:
    """Files older than the cutoff that no evidence row names (a pass that died after its commit)."""
    files = getattr(store, "files", None)
    if files is None:
        return 0
    old = [(sha, size) for sha, mtime, size in files() if mtime < cutoff.timestamp()]
    n = 0
    for i in range(0, len(old), BATCH):
        chunk = dict(old[i:i + BATCH])
        with unit_of_work(factory) as session:
            known = set(session.scalars(select(Evidence.sha256).where(Evidence.sha256.in_(list(chunk)))))
        for sha in chunk:
            if sha not in known:
                report.bytes_freed += store.delete(sha)
                n += 1
    return n
