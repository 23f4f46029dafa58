"""Message formats of each channel, as their vendors document them (pure functions, no I/O).

- WeCom (企业微信) group robot: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
  ``{"msgtype": "markdown", "markdown": {"content": …}}``; success is ``{"errcode": 0, "errmsg": "ok"}``.
- DingTalk (钉钉) custom robot: ``POST https://oapi.dingtalk.com/robot/send?access_token=…&timestamp=…&sign=…``
  with ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``. With 加签 security, ``timestamp`` is the
  current time in milliseconds and ``sign`` is ``urlencode(base64(HMAC-SHA256(key=secret,
  msg=f"{timestamp}\\n{secret}")))``; DingTalk rejects a timestamp more than an hour off. Success is
  ``{"errcode": 0, …}``. The text always contains "HallWatch", so a robot secured by keyword accepts it too.
- Signed webhook (anything else): the JSON payload, with ``X-HallWatch-Event``, ``X-HallWatch-Delivery`` (unique
  per delivery: receivers deduplicate on it), ``X-HallWatch-Timestamp`` (Unix seconds) and
  ``X-HallWatch-Signature: sha256=<hex HMAC-SHA256(key=secret, msg=f"{timestamp}.{body}")>`` (``verify_webhook``
  shows the receiver's side).
- Mail: a plain-text UTF-8 message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from email.message import EmailMessage
from typing import Any

TITLES = {"alert.escalated": "告警升级", "alert.critical": "严重告警", "appeal.filed": "新的申诉",
          "test": "测试消息"}
SEVERITY = {"info": "提示", "warning": "一般", "major": "较重", "critical": "严重"}
STATUS = {"open": "待处理", "acknowledged": "已确认收到", "confirmed": "已核实", "dismissed": "误报", "closed": "已关闭"}
SIGNATURE_HEADER = "X-HallWatch-Signature"


def lines(payload: dict[str, Any]) -> tuple[str, list[str]]:
    """(title, lines) of a notification in Chinese, the language of the halls' group chats."""
    event = payload.get("event", "")
    hall = (payload.get("hall") or {}).get("name") or (payload.get("hall") or {}).get("id") or ""
    title = f"HallWatch {TITLES.get(event, event)}"
    out = [f"【{title}】{hall}"]
    a = payload.get("alert")
    if a:
        out.append(f"规则：{a.get('rule_name') or a.get('rule')}（{SEVERITY.get(a.get('severity'), a.get('severity'))}）")
        if a.get("window_name") or a.get("window_id"):
            number = f"{a['window_number']}号 " if a.get("window_number") else ""
            out.append(f"窗口：{number}{a.get('window_name') or a.get('window_id')}")
        if a.get("sensor_name"):
            out.append(f"设备：{a['sensor_name']}")
        out.append(f"开始：{(a.get('started_at') or '')[:16].replace('T', ' ')}")
        status = STATUS.get(a.get("status"), a.get("status"))
        if event == "alert.escalated" and payload.get("after_min") is not None:
            status += f"，已超过 {payload['after_min']:g} 分钟无人确认"
        out.append(f"状态：{status}")
    ap = payload.get("appeal")
    if ap:
        out.append(f"申诉人：{ap.get('staff_name')}　事项：{ap.get('rule_name') or ap.get('rule')}")
        out.append(f"理由：{ap.get('reason')}")
    if payload.get("text"):
        out.append(str(payload["text"]))
    if payload.get("url"):
        out.append(f"详情：{payload['url']}")
    return title, out


def markdown(payload: dict[str, Any]) -> tuple[str, str]:
    title, ls = lines(payload)
    body = [f"### {ls[0]}"] + [f"> {x}" if not x.startswith("详情：") else
                                f"[查看详情]({x.removeprefix('详情：')})" for x in ls[1:]]
    return title, "\n\n".join(body)


def wecom_body(payload: dict[str, Any], mentioned_mobiles: list[str] | None = None) -> dict[str, Any]:
    _, text = markdown(payload)
    if mentioned_mobiles:  # markdown messages cannot @ people; a text message can
        return {"msgtype": "text", "text": {"content": "\n".join(lines(payload)[1]),
                                            "mentioned_mobile_list": mentioned_mobiles}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


def dingtalk_body(payload: dict[str, Any], at_mobiles: list[str] | None = None) -> dict[str, Any]:
    title, text = markdown(payload)
    if at_mobiles:
        text += "\n\n" + " ".join(f"@{m}" for m in at_mobiles)
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text},
            "at": {"atMobiles": at_mobiles or [], "isAtAll": False}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value of DingTalk's 加签 scheme (already URL-encoded)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def webhook_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def webhook_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_webhook(secret: str, headers: dict[str, str], body: bytes, now_s: int, tolerance_s: int = 300) -> bool:
    """The receiver's check: the signature matches and the timestamp is recent (replays are refused)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        ts = int(lower.get("x-hallwatch-timestamp", ""))
    except ValueError:
        return False
    if abs(now_s - ts) > tolerance_s:
        return False
    return hmac.compare_digest(lower.get(SIGNATURE_HEADER.lower(), ""), webhook_signature(secret, ts, body))


def mail(payload: dict[str, Any], sender: str, recipients: list[str]) -> EmailMessage:
    title, ls = lines(payload)
    msg = EmailMessage()
    msg["Subject"] = ls[0]
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["X-HallWatch-Event"] = str(payload.get("event", ""))
    msg.set_content("\n".join(ls) + "\n\n-- \n" + title + "\n", charset="utf-8")
    return msg
