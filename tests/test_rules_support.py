"""Helpers for the rule tables: a test hall, scripted detections and a frame-stream simulator.

Scripted detections are allowed in unit tests (the rules are pure); the end-to-end tests use the real model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from edge.detections import Detections
from edge.rules.base import FrameContext, RuleEvent
from edge.site import SiteConfig

TZ = ZoneInfo("Asia/Shanghai")
NAMES = {0: "person", 28: "suitcase", 56: "chair", 67: "cell phone"}
CLS = {v: k for k, v in NAMES.items()}
SHAPE = (100, 200)  # h, w of the scripted frames
# boxes of a seated clerk in the left (W01) and right (W02) halves of camA
P_W01 = ("person", (30, 20, 70, 90), 0.8)
P_W02 = ("person", (130, 20, 170, 90), 0.8)
MONDAY = "2026-11-23"  # a regular workday
HOLIDAY = "2026-10-01"  # Thursday, public holiday
MAKEUP = "2026-10-10"  # Saturday, make-up workday
SUNDAY = "2026-11-22"


def site(**rules: Any) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "test", "name": "测试大厅"},
        "schedule": {"sessions": ["08:30-12:00", "13:00-17:30"], "midday_duty": "12:00-13:00",
                     "holidays": [HOLIDAY], "makeup_workdays": [MAKEUP], "closing_grace_min": 30},
        "windows": [
            {"id": "W01", "number": 1, "name": "一号", "staff_a": None},
            {"id": "W02", "number": 2, "name": "二号", "midday_duty": True},
            {"id": "W03", "number": 3, "name": "三号", "closed": True},
        ],
        "cameras": [
            {"id": "camA", "name": "A", "source": "a.mp4", "zones": [
                {"id": "seat-w01", "kind": "seat", "window": "W01", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
                {"id": "seat-w02", "kind": "seat", "window": "W02", "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]},
            ]},
            {"id": "camB", "name": "B", "source": "b.mp4", "zones": [
                {"id": "seat-w01-b", "kind": "seat", "window": "W01", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
                {"id": "seat-w03", "kind": "seat", "window": "W03", "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]},
            ]},
            {"id": "camX", "name": "X", "source": "x.mp4", "zones": [
                {"id": "exit-1", "kind": "exit", "polygon": [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]},
            ]},
        ],
        "rules": rules,
    })


def local(s: str) -> dt.datetime:
    """'2026-11-23 10:00:00' -> naive local."""
    return dt.datetime.fromisoformat(s)


def utc(s: str) -> dt.datetime:
    return local(s).replace(tzinfo=TZ).astimezone(dt.UTC)


def dets(*items: tuple[str, tuple[float, float, float, float], float]) -> Detections:
    if not items:
        return Detections.empty(NAMES)
    return Detections(
        xyxy=np.array([b for _, b, _ in items], np.float32),
        confidence=np.array([c for _, _, c in items], np.float32),
        class_id=np.array([CLS[n] for n, _, _ in items], np.int32),
        names=NAMES,
    )


def ctx(camera: str, when: dt.datetime, detections: Detections, small: Detections | None = None,
        frame: np.ndarray | None = None, shape: tuple[int, int] = SHAPE) -> FrameContext:
    """``when`` is naive local time."""
    aware = when.replace(tzinfo=TZ)
    return FrameContext(camera_id=camera, ts=aware.astimezone(dt.UTC), local=when, shape=shape,
                        detections=detections, small_objects=small, frame=frame)


Script = Callable[[float], dict[str, Detections]]
"""offset seconds -> {camera: detections} for that instant (cameras missing from the dict send no frame)."""


def simulate(rule: Any, start: str, seconds: float, step: float, script: Script,
             frames: Callable[[float, str], np.ndarray | None] | None = None,
             small: Callable[[float, str], Detections | None] | None = None) -> list[tuple[float, RuleEvent]]:
    """Feed frames every ``step`` seconds from ``start`` (local) for ``seconds`` (inclusive);
    return (offset of the frame that produced it, event)."""
    t0 = local(start)
    out: list[tuple[float, RuleEvent]] = []
    n = round(seconds / step)
    for i in range(n + 1):
        off = i * step
        when = t0 + dt.timedelta(seconds=off)
        for cam, d in script(off).items():
            fr = frames(off, cam) if frames else None
            sm = small(off, cam) if small else None
            shape = fr.shape[:2] if fr is not None else SHAPE
            out += [(off, e) for e in rule.update(ctx(cam, when, d, sm, fr, shape))]
    return out


def absent_between(intervals: Iterable[tuple[float, float]], cam: str = "camA",
                   present: tuple = (P_W01, P_W02)) -> Script:
    """Clerks present except during the given [a, b) offset intervals."""
    iv = list(intervals)
    return lambda t: {cam: dets() if any(a <= t < b for a, b in iv) else dets(*present)}


def test_support_builds_valid_site_and_times():
    cfg = site()
    assert [w.id for w in cfg.windows] == ["W01", "W02", "W03"]
    assert utc("2026-11-23 08:30:00").isoformat() == "2026-11-23T00:30:00+00:00"
    assert len(dets(P_W01, P_W02).of_class("person")) == 2
