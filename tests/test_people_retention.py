"""Retention on the real app's evidence store: old evidence goes (rows first, audited, then files), what a signed
quarter or a pending appeal relies on stays until its archive period ends, newer evidence stays, patrol photos
are cleared, and a pass that died before deleting its files is finished by the next one."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import select

from server.db import AuditLog, Evidence, Finding, FindingEvidence, PatrolFinding, utcnow
from server.retention import RetentionReport, _orphans, purge
from server.testing import *  # fixtures: client, db_session, …
from server.testing import auth_headers
from tests.people_helpers import Hall, local, make_hall

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def hall(client, db_session) -> Hall:
    return make_hall(client, db_session)


def evidence(hall: Hall, path, captured: dt.datetime):
    ref = hall.upload(path)
    return ref.model_copy(update={"captured_at": captured})


def test_old_evidence_goes_held_evidence_stays(hall, media_dir):
    pics = sorted((media_dir / "images" / "exits").glob("*.png"))
    store = hall.client.app.state.store
    e_plain = evidence(hall, pics[0], local(2026, 6, 1))
    e_signed = evidence(hall, pics[1], local(2026, 7, 10))
    e_appeal = evidence(hall, pics[2], local(2026, 6, 15))
    e_new = evidence(hall, pics[3], local(2026, 11, 20))
    plain = hall.finding("phone_use", "W02", local(2026, 6, 1), duration_s=60, evidence=[e_plain])
    signed = hall.finding("smoking", "W03", local(2026, 7, 10), duration_s=60, evidence=[e_signed])
    appealed = hall.finding("phone_use", "W01", local(2026, 6, 15), duration_s=60, evidence=[e_appeal])
    hall.finding("phone_use", "W04", local(2026, 11, 20), duration_s=60, evidence=[e_new])
    hall.confirm(signed)
    hall.confirm(appealed)
    assert hall.post(f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026Q3/sign-off").status_code == 201
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/staff-accounts", "admin",
                  json={"staff_id": "S001", "username": f"c-{hall.hall_id}", "password": "clerk-pass-1"})
    from server.db import User

    clerk = auth_headers(hall.session.get(User, r.json()["user_id"]))
    assert hall.client.post("/api/v1/people/me/appeals", headers=clerk,
                            json={"finding_id": appealed, "reason": "查询政策"}).status_code == 201
    photo = evidence(hall, pics[4], local(2026, 5, 2))  # a patrol photo, old
    hall.session.get(Evidence, photo.sha256).created_at = local(2026, 5, 2)
    pf = PatrolFinding(hall_id=hall.hall_id, category="safety", description="出口堆放杂物", photo_sha256=photo.sha256,
                       inspector_name="巡查 王")
    hall.session.add(pf)
    hall.session.commit()
    mine = {e.sha256 for e in (e_plain, e_signed, e_appeal, e_new, photo)}
    factory = hall.client.app.state.sessionmaker

    dry = purge(factory, store, NOW, evidence_days=120, archive_days=1096, dry_run=True, only=mine)
    assert sorted(dry.deleted) == sorted([e_plain.sha256, photo.sha256]) and store.exists(e_plain.sha256)
    report = purge(factory, store, NOW, evidence_days=120, archive_days=1096, only=mine)
    assert sorted(report.deleted) == sorted([e_plain.sha256, photo.sha256])
    assert (report.held_signed, report.held_appeal, report.patrol_photos_cleared) == (1, 1, 1)
    assert report.links_deleted == 1 and report.bytes_freed == e_plain.size + photo.size
    s = hall.session
    s.expire_all()
    assert not store.exists(e_plain.sha256) and s.get(Evidence, e_plain.sha256) is None
    assert all(store.exists(x.sha256) for x in (e_signed, e_appeal, e_new))
    f = s.scalars(select(Finding).where(Finding.finding_id == plain)).one()  # the finding stays, without its picture
    assert f.evidence_links == [] and s.get(PatrolFinding, pf.id).photo_sha256 is None
    (row,) = s.scalars(select(AuditLog).where(AuditLog.action == "retention.purge",
                                              AuditLog.entity_id == "2 files")).all()
    assert sorted(row.after["hashes"]) == sorted([e_plain.sha256, photo.sha256]) and "PIPL" in row.after["legal_basis"]
    assert purge(factory, store, NOW, evidence_days=120, archive_days=1096, only=mine).deleted == []  # idempotent

    # the appeal is decided: its evidence is no longer held
    (appeal,) = hall.get(f"/api/v1/people/halls/{hall.hall_id}/appeals", "supervisor").json()
    hall.post(f"/api/v1/people/appeals/{appeal['id']}/decide", json={"decision": "uphold", "comment": "属实"})
    assert purge(factory, store, NOW, evidence_days=120, archive_days=1096, only=mine).deleted == [e_appeal.sha256]
    # four years on, the signed quarter's archive period is over
    later = purge(factory, store, NOW + dt.timedelta(days=4 * 365), evidence_days=120, archive_days=1096, only=mine)
    assert sorted(later.deleted) == sorted([e_signed.sha256, e_new.sha256])
    assert not s.scalars(select(FindingEvidence).where(FindingEvidence.sha256.in_(mine))).all()
    report = hall.get(f"/api/v1/assessment/halls/{hall.hall_id}/sheets/2026Q3/verify").json()
    assert [p["problem"] for p in report["problems"]] == ["missing"]  # verify names what retention removed


def test_files_left_by_a_pass_that_died_are_deleted_by_the_next(hall, media_dir, tmp_path):
    from server.storage import LocalDiskStore

    store = LocalDiskStore(tmp_path / "store")
    pic = min((media_dir / "images" / "exits").glob("*.png"))
    import io

    ref = hall.upload(pic)  # a row exists for this file ...
    sha = ref.sha256
    store.put(sha, io.BytesIO(hall.picture(pic)))
    old = utcnow().timestamp() - 200 * 86400
    os.utime(store.path(sha), (old, old))
    report = RetentionReport(cutoff="")
    assert _orphans(hall.client.app.state.sessionmaker, store, utcnow() - dt.timedelta(days=120), report) == 0
    hall.session.delete(hall.session.get(Evidence, sha))  # ... until the row is gone
    hall.session.commit()
    assert _orphans(hall.client.app.state.sessionmaker, store, utcnow() - dt.timedelta(days=120), report) == 1
    assert not store.exists(sha) and report.bytes_freed == ref.size


def test_retention_run_endpoint_is_for_global_admins(hall):
    assert hall.post("/api/v1/people/retention/run?dry_run=true", "admin").status_code == 403  # hall-bound admin
    assert hall.post("/api/v1/people/retention/run", "supervisor").status_code == 403
