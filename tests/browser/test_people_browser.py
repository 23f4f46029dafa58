"""Leave entry, pause, appeal and the appeal decision in a real headless Chromium (Debian ``chromium`` through
Playwright) on the real server under uvicorn, at 1440x900 and on a phone (390x844), in Chinese and English.

A supervisor enters 王建国's leave and imports the attendance file, pauses window 2, then sees a finding of that
morning charged to the B post with the leave next to it; 王建国 logs in on a phone, finds the afternoon's
deduction and appeals it; the assessment office withdraws it; the clerk's page then shows the decision.
Screenshots go to ``test-artifacts/people/``."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest

from edge import contract as c
from edge.paths import PROJECT_ROOT
from server.console.settings import ConsoleSettings
from server.db.session import unit_of_work
from server.edges import issue_edge_token
from server.siteimport import import_site
from server.users import create_user
from tests.live import LiveServer, fresh_artifacts, launch_chromium, playwright_api, wait_js
from tests.test_console_helpers import make_console

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "people"
EXAMPLE = PROJECT_ROOT / "configs" / "examples" / "absences.csv"
TZ = ZoneInfo("Asia/Shanghai")
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def site(tmp_path, database_url, demo_config_path):
    app, cfg, hall_id = make_console(tmp_path, database_url, None, f"ppl-{uuid.uuid4().hex[:6]}", demo_config_path,
                                     ConsoleSettings(background=False), mqtt_enabled=False)
    app.state.settings.people_background = False
    server = LiveServer(lambda: app).start()
    with unit_of_work(app.state.sessionmaker) as s:
        import_site(s, cfg, today=dt.date(2026, 1, 1))
        create_user(s, username=f"sup-{hall_id}", password="supervisor-pw", role="supervisor", actor="test",
                    hall_id=hall_id, display_name="考核办 周")
        create_user(s, username=f"adm-{hall_id}", password="admin-pw-123", role="admin", actor="test",
                    hall_id=hall_id)
        _, token = issue_edge_token(s, hall_id, cfg.edge.id, actor="test")
    yield {"app": app, "base": server.base, "hall_id": hall_id, "edge_id": cfg.edge.id, "edge_token": token}
    server.stop()


def seed_finding(http: httpx.Client, srv: dict, sup: dict, rule: str, window: str, start: dt.datetime,
                 picture) -> int:
    data = picture.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    edge = {"Authorization": f"Bearer {srv['edge_token']}"}
    assert http.put(f"/api/v1/evidence/{sha}", content=data, headers={**edge, "Content-Type": "image/jpeg"}
                    ).status_code in (200, 201)
    fid = uuid.uuid4()
    ref = c.EvidenceRef(sha256=sha, kind="snapshot", content_type="image/jpeg", size=len(data), captured_at=start)
    for msg in (c.FindingOpened(hall_id=srv["hall_id"], edge_id=srv["edge_id"], finding_id=fid, rule=rule,
                                severity="major", started_at=start, window_id=window, evidence=[ref]),
                c.FindingClosed(hall_id=srv["hall_id"], edge_id=srv["edge_id"], finding_id=fid, rule=rule,
                                ended_at=start + dt.timedelta(seconds=95), duration_s=95)):
        r = http.post("/api/v1/ingest", content=c.encode(msg), headers={**edge, "Content-Type": "application/json"})
        assert r.status_code in (200, 201, 202), r.text
    rows = http.get("/api/v1/findings", params={"hall": srv["hall_id"], "limit": 1000}, headers=sup).json()
    (row,) = [f for f in rows if f["finding_id"] == str(fid)]
    assert http.post(f"/api/v1/console/alerts/{row['alert_id']}/confirm", json={"comment": "录像复核属实"},
                     headers=sup).status_code == 200
    return row["alert_id"]


def shot(page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def login(page, base: str, user: str, password: str, landing: str) -> None:
    page.goto(f"{base}/console/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector(landing)


def test_leave_pause_appeal_in_chromium(site, media_dir):
    expect, sync_playwright = playwright_api()
    fresh_artifacts(ARTIFACTS)
    base, hall_id = site["base"], site["hall_id"]
    day = (dt.datetime.now(TZ) - dt.timedelta(days=1)).date()  # yesterday, hall time
    month = f"{day.year}-{day.month:02d}"
    pics = sorted((media_dir / "images" / "counter").glob("*.jpg")) + sorted(
        (media_dir / "images" / "smoking").glob("*.jpg"))

    with httpx.Client(base_url=base, timeout=20) as http:
        r = http.post("/api/v1/auth/login", json={"username": f"sup-{hall_id}", "password": "supervisor-pw"})
        sup = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.post("/api/v1/auth/login", json={"username": f"adm-{hall_id}", "password": "admin-pw-123"})
        adm = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.post(f"/api/v1/people/halls/{hall_id}/staff-accounts", headers=adm,
                      json={"staff_id": "S001", "username": f"wjg-{hall_id}", "password": "clerk-pass-1"})
        assert r.status_code == 201, r.text

        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            errors: list[str] = []

            def context(viewport: dict, lang: str = "zh"):
                ctx = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
                ctx.add_init_script(f"localStorage.setItem('hw.lang', '{lang}')")
                page = ctx.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                return page

            try:
                # -- the supervisor enters 王建国's leave for yesterday morning (desktop)
                page = context(DESKTOP)
                login(page, base, f"sup-{hall_id}", "supervisor-pw", "#nav a[data-nav='leave']")
                expect(page.locator("#nav a[data-nav='appeals']")).to_be_visible()
                page.click("#nav a[data-nav='leave']")
                page.select_option("#absence-staff", "S001")
                page.select_option("#absence-kind", "leave")
                page.fill("#absence-start", f"{day.isoformat()}T08:30")
                page.fill("#absence-end", f"{day.isoformat()}T12:00")
                page.fill("#absence-reason", "家中有事")
                page.click("#absence-submit")
                expect(page.locator("#absence-msg")).to_have_text("请填写批准人")  # refused without an approver
                page.fill("#absence-approver", "政务服务科 李科长")
                page.click("#absence-submit")
                expect(page.locator("#absence-msg")).to_contain_text("已保存")
                row = page.locator("#absence-list tr[data-kind='leave']").first
                expect(row).to_contain_text("王建国")
                expect(row).to_contain_text("政务服务科 李科长")
                # the attendance file: checked first, then imported
                page.set_input_files("#import-file", str(EXAMPLE))
                page.check("#import-dry")
                page.click("#import-submit")
                expect(page.locator("#import-summary")).to_contain_text("检查 5 行（未写入）：将新增 5")
                page.uncheck("#import-dry")
                page.click("#import-submit")
                expect(page.locator("#import-summary")).to_contain_text("共 5 行：新增 5")
                # 暂停服务 for window 2 this morning
                page.select_option("#pause-window", "W02")
                page.fill("#pause-start", f"{day.isoformat()}T08:30")
                page.fill("#pause-end", f"{day.isoformat()}T12:00")
                page.fill("#pause-reason", "系统升级，暂停受理")
                page.click("#pause-submit")
                expect(page.locator("#pause-msg")).to_contain_text("已发送到边缘端")
                expect(page.locator("#pause-list tr[data-state='ended']")).to_contain_text("系统升级，暂停受理")
                shot(page, "01-leave-and-pause-desktop.png")

                # -- a finding of that morning at window 1 is charged to the B post, the leave shown next to it
                morning = seed_finding(http, site, sup, "phone_use", "W01",
                                       dt.datetime.combine(day, dt.time(10, 0), TZ), pics[0])
                afternoon = seed_finding(http, site, sup, "phone_use", "W01",
                                         dt.datetime.combine(day, dt.time(15, 0), TZ), pics[1])
                page.goto(f"{base}/console/#/alert/{morning}")
                expect(page.locator("#context-charged")).to_contain_text("李秀英")
                expect(page.locator("#context-charged")).to_contain_text("请假·下一岗承担")
                expect(page.locator("#people-context .approval")).to_contain_text("政务服务科 李科长")
                shot(page, "02-finding-charged-to-b.png")

                # -- 王建国 on his phone: his own record only, the afternoon deduction, an appeal
                phone = context(PHONE)
                login(phone, base, f"wjg-{hall_id}", "clerk-pass-1", "#my-period")
                assert phone.url.endswith("#/my")
                expect(phone.locator("#nav a")).to_have_count(1)
                phone.select_option("#my-period", month)
                line = phone.locator("#my-lines li[data-kind='deduction']")
                expect(line).to_have_count(1)  # the morning one is 李秀英's
                expect(line).to_contain_text("玩手机")
                expect(line.locator("img.my-thumb")).to_have_count(1)
                wait_js(phone, "() => { const i = document.querySelector('img.my-thumb');"
                                        " return i && i.complete && i.naturalWidth > 0; }")  # the clerk's own evidence
                shot(phone, "03-clerk-record-phone.png")
                line.locator("button.appeal").click()
                phone.fill("#appeal-reason", "当时在用手机核对群众提供的电子证照，属工作需要")
                shot(phone, "04-clerk-appeal-dialog-phone.png")
                phone.click("#dlg-appeal-ok")
                expect(phone.locator("#my-msg")).to_have_text("申诉已提交，等待考核办复核")
                expect(phone.locator("#my-appeals li[data-status='pending']")).to_have_count(1)
                shot(phone, "05-clerk-appeal-pending-phone.png")

                # -- the assessment office withdraws it
                page.click("#nav a[data-nav='appeals']")
                card = page.locator("#appeal-list li[data-status='pending']")
                expect(card).to_contain_text("王建国")
                expect(card).to_contain_text("核对群众提供的电子证照")
                card.locator("button.withdraw").click()
                page.click("#dlg-decide-ok")
                expect(page.locator("#dlg-decide-msg")).to_have_text("请填写备注")
                page.fill("#decision-comment", "调阅录像：屏幕为电子证照核验页面")
                page.click("#dlg-decide-ok")
                expect(page.locator("#appeals-msg")).to_contain_text("已保存")
                page.select_option("#appeals-status", "withdrawn")
                expect(page.locator("#appeal-list li[data-status='withdrawn']")).to_contain_text("调阅录像")
                shot(page, "06-appeal-withdrawn-desktop.png")

                # -- the clerk sees the decision; the deduction is gone
                phone.reload()
                phone.wait_for_selector("#my-period")
                phone.select_option("#my-period", month)
                expect(phone.locator("#my-lines li[data-kind='deduction']")).to_have_count(0)
                expect(phone.locator("#my-appeals li[data-status='withdrawn']")).to_contain_text("调阅录像")
                shot(phone, "07-clerk-decision-phone.png")

                # -- English, and the supervisor's page on a phone
                en = context(DESKTOP, "en")
                login(en, base, f"wjg-{hall_id}", "clerk-pass-1", "#my-period")
                en.select_option("#my-period", month)
                expect(en.locator("#my-appeals li")).to_contain_text("Withdrawn")
                expect(en.locator("h2")).to_contain_text("My record")
                shot(en, "08-clerk-record-en.png")
                sup_phone = context(PHONE, "en")
                login(sup_phone, base, f"sup-{hall_id}", "supervisor-pw", "#nav a[data-nav='leave']")
                sup_phone.goto(f"{base}/console/#/leave")
                expect(sup_phone.locator("#absence-form")).to_be_visible()
                expect(sup_phone.locator("#absence-list")).to_contain_text("Leave")
                box = sup_phone.locator("#absence-submit").bounding_box()
                assert box and box["x"] + box["width"] <= PHONE["width"], box  # the form fits the phone
                shot(sup_phone, "09-leave-phone-en.png")
                assert afternoon != morning
            finally:
                browser.close()
    real = [e for e in errors if "status of 4" not in e]
    assert not real, real
