"""Notifications against local receivers: a WeCom robot, a DingTalk robot that checks its 加签 signature, a
webhook receiver that verifies the HMAC header, and a real SMTP server (aiosmtpd). Escalation and critical alarms
are queued in the event's own transaction, delivered by ``deliver_due``, retried while a receiver fails, and
never sent twice."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import uuid
from email import message_from_bytes
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from sqlalchemy import select

from server import notify
from server.console.escalation import sweep
from server.db import Alert, utcnow
from server.notify import formats
from server.people.models import NotificationChannel, NotificationDelivery
from server.testing import *  # fixtures: client, db_session, …
from tests.conftest import free_port, need
from tests.people_helpers import Hall, local, make_hall

DING_SECRET = "SEC0123456789abcdef-test-secret"
HOOK_SECRET = "webhook-hmac-key-" + "k" * 16


class Receiver:
    """A local HTTP server that records requests and answers like the robot it stands for."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next = 0  # answer HTTP 500 to this many requests
        self.robot_error_next = 0  # answer {"errcode": 310000} (DingTalk's sign mismatch) to this many
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                u = urlparse(self.path)
                outer.requests.append({"path": u.path, "query": parse_qs(u.query), "headers": dict(self.headers),
                                       "body": body})
                if outer.fail_next:
                    outer.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                errcode = 0
                if u.path == "/robot/send" and not outer.dingtalk_sign_ok(u.query):
                    errcode = 310000
                if outer.robot_error_next:
                    outer.robot_error_next -= 1
                    errcode = 45009
                reply = json.dumps({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "refused"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def dingtalk_sign_ok(query: str) -> bool:
        """DingTalk's check: sign = base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")), timestamp within 1 h."""
        q = parse_qs(query)
        if "timestamp" not in q or "sign" not in q:
            return False
        ts = int(q["timestamp"][0])
        want = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
        return abs(time.time() * 1000 - ts) < 3600_000 and hmac.compare_digest(q["sign"][0], want)

    def of(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def smtp():
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        need(False, "python package 'aiosmtpd' not installed (dev extra)")

    class Inbox:
        def __init__(self) -> None:
            self.mails: list = []

        async def handle_DATA(self, server, session, envelope):
            self.mails.append(envelope)
            return "250 OK"

    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
    ctl.start()
    inbox.port = ctl.port
    yield inbox
    ctl.stop()


@pytest.fixture
def hall(client, db_session) -> Hall:
    return make_hall(client, db_session)


def channels(hall: Hall, receiver: Receiver, smtp_port: int | None = None) -> dict[str, int]:
    url = f"/api/v1/people/halls/{hall.hall_id}/channels"
    specs = {
        "wecom": {"kind": "wecom", "name": "值班群", "url": f"{receiver.base}/cgi-bin/webhook/send?key=abc"},
        "dingtalk": {"kind": "dingtalk", "name": "督查群", "url": f"{receiver.base}/robot/send?access_token=t0k",
                     "secret": DING_SECRET, "options": {"at_mobiles": ["13800000000"]}},
        "webhook": {"kind": "webhook", "name": "市平台", "url": f"{receiver.base}/hook", "secret": HOOK_SECRET,
                    "events": ["alert.escalated", "alert.critical", "appeal.filed"]},
    }
    if smtp_port:
        specs["smtp"] = {"kind": "smtp", "name": "考核办邮箱", "url": f"smtp://127.0.0.1:{smtp_port}",
                         "options": {"sender": "hallwatch@example.gov.cn", "recipients": ["kaohe@example.gov.cn"]}}
    out = {}
    for name, body in specs.items():
        r = hall.post(url, "admin", json=body)
        assert r.status_code == 201, r.text
        assert "secret" not in r.json() and r.json()["has_secret"] == ("secret" in body)
        out[name] = r.json()["id"]
    return out


def deliver(hall: Hall, ids: dict[str, int], now: dt.datetime | None = None) -> dict[str, int]:
    return notify.deliver_due(hall.client.app.state.sessionmaker, now, channel_ids=list(ids.values()))


def test_escalation_reaches_every_channel_in_its_format(hall, receiver, smtp):
    ids = channels(hall, receiver, smtp.port)
    fid = hall.finding("smoking", "W03", local(2026, 11, 23, 10, 5), severity="major")
    assert sweep(hall.session, utcnow() + dt.timedelta(minutes=20), 10, hall_ids=[hall.hall_id])
    hall.session.commit()
    assert sweep(hall.session, utcnow() + dt.timedelta(minutes=40), 10, hall_ids=[hall.hall_id]) == []  # once
    assert deliver(hall, ids) == {"sent": 4, "retry": 0, "failed": 0}
    assert deliver(hall, ids) == {"sent": 0, "retry": 0, "failed": 0}  # nothing sent twice

    (wecom,) = receiver.of("/cgi-bin/webhook/send")
    body = json.loads(wecom["body"])
    assert body["msgtype"] == "markdown" and wecom["query"] == {"key": ["abc"]}
    assert "HallWatch 告警升级" in body["markdown"]["content"] and "3号 劳动保障" in body["markdown"]["content"]
    (ding,) = receiver.of("/robot/send")
    assert ding["query"]["access_token"] == ["t0k"]
    assert Receiver.dingtalk_sign_ok(urlencode({k: v[0] for k, v in ding["query"].items()}))  # as DingTalk checks
    dbody = json.loads(ding["body"])
    assert dbody["msgtype"] == "markdown" and dbody["markdown"]["title"] == "HallWatch 告警升级"
    assert "抽烟" in dbody["markdown"]["text"] and dbody["at"]["atMobiles"] == ["13800000000"]
    (hook,) = receiver.of("/hook")
    assert formats.verify_webhook(HOOK_SECRET, hook["headers"], hook["body"], int(time.time()))
    assert not formats.verify_webhook("wrong", hook["headers"], hook["body"], int(time.time()))
    assert not formats.verify_webhook(HOOK_SECRET, hook["headers"], hook["body"], int(time.time()) + 3600)  # replay
    payload = json.loads(hook["body"])
    assert payload["event"] == "alert.escalated" and payload["alert"]["finding_id"] == fid
    assert payload["hall"]["id"] == hall.hall_id and payload["after_min"] == 10
    (mail,) = smtp.mails
    msg = message_from_bytes(mail.content, policy=email_policy)
    assert mail.rcpt_tos == ["kaohe@example.gov.cn"] and "HallWatch 告警升级" in msg["Subject"]
    assert "规则：抽烟（较重）" in msg.get_content()


def test_critical_alarm_goes_out_at_once_and_failures_are_retried(hall, receiver):
    ids = channels(hall, receiver)
    receiver.fail_next = 1  # the first request (WeCom, the first channel) gets HTTP 500
    receiver.robot_error_next = 1  # the next robot answer is errcode 45009 (rate limited)
    hall.finding("smoke_detected", None, local(2026, 11, 23, 18, 40), severity="critical")
    assert deliver(hall, ids) == {"sent": 1, "retry": 2, "failed": 0}
    rows = list(hall.session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.channel_id.in_(ids.values()))))
    hall.session.expire_all()
    failed = [d for d in rows if d.status == "pending"]
    assert {d.event for d in rows} == {"alert.critical"} and len(failed) == 2
    assert all(d.last_error for d in failed)
    assert deliver(hall, ids) == {"sent": 0, "retry": 0, "failed": 0}  # backing off: not due yet
    later = utcnow() + dt.timedelta(minutes=5)
    assert deliver(hall, ids, later) == {"sent": 2, "retry": 0, "failed": 0}
    log = hall.get(f"/api/v1/people/halls/{hall.hall_id}/deliveries", "admin").json()
    assert {(x["channel"]["kind"], x["status"], x["attempts"]) for x in log} == {
        ("wecom", "sent", 2), ("dingtalk", "sent", 2), ("webhook", "sent", 1)}


def test_a_receiver_that_stays_down_is_given_up_after_max_attempts(hall, receiver):
    ids = channels(hall, receiver)
    receiver.fail_next = 100
    hall.finding("smoke_detected", None, local(2026, 11, 23, 18, 40), severity="critical")
    now = utcnow()
    results = []
    for i in range(3):
        results.append(notify.deliver_due(hall.client.app.state.sessionmaker, now + dt.timedelta(hours=i + 1),
                                          channel_ids=list(ids.values()), max_attempts=3))
    assert results[-1] == {"sent": 0, "retry": 0, "failed": 3}
    assert results[0] == {"sent": 0, "retry": 3, "failed": 0}


def test_same_event_is_queued_once_per_channel_and_only_where_subscribed(hall, receiver):
    channels(hall, receiver)
    hall.finding("phone_use", "W01", local(2026, 11, 23, 10))
    alert = hall.session.scalars(select(Alert).where(Alert.hall_id == hall.hall_id)).first()
    assert notify.notify_alert(hall.session, alert, "alert.escalated") == 3
    assert notify.notify_alert(hall.session, alert, "alert.escalated") == 0
    assert notify.enqueue(hall.session, hall.hall_id, "appeal.filed", {"appeal": {"staff_name": "王建国",
                                                                                  "rule": "phone_use"}},
                          "appeal.filed:1") == 1  # only the webhook takes appeals


@pytest.mark.parametrize(
    ("body", "error"),
    [({"kind": "wecom", "name": "x", "url": "ftp://x"}, "http(s) url"),
     ({"kind": "smtp", "name": "x", "url": "smtp://mail.example"}, "sender"),
     ({"kind": "smtp", "name": "x", "url": "http://mail", "options": {"sender": "a@b", "recipients": ["c@d"]}},
      "smtp://"),
     ({"kind": "webhook", "name": "x", "url": "https://x", "events": ["alert.opened"]}, "unknown event"),
     ({"kind": "sms", "name": "x", "url": "https://x"}, "kind")],
)
def test_bad_channels_are_refused(hall, body, error):
    r = hall.post(f"/api/v1/people/halls/{hall.hall_id}/channels", "admin", json=body)
    assert r.status_code == 422 and error in r.text, r.text


def test_test_message_and_channel_changes(hall, receiver):
    ids = channels(hall, receiver)
    r = hall.post(f"/api/v1/people/channels/{ids['webhook']}/test", "admin")
    assert r.status_code == 202
    assert deliver(hall, {"w": ids["webhook"]}) == {"sent": 1, "retry": 0, "failed": 0}
    assert json.loads(receiver.of("/hook")[0]["body"])["event"] == "test"
    p = hall.client.patch(f"/api/v1/people/channels/{ids['webhook']}", headers=hall.h("admin"),
                          json={"enabled": False, "secret": ""})
    assert p.json()["enabled"] is False and p.json()["has_secret"] is False
    assert hall.client.delete(f"/api/v1/people/channels/{ids['wecom']}", headers=hall.h("admin")).status_code == 204
    assert {c["id"] for c in hall.get(f"/api/v1/people/halls/{hall.hall_id}/channels", "admin").json()} == {
        ids["dingtalk"], ids["webhook"]}


def test_dingtalk_signature_matches_the_documented_example():
    # the documented recipe: sign = urlencode(base64(hmac_sha256(secret, f"{timestamp}\n{secret}")))
    ts, secret = 1577262236757, "this is secret"
    raw = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
    from urllib.parse import quote_plus

    assert formats.dingtalk_sign(secret, ts) == quote_plus(raw)
    url = formats.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=abc", secret, ts)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1577262236757&sign=")


