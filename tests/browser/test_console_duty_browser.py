"""The duty officer's console in headless Chromium: cues on every page with a distinct critical alarm, the
service-hours safety-check preview, a duty-check sheet that waits for its pictures, the phone layout and the
two-party handover. Screenshots go to ``test-artifacts/console-duty/``."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid

import httpx
import pytest

from edge import contract as c
from edge.paths import PROJECT_ROOT
from server.console import checks
from tests.browser.test_console_browser import _publish, _upload, live_server  # noqa: F401
from tests.live import fresh_artifacts, launch_chromium, playwright_api, wait_js
from tests.test_console_helpers import EdgeResponder

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "console-duty"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def artifacts():
    return fresh_artifacts(ARTIFACTS)


def _login(page, srv, path: str = "#/feed"):
    expect, _ = playwright_api()
    page.goto(f"{srv['base']}/console/")
    page.fill("#username", srv["user"])
    page.fill("#password", srv["password"])
    page.click("#login-submit")
    expect(page.locator("#nav")).to_be_visible()
    page.goto(f"{srv['base']}/console/{path}")


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    return errors


def _finding(srv, rule: str, severity: str, **kw) -> c.FindingOpened:
    return c.FindingOpened(hall_id=srv["hall_id"], edge_id=srv["cfg"].edge.id, finding_id=uuid.uuid4(), rule=rule,
                           severity=severity, started_at=dt.datetime.now(dt.timezone.utc), **kw)


def test_cues_on_every_page_and_a_critical_alarm_until_acknowledged(live_server, mqtt_broker, artifacts):
    expect, sync_playwright = playwright_api()
    srv = live_server
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        errors = _errors(page)
        try:
            _login(page, srv, "#/board")
            expect(page.locator("#conn")).to_contain_text("实时")
            expect(page.locator(".tile[data-window-id='W03']")).to_be_visible()
            # an ordinary alert on the wall screen: banner and one beep, no pop-up
            _publish(mqtt_broker, srv["prefix"], _finding(srv, "phone_use", "major", window_id="W03"))
            expect(page.locator("#new-alert-banner")).to_contain_text("玩手机", timeout=20000)
            wait_js(page, "(window.__hwBeeps || 0) >= 1")
            expect(page.locator("#critical-alarm")).to_be_hidden()
            page.screenshot(path=str(ARTIFACTS / "01-board-banner.png"))
            # a critical smoke alarm: full-screen pop-up, the alarm repeats until acknowledged
            _publish(mqtt_broker, srv["prefix"], _finding(srv, "smoke_detected", "critical", sensor_id="smoke-hall"))
            expect(page.locator("#critical-alarm")).to_be_visible(timeout=20000)
            expect(page.locator("#critical-rule")).to_have_text("烟雾报警")
            wait_js(page, "(window.__hwAlarmBeeps || 0) >= 3", timeout_ms=20000)
            page.screenshot(path=str(ARTIFACTS / "02-critical-alarm.png"))
            page.click("#ack-alarm")
            expect(page.locator("#critical-alarm")).to_be_hidden()
            page.click("#lang")  # the cue follows the language switch
            expect(page.locator("#new-alert-banner")).to_contain_text("Smoke detected")
            page.click("#lang")
            # the feed lists the critical alarm first, although the phone alert is not older
            page.click("#nav a[data-nav='feed']")
            expect(page.locator("#alert-rows tr")).to_have_count(2)
            expect(page.locator("#alert-rows tr").first).to_have_attribute("data-rule", "smoke_detected")
            expect(page.locator("#alert-rows tr").first.locator(".badge.st-acknowledged")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "03-feed-critical-first.png"))
        finally:
            page.screenshot(path=str(ARTIFACTS / "99-cues-last.png"))
            browser.close()
    assert errors == []


def test_safety_preview_in_service_hours_and_a_duty_sheet_that_waits_for_its_pictures(
        live_server, mqtt_broker, media_dir, monkeypatch, artifacts):
    expect, sync_playwright = playwright_api()
    srv = live_server
    monkeypatch.setattr(checks, "in_service_hours", lambda hall, now: True)
    # bytes after the JPEG end marker make the files unique to this run (decoders ignore them)
    pictures = [p.read_bytes() + uuid.uuid4().bytes for p in sorted((media_dir / "images").glob("*/*.jpg"))[:2]]
    refs = [c.EvidenceRef(sha256=hashlib.sha256(b).hexdigest(), kind="snapshot", content_type="image/jpeg",
                          size=len(b)) for b in pictures]
    windows = [c.WindowSnapshot(window_id=w, state="staffed", persons=1, camera_id=f"cam-{w.lower()}", evidence=[e])
               for w, e in zip(("W01", "W02"), refs)]
    items = [c.SafetyItem(item="nobody_present", subject=srv["hall_id"], passed=False, detail="6 persons"),
             c.SafetyItem(item="power_off", subject="plug-w03-pc", passed=False, detail="62 W > 10 W", value=62.0)]
    edge = EdgeResponder(mqtt_broker, srv["prefix"], srv["hall_id"], srv["cfg"].edge.id, windows=windows, items=items)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        errors = _errors(page)
        try:
            _login(page, srv, "#/safety")
            page.click("#run-safety")
            expect(page.locator("#safety-preview")).to_be_visible(timeout=20000)
            expect(page.locator("#safety-outcome")).to_have_text("存在不合格项", timeout=20000)
            expect(page.locator("#btn-sign")).to_have_count(0)
            expect(page.locator("#safety-items th").nth(1)).to_have_text("检查对象")
            sheet = page.locator("#safety-items").inner_text()
            assert "62 W，超过待机功率 10 W" in sheet and "从未上报" in sheet
            for machine in ("no power reading", "never seen", "persons"):
                assert machine not in sheet, machine
            page.screenshot(path=str(ARTIFACTS / "04-safety-preview.png"), full_page=True)
            alerts = httpx.get(f"{srv['base']}/api/v1/console/alerts",
                               cookies={x["name"]: x["value"] for x in page.context.cookies()}).json()
            assert alerts == []
            # duty check: the edge answers at once, the pictures arrive later
            page.click("#nav a[data-nav='duty']")
            page.click("#run-duty")
            expect(page.locator("#duty-uploading")).to_be_visible(timeout=20000)
            expect(page.locator("#duty-sheet img")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "05-duty-uploading.png"))
            for b in pictures:
                _upload(srv["base"], srv["edge_token"], b, "snapshot", "image/jpeg")
            expect(page.locator("#duty-uploading")).to_have_count(0, timeout=20000)
            wait_js(page, "[...document.querySelectorAll('#duty-sheet img')].length === 2 && "
                          "[...document.querySelectorAll('#duty-sheet img')].every(i => i.naturalWidth > 0)")
            page.screenshot(path=str(ARTIFACTS / "06-duty-complete.png"))
        finally:
            edge.close()
            page.screenshot(path=str(ARTIFACTS / "99-checks-last.png"))
            browser.close()
    assert errors == []


def _draw(page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    x, y, w, hgt = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + hgt * 0.7)
    page.mouse.down()
    for fx, fy in ((0.3, 0.2), (0.5, 0.8), (0.7, 0.3), (0.9, 0.6)):
        page.mouse.move(x + w * fx, y + hgt * fy, steps=4)
    page.mouse.up()


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width} px wide on a {page.viewport_size['width']} px screen"


def test_phone_layout_and_the_two_party_handover(live_server, mqtt_broker, artifacts, monkeypatch):
    expect, sync_playwright = playwright_api()
    monkeypatch.setattr(checks, "in_service_hours", lambda hall, now: False)
    from server.db.session import unit_of_work
    from server.users import create_user

    srv = live_server
    with unit_of_work(srv["app"].state.sessionmaker) as s:
        create_user(s, username=f"duty-{srv['hall_id']}", password="duty-officer-pw", role="inspector", actor="test",
                    hall_id=srv["hall_id"], display_name="值班 王")
    _publish(mqtt_broker, srv["prefix"], _finding(srv, "smoke_detected", "critical", sensor_id="smoke-hall"))
    _publish(mqtt_broker, srv["prefix"], _finding(srv, "window_unstaffed", "major", window_id="W02"))
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        phone = browser.new_page(viewport=PHONE, device_scale_factor=2, locale="zh-CN", has_touch=True)
        errors = _errors(phone)
        try:
            officer = dict(srv, user=f"duty-{srv['hall_id']}", password="duty-officer-pw")
            _login(phone, officer, "#/feed")
            expect(phone.locator("#critical-alarm")).to_be_visible(timeout=20000)  # open critical alarm on login
            phone.screenshot(path=str(ARTIFACTS / "07-phone-critical.png"))
            phone.click("#ack-alarm")
            expect(phone.locator("#alert-rows tr")).to_have_count(2, timeout=20000)
            expect(phone.locator("#alert-rows tr").first.locator(".badge.st-acknowledged")).to_be_visible()
            nav = phone.locator("#nav").bounding_box()
            assert nav["height"] >= 36 and nav["width"] >= 360
            for link in phone.locator("#nav a").all():
                b = link.bounding_box()
                assert b["x"] >= 0 and b["x"] + b["width"] <= 390, link.text_content()
            hall_cell = phone.locator("#alert-rows tr").first.locator("td").nth(1).bounding_box()
            assert hall_cell["height"] < 40  # the hall name on one line, not one character per line
            _no_horizontal_overflow(phone)
            phone.screenshot(path=str(ARTIFACTS / "08-phone-feed.png"), full_page=True)

            # the outgoing officer hands over on the phone: lists open alerts, draws, double-taps
            phone.click("#nav a[data-nav='handover']")
            expect(phone.locator("#handover-now li")).to_have_count(2)
            phone.select_option("#handover-to", label="督查 刘")
            phone.fill("#handover-notes", "烟感告警已派人查看；2号窗口空岗已电话提醒")
            phone.click("#handover-submit")
            expect(phone.locator("#handover-msg")).to_have_text("请在签名框内手写签名")
            _draw(phone, "#handover-signature")
            phone.dblclick("#handover-submit")
            expect(phone.locator("#handover-list > li")).to_have_count(1, timeout=20000)
            expect(phone.locator("#handover-list > li").first).to_have_attribute("data-status", "pending")
            _no_horizontal_overflow(phone)
            phone.screenshot(path=str(ARTIFACTS / "09-phone-handover.png"), full_page=True)

            # the safety sheet the officer signs fits the phone
            items = [c.SafetyItem(item="power_off", subject="plug-w03-pc", passed=False,
                                  detail="62 W > 10 W", value=62.0)]
            edge = EdgeResponder(mqtt_broker, srv["prefix"], srv["hall_id"], srv["cfg"].edge.id, items=items)
            try:
                phone.goto(f"{srv['base']}/console/#/safety")
                phone.click("#run-safety")
                expect(phone.locator("#safety-outcome")).to_have_text("存在不合格项", timeout=30000)
            finally:
                edge.close()
            phone.fill("#sign-comment", "已电话通知3号窗口关机👍")
            phone.click("#btn-sign")
            expect(phone.locator("#btn-sign + .msg")).to_contain_text("无法打印")
            expect(phone.locator("#btn-sign + .msg")).to_have_class(re.compile("error"))
            errors[:] = [e for e in errors if not e.startswith("HTTP 422") or not e.endswith("/sign")]  # meant to fail
            phone.fill("#sign-comment", "已电话通知3号窗口关机")
            _no_horizontal_overflow(phone)
            phone.screenshot(path=str(ARTIFACTS / "10-phone-safety.png"), full_page=True)
            phone.click("#btn-sign")
            expect(phone.locator("#signed")).to_contain_text("已电话通知3号窗口关机")

            # the incoming officer accepts with a signature of their own
            desk = browser.new_page(viewport=DESKTOP, locale="zh-CN")
            errors += _errors(desk)
            _login(desk, srv, "#/handover")
            card = desk.locator("#handover-inbox .accept-card")
            expect(card).to_have_count(1)
            expect(card.locator("li")).to_have_count(2)
            _draw(desk, "#handover-inbox canvas")
            card.locator("button.accept").click()
            expect(desk.locator("#handover-list > li").first).to_have_attribute("data-status", "accepted")
            expect(desk.locator("#handover-inbox .accept-card")).to_have_count(0)
            wait_js(desk, "[...document.querySelectorAll('#handover-list figure.sig img')].length === 2 && "
                          "[...document.querySelectorAll('#handover-list figure.sig img')]"
                          ".every(i => i.naturalWidth > 0)")
            desk.screenshot(path=str(ARTIFACTS / "11-handover-accepted.png"), full_page=True)
        finally:
            phone.screenshot(path=str(ARTIFACTS / "99-phone-last.png"))
            browser.close()
    assert errors == []


def test_the_live_indicator_turns_red_when_the_server_falls_silent(live_server, monkeypatch, artifacts):
    expect, sync_playwright = playwright_api()
    from server.console import api_alerts

    srv = live_server
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        try:
            _login(page, srv, "#/board")
            expect(page.locator("#conn")).to_contain_text("实时")
            # the server stops sending anything on the open stream (as a host that vanished would)
            monkeypatch.setattr(api_alerts, "KEEPALIVE_S", 3600.0)
            page.evaluate("window.__hwT0 = Date.now()")
            expect(page.locator("#conn")).to_contain_text("连接中断", timeout=40000)
            assert page.evaluate("Date.now() - window.__hwT0") < 30000
            page.screenshot(path=str(ARTIFACTS / "12-disconnected.png"))
        finally:
            browser.close()


def test_feed_location_grouping_export_and_a_viewer_kept_off_the_patrol_log(live_server, mqtt_broker, artifacts):
    expect, sync_playwright = playwright_api()
    from server.db.session import unit_of_work
    from server.users import create_user

    srv = live_server
    with unit_of_work(srv["app"].state.sessionmaker) as s:
        create_user(s, username=f"wall-{srv['hall_id']}", password="wall-screen-pw", role="viewer", actor="test",
                    hall_id=srv["hall_id"], display_name="大厅大屏")
    for code in ("smoke-hall", "plug-w01-pc", "lock-exit-east", "smoke-hall", "smoke-hall"):
        _publish(mqtt_broker, srv["prefix"], _finding(srv, "sensor_offline", "warning", sensor_id=code))
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
        errors = _errors(page)
        try:
            _login(page, srv, "#/feed")
            expect(page.locator("#alert-rows tr")).to_have_count(5, timeout=20000)
            expect(page.locator("#no-alerts")).to_be_hidden()
            expect(page.locator("#alert-table th").nth(2)).to_have_text("位置")
            locations = page.locator("#alert-rows td.location").all_text_contents()
            assert sorted(set(locations)) == sorted({"大厅烟感", "1号窗口电脑插座", "东侧安全出口门锁"})
            page.check("#f-group")
            expect(page.locator("#alert-rows tr")).to_have_count(3)
            expect(page.locator("#alert-rows .group-count")).to_have_text("×3")
            page.screenshot(path=str(ARTIFACTS / "13-feed-grouped.png"))
            page.select_option("#f-status", "escalated")
            expect(page.locator("#no-alerts")).to_be_visible()
            page.select_option("#f-status", "")
            expect(page.locator("#alert-rows tr")).to_have_count(3)
            with page.expect_download() as dl:
                page.click("#export-alerts")
            body = dl.value.path().read_bytes().decode("utf-8-sig")
            assert body.splitlines()[0].startswith("编号,开始时间,大厅,位置,规则") and body.count("传感器离线") == 5
        finally:
            page.screenshot(path=str(ARTIFACTS / "99-feed-last.png"))
        wall = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        try:
            _login(wall, dict(srv, user=f"wall-{srv['hall_id']}", password="wall-screen-pw"), "#/patrol")
            expect(wall.locator("#forbidden")).to_have_text("无权限执行此操作")
            expect(wall.locator("#patrol-form")).to_have_count(0)
            expect(wall.locator("#nav a[data-nav='patrol']")).to_have_count(0)
            wall.screenshot(path=str(ARTIFACTS / "14-viewer-patrol-forbidden.png"))
        finally:
            browser.close()
    assert errors == []


def test_forms_speak_plainly_and_a_big_phone_photo_is_shrunk_before_upload(live_server, tmp_path, artifacts):
    expect, sync_playwright = playwright_api()
    import numpy as np
    from PIL import Image

    srv = live_server
    big = tmp_path / "IMG_0001.jpg"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (4500, 6000, 3), dtype=np.uint8)).save(big, quality=95)
    assert big.stat().st_size > 15 * 1024 * 1024  # more than the server takes
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport=PHONE, device_scale_factor=2, locale="zh-CN", has_touch=True)
        try:
            page.goto(f"{srv['base']}/console/")
            page.click("#login-submit")
            expect(page.locator("#login-error")).to_have_text("请输入用户名和密码")
            _login(page, srv, "#/patrol")
            # the server's validation errors are shown translated, never as JSON
            text = page.evaluate("""async () => {
                const m = await import('/console/static/js/api.js');
                return m.errorText(new m.ApiError(422, 'x', [{type: 'string_too_long', loc: ['body', 'comment'],
                    msg: 'String should have at most 2000 characters', ctx: {max_length: 2000}}]));
            }""")
            assert text == "备注：太长（最多 2000 字）"
            page.fill("#patrol-description", "长" * 4100)
            assert page.eval_on_selector("#patrol-description", "e => e.value.length") == 4000
            page.fill("#patrol-description", "大厅东侧地面有积水，已放置警示牌")
            page.set_input_files("#patrol-photo", str(big))
            page.click("#patrol-form button[type=submit]")
            expect(page.locator("#patrol-msg")).to_contain_text("已保存 #", timeout=60000)
            shrunk = page.evaluate("window.__hwShrunk")
            assert shrunk["from"] == big.stat().st_size and shrunk["to"] < 3 * 1024 * 1024
            assert max(shrunk["width"], shrunk["height"]) == 2560
            expect(page.locator("#patrol-list li img.thumb")).to_have_count(1)
            page.screenshot(path=str(ARTIFACTS / "15-phone-patrol-photo.png"), full_page=True)
        finally:
            browser.close()


def _ingest(srv, msg) -> None:
    r = httpx.post(f"{srv['base']}/api/v1/ingest", content=c.encode(msg),
                   headers={"Authorization": f"Bearer {srv['edge_token']}", "Content-Type": "application/json"})
    assert r.status_code in (200, 201, 202), r.text


def test_alert_detail_has_one_chart_per_quantity_lock_states_and_details_in_words(live_server, artifacts):
    expect, sync_playwright = playwright_api()
    srv = live_server
    hall, edge = srv["hall_id"], srv["cfg"].edge.id
    t0 = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=8)
    watts = [3.0, 3.2, 1942.0, 1890.0, 1880.0, 1201.0, 2.9]
    for i, w in enumerate(watts):
        at = t0 + dt.timedelta(seconds=40 * i)
        _ingest(srv, c.SensorReading(hall_id=hall, edge_id=edge, sensor_id="plug-office-kettle", kind="power",
                                     value=w, unit="W", at=at))
        _ingest(srv, c.SensorReading(hall_id=hall, edge_id=edge, sensor_id="plug-office-kettle", kind="energy",
                                     value=139.272713 + i * 0.01, unit="kWh", at=at))
    for i, v in enumerate(("LOCK", "UNLOCK", "LOCK")):
        _ingest(srv, c.SensorReading(hall_id=hall, edge_id=edge, sensor_id="lock-exit-east", kind="lock", value=v,
                                     at=t0 + dt.timedelta(seconds=60 * i)))
    kettle = _finding(srv, "high_power_appliance", "major", sensor_id="plug-office-kettle",
                      details={"sensor_name": "后勤办公室电水壶", "watts_limit": 800, "value": 1942.0,
                               "min_s": 60, "equipment": "kettle"})
    kettle.started_at = t0 + dt.timedelta(seconds=80)
    lock = _finding(srv, "exit_locked_during_hours", "major", sensor_id="lock-exit-east", details={"value": "LOCK"})
    lock.started_at = t0 + dt.timedelta(seconds=120)
    exit_block = _finding(srv, "exit_blocked", "major", sensor_id="occupancy-exit-east",
                          details={"min_s": 300, "camera_cover": 0.0, "camera_sees_block": False})
    for f in (kettle, lock, exit_block):
        _ingest(srv, f)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        errors = _errors(page)
        try:
            _login(page, srv, "#/feed")
            page.locator("#alert-rows tr[data-rule='high_power_appliance'] a.open").click()
            expect(page.locator("canvas.sensor-chart")).to_have_count(2)
            expect(page.locator("#sensor-chart-power")).to_be_visible()
            expect(page.locator("figure", has=page.locator("#sensor-chart-energy"))).to_contain_text("用电量（kWh）")
            details = page.locator("#alert-details")
            expect(details).to_contain_text("功率上限")
            expect(details).to_contain_text("800 W")
            expect(details).to_contain_text("电水壶")
            body = page.locator("main").inner_text()
            for machine in ("watts_limit", "Invalid Date", "kettle", "139.27271"):
                assert machine not in body, machine
            page.screenshot(path=str(ARTIFACTS / "16-kettle-charts.png"), full_page=True)
            page.goto(f"{srv['base']}/console/#/feed")
            page.locator("#alert-rows tr[data-rule='exit_locked_during_hours'] a.open").click()
            expect(page.locator("#sensor-states-lock li")).to_have_count(3)
            expect(page.locator("#sensor-states-lock li").nth(1)).to_contain_text("未上锁")
            assert "Invalid Date" not in page.locator("main").inner_text()
            page.screenshot(path=str(ARTIFACTS / "17-lock-states.png"), full_page=True)
            page.goto(f"{srv['base']}/console/#/feed")
            page.locator("#alert-rows tr[data-rule='exit_blocked'] a.open").click()
            details = page.locator("#alert-details")
            expect(details).to_contain_text("摄像头画面可见堵塞")  # the sensor's alarm, the camera's view beside it
            expect(details.locator("dd", has_text="否")).to_have_count(1)
            assert "camera_" not in page.locator("main").inner_text()
        finally:
            browser.close()
    assert errors == []
