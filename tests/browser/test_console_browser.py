"""End to end in a real headless Chromium (Debian ``chromium``, driven by Playwright with executable_path):
log in, watch a live alert arrive from a finding published over MQTT, open its evidence, confirm it, run a
duty check (answered by a real edge-side MQTT responder), run a safety check, sign it and download its PDF.
Screenshots go to ``test-artifacts/console/``."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from edge import contract as c
from edge.paths import PROJECT_ROOT
from server.console.settings import ConsoleSettings
from server.db.session import unit_of_work
from server.edges import issue_edge_token
from server.siteimport import import_site
from server.users import create_user
from tests.live import LiveServer, fresh_artifacts, launch_chromium, playwright_api, wait_js
from tests.test_console_helpers import EdgeResponder, make_console

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "console"


@pytest.fixture
def live_server(tmp_path, database_url, mqtt_broker, topic_prefix, demo_config_path):
    """The real app under uvicorn on a free port (MQTT consumer on the test broker), with a seeded hall."""
    app, cfg, hall_id = make_console(tmp_path, database_url, mqtt_broker, topic_prefix, demo_config_path,
                                     ConsoleSettings(background=False), mqtt_enabled=True)
    server = LiveServer(lambda: app).start()
    with unit_of_work(app.state.sessionmaker) as s:
        import_site(s, cfg, today=dt.date(2026, 1, 1))
        create_user(s, username=f"sup-{hall_id}", password="supervisor-pw", role="supervisor", actor="test",
                    hall_id=hall_id, display_name="督查 刘")
        _, token = issue_edge_token(s, hall_id, cfg.edge.id, actor="test")
    assert app.state.mqtt.subscribed.wait(60), "server consumer did not subscribe"
    base = server.base
    yield {"app": app, "base": base, "hall_id": hall_id, "cfg": cfg, "edge_token": token,
           "user": f"sup-{hall_id}", "password": "supervisor-pw", "prefix": topic_prefix}
    server.stop()


def _upload(base: str, token: str, data: bytes, kind: str, ctype: str) -> c.EvidenceRef:
    import hashlib

    import httpx

    sha = hashlib.sha256(data).hexdigest()
    r = httpx.put(f"{base}/api/v1/evidence/{sha}", content=data, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 201), r.text
    return c.EvidenceRef(sha256=sha, kind=kind, content_type=ctype, size=len(data))


def _publish(broker, prefix: str, msg: c._Msg) -> None:
    import paho.mqtt.client as mqtt

    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-pub-{uuid.uuid4().hex[:8]}",
                      protocol=mqtt.MQTTv5)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        pub.publish(c.topic_for(msg, prefix), c.encode(msg), qos=1).wait_for_publish(10)
    finally:
        pub.loop_stop()
        pub.disconnect()


def shot(page, name: str, full: bool = True) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)


def test_console_flow_in_headless_chromium(live_server, mqtt_broker, media_dir, monkeypatch):
    from server.console import checks

    monkeypatch.setattr(checks, "in_service_hours", lambda hall, now: False)  # the evening check, whatever the clock
    expect, sync_playwright = playwright_api()
    fresh_artifacts(ARTIFACTS)
    srv, hall_id = live_server, live_server["hall_id"]
    base, edge_id, prefix = srv["base"], srv["cfg"].edge.id, srv["prefix"]
    snapshot = _upload(base, srv["edge_token"], sorted((media_dir / "images" / "phone-negatives").glob("*.jpg"))[0]
                       .read_bytes(), "snapshot", "image/jpeg")
    clip = _upload(base, srv["edge_token"], (media_dir / "video" / "bwssytems_5977270-sd_640_360_25fps.mp4")
                   .read_bytes(), "clip", "video/mp4")
    counter = [_upload(base, srv["edge_token"], p.read_bytes(), "snapshot", "image/jpeg")
               for p in sorted((media_dir / "images").glob("*/*.jpg"))[:3]]

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.on("response", lambda r: console_errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        try:
            # -- log in
            page.goto(f"{base}/console/")
            page.fill("#username", srv["user"])
            page.fill("#password", "wrong-password")
            page.click("#login-submit")
            expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
            page.fill("#password", srv["password"])
            page.click("#login-submit")
            expect(page.locator("#nav a[data-nav='feed']")).to_have_text("实时告警")
            console_errors.clear()  # the wrong password above was meant to fail
            expect(page.locator("#conn")).to_contain_text("实时")  # SSE connected
            expect(page.locator("#no-alerts")).to_be_visible()
            shot(page, "01-feed-empty.png", full=False)

            # -- a finding published over MQTT arrives live, with the visible and audible cue
            started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=15)
            finding = c.FindingOpened(hall_id=hall_id, edge_id=edge_id, finding_id=uuid.uuid4(), rule="phone_use",
                                      severity="major", started_at=started, window_id="W03", camera_id="cam-w03",
                                      confidence=0.58, details={"phone_ratio": 0.73, "seconds": 12.5},
                                      evidence=[snapshot, clip])
            _publish(mqtt_broker, prefix, finding)
            row = page.locator("#alert-rows tr[data-rule='phone_use']")
            expect(row).to_have_count(1, timeout=20000)
            expect(page.locator("#new-alert-banner")).to_contain_text("玩手机")
            assert page.evaluate("window.__hwBeeps || 0") >= 1
            shot(page, "02-feed-live-alert.png", full=False)

            # -- evidence: annotated snapshot and a playable clip
            row.locator("a.open").click()
            expect(page.locator("#alert-title")).to_contain_text("玩手机")
            wait_js(page, "document.querySelector('#snapshot') && document.querySelector('#snapshot').naturalWidth > 0")
            wait_js(page, "document.querySelector('#clip') && document.querySelector('#clip').readyState >= 1",
                    timeout_ms=20000)
            assert page.evaluate("document.querySelector('#clip').duration") > 5
            shot(page, "03-alert-evidence.png")

            # -- confirm with a comment: it becomes a patrol finding
            page.fill("#action-comment", "监控复核属实，已提醒")
            page.click("#btn-confirm")
            expect(page.locator("#action-done")).to_contain_text("已生成巡查记录")
            expect(page.locator("#timeline li")).to_have_count(2)
            expect(page.locator("dl.facts")).to_contain_text("已核实")
            shot(page, "04-alert-confirmed.png")

            # -- hall board: window states and device health from the edge, live
            page.click("#nav a[data-nav='board']")
            expect(page.locator(".tile[data-window-id='W08']")).to_have_attribute("data-state", "closed")
            now = dt.datetime.now(dt.timezone.utc)
            for w, state, n in (("W01", "staffed", 1), ("W02", "empty", 0), ("W03", "staffed", 1), ("W04", "staffed", 2)):
                _publish(mqtt_broker, prefix, c.WindowState(hall_id=hall_id, edge_id=edge_id, window_id=w, state=state,
                                                            since=now - dt.timedelta(minutes=4), persons=n))
            _publish(mqtt_broker, prefix, c.Heartbeat(hall_id=hall_id, edge_id=edge_id, cameras=[
                c.CameraHealth(camera_id="cam-w01", state="ok", fps=2.0, lag_s=0.2),
                c.CameraHealth(camera_id="cam-w02", state="frozen", fps=0.0, lag_s=120.0)],
                sensors=[c.SensorHealth(sensor_id="smoke-hall", online=True, last_seen=now)]))
            expect(page.locator(".tile[data-window-id='W02']")).to_have_attribute("data-state", "empty", timeout=20000)
            expect(page.locator(".tile[data-window-id='W02'] .since")).to_contain_text("空岗自")
            expect(page.locator("li[data-id='cam-w02']")).to_have_attribute("data-health", "bad", timeout=20000)
            shot(page, "05-board.png")

            # -- duty check answered by a real edge-side MQTT client
            windows = [c.WindowSnapshot(window_id=w, state=s, persons=n, camera_id=f"cam-{w.lower()}", evidence=[e])
                       for (w, s, n), e in zip([("W01", "staffed", 1), ("W02", "empty", 0), ("W03", "staffed", 1)],
                                               counter)]
            items = [c.SafetyItem(item="nobody_present", subject=hall_id, passed=True, detail="0 persons",
                                  evidence=[counter[0]]),
                     c.SafetyItem(item="power_off", subject="plug-w03-pc", passed=False, detail="62 W > 10 W",
                                  value=62.0)]
            edge = EdgeResponder(mqtt_broker, prefix, hall_id, edge_id, windows=windows, items=items)
            try:
                page.click("#nav a[data-nav='duty']")
                page.click("#run-duty")
                expect(page.locator("#duty-sheet .sheet-card[data-window-id='W02']")).to_have_attribute(
                    "data-state", "empty", timeout=20000)
                wait_js(page, "[...document.querySelectorAll('#duty-sheet img')].length === 3 && "
                                       "[...document.querySelectorAll('#duty-sheet img')].every(i => i.naturalWidth > 0)")
                shot(page, "06-duty-sheet.png")

                # -- safety check, sign off, PDF
                page.click("#nav a[data-nav='safety']")
                page.click("#run-safety")
                expect(page.locator("#safety-outcome")).to_have_text("存在不合格项", timeout=20000)
                expect(page.locator("#safety-items tr[data-item='power_off'][data-subject='plug-w03-pc'] .badge")
                       ).to_have_text("不合格")
            finally:
                edge.close()
            page.fill("#sign-comment", "已电话通知3号窗口")
            page.click("#btn-sign")
            expect(page.locator("#signed")).to_contain_text("督查 刘")
            shot(page, "07-safety-check.png")
            with page.expect_download() as dl:
                page.click("#safety-pdf")
            pdf = ARTIFACTS / "safety-check.pdf"
            dl.value.save_as(pdf)
            assert pdf.read_bytes().startswith(b"%PDF")

            # -- English switch, and the patrol page on a phone-sized screen
            page.click("#lang")
            expect(page.locator("#nav a[data-nav='feed']")).to_have_text("Live alerts")
            shot(page, "08-english.png")
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                     storage_state=page.context.storage_state())
            phone.goto(f"{base}/console/#/patrol")
            phone.select_option("#patrol-category", "environment")
            phone.select_option("#patrol-window", "W02")
            phone.fill("#patrol-description", "2号窗口桌面杂乱")
            phone.set_input_files("#patrol-photo", str(sorted((media_dir / "images" / "exits").glob("*.png"))[0]))
            phone.click("#patrol-form button[type=submit]")
            expect(phone.locator("#patrol-msg")).to_contain_text("#")
            expect(phone.locator("#patrol-list li")).to_have_count(2)  # this one + the confirmed alert
            shot(phone, "09-patrol-phone.png")
        finally:
            page.screenshot(path=str(ARTIFACTS / "99-last.png"))
            browser.close()
    assert console_errors == []
