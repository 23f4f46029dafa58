"""The assessment office's page (#/assessment) end to end in a real headless Chromium (Debian ``chromium`` via
Playwright with executable_path), on the real server under uvicorn.

Findings are seeded through the real HTTP ingest with the edge token (real smoking / counter pictures uploaded
as evidence) and decided through the console alert API; then a supervisor opens the page: empty current
quarter, API error state, the previous quarter's ranked row with the doubled smoking deductions, the
breakdown with alert links, loaded thumbnails and the trend chart, the XLSX download (a real workbook with
the finding rows), a reassignment, a manual 旷工 entry, sign-off (frozen), verify (ok, then a tampered
evidence file is named), an amendment, English, and a viewer who sees no supervisor actions.
Screenshots go to ``test-artifacts/assessment/``."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path
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
from tests.conftest import need
from tests.live import LiveServer, fresh_artifacts, launch_chromium, playwright_api, wait_js
from tests.test_console_helpers import make_console

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "assessment"
TZ = ZoneInfo("Asia/Shanghai")


def quarter_of(d: dt.date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def previous_quarter(today: dt.date) -> tuple[str, int, int]:
    """(label, year, middle month) of the quarter before today's."""
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - dt.timedelta(days=1)
    return quarter_of(first), first.year, first.month - 1


@pytest.fixture
def site(tmp_path, database_url, demo_config_path):
    """The real app under uvicorn on a free port (no MQTT: findings arrive through the HTTP ingest)."""
    app, cfg, hall_id = make_console(tmp_path, database_url, None, f"asm-{uuid.uuid4().hex[:6]}", demo_config_path,
                                     ConsoleSettings(background=False), mqtt_enabled=False)
    server = LiveServer(lambda: app).start()
    with unit_of_work(app.state.sessionmaker) as s:
        import_site(s, cfg, today=dt.date(2026, 1, 1))
        create_user(s, username=f"sup-{hall_id}", password="supervisor-pw", role="supervisor", actor="test",
                    hall_id=hall_id, display_name="考核办 周")
        create_user(s, username=f"view-{hall_id}", password="viewer-pw", role="viewer", actor="test",
                    hall_id=hall_id, display_name="查看 吴")
        _, token = issue_edge_token(s, hall_id, cfg.edge.id, actor="test")
    base = server.base
    yield {"app": app, "base": base, "hall_id": hall_id, "edge_id": cfg.edge.id, "edge_token": token}
    server.stop()


class Seeder:
    """Posts edge messages to the real ingest and decides their alerts through the console API."""

    def __init__(self, srv: dict, http: httpx.Client) -> None:
        self.srv, self.http = srv, http
        r = http.post("/api/v1/auth/login", json={"username": f"sup-{srv['hall_id']}", "password": "supervisor-pw"})
        assert r.status_code == 200, r.text
        self.sup = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.edge = {"Authorization": f"Bearer {srv['edge_token']}"}

    def upload(self, path: Path) -> c.EvidenceRef:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        r = self.http.put(f"/api/v1/evidence/{sha}", content=data, headers=self.edge)
        assert r.status_code in (200, 201), r.text
        return c.EvidenceRef(sha256=sha, kind="snapshot", content_type="image/jpeg", size=len(data))

    def ingest(self, msg: c._Msg) -> None:
        r = self.http.post("/api/v1/ingest", content=c.encode(msg),
                           headers={**self.edge, "Content-Type": "application/json"})
        assert r.status_code in (200, 201, 202), r.text

    def finding(self, rule: str, window: str, start: dt.datetime, duration_s: float, picture: Path,
                decision: str) -> tuple[str, int, str]:
        """(finding UUID, alert id, evidence sha) of a finding opened, closed and decided."""
        ref = self.upload(picture)
        fid = uuid.uuid4()
        hall, edge = self.srv["hall_id"], self.srv["edge_id"]
        self.ingest(c.FindingOpened(hall_id=hall, edge_id=edge, finding_id=fid, rule=rule, severity="major",
                                    started_at=start, window_id=window, camera_id=f"cam-{window.lower()}",
                                    evidence=[ref]))
        self.ingest(c.FindingClosed(hall_id=hall, edge_id=edge, finding_id=fid, rule=rule,
                                    ended_at=start + dt.timedelta(seconds=duration_s), duration_s=duration_s))
        rows = self.http.get("/api/v1/findings", params={"hall": hall, "limit": 1000}, headers=self.sup).json()
        (row,) = [f for f in rows if f["finding_id"] == str(fid)]
        r = self.http.post(f"/api/v1/console/alerts/{row['alert_id']}/{decision}", json={"comment": "录像复核"},
                           headers=self.sup)
        assert r.status_code == 200, r.text
        return str(fid), row["alert_id"], ref.sha256


