"""The safety-check lines in Chinese: the judges (``server.console.safety``, the edge's ``SafetyItem.detail``)
write short English machine phrases; the console and the PDF show them in words, numbers formatted.

``detail_zh`` is a pure function: known phrases are translated, numbers keep their value; an unknown phrase
is returned unchanged (the sheet never loses what the edge said)."""

from __future__ import annotations

import re
from collections.abc import Callable

STATE_ZH = {
    "locked": "已上锁", "unlocked": "未上锁", "closed": "已关闭", "open": "未关闭", "smoke": "烟雾报警",
    "normal": "正常", "occupied": "有物品占用", "clear": "畅通", "ok": "正常", "offline": "离线", "frozen": "画面冻结",
    "covered": "画面被遮挡", "dark": "画面过暗", "starting": "启动中", "unknown": "未知", "error": "出错",
    "switched on": "未关闭（开）", "switched off": "已关闭", "no picture": "无画面",
}
KIND_ZH = {"power": "功率", "lock": "门锁", "contact": "门磁", "smoke": "烟感", "occupancy": "占用", "door": "门磁",
           "sensor": "烟感"}


def _num(x: str, digits: int = 1) -> str:
    v = float(x)
    return f"{v:,.{digits}f}" if v != int(v) or digits == 0 else f"{int(v):,}"


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^([\d.]+) W (≤|>) ([\d.]+) W$"),
     lambda m: f"{_num(m[1])} W，{'未超过' if m[2] == '≤' else '超过'}待机功率 {_num(m[3])} W"),
    (re.compile(r"^([\d.]+) W \((≤|>) standby ([\d.]+) W\)$"),
     lambda m: f"{_num(m[1])} W，{'未超过' if m[2] == '≤' else '超过'}待机功率 {_num(m[3])} W"),
    (re.compile(r"^relay off$"), lambda m: "继电器已断开"),
    (re.compile(r"^no (\w+) reading yet$"), lambda m: f"尚无{KIND_ZH.get(m[1], m[1])}读数"),
    (re.compile(r"^(lock|contact|smoke|occupancy|door|exit lock|smoke sensor|door contact) (\S+)$"),
     lambda m: f"{KIND_ZH.get(m[1].split()[-1], m[1])}：{_state(m[1].split()[-1], m[2])}"),
    (re.compile(r"^last seen never$"), lambda m: "从未上报"),
    (re.compile(r"^last seen (\d{4}-\d\d-\d\dT[\d:]+)(?:[+-]\d\d:\d\d|Z)?$"),
     lambda m: f"最后上报 {m[1].replace('T', ' ')}"),
    (re.compile(r"^no (\w+) reading$"), lambda m: f"近 6 小时无{KIND_ZH.get(m[1], m[1])}读数"),
    (re.compile(r"^unknown (\w+) state '?(.*?)'?$"), lambda m: f"{KIND_ZH.get(m[1], m[1])}状态无法识别：{m[2]}"),
    (re.compile(r"^unknown occupancy '?(.*?)'?$"), lambda m: f"占用状态无法识别：{m[1]}"),
    (re.compile(r"^never seen$"), lambda m: "从未上报"),
    (re.compile(r"^edge reports (online|offline)$"), lambda m: f"边缘端报告{'在线' if m[1] == 'online' else '离线'}"),
    (re.compile(r"^silent for (\d+) s > (\d+) s$"), lambda m: f"已 {_num(m[1], 0)} 秒无数据（超过 {_num(m[2], 0)} 秒）"),
    (re.compile(r"^last reading (\d+) s ago$"), lambda m: f"{_num(m[1], 0)} 秒前有读数"),
    (re.compile(r"^camera state (\w+)$"), lambda m: f"摄像头{STATE_ZH.get(m[1], m[1])}"),
    (re.compile(r"^(\d+) persons?(?:\(s\))?(?: seen)?$"), lambda m: f"画面中 {m[1]} 人"),
    (re.compile(r"^objects cover (\d+)% of the exit zone$"), lambda m: f"出口区域被物品遮挡 {m[1]}%"),
    (re.compile(r"^sensor kind (\w+) not judged$"), lambda m: f"不判断此类传感器（{m[1]}）"),
]


BOOL_ZH = {"smoke": ("烟雾报警", "正常"), "sensor": ("烟雾报警", "正常"), "occupancy": ("有物品占用", "畅通"),
           "contact": ("已关闭", "未关闭"), "door": ("已关闭", "未关闭"), "lock": ("已上锁", "未上锁")}


def _state(kind: str, word: str) -> str:
    """A two-state reading in words; true/false mean what they mean for the kind (zigbee2mqtt: contact true =
    closed, smoke true = alarm)."""
    w = word.lower()
    if w in ("true", "false", "1", "0") and kind in BOOL_ZH:
        return BOOL_ZH[kind][0 if w in ("true", "1") else 1]
    return STATE_ZH.get(w, {"lock": "已上锁", "unlock": "未上锁"}.get(w, word))


def detail_zh(detail: str | None) -> str:
    """One sheet line's detail in Chinese; joined parts ("a; sensor: b") are translated one by one."""
    if not detail:
        return ""
    parts = []
    for part in detail.split("; "):
        name, sep, rest = part.partition(": ")
        if sep and not re.match(r"^[a-z]", name):  # "东侧安全出口通道占用: occupied"
            parts.append(f"{name}：{_one(rest)}")
        else:
            parts.append(_one(part))
    return "；".join(parts)


def _one(text: str) -> str:
    key = text.strip()
    if key.lower() in STATE_ZH:
        return STATE_ZH[key.lower()]
    for pattern, fn in _RULES:
        m = pattern.match(key)
        if m:
            return fn(m)
    return key
