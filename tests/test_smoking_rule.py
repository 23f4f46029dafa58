"""Smoking rule state machine on scripted cigarette/pose detections (timing from timestamps)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from edge.detections import Detections
from edge.rules.base import FrameContext
from edge.rules.smoking import CLEAR_S, GAP_S, SmokingRule
from edge.site import SiteConfig

SHAPE = (1000, 1000)
T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shanghai


def site(min_s: float = 3, cooldown_s: float = 300, min_confidence: float = 0.3) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "h", "name": "hall"},
        "windows": [{"id": "W01", "number": 1, "name": "one"}, {"id": "W02", "number": 2, "name": "two"}],
        "cameras": [{"id": "cam", "name": "counter", "source": "x.mp4", "zones": [
            {"id": "seat-1", "kind": "seat", "window": "W01", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
            {"id": "seat-2", "kind": "seat", "window": "W02", "polygon": [[0.5, 0], [0.8, 0], [0.8, 1], [0.5, 1]]},
        ]}],
        "rules": {"smoking": {"min_s": min_s, "cooldown_s": cooldown_s, "min_confidence": min_confidence}},
    })


def person(x: float, hand_at_mouth: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A seated person centred at x (pixels): box and 17 keypoints (face above shoulders)."""
    box = np.array([x - 100, 200, x + 100, 800], np.float32)
    k = np.zeros((17, 3), np.float32)
    k[:, 2] = 0.9
    k[0:5, :2] = [x, 300]  # face
    k[5, :2], k[6, :2] = [x - 60, 400], [x + 60, 400]  # shoulders
    k[7, :2], k[8, :2] = [x - 80, 500], [x + 80, 500]  # elbows
    k[9, :2] = [x - 20, 330] if hand_at_mouth else [x - 80, 600]
    k[10, :2] = [x + 80, 600]
    return box, k


def pose_of(*people: tuple[np.ndarray, np.ndarray]) -> Detections:
    if not people:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32),
                          {0: "person"}, np.zeros((0, 17, 3), np.float32))
    return Detections(np.stack([p[0] for p in people]), np.full(len(people), 0.9, np.float32),
                      np.zeros(len(people), np.int32), {0: "person"}, np.stack([p[1] for p in people]))


def cigs(*items: tuple[float, float, float]) -> Detections:
    """Cigarettes as (x, y, score)."""
    if not items:
        return Detections.empty({0: "cigarette"})
    return Detections(np.array([[x - 10, y - 3, x + 10, y + 3] for x, y, _ in items], np.float32),
                      np.array([s for *_, s in items], np.float32), np.zeros(len(items), np.int32), {0: "cigarette"})


def ctx(t: float, cigarettes: Detections, pose: Detections | None, camera: str = "cam") -> FrameContext:
    ts = T0 + dt.timedelta(seconds=t)
    return FrameContext(camera_id=camera, ts=ts, local=ts.replace(tzinfo=None) + dt.timedelta(hours=8), shape=SHAPE,
                        detections=Detections.empty(), pose=pose, cigarettes=cigarettes)


def run(rule: SmokingRule, frames: list[tuple[float, Detections, Detections | None]]) -> list[tuple[float, object]]:
    out = []
    for t, c, p in frames:
        out += [(t, e) for e in rule.update(ctx(t, c, p))]
    return out


SEATED = pose_of(person(250))  # in seat-1 (W01)
CIG = cigs((250, 320, 0.5))  # at the mouth of that person


