"""Assessment against the database: findings ingested through the real ingest path, alert decisions via
the alert lifecycle, roster attribution, reassignment, sign-off, amendments, verify and exports."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from edge import contract as c
from edge.site import load_site_config
from server.alerts import transition
from server.assessment import signoff as so
from server.assessment.export import to_csv, to_xlsx
from server.assessment.export_pdf import to_pdf
from server.assessment.scheme import load_scheme
from server.assessment.scoring import Period
from server.assessment.service import AssessmentError, add_entry, build_hall_sheet, reassign
from server.db import Alert, AuditLog, Finding, RosterAssignment, Staff, User, Window
from server.db.migrate import upgrade
from server.db.session import make_engine, make_sessionmaker, unit_of_work
from server.ingest.service import ingest
from server.siteimport import import_site
from server.storage import LocalDiskStore
from server.users import create_user

TZ = ZoneInfo("Asia/Shanghai")
SCHEME = load_scheme()
Q3 = "2026Q3"
AS_OF = dt.datetime(2026, 10, 8, tzinfo=TZ)  # after the quarter: nothing provisional


@pytest.fixture(scope="module")
def factory(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def hall(factory, demo_config_path):
    """The demo hall under a unique id, roster from 2026-01-01, a supervisor, plus a substitute on W02."""
    cfg = load_site_config(demo_config_path)
    hall_id = f"t{uuid.uuid4().hex[:10]}"
    cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"id": hall_id})})
    with unit_of_work(factory) as s:
        import_site(s, cfg, today=dt.date(2026, 1, 1))
        w02 = s.scalars(select(Window).where(Window.hall_id == hall_id, Window.code == "W02")).one()
        s09 = s.scalars(select(Staff).where(Staff.hall_id == hall_id, Staff.code == "S009")).one()
        s.add(RosterAssignment(window_id=w02.id, staff_id=s09.id, role="substitute", valid_from=dt.date(2026, 7, 7),
                               valid_to=dt.date(2026, 7, 7), source="manual", note="替岗"))
        create_user(s, username=f"sup-{hall_id}", password="supervisor-pw", role="supervisor", actor="test")
    return hall_id, cfg.edge.id


def jpeg(seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (seed * 40 % 256, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def send(factory, store, hall, rule, window, start, duration_s, decision, *, staff=None, seed=1):
    hall_id, edge_id = hall
    data = jpeg(seed)
    sha = hashlib.sha256(data).hexdigest()
    store.put(sha, io.BytesIO(data))
    fid = uuid.uuid4()
    ref = c.EvidenceRef(sha256=sha, kind="snapshot", content_type="image/jpeg", size=len(data), captured_at=start)
    with unit_of_work(factory) as s:
        assert ingest(s, c.FindingOpened(hall_id=hall_id, edge_id=edge_id, finding_id=fid, rule=rule,
                                         severity="warning", started_at=start, window_id=window, staff_id=staff,
                                         evidence=[ref])).ok
        if duration_s is not None:
            assert ingest(s, c.FindingClosed(hall_id=hall_id, edge_id=edge_id, finding_id=fid, rule=rule,
                                             ended_at=start + dt.timedelta(seconds=duration_s),
                                             duration_s=duration_s)).ok
    with unit_of_work(factory) as s:
        sup = s.scalars(select(User).where(User.username == f"sup-{hall_id}")).one()
        alert = s.scalars(select(Alert).join(Finding).where(Finding.finding_id == str(fid))).one()
        for action in decision.split(","):
            if action:
                transition(s, alert, action, sup, comment="test decision")
    return str(fid), sha


def at(day: str, hm: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=TZ)


def entry(sheet, kind, sid):
    return next(e for e in sheet[kind] if e["id"] == sid)


def test_sheet_from_the_database(factory, hall, tmp_path):
    store = LocalDiskStore(tmp_path)
    f1, sha1 = send(factory, store, hall, "window_unstaffed", "W01", at("2026-07-06"), 1800, "confirm", seed=1)
    send(factory, store, hall, "smoking", "W01", at("2026-07-06", "10:00"), 60, "dismiss", seed=2)
    f3, _ = send(factory, store, hall, "phone_use", "W01", at("2026-07-06", "11:00"), 30, "confirm,close", seed=3)
    send(factory, store, hall, "window_unstaffed", "W01", at("2026-07-06", "14:00"), 1799, "confirm", seed=4)
    f5, _ = send(factory, store, hall, "sleeping", "W02", at("2026-07-07"), 300, "confirm", staff="S003", seed=5)
    send(factory, store, hall, "sleeping", "W02", at("2026-07-08"), None, "", seed=6)  # never decided
    send(factory, store, hall, "power_left_on", "W03", at("2026-07-08", "19:00"), 900, "confirm", seed=7)
    with unit_of_work(factory) as s:
        sheet = build_hall_sheet(s, SCHEME, hall[0], Period.parse(Q3), as_of=AS_OF)
    w01 = entry(sheet, "windows", "W01")["sheet"]
    assert w01["score"] == 98.5  # −0.5 (30:00) −1 (phone, confirmed then closed); smoking dismissed; 29:59 free
    assert [(ln["ref_id"], ln["kind"], ln["points"]) for ln in w01["lines"]][:2] == [
        (f1, "deduction", 0.5), (f3, "deduction", 1.0)]
    assert w01["lines"][0]["evidence"] == [sha1] and w01["lines"][0]["attribution"] == "roster_a"
    assert entry(sheet, "staff", "S001")["sheet"]["score"] == 98.5  # W01's A post
    # W02 on 7 July: the roster's substitute, not the A post, and not the person the edge named
    s09 = entry(sheet, "staff", "S009")["sheet"]
    assert [(ln["ref_id"], ln["attribution"]) for ln in s09["lines"]] == [(f5, "substitute")]
    assert entry(sheet, "staff", "S003")["sheet"]["deduction_total"] == 0
    w03 = entry(sheet, "windows", "W03")["sheet"]
    assert w03["score"] == 99.0 and w03["lines"][0]["staff_id"] is None
    assert entry(sheet, "staff", "S005")["sheet"]["score"] == 100.0  # window item, not A's
    assert sheet["ranking"]["windows"][-1]["subject_id"] == "W01"
    assert {e["sha256"] for e in sheet["evidence"]} >= {sha1}
    assert entry(sheet, "windows", "W01")["months"][0] == {
        "month": "2026-07", "score": 98.5, "deduction_total": 1.5, "bonus_total": 0.0, "deductions": 2,
        "provisional": False}


def test_reassign_sign_off_amend_verify(factory, hall, tmp_path):
    store = LocalDiskStore(tmp_path)
    hall_id = hall[0]
    f1, sha1 = send(factory, store, hall, "smoking", "W04", at("2026-08-03"), 120, "confirm", seed=1)
    with unit_of_work(factory) as s:
        out = reassign(s, SCHEME, f1, "S008", "监控复核：抽烟的是B岗黄强", actor="sup")
        assert out["before"] == {"staff_id": "S007", "attribution": "roster_a"}
        with pytest.raises(AssessmentError, match="reason"):
            reassign(s, SCHEME, f1, "S007", "  ", actor="sup")
    with unit_of_work(factory) as s:
        audit_row = s.scalars(select(AuditLog).where(AuditLog.action == "assessment.reassign",
                                                     AuditLog.entity_id == f1)).one()
        assert audit_row.after["staff_id"] == "S008" and audit_row.before["staff_id"] == "S007"
        sheet = build_hall_sheet(s, SCHEME, hall_id, Period.parse(Q3), as_of=AS_OF)
        assert entry(sheet, "staff", "S008")["sheet"]["score"] == 99.0
        assert entry(sheet, "staff", "S007")["sheet"]["score"] == 100.0
        signed = so.sign_off(s, SCHEME, hall_id, Q3, actor="sup", as_of=AS_OF)
        with pytest.raises(AssessmentError, match="already signed"):
            so.sign_off(s, SCHEME, hall_id, Q3, actor="sup", as_of=AS_OF)
        with pytest.raises(AssessmentError, match="nothing to amend"):
            so.amend(s, SCHEME, hall_id, Q3, "no change", actor="sup", as_of=AS_OF)
    # after sign-off: a new deduction entered for August does not change the signed sheet …
    with unit_of_work(factory) as s:
        add_entry(s, SCHEME, hall_id, "absent_half_day", at("2026-08-10"), window_code="W04", staff_code="S007",
                  count=1, note="考勤记录 8/10 上午", actor="sup")
        shown = so.sheet_for(s, SCHEME, hall_id, Q3)
        assert shown["signoff"]["sha256"] == signed.sha256
        assert entry(shown, "windows", "W04")["sheet"]["score"] == 99.0
    # … until an amendment records it, with before and after
    with unit_of_work(factory) as s:
        am = so.amend(s, SCHEME, hall_id, Q3, "补录8月10日旷工", actor="sup", as_of=AS_OF)
        assert am.prev_sha256 == signed.sha256
        changes = {(ch["subject_kind"], ch["subject_id"]): ch for ch in am.changes}
        assert set(changes) == {("window", "W04"), ("staff", "S007")}
        assert (changes[("window", "W04")]["score_before"], changes[("window", "W04")]["score_after"]) == (99.0, 98.0)
        assert [ln["item_id"] for ln in changes[("staff", "S007")]["lines_added"]] == ["absent_half_day"]
        shown = so.sheet_for(s, SCHEME, hall_id, Q3)
        assert entry(shown, "windows", "W04")["sheet"]["score"] == 98.0
        assert shown["signoff"]["effective_sha256"] == am.sha256 and len(shown["signoff"]["amendments"]) == 1
        assert s.scalars(select(AuditLog).where(AuditLog.action == "assessment.amend",
                                                AuditLog.entity_id == str(signed.id))).one().after["seq"] == 1
        report = so.verify(s, hall_id, Q3, store.open)
        assert report["ok"] and report["evidence_checked"] == 1, report
    # tampering: an evidence file rewritten, then the stored snapshot edited behind the app's back
    store.path(sha1).write_bytes(b"not the original picture")
    with unit_of_work(factory) as s:
        report = so.verify(s, hall_id, Q3, store.open)
        assert [(p["what"], p["problem"]) for p in report["problems"]] == [(f"evidence {sha1}", "hash_mismatch")]
        row = so.get_signoff(s, hall_id, Q3)
        row.snapshot = {**row.snapshot, "period": "2026Q4"}
    with unit_of_work(factory) as s:
        problems = so.verify(s, hall_id, Q3, store.open)["problems"]
        assert ("snapshot", "hash_mismatch") in [(p["what"], p["problem"]) for p in problems]
        assert ("amendment 1", "broken_chain") not in [(p["what"], p["problem"]) for p in problems]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_exports(factory, hall, tmp_path, lang):
    from openpyxl import load_workbook

    store = LocalDiskStore(tmp_path)
    f1, sha1 = send(factory, store, hall, "window_unstaffed", "W05", at("2026-09-01"), 3601, "confirm", seed=2)
    f2, _ = send(factory, store, hall, "window_unstaffed", "W05", at("2026-09-02"), 600, "confirm", seed=3)
    with unit_of_work(factory) as s:
        sheet = so.sheet_for(s, SCHEME, hall[0], Q3, as_of=AS_OF)
    wb = load_workbook(io.BytesIO(to_xlsx(sheet, SCHEME, lang)))
    details = list(wb.worksheets[1].iter_rows(values_only=True))
    head, rows = details[0], [r for r in details[1:] if f1 in r]
    (row,) = rows
    assert row[head.index({"zh": "分值", "en": "Points"}[lang])] == -1.0
    assert row[head.index({"zh": "档次", "en": "Tier"}[lang])] == {"zh": "超过一小时", "en": "more than 1 h"}[lang]
    (short,) = [r for r in details[1:] if f2 in r]  # 10 min: listed, not deducted, the reason in the language
    assert short[head.index({"zh": "备注", "en": "Note"}[lang])] == {
        "zh": "未达最低档时长", "en": "below the shortest tier"}[lang]
    assert row[head.index({"zh": "考核项目", "en": "Item"}[lang])] == {
        "zh": "擅自离开工作岗位", "en": "Leaving the post without permission"}[lang]
    summary = {r[2]: r for r in wb.worksheets[0].iter_rows(values_only=True) if r and len(r) > 7}
    assert summary["W05"][7] == 99.0
    evidence = list(wb.worksheets[2].iter_rows(values_only=True))[1:]
    assert sha1 in [r[0] for r in evidence]
    assert {r[1] for r in evidence} <= {"zh": {"标注截图", "原始画面", "视频片段", "读数曲线"},
                                        "en": {"snapshot", "frame", "clip", "chart"}}[lang]
    csv_text = to_csv(sheet, SCHEME, lang).decode("utf-8")
    assert csv_text.startswith("\ufeff") and f1 in csv_text
    pdf = to_pdf(sheet, SCHEME, store.open, lang)
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" in pdf  # the evidence thumbnail is embedded