def shot(page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def login(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/console/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("#nav a[data-nav='assessment']")


def test_assessment_page_in_headless_chromium(site, media_dir):
    expect, sync_playwright = playwright_api()
    from openpyxl import load_workbook

    fresh_artifacts(ARTIFACTS)
    base, hall_id = site["base"], site["hall_id"]
    today = dt.datetime.now(TZ).date()
    current = quarter_of(today)
    period, year, month = previous_quarter(today)
    smoking = sorted((media_dir / "images" / "smoking").glob("*.jpg"))
    counter = sorted((media_dir / "images" / "counter").glob("*.jpg"))
    need(len(smoking) >= 3 and counter, "smoking and counter pictures missing from the media folder")

    with httpx.Client(base_url=base, timeout=20) as http:
        seed = Seeder(site, http)
        # three confirmed smoking findings at W03 in one month: the 3rd doubles the month (3 × 1 × 2)
        smokes = [seed.finding("smoking", "W03", dt.datetime(year, month, d, 10, 5, tzinfo=TZ), 95, smoking[i],
                               "confirm") for i, d in enumerate((5, 12, 19))]
        # W02 unstaffed for 60:01 (超过一小时: −1), and a dismissed phone use at W01 that never counts
        unstaffed = seed.finding("window_unstaffed", "W02", dt.datetime(year, month, 7, 14, 0, tzinfo=TZ), 3601,
                                 counter[0], "confirm")
        seed.finding("phone_use", "W01", dt.datetime(year, month, 8, 9, 30, tzinfo=TZ), 30, counter[-1], "dismiss")

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        ctx = browser.new_context(viewport={"width": 1440, "height": 960}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  accept_downloads=True)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        try:
            login(page, base, f"sup-{hall_id}", "supervisor-pw")
            page.click("#nav a[data-nav='assessment']")
            # -- default: the current quarter, empty
            expect(page.locator("#asm-title")).to_have_text("季度考核")
            expect(page.locator("#asm-period")).to_have_value(current)
            expect(page.locator("#asm-empty")).to_be_visible()
            expect(page.locator("#asm-ranking tbody tr")).to_have_count(8)  # the demo hall's windows
            shot(page, "01-current-quarter-empty.png")

            # -- an API error is shown with its message (and the page stays usable)
            page.goto(f"{base}/console/#/assessment?hall={hall_id}&period=2026Q9")
            expect(page.locator("#asm-error")).to_contain_text("period must look like")
            shot(page, "02-api-error.png")
            assert any("HTTP 422" in e for e in errors)
            errors.clear()

            # -- the previous quarter: ranked windows, W03 last with its doubled smoking
            page.select_option("#asm-period", period)
            w03 = page.locator("#asm-ranking tr[data-subject='W03']")
            expect(w03).to_have_attribute("data-score", "94")
            expect(w03.locator(".badge.doubled")).to_contain_text("加倍 3")
            expect(page.locator("#asm-ranking tr[data-subject='W02']")).to_have_attribute("data-score", "99")
            expect(page.locator("#asm-ranking tr[data-subject='W01']")).to_have_attribute("data-score", "100")
            expect(page.locator("#asm-ranking tbody tr").last).to_have_attribute("data-subject", "W03")
            expect(w03.locator(".badge.asm-live")).to_have_text("未签署")

            # -- breakdown: lines with rule, doubled points, alert links, thumbnails; trend chart
            w03.click()
            expect(page.locator("#asm-detail-score")).to_have_text("94")
            lines = page.locator("#asm-lines tbody tr[data-kind='deduction']")
            expect(lines).to_have_count(3)
            for fid, alert_id, sha in smokes:
                line = page.locator(f"#asm-lines tr[data-ref='{fid}']")
                expect(line).to_have_attribute("data-multiplier", "2")
                expect(line.locator("a.alert-link")).to_have_attribute("href", f"#/alert/{alert_id}")
                expect(line).to_contain_text("−2")
                expect(line).to_contain_text("陈静")  # W03's A post by the roster
                expect(line.locator(f"img.asm-thumb[data-sha='{sha}']")).to_have_count(1)
            wait_js(page, "[...document.querySelectorAll('#asm-lines img.asm-thumb')].length === 3 && "
                                   "[...document.querySelectorAll('#asm-lines img.asm-thumb')].every(i => i.complete && i.naturalWidth > 0)")
            wait_js(page, "document.querySelector('#asm-trend').complete && "
                                   "document.querySelector('#asm-trend').naturalWidth > 0")
            expect(page.locator("#asm-by-item tr[data-item='smoking_eating']")).to_contain_text("−6")
            shot(page, "03-ranking-breakdown.png")

            # -- an alert link opens the console's alert page
            page.click(f"#asm-lines tr[data-ref='{smokes[0][0]}'] a.alert-link")
            expect(page.locator("#alert-title")).to_contain_text(f"#{smokes[0][1]}")
            page.go_back()
            expect(page.locator("#asm-detail-score")).to_have_text("94")

            # -- W02: the 60:01 absence is in the "more than 1 h" tier
            page.click("#asm-ranking tr[data-subject='W02']")
            line = page.locator(f"#asm-lines tr[data-ref='{unstaffed[0]}']")
            expect(line).to_contain_text("60分01秒")
            expect(line).to_contain_text("超过一小时")
            expect(line).to_contain_text("−1")

            # -- XLSX download in the UI language: a real workbook with the finding rows
            with page.expect_download() as dl:
                page.click("#asm-export-xlsx")
            xlsx = ARTIFACTS / "assessment.xlsx"
            dl.value.save_as(xlsx)
            wb = load_workbook(xlsx)
            details = list(wb["扣分明细"].iter_rows(values_only=True))
            head = details[0]
            rows = {r[head.index("事件编号")]: r for r in details[1:]}
            assert {fid for fid, _, _ in smokes} | {unstaffed[0]} <= set(rows)
            assert rows[smokes[2][0]][head.index("分值")] == -2.0
            summary = list(wb["汇总"].iter_rows(values_only=True))
            assert (8, "窗口", "W03", "3号 劳动保障", 100, 0, 6, 94) in summary, summary

            # -- staff tab; reassign one smoking finding from 陈静 (S005) to 杨磊 (S006): S005 loses the doubling
            page.click("#tab-staff")
            expect(page.locator("#asm-ranking tr[data-subject='S005']")).to_have_attribute("data-score", "94")
            page.click("#asm-ranking tr[data-subject='S005']")
            page.click(f"#asm-lines tr[data-ref='{smokes[2][0]}'] button.reassign")
            page.click("#dlg-reassign-ok")
            expect(page.locator("#dlg-reassign-msg")).to_have_text("请填写原因")
            page.select_option("#reassign-staff", "S006")
            page.fill("#reassign-reason", "录像复核：吸烟者为B岗杨磊")
            page.click("#dlg-reassign-ok")
            expect(page.locator("#asm-msg")).to_have_text("已改派")
            expect(page.locator("#asm-ranking tr[data-subject='S005']")).to_have_attribute("data-score", "98")
            expect(page.locator("#asm-ranking tr[data-subject='S006']")).to_have_attribute("data-score", "99")

            # -- a manual entry: 旷工（每半天） for 王建国 (S001)
            page.click("#asm-entry")
            page.select_option("#entry-item", "absent_half_day")
            page.select_option("#entry-staff", "S001")
            page.fill("#entry-at", f"{year}-{month:02d}-20T09:00")
            page.fill("#entry-note", "考勤记录：上午未到岗")
            page.click("#dlg-entry-ok")
            expect(page.locator("#asm-msg")).to_have_text("已录入")
            expect(page.locator("#asm-ranking tr[data-subject='S001']")).to_have_attribute("data-score", "99")
            shot(page, "04-staff-after-reassign-and-entry.png")

            # -- sign off (confirm dialog), then the sheet is frozen
            page.click("#asm-signoff")
            expect(page.locator("#dlg-signoff-text")).to_contain_text(period)
            shot(page, "05-signoff-dialog.png")
            page.click("#dlg-signoff-ok")
            expect(page.locator("#asm-frozen")).to_contain_text(f"sup-{hall_id}")
            expect(page.locator("#asm-signoff")).to_have_count(0)
            expect(page.locator("#asm-ranking tr[data-subject='S005'] .badge.asm-signed")).to_have_text("已签署")

            # -- verify: every evidence file re-hashed
            page.click("#asm-verify")
            expect(page.locator("#asm-verify-result")).to_have_attribute("data-ok", "true")
            expect(page.locator("#asm-verify-result")).to_contain_text("已核对 4 个证据文件")
            shot(page, "06-signed-verified.png")

            # -- after sign-off a reassignment waits for an amendment; the amendment records before/after
            page.click("#asm-ranking tr[data-subject='S005']")
            page.click(f"#asm-lines tr[data-ref='{smokes[1][0]}'] button.reassign")
            page.select_option("#reassign-staff", "S006")
            page.fill("#reassign-reason", "录像复核：第二次也是杨磊")
            page.click("#dlg-reassign-ok")
            expect(page.locator("#asm-msg")).to_contain_text("执行“更正”后才计入")
            expect(page.locator("#asm-ranking tr[data-subject='S005']")).to_have_attribute("data-score", "98")
            page.click("#asm-amend")
            page.fill("#amend-reason", "改派责任人")
            page.click("#dlg-amend-ok")
            expect(page.locator("#asm-msg")).to_contain_text("已记录第 1 次更正")
            expect(page.locator("#asm-amendments li[data-seq='1']")).to_contain_text("改派责任人")
            expect(page.locator("#asm-ranking tr[data-subject='S005']")).to_have_attribute("data-score", "99")
            expect(page.locator("#asm-ranking tr[data-subject='S006']")).to_have_attribute("data-score", "98")

            # -- a tampered evidence file is named by verify
            tampered = smokes[0][2]
            path = site["app"].state.store.path(tampered)
            path.chmod(0o644)
            path.write_bytes(path.read_bytes() + b"tampered")
            page.click("#asm-verify")
            expect(page.locator("#asm-verify-result")).to_have_attribute("data-ok", "false")
            expect(page.locator("#verify-problems li[data-problem='hash_mismatch']")).to_contain_text(tampered[:12])
            shot(page, "07-amended-verify-failed.png")

            # -- English
            page.click("#lang")
            expect(page.locator("#asm-title")).to_have_text("Quarterly assessment")
            expect(page.locator("#tab-staff")).to_contain_text("Staff")
            assert page.get_attribute("#asm-export-pdf", "href").endswith("lang=en")
            expect(page.locator("#asm-ranking tr[data-subject='S005'] .badge.asm-signed")).to_have_text("Signed off")
            page.click("#asm-ranking tr[data-subject='S006']")
            expect(page.locator("#asm-lines")).to_contain_text("Smoking or eating in the hall during service hours")
            shot(page, "08-english.png")
            page.click("#lang")  # back to Chinese for the viewer below (language is kept per browser)

            # -- a viewer sees the sheet and may verify, but gets no supervisor actions
            viewer_ctx = browser.new_context(viewport={"width": 1440, "height": 960}, locale="zh-CN",
                                             timezone_id="Asia/Shanghai")
            vpage = viewer_ctx.new_page()
            vpage.on("pageerror", lambda e: errors.append(str(e)))
            login(vpage, base, f"view-{hall_id}", "viewer-pw")
            vpage.goto(f"{base}/console/#/assessment?hall={hall_id}&period={period}&tab=windows&subject=W03")
            expect(vpage.locator("#asm-detail-score")).to_have_text("94")
            expect(vpage.locator("#asm-verify")).to_be_visible()
            for sel in ("#asm-signoff", "#asm-amend", "#asm-entry", "button.reassign"):
                expect(vpage.locator(sel)).to_have_count(0)
            expect(vpage.locator("#asm-export-xlsx")).to_be_visible()
            shot(vpage, "09-viewer.png")
            viewer_ctx.close()
        finally:
            page.screenshot(path=str(ARTIFACTS / "99-last.png"))
            browser.close()
    assert errors == []