@pytest.mark.parametrize(
    "positive_times, sample_times, opens_at, started",
    [
        ([0, 0.5, 1, 1.5, 2, 2.5, 3], None, 3.0, 0),  # 3 s of evidence at 2 fps: opens exactly at min_s
        ([0, 0.5, 1, 1.5, 2, 2.5], None, None, None),  # 2.5 s: not yet
        ([0, 1, 2, 3], [0, 0.5, 1, 1.5, 2, 2.5, 3], 3.0, 0),  # every other frame (50 %): still enough
        ([0, 3], [0, 0.5, 1, 1.5, 2, 2.5, 3], None, None),  # 2 of 7 frames: flicker is not smoking
        ([0, 1, 7, 8, 9, 10], None, 10.0, 7),  # a 6 s gap (> GAP_S) restarts the episode at 7 s
        ([0, 1, 5, 6, 7], None, 5.0, 0),  # a 4 s gap (< GAP_S) does not: 0..5 s, opens at the 5 s frame
    ],
)
def test_confirmation_needs_min_s_and_ratio(positive_times, sample_times, opens_at, started):
    rule = SmokingRule(site())
    times = sample_times or positive_times
    frames = [(t, CIG if t in positive_times else cigs(), SEATED) for t in times]
    opened = [(t, e) for t, e in run(rule, frames) if e.kind == "opened"]
    assert [t for t, _ in opened] == ([] if opens_at is None else [opens_at])
    if opened:
        e = opened[0][1]
        assert e.window_id == "W01" and e.zone_id == "seat-1" and e.camera_id == "cam"
        assert e.started_at == e.at == T0 + dt.timedelta(seconds=started)
        assert e.details["cigarette_box"] == [240.0, 317.0, 260.0, 323.0]


def test_gap_constant_is_what_breaks_episodes():
    assert GAP_S == 5.0 and CLEAR_S == 30.0


@pytest.mark.parametrize(
    "x, window, zone",
    [(250, "W01", "seat-1"), (650, "W02", "seat-2"), (900, None, None)],  # 900: outside seats -> the hall
)
def test_attribution_to_the_seat_zone_of_the_person(x, window, zone):
    rule = SmokingRule(site())
    pose = pose_of(person(x))
    events = run(rule, [(t, cigs((x + 5, 320, 0.6)), pose) for t in (0, 1, 2, 3)])
    assert [(e.kind, e.window_id, e.zone_id) for _, e in events] == [("opened", window, zone)]


def test_cigarette_without_person_is_no_evidence():
    """A bright spot on a desk with nobody's hand or mouth at it: no pose, no owner, no finding."""
    rule = SmokingRule(site())
    assert run(rule, [(t, cigs((650, 320, 0.6)), None) for t in (0, 1, 2, 3)]) == []
    assert run(rule, [(t, cigs((650, 320, 0.6)), SEATED) for t in (4, 5, 6, 7)]) == []  # outside the person's box


def box_cig(x1, y1, x2, y2, score=0.6) -> Detections:
    return Detections(np.array([[x1, y1, x2, y2]], np.float32), np.array([score], np.float32), np.zeros(1, np.int32),
                      {0: "cigarette"})


NAMES = {0: "person", 43: "knife", 65: "remote", 67: "cell phone", 79: "toothbrush"}


def held(label: str, box) -> Detections:
    cid = {v: k for k, v in NAMES.items()}[label]
    return Detections(np.array([box], np.float32), np.array([0.5], np.float32), np.array([cid], np.int32), NAMES)


@pytest.mark.parametrize(
    "name, cigarette, small, why",
    [
        ("at the mouth", box_cig(240, 317, 260, 323), None, ""),
        ("in the hand (hand point beyond the wrist)", box_cig(150, 640, 175, 648), None, ""),
        ("on the desk in front of the person, far from hands and face", box_cig(240, 740, 260, 746), None,
         "far from hand and mouth"),
        ("a pen-long stick at the hand (1.2 body scales)", box_cig(90, 600, 234, 610), None, "size"),
        ("a phone's edge seen by the hand pass", box_cig(150, 640, 175, 648), held("cell phone", (140, 620, 190, 700)),
         "looks like cell phone"),
        ("a toothbrush-like pen", box_cig(150, 640, 175, 648), held("toothbrush", (145, 635, 185, 652)),
         "looks like toothbrush"),
        ("a look-alike elsewhere does not matter", box_cig(240, 317, 260, 323), held("cell phone", (140, 620, 190, 700)),
         ""),
    ],
)
def test_gates(name, cigarette, small, why):
    rule = SmokingRule(site())
    c = FrameContext(camera_id="cam", ts=T0, local=T0.replace(tzinfo=None), shape=SHAPE, detections=Detections.empty(),
                     small_objects=small, pose=SEATED, cigarettes=cigarette)
    evidence = rule.frame_evidence(c)
    assert (rule.rejected[0] if rule.rejected else "") == why, name
    assert bool(evidence) is (why == ""), name