def test_the_app_loop_delivers_what_an_escalation_queued(tmp_path, database_url, receiver):
    """The people loop of a running app (lifespan) delivers notifications by itself."""
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.db.session import unit_of_work
    from server.settings import Settings
    from server.siteimport import import_site
    from server.testing import drop_hall, unique_site
    from tests.conftest import wait_until

    settings = Settings(data_dir=tmp_path, database_url=database_url, mqtt_enabled=False, people_background=True,
                        notify_interval_s=0.2, retention_enabled=False)
    app = create_app(settings)
    cfg = unique_site()
    try:
        with TestClient(app):
            with unit_of_work(app.state.sessionmaker) as s:
                import_site(s, cfg, actor="test", today=dt.date(2026, 1, 1))
                from server.db import Finding

                f = Finding(finding_id=str(uuid.uuid4()), hall_id=cfg.hall.id, edge_code="e", rule="smoke_detected",
                            severity="critical", started_at=utcnow())
                s.add(f)
                s.flush()
                from server.alerts import open_alert

                alert = open_alert(s, f, actor="test")
                s.add(NotificationChannel(hall_id=cfg.hall.id, kind="webhook", name="hook",
                                                 url=f"{receiver.base}/hook", secret=HOOK_SECRET,
                                                 events=["alert.critical"], created_by="test"))
                s.flush()
                notify.notify_alert(s, alert, "alert.critical")
            assert wait_until(lambda: receiver.of("/hook"), 30), "the loop did not deliver"
        (hook,) = receiver.of("/hook")
        assert json.loads(hook["body"])["event"] == "alert.critical"
    finally:
        drop_hall(app.state.engine, cfg.hall.id)
        app.state.engine.dispose()
