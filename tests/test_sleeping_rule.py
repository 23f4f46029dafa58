"""Sleeping rule on scripted pose sequences: posture, stillness, seat zone, duty schedule, timing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from edge.detections import Detections
from edge.rules.base import FrameContext
from edge.rules.sleeping import WAKE_S, SleepingRule, head_dropped, keypoint_motion
from edge.site import SiteConfig

SHAPE = (1000, 1000)
SH = dt.timezone(dt.timedelta(hours=8))


def site(min_s: float = 60, closed: bool = False, midday: bool = False) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "h", "name": "hall"},
        "schedule": {"sessions": ["08:30-12:00", "13:00-17:30"], "midday_duty": "12:00-13:00",
                     "holidays": ["2026-10-01"], "makeup_workdays": ["2026-10-10"]},
        "windows": [{"id": "W01", "number": 1, "name": "one", "closed": closed, "midday_duty": midday}],
        "cameras": [{"id": "cam", "name": "counter", "source": "x.mp4", "zones": [
            {"id": "seat-1", "kind": "seat", "window": "W01", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
        ]}],
        "rules": {"sleeping": {"min_s": min_s, "max_motion": 0.02}},
    })


def clerk(x: float = 250, posture: str = "upright", jitter: float = 0.0, rng=None) -> tuple[np.ndarray, np.ndarray]:
    box = np.array([x - 100, 300, x + 100, 800], np.float32)
    k = np.zeros((17, 3), np.float32)
    k[:, 2] = 0.9
    face_y = {"upright": 380, "slumped": 470, "desk": 0}[posture]
    k[0:5, :2] = [x, face_y]
    if posture == "desk":
        k[0:5, 2] = 0.1  # face hidden on the desk
    k[5, :2], k[6, :2] = [x - 60, 450], [x + 60, 450]
    k[7:17, :2] = [[x + (i % 3 - 1) * 50, 500 + i * 15] for i in range(10)]
    if jitter and rng is not None:
        k[:, :2] += rng.normal(0, jitter, (17, 2)).astype(np.float32)
    return box, k


def pose_of(*people) -> Detections:
    if not people:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32),
                          {0: "person"}, np.zeros((0, 17, 3), np.float32))
    return Detections(np.stack([p[0] for p in people]), np.full(len(people), 0.9, np.float32),
                      np.zeros(len(people), np.int32), {0: "person"}, np.stack([p[1] for p in people]))


def frame(local: dt.datetime, pose: Detections | None) -> FrameContext:
    ts = local.replace(tzinfo=SH).astimezone(dt.UTC)
    return FrameContext(camera_id="cam", ts=ts, local=local, shape=SHAPE, detections=Detections.empty(), pose=pose)


def run(rule, start: dt.datetime, seconds: float, fps: float, make_pose) -> list:
    events = []
    n = int(seconds * fps)
    for i in range(n + 1):
        t = start + dt.timedelta(seconds=i / fps)
        events += [((t - start).total_seconds(), e) for e in rule.update(frame(t, make_pose(i)))]
    return events


MON_10 = dt.datetime(2026, 11, 23, 10, 0)  # Monday, in service


@pytest.mark.parametrize(
    "posture, expected",
    [("upright", False), ("slumped", True), ("desk", True)],
)
def test_head_dropped_table(posture, expected):
    box, k = clerk(posture=posture)
    assert head_dropped(k, box) is expected


def test_head_dropped_unknown_without_shoulders():
    box, k = clerk()
    k[5:7, 2] = 0.1
    assert head_dropped(k, box) is None


@pytest.mark.parametrize("shift, expected", [(0.0, 0.0), (5.0, 0.01), (50.0, 0.1)])
def test_keypoint_motion_is_relative_to_box_height(shift, expected):
    box, k = clerk()
    k2 = k.copy()
    k2[:, 0] += shift
    assert keypoint_motion(k, k2, box) == pytest.approx(expected)


@pytest.mark.parametrize(
    "posture, jitter, fps, opens_at",
    [
        ("slumped", 0.0, 1, 60.0),  # still and head down for min_s (60 s) -> opens at 60 s
        ("desk", 1.0, 2, 60.0),  # head on the desk, small keypoint jitter (0.2 % of height): still counts
        ("slumped", 0.0, 0.5, 60.0),  # sampling rate does not change the timing
        ("upright", 0.0, 1, None),  # upright: reading, not sleeping
        ("slumped", 20.0, 1, None),  # head down but moving (writing): 4 % of height per sample
    ],
)
def test_posture_and_stillness_for_min_s(posture, jitter, fps, opens_at):
    rule = SleepingRule(site(min_s=60))
    rng = np.random.default_rng(0)
    events = run(rule, MON_10, 90, fps, lambda i: pose_of(clerk(posture=posture, jitter=jitter, rng=rng)))
    opened = [t for t, e in events if e.kind == "opened"]
    assert opened == ([] if opens_at is None else [opens_at])
    if opened:
        e = events[0][1]
        assert (e.window_id, e.zone_id, e.camera_id, e.rule) == ("W01", "seat-1", "cam", "sleeping")


def test_person_outside_the_seat_zone_is_ignored():
    rule = SleepingRule(site(min_s=30))
    assert run(rule, MON_10, 60, 1, lambda i: pose_of(clerk(x=750, posture="slumped"))) == []


def test_wakes_up_closes_with_duration():
    rule = SleepingRule(site(min_s=30))
    events = run(rule, MON_10, 120, 1, lambda i: pose_of(clerk(posture="slumped" if i <= 60 else "upright")))
    assert [(t, e.kind) for t, e in events] == [(30.0, "opened"), (60.0 + WAKE_S, "closed")]
    assert events[1][1].duration_s == pytest.approx(60.0)
    assert events[1][1].finding_id == events[0][1].finding_id


def test_short_nod_does_not_break_the_run():
    """A 3 s head-up moment inside a long slump (< GAP_S) keeps the run going."""
    rule = SleepingRule(site(min_s=60))
    events = run(rule, MON_10, 90, 1, lambda i: pose_of(clerk(posture="upright" if 20 <= i < 23 else "slumped")))
    assert [(t, e.kind) for t, e in events] == [(60.0, "opened")]


def test_leaving_the_seat_ends_the_episode():
    rule = SleepingRule(site(min_s=30))
    events = run(rule, MON_10, 100, 1, lambda i: pose_of(clerk(posture="slumped")) if i <= 50 else pose_of())
    assert [e.kind for _, e in events] == ["opened", "closed"]


@pytest.mark.parametrize(
    "local, closed, midday, active",
    [
        (dt.datetime(2026, 11, 23, 10, 0), False, False, True),  # Monday morning session
        (dt.datetime(2026, 11, 23, 12, 10), False, False, False),  # lunch: nap allowed
        (dt.datetime(2026, 11, 23, 12, 10), False, True, True),  # lunch at the midday duty desk
        (dt.datetime(2026, 11, 23, 18, 0), False, False, False),  # after closing
        (dt.datetime(2026, 10, 1, 10, 0), False, False, False),  # holiday
        (dt.datetime(2026, 10, 10, 10, 0), False, False, True),  # make-up Saturday
        (dt.datetime(2026, 11, 23, 10, 0), True, False, False),  # window marked closed
    ],
)
def test_only_while_duty_required(local, closed, midday, active):
    rule = SleepingRule(site(min_s=30, closed=closed, midday=midday))
    events = run(rule, local, 40, 1, lambda i: pose_of(clerk(posture="slumped")))
    assert bool([e for _, e in events if e.kind == "opened"]) is active


def test_duty_end_closes_an_open_finding():
    rule = SleepingRule(site(min_s=30))
    start = dt.datetime(2026, 11, 23, 11, 59, 0)  # sleeping through the start of lunch
    events = run(rule, start, 90, 1, lambda i: pose_of(clerk(posture="slumped")))
    kinds = [(t, e.kind) for t, e in events]
    assert kinds == [(30.0, "opened"), (60.0, "closed")]


def test_missing_pose_and_bad_camera_do_not_raise():
    rule = SleepingRule(site(min_s=30))
    assert rule.update(frame(MON_10, None)) == []
    bad = FrameContext(camera_id="nope", ts=MON_10.replace(tzinfo=dt.UTC), local=MON_10, shape=SHAPE,
                       detections=Detections.empty(), pose=None)
    assert rule.update(bad) == []


@pytest.mark.parametrize("stamped, opens", [(True, False), (False, True)])
def test_a_pose_standing_in_from_an_earlier_frame_is_no_sample(stamped, opens):
    """A clerk writing head-down (head dropped, moving: not asleep) whose pose is measured every 2 s and stands in
    at 2 fps in between, as the pipeline's seat pose does. Stamped with the frame it was measured on
    (``pose_ts``), the repeats are skipped; taken as new samples they read as no motion and would open a 睡岗."""
    rule = SleepingRule(site(min_s=60))
    rng = np.random.default_rng(0)
    events, pose, measured = [], None, None
    for i in range(300 * 2):
        ctx = frame(MON_10 + dt.timedelta(seconds=i / 2), None)
        if i % 4 == 0:
            pose, measured = pose_of(clerk(posture="slumped", jitter=15, rng=rng)), ctx.ts
        events += rule.update(dataclasses.replace(ctx, pose=pose, pose_ts=measured if stamped else None))
    assert bool(events) is opens
