"""Hall operations pages in a real headless Chromium at 1440x900 and 390x844: live view (pictures uploaded
the way the edge does), hall map, statistics and 督查通报, duty roster and who sits at each window, user
administration. Screenshots go to ``test-artifacts/hallops/``."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import cv2
import pytest

from edge import contract as c
from edge.agent.live import LiveUploader
from edge.paths import PROJECT_ROOT
from server.console.settings import ConsoleSettings
from server.db.session import unit_of_work
from server.edges import issue_edge_token
from server.siteimport import import_site
from server.users import create_user
from tests.conftest import wait_until
from tests.live import LiveServer, fresh_artifacts, launch_chromium, playwright_api, wait_js
from tests.test_console_helpers import make_console

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "hallops"
VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def artifacts():
    return fresh_artifacts(ARTIFACTS)


@pytest.fixture
def live_server(tmp_path, database_url, demo_config_path, topic_prefix):
    app, cfg, hall_id = make_console(tmp_path, database_url, None, topic_prefix, demo_config_path,
                                     ConsoleSettings(background=False), mqtt_enabled=False)
    server = LiveServer(lambda: app).start()
    with unit_of_work(app.state.sessionmaker) as s:
        import_site(s, cfg, today=dt.date(2026, 1, 1))
        for role, name in (("admin", "管理员 王"), ("supervisor", "督查 刘"), ("viewer", "观察员 陈")):
            create_user(s, username=f"{role}-{hall_id}", password=f"{role}-password", role=role, actor="test",
                        hall_id=None if role == "admin" else hall_id, display_name=name)
        _, token = issue_edge_token(s, hall_id, cfg.edge.id, actor="test")
    yield SimpleNamespace(app=app, base=server.base, hall_id=hall_id, cfg=cfg, edge_token=token)
    server.stop()


def _login(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/console/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("#nav")


def _pages(pw, srv, role: str = "supervisor"):
    """A logged-in page per viewport; yields (name, page, errors)."""
    browser = launch_chromium(pw)
    try:
        for name, vp in VIEWPORTS.items():
            page = browser.new_page(viewport=vp, locale="zh-CN", device_scale_factor=1)
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r, errors=errors: errors.append(f"HTTP {r.status} {r.url}")
                    if r.status >= 400 else None)
            _login(page, srv.base, f"{role}-{srv.hall_id}", f"{role}-password")
            if role == "admin":  # a global admin gets every hall's critical alarms (other tests' halls in a shared
                # database): acknowledged whenever the pop-up stands in the way of the next action
                page.add_locator_handler(page.locator("#critical-alarm"),
                                         lambda overlay: overlay.page.click("#ack-alarm"))
            yield name, page, errors
            page.close()
    finally:
        browser.close()


def _acknowledge_critical_alarm(page, expect) -> None:
    """A critical alert takes the whole screen until acknowledged (alarm.js); acknowledge it as the officer would."""
    expect(page.locator("#critical-alarm")).to_be_visible(timeout=20000)
    page.click("#ack-alarm")
    expect(page.locator("#critical-alarm")).to_be_hidden(timeout=20000)


def _no_horizontal_overflow(page) -> None:
    over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert over <= 1, f"page wider than the viewport by {over} px"


def _live_video(page, srv, pics, artifacts) -> None:
    """A click on a camera opens its live video (MJPEG); the edge, told someone watches, sends pictures every
    second, and a new picture shows in the open stream."""
    import httpx
    import numpy as np

    expect, _ = playwright_api()
    page.click("#live-grid figure[data-camera='cam-w03']")
    expect(page.locator("#live-video h3")).to_contain_text("实时视频")
    expect(page.locator("#live-stream-again")).to_be_hidden()  # offered only when the stream has ended
    wait_js(page, "(() => { const i = document.querySelector('#live-stream'); return i && i.naturalWidth > 0; })()")
    red = SimpleNamespace(ts=dt.datetime.now(dt.timezone.utc), image=np.zeros((360, 640, 3), np.uint8))
    red.image[:, :, 2] = 230
    up = LiveUploader(["cam-w03"], {"cam-w03": red}.get, srv.base, srv.edge_token, interval_s=1.0)
    with httpx.Client() as http:
        assert wait_until(lambda: up.push_once(http) >= 0 and "cam-w03" in up._fast, 30)  # asked for more
    assert up.next_wait() <= 1.0
    centre_red = ("(() => { const i = document.querySelector('#live-stream'); const c = document.createElement('canvas');"
                  " c.width = i.naturalWidth; c.height = i.naturalHeight; const g = c.getContext('2d');"
                  " g.drawImage(i, 0, 0); const [r, gr, b] = g.getImageData(c.width / 2, c.height / 2, 1, 1).data;"
                  " return r > 180 && gr < 60 && b < 60; })()")
    wait_js(page, centre_red)
    page.screenshot(path=str(artifacts / "live-video.png"))
    page.click("#live-video-close")
    expect(page.locator("#live-video")).to_have_count(0)


def test_live_view_shows_the_edge_pictures(live_server, media_dir, artifacts):
    expect, sync_playwright = playwright_api()
    srv = live_server
    frames = sorted((media_dir / "images" / "counter").glob("*.jpg"))
    pics = {cam: SimpleNamespace(ts=dt.datetime.now(dt.timezone.utc), image=cv2.imread(str(frames[i % len(frames)])))
            for i, cam in enumerate(("cam-w01", "cam-w03", "cam-w04"))}
    import httpx

    with httpx.Client(base_url=srv.base) as http:
        assert LiveUploader(list(pics), pics.get, srv.base, srv.edge_token).push_once(http) == 3
        finding = c.FindingOpened(hall_id=srv.hall_id, edge_id=srv.cfg.edge.id, finding_id=uuid.uuid4(),
                                  rule="phone_use", severity="major", started_at=dt.datetime.now(dt.timezone.utc),
                                  window_id="W03", camera_id="cam-w03", confidence=0.6, details={}, evidence=[])
        r = http.post("/api/v1/ingest", content=c.encode(finding), headers={
            "Authorization": f"Bearer {srv.edge_token}", "Content-Type": "application/json"})
        assert r.status_code < 300, r.text
    with sync_playwright() as pw:
        for name, page, errors in _pages(pw, srv):
            page.goto(f"{srv.base}/console/#/live")
            expect(page.locator("#nav a[data-nav='live']")).to_have_text("实时画面")
            for cam in pics:
                wait_js(
                    page, f"(() => {{ const i = document.querySelector('#live-grid figure[data-camera=\"{cam}\"] img');"
                    " return i && i.complete && i.naturalWidth > 0; })()")
            expect(page.locator("#live-grid figure[data-camera='cam-w02'] .live-empty")).to_have_text("暂无画面")
            expect(page.locator("#live-grid figure[data-camera='cam-w03'] figcaption")).to_contain_text("秒前")
            _no_horizontal_overflow(page)
            page.screenshot(path=str(artifacts / f"live-{name}.png"), full_page=name == "desktop")
            if name == "desktop":
                _live_video(page, srv, pics, artifacts)
            page.goto(f"{srv.base}/console/#/board")
            wait_js(page, "(() => { const i = document.querySelector('#live-strip a[data-camera=\"cam-w01\"] img');"
                          " return i && i.complete && i.naturalWidth > 0; })()")
            page.locator("#live-strip").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"live-board-{name}.png"))
            page.goto(f"{srv.base}/console/#/feed")
            page.locator("#alert-rows tr[data-rule='phone_use'] a.open").click()
            wait_js(page, "(() => { const i = document.querySelector('#live-now img');"
                          " return i && i.complete && i.naturalWidth > 0; })()")
            expect(page.locator("#live-now figcaption")).to_contain_text("当前画面")
            page.locator("#live-now").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"live-alert-{name}.png"))
            page.click("#lang")
            page.goto(f"{srv.base}/console/#/live")
            expect(page.locator("#nav a[data-nav='live']")).to_have_text("Live view")
            expect(page.locator("#live-grid figure[data-camera='cam-w03'] figcaption")).to_contain_text("s ago")
            page.click("#lang")
            assert not errors, errors


def test_hall_map_upload_place_drag_and_live_alerts(live_server, tmp_path, artifacts):
    from tests.test_hallops_api import floor_plan

    expect, sync_playwright = playwright_api()
    srv = live_server
    plan = tmp_path / "plan.png"
    plan.write_bytes(floor_plan())
    import httpx

    def items(http):
        r = http.get(f"/api/v1/console/halls/{srv.hall_id}/map", headers=admin_auth)
        return {(i["kind"], i["ref"]): i for i in r.json()["items"]}

    with httpx.Client(base_url=srv.base) as http:
        tok = http.post("/api/v1/auth/login", json={"username": f"admin-{srv.hall_id}", "password": "admin-password"})
        admin_auth = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        with sync_playwright() as pw:
            for name, page, errors in _pages(pw, srv, role="admin"):
                page.goto(f"{srv.base}/console/#/map")
                page.select_option("#map-hall", srv.hall_id)
                expect(page.locator(f"#map-body[data-hall='{srv.hall_id}']")).to_be_attached()
                if name == "desktop":
                    expect(page.locator("#map-none")).to_be_visible()
                    page.set_input_files("#map-file", files=[{"name": "plan.png", "mimeType": "image/png",
                                                              "buffer": b"GIF89a not a plan"}])
                    expect(page.locator("#map-msg")).to_have_text("平面图未保存：请选择 PNG 或 JPEG 图片")
                    errors[:] = [e for e in errors if "415" not in e and "Unsupported Media Type" not in e]
                    page.set_input_files("#map-file", str(plan))
                    expect(page.locator("#map-plan")).to_be_visible()
                    page.click("#map-edit")
                    for ref, (fx, fy) in {"W01": (0.11, 0.15), "W02": (0.22, 0.15), "W03": (0.33, 0.15),
                                          "cam-w04": (0.75, 0.35), "exit-east": (0.97, 0.52)}.items():
                        page.click(f"#map-palette button[data-ref='{ref}']")
                        expect(page.locator(f"#map-palette button[data-ref='{ref}']")).to_have_class("small primary")
                        box = page.locator("#map-stage").bounding_box()
                        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
                        expect(page.locator(f"#map-stage .map-marker[data-ref='{ref}']")).to_be_visible()
                    # drag W03 to the right
                    mk = page.locator("#map-stage .map-marker[data-ref='W03']").bounding_box()
                    box = page.locator("#map-stage").bounding_box()
                    page.mouse.move(mk["x"] + mk["width"] / 2, mk["y"] + mk["height"] / 2)
                    page.mouse.down()
                    page.mouse.move(box["x"] + 0.44 * box["width"], box["y"] + 0.2 * box["height"], steps=8)
                    page.mouse.up()
                    expect(page.locator("#map-summary")).to_contain_text("已放置 5/")
                    assert wait_until(lambda: abs(items(http)[("window", "W03")]["x"] - 0.44) < 0.03), \
                        items(http)[("window", "W03")]
                    assert abs(items(http)[("window", "W03")]["y"] - 0.2) < 0.03
                    page.click("#map-edit")
                    # a critical alert appears on its window, live, and pops up until acknowledged below
                    page.remove_locator_handler(page.locator("#critical-alarm"))
                    finding = c.FindingOpened(hall_id=srv.hall_id, edge_id=srv.cfg.edge.id, finding_id=uuid.uuid4(),
                                              rule="smoking", severity="critical",
                                              started_at=dt.datetime.now(dt.timezone.utc), window_id="W02",
                                              camera_id="cam-w02", confidence=0.7, details={}, evidence=[])
                    r = http.post("/api/v1/ingest", content=c.encode(finding), headers={
                        "Authorization": f"Bearer {srv.edge_token}", "Content-Type": "application/json"})
                    assert r.status_code < 300, r.text
                expect(page.locator("#map-stage .map-marker[data-ref='W02']")).to_have_attribute(
                    "data-tone", "critical", timeout=20000)
                if name == "desktop":
                    expect(page.locator("#critical-rule")).to_have_text("抽烟")
                    _acknowledge_critical_alarm(page, expect)
                else:   # acknowledged on the desktop: no pop-up, the window stays marked critical
                    expect(page.locator("#critical-alarm")).to_be_hidden()
                page.click("#map-stage .map-marker[data-ref='W02']")
                expect(page.locator("#map-info")).to_contain_text("抽烟")
                expect(page.locator("#map-seat")).to_contain_text("A岗：张伟")
                _no_horizontal_overflow(page)
                page.screenshot(path=str(artifacts / f"map-{name}.png"), full_page=True)
                assert not errors, errors


def _ingest_findings(http, srv, specs) -> list[c.FindingOpened]:
    out = []
    for rule, window, severity, ago in specs:
        f = c.FindingOpened(hall_id=srv.hall_id, edge_id=srv.cfg.edge.id, finding_id=uuid.uuid4(), rule=rule,
                            severity=severity, started_at=dt.datetime.now(dt.timezone.utc) - ago,
                            window_id=window, confidence=0.7, details={}, evidence=[])
        r = http.post("/api/v1/ingest", content=c.encode(f), headers={
            "Authorization": f"Bearer {srv.edge_token}", "Content-Type": "application/json"})
        assert r.status_code < 300, r.text
        out.append(f)
    return out


def test_statistics_charts_table_and_printable_report(live_server, artifacts):
    expect, sync_playwright = playwright_api()
    srv = live_server
    hours = dt.timedelta(hours=1)
    specs = [("phone_use", f"W0{1 + i % 4}", "major", (i * 13 % 200) * hours) for i in range(24)]
    specs += [("window_unstaffed", "W02", "major", (5 + i * 30) * hours) for i in range(6)]
    specs += [("smoking", "W04", "critical", 2 * hours)]
    import httpx

    with httpx.Client(base_url=srv.base) as http:
        _ingest_findings(http, srv, specs)
    with sync_playwright() as pw:
        for name, page, errors in _pages(pw, srv):
            if name == "desktop":   # the open smoking alert pops up on login
                _acknowledge_critical_alarm(page, expect)
            page.goto(f"{srv.base}/console/#/stats")
            page.select_option("#stats-hall", srv.hall_id)
            expect(page.locator("#critical-alarm")).to_be_hidden()
            expect(page.locator("#kpi-total")).to_have_text("31")
            expect(page.locator("#stats-chart")).to_have_attribute("data-ready", "1")
            assert page.locator("#stats-chart canvas").count() >= 1
            expect(page.locator("#stats-table tbody tr[data-key='phone_use'] td").last).to_have_text("24")
            page.select_option("#stats-group", "window")
            expect(page.locator("#stats-table tbody tr[data-key='W02'] td").last).to_have_text("12")
            page.select_option("#stats-period", "week")
            expect(page.locator("#stats-table tfoot th").last).to_have_text("31")
            _no_horizontal_overflow(page)
            page.screenshot(path=str(artifacts / f"stats-{name}.png"), full_page=True)
            page.select_option("#report-kind", "weekly")
            page.click("#report-open")
            expect(page.locator("#report-summary")).to_contain_text("本期监控共发现问题")
            expect(page.locator("#report-rules")).to_contain_text("玩手机")
            page.screenshot(path=str(artifacts / f"report-{name}.png"), full_page=True)
            if name == "desktop":
                page.emulate_media(media="print")
                expect(page.locator("header.top")).to_be_hidden()
                page.screenshot(path=str(artifacts / "report-print.png"), full_page=True)
                page.emulate_media(media="screen")
                page.click("#lang")
                page.goto(f"{srv.base}/console/#/stats")
                expect(page.locator("h2")).to_have_text("Statistics")
                expect(page.locator("#stats-table thead th").first).to_have_text("Rule")
                page.click("#report-open")
                expect(page.locator("#report-print")).to_have_text("Print")
                expect(page.locator("#report h3").first).to_have_text("一、总体情况")   # the report stays Chinese
                page.click("#lang")
            assert not errors, errors


def test_duty_roster_on_duty_now_and_seats(live_server, tmp_path, artifacts):
    from zoneinfo import ZoneInfo

    expect, sync_playwright = playwright_api()
    srv = live_server
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    import httpx

    with httpx.Client(base_url=srv.base) as http:
        for w, state in (("W01", "staffed"), ("W02", "empty"), ("W03", "staffed")):
            msg = c.WindowState(hall_id=srv.hall_id, edge_id=srv.cfg.edge.id, window_id=w, state=state,
                                since=now - dt.timedelta(minutes=7), persons=1 if state == "staffed" else 0)
            r = http.post("/api/v1/ingest", content=c.encode(msg), headers={
                "Authorization": f"Bearer {srv.edge_token}", "Content-Type": "application/json"})
            assert r.status_code < 300, r.text
    roster_csv = tmp_path / "值班表.csv"
    roster_csv.write_text("日期,类型,姓名,电话,窗口,备注\n"
                          f"{today},午间值守,陈静,,W03,\n{today + dt.timedelta(days=1)},值班人员,周婷,13700000000,,\n"
                          f"{today + dt.timedelta(days=1)},保安,错类型,,,\n", encoding="utf-8")
    with sync_playwright() as pw:
        for name, page, errors in _pages(pw, srv):
            page.goto(f"{srv.base}/console/#/roster")
            page.select_option("#roster-hall", srv.hall_id)
            expect(page.locator("#seat-table tr[data-window='W01']")).to_have_attribute("data-post", "A")
            expect(page.locator("#seat-table tr[data-window='W01'] td.seated")).to_contain_text("王建国")
            expect(page.locator("#seat-table tr[data-window='W02'] td.seated")).to_have_text("—")
            expect(page.locator("#seat-note")).to_contain_text("推断")
            if name == "desktop":
                page.fill("#roster-day", today.isoformat())
                page.select_option("#roster-kind", "duty_officer")
                page.fill("#roster-name", "刘洋")
                page.fill("#roster-phone", "13800000000")
                # a window changing while the entry is half typed (focus elsewhere) refreshes the page: the typed
                # entry stays
                page.click("#seat-note")
                seated = page.locator("#seat-table tr[data-window='W02'] td.seated")
                for state, persons in (("staffed", 1), ("empty", 0)):  # and back, for the phone layout below
                    with httpx.Client(base_url=srv.base) as http:
                        msg = c.WindowState(hall_id=srv.hall_id, edge_id=srv.cfg.edge.id, window_id="W02",
                                            state=state, since=now, persons=persons)
                        r = http.post("/api/v1/ingest", content=c.encode(msg), headers={
                            "Authorization": f"Bearer {srv.edge_token}", "Content-Type": "application/json"})
                        assert r.status_code < 300, r.text
                    if persons:
                        expect(seated).not_to_have_text("—", timeout=20000)
                    else:
                        expect(seated).to_have_text("—", timeout=20000)
                    expect(page.locator("#roster-name")).to_have_value("刘洋")
                    expect(page.locator("#roster-day")).to_have_value(today.isoformat())
                page.click("#roster-add")
                # a POST and a reload of two views: more than the default 5 s when the machine is busy
                expect(page.locator("#duty-now .duty-line[data-kind='duty_officer']")).to_contain_text(
                    "刘洋", timeout=20000)
                page.set_input_files("#roster-file", str(roster_csv))
                page.click("#roster-import-btn")
                expect(page.locator("#roster-import-result")).to_contain_text("将新增 2", timeout=20000)
                expect(page.locator("#roster-import-result")).to_contain_text("第 4 行：类型无效", timeout=20000)
                page.uncheck("#roster-dry")
                page.click("#roster-import-btn")
                expect(page.locator("#duty-now .duty-line[data-kind='midday_desk']")).to_contain_text("陈静", timeout=20000)
                expect(page.locator("#roster-table")).to_contain_text("周婷", timeout=20000)
            else:
                expect(page.locator("#duty-now")).to_contain_text("刘洋")
            _no_horizontal_overflow(page)
            page.screenshot(path=str(artifacts / f"roster-{name}.png"), full_page=True)
            if name == "desktop":
                page.click("#lang")
                page.goto(f"{srv.base}/console/#/roster")
                expect(page.locator("#seat-table tr[data-window='W01'] td").last).to_have_text(
                    "someone seated, A not on leave: taken as A")
                page.screenshot(path=str(artifacts / "roster-desktop-en.png"), full_page=True)
                page.click("#lang")
            assert not errors, errors


def test_user_administration(live_server, artifacts):
    import re

    import httpx

    expect, sync_playwright = playwright_api()
    srv = live_server
    new = f"duty-{srv.hall_id}"
    display = f"值班员 周{srv.hall_id[-4:]}"
    with sync_playwright() as pw:
        for name, page, errors in _pages(pw, srv, role="admin"):
            page.goto(f"{srv.base}/console/#/users")
            expect(page.locator("#nav a[data-nav='users']")).to_have_text("用户管理")
            expect(page.locator("#users-table")).to_be_visible(timeout=60000)
            row = page.locator(f"#users-table tr[data-user='{new}']")
            if name == "desktop":
                page.fill("#new-username", new)
                page.fill("#new-display", display)
                page.select_option("#new-role", "inspector")
                page.select_option("#new-hall", srv.hall_id)
                page.click("#user-create")
                expect(page.locator("#users-msg")).to_contain_text(f"已创建 {new}", timeout=30000)
                page.fill("#users-search", new)
                expect(row).to_have_count(1)
                row.locator("select.user-role").select_option("supervisor")
                row.locator("select.user-hall").select_option("")
                row.locator("button.save").click()
                expect(page.locator("#users-msg")).to_contain_text("已保存", timeout=30000)
                page.once("dialog", lambda d: d.accept())
                row.locator("button.toggle").click()
                expect(row).to_have_attribute("data-active", "false", timeout=30000)
                page.once("dialog", lambda d: d.accept())
                row.locator("button.toggle").click()
                expect(row).to_have_attribute("data-active", "true", timeout=30000)
                page.once("dialog", lambda d: d.accept())
                row.locator("button.reset").click()
                expect(page.locator("#users-msg")).to_contain_text("新密码", timeout=30000)
                pw_now = re.search(r"新密码：(\S+?)（", page.locator("#users-msg").inner_text()).group(1)
                r = httpx.post(f"{srv.base}/api/v1/auth/login", json={"username": new, "password": pw_now})
                assert r.status_code == 200 and r.json()["user"]["role"] == "supervisor"
                assert r.json()["user"]["hall_id"] is None
                expect(page.locator("#audit-table tr[data-action='user.update']", has_text=display)).to_have_count(4, timeout=30000)
                expect(page.locator("#audit-table tbody tr").first).to_contain_text("密码已重置")
                expect(page.locator("#audit-table")).to_contain_text("角色：值班/巡查人员 → 督查人员")
                page.click("#lang")
                expect(page.locator("#audit-table")).to_contain_text("Role: Duty officer → Supervisor", timeout=30000)
                page.click("#lang")
            expect(page.locator("#users-search")).to_be_visible(timeout=30000)
            page.fill("#users-search", new)
            expect(row.locator("select.user-role")).to_have_value("supervisor", timeout=30000)
            _no_horizontal_overflow(page)
            page.screenshot(path=str(artifacts / f"users-{name}.png"), full_page=True)
            assert not errors, errors
    with sync_playwright() as pw:     # a supervisor has no user administration, not even by URL
        for name, page, errors in _pages(pw, srv, role="supervisor"):
            expect(page.locator("#nav a[data-nav='users']")).to_have_count(0)
            page.goto(f"{srv.base}/console/#/users")
            expect(page.locator("main .error")).to_be_visible()
            break