def test_one_frame_is_never_enough_even_with_a_short_min_s():
    rule = SmokingRule(site(min_s=0.5))
    assert run(rule, [(0, CIG, SEATED), (0.5, CIG, SEATED)]) == []
    assert [e.kind for _, e in run(rule, [(1.0, CIG, SEATED)])] == ["opened"]


@pytest.mark.parametrize(
    "score, hand_at_mouth, opens",
    [(0.35, False, True), (0.28, False, False), (0.27, True, True), (0.24, True, False)],
)
def test_threshold_and_hand_to_mouth_cue(score, hand_at_mouth, opens):
    """min_confidence 0.3; the hand-to-mouth cue adds 0.05."""
    rule = SmokingRule(site())
    pose = pose_of(person(250, hand_at_mouth=hand_at_mouth))
    events = run(rule, [(t, cigs((250, 320, score)), pose) for t in (0, 1, 2, 3)])
    assert bool(events) is opens
    if opens:
        assert events[0][1].details["hand_to_mouth"] is hand_at_mouth


def test_closes_after_clear_s_with_duration_and_respects_cooldown():
    rule = SmokingRule(site(cooldown_s=120))
    frames = [(t, CIG, SEATED) for t in range(11)]  # smoking 0..10 s
    frames += [(t, cigs(), SEATED) for t in range(11, 45)]  # then nothing
    frames += [(t, CIG, SEATED) for t in range(45, 60)]  # again at 45 s: within the 120 s cooldown
    frames += [(t, cigs(), SEATED) for t in range(60, 100)]
    frames += [(t, CIG, SEATED) for t in range(130, 134)]  # after cooldown (opened at 3 s + 120)
    events = run(rule, frames)
    kinds = [(t, e.kind) for t, e in events]
    assert kinds[0] == (3, "opened")
    assert kinds[1] == (40, "closed")  # 30 s after the last positive frame at 10 s
    closed = events[1][1]
    assert closed.duration_s == pytest.approx(10.0) and closed.started_at == T0
    assert closed.finding_id == events[0][1].finding_id
    # 45..59: suppressed by the cooldown; 130..133: a new finding
    assert [k for k in kinds[2:] if k[1] == "opened"] == [(133, "opened")]


def test_smoke_sensor_fusion_halves_confirmation_and_lowers_threshold():
    rule = SmokingRule(site())
    rule.note_smoke("cam", T0 - dt.timedelta(seconds=10), sensor_id="smoke-1")
    weak = cigs((250, 320, 0.22))  # below 0.3 but above 0.3 - 0.1
    events = run(rule, [(t, weak, SEATED) for t in (0, 0.5, 1, 1.5)])
    assert [(t, e.kind) for t, e in events] == [(1.5, "opened")]
    d = events[0][1].details
    assert d["smoke_sensor"] is True and d["smoke_sensor_id"] == "smoke-1"
    # another camera is not affected
    other = SmokingRule(site())
    other.note_smoke("cam-2", T0, "smoke-1")
    assert run(other, [(t, weak, SEATED) for t in (0, 0.5, 1, 1.5)]) == []


def test_smoke_note_expires():
    rule = SmokingRule(site())
    rule.note_smoke("cam", T0 - dt.timedelta(seconds=600))
    assert run(rule, [(t, CIG, SEATED) for t in (0, 0.5, 1, 1.5)]) == []


def test_disabled_rule_and_malformed_input_do_not_raise():
    cfg = site()
    off = SmokingRule(cfg.model_copy(update={"rules": cfg.rules.model_copy(update={
        "smoking": cfg.rules.smoking.model_copy(update={"enabled": False})})}))
    assert run(off, [(t, CIG, SEATED) for t in range(5)]) == []
    rule = SmokingRule(cfg)
    bad_pose = Detections(np.array([[0, 0, 1000, 1000]], np.float32), np.array([0.9], np.float32),
                          np.array([0], np.int32), {0: "person"}, np.zeros((1, 3, 3), np.float32))  # 3 keypoints
    assert rule.update(ctx(0, CIG, bad_pose)) == []
    # the rule keeps working afterwards
    assert [e.kind for _, e in run(rule, [(t, CIG, SEATED) for t in (1, 2, 3, 4)])] == ["opened"]
