"""eating (吃东西): the per-frame decision from pose + food/drink boxes (in hand / at the mouth / on the desk /
someone else's), and the sliding-window state machine (frames, span, ratio, schedule, pause) on scripted poses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from edge.detections import Detections
from edge.rules.base import FrameContext
from edge.rules.eating import EatingRule, eating_evidence
from edge.rules.phone_use import clerk_of
from tests.test_rules_phone_use import CITIZEN, CLERK, CLERK_AT_EAR, SEAT_W01, person, pose
from tests.test_rules_support import MONDAY, SHAPE, TZ, local, site

FOOD_NAMES = {0: "person", 39: "bottle", 41: "cup", 45: "bowl", 46: "banana", 48: "sandwich", 67: "cell phone"}
_IDS = {v: k for k, v in FOOD_NAMES.items()}


def items(*boxes: tuple[str, tuple[float, float, float, float], float]) -> Detections:
    if not boxes:
        return Detections.empty(FOOD_NAMES)
    return Detections(np.array([b for _, b, _ in boxes], np.float32), np.array([c for *_, c in boxes], np.float32),
                      np.array([_IDS[n] for n, *_ in boxes], np.int32), FOOD_NAMES)


# the clerk with a hand raised to the mouth (head at (50, 28)): right wrist at (52, 34), elbow below it
CLERK_HAND_AT_MOUTH = person((30, 20, 70, 90), head=(50, 28), shoulders=[(42, 38), (58, 38)],
                             elbows=[(40, 55), (56, 50)], wrists=[(45, 62), (53, 38)])
CUP_IN_HANDS = ("cup", (44, 60, 54, 70), 0.6)
CUP_AT_MOUTH = ("cup", (49, 28, 57, 36), 0.5)
CUP_ON_DESK = ("cup", (5, 75, 15, 85), 0.8)
SANDWICH_IN_HAND = ("sandwich", (46, 60, 56, 68), 0.5)
CUP_IN_CITIZEN_HAND = ("cup", (78, 44, 86, 52), 0.7)
PHONE_IN_HANDS = ("cell phone", (45, 60, 55, 70), 0.6)


@pytest.mark.parametrize(
    "name, people, boxes, held_before, state, how",
    [
        ("a cup in the clerk's hands", [CLERK], [CUP_IN_HANDS], False, "in_hand", "hand"),
        ("a sandwich in the clerk's hand", [CLERK], [SANDWICH_IN_HAND], False, "in_hand", "hand"),
        ("a cup at the mouth", [CLERK_HAND_AT_MOUTH], [CUP_AT_MOUTH], False, "to_mouth", "mouth"),
        ("a cup alone on the desk is not eating", [CLERK], [CUP_ON_DESK], False, "none", "not in a hand"),
        ("a cup in the citizen's hand across the counter", [CLERK, CITIZEN], [CUP_IN_CITIZEN_HAND], False, "none",
         "other's hand"),
        ("hand at the mouth, nothing seen, nothing held before", [CLERK_HAND_AT_MOUTH], [], False, "none", "no item"),
        ("hand at the mouth right after holding a cup", [CLERK_HAND_AT_MOUTH], [], True, "to_mouth",
         "mouth, held before"),
        ("hand at the ear after a cup is not the mouth", [CLERK_AT_EAR], [], True, "none", "no item"),
        ("nobody at the seat", [], [CUP_IN_HANDS], False, "none", "no clerk"),
    ],
)
def test_eating_evidence(name, people, boxes, held_before, state, how):
    p = pose(*people)
    clerk = clerk_of(p, SEAT_W01) if len(p) else None
    ev = eating_evidence(p, items(*boxes), clerk, held_before)
    assert (ev.state, ev.how) == (state, how), name


def run(food_at, seconds=60, start="10:00:00", people=(CLERK,), food=CUP_IN_HANDS, with_pose=True, step=1.0,
        pauses=None, **rules):
    """food_at(t) -> bool; one frame per ``step`` s; the food comes from the hand pass (small_objects)."""
    rule = EatingRule(site(**rules))
    t0 = local(f"{MONDAY} {start}")
    out = []
    for i in range(round(seconds / step) + 1):
        off = i * step
        for w, (a, b) in (pauses or {}).items():
            rule.set_window_closed(w, a <= off < b)
        when = t0 + dt.timedelta(seconds=off)
        person_boxes = Detections(np.array([x[0] for x in people], np.float32).reshape(-1, 4),
                                  np.array([x[1] for x in people], np.float32), np.zeros(len(people), np.int32),
                                  FOOD_NAMES)
        ctx = FrameContext(camera_id="camA", ts=when.replace(tzinfo=TZ).astimezone(dt.UTC), local=when, shape=SHAPE,
                           detections=person_boxes, small_objects=items(food) if food_at(off) else items(),
                           pose=pose(*people) if with_pose else None)
        out += [(e.kind, off, e.at.astimezone(TZ).strftime("%H:%M:%S"), e.window_id, e.details)
                for e in rule.update(ctx)]
    return out


@pytest.mark.parametrize(
    "name, food_at, kw, expected",
    [
        ("a cup held 10 s opens at min_s", lambda t: t >= 5, {}, [("opened", 15.0, "10:00:05", "W01")]),
        ("held 9 s is not enough", lambda t: 5 <= t < 14, {}, []),
        ("two frames of a cup in hand is not several", lambda t: t in (5.0, 16.0), {}, []),
        ("one frame in four (25 % < 40 %)", lambda t: int(t) % 4 == 0, {}, []),
        ("a cup on the desk all day", lambda t: True, {"food": CUP_ON_DESK}, []),
        ("a citizen drinking across the counter", lambda t: True,
         {"people": (CLERK, CITIZEN), "food": CUP_IN_CITIZEN_HAND}, []),
        ("a phone in the hands is not food", lambda t: True, {"food": PHONE_IN_HANDS}, []),
        ("no pose: a cup box alone is no evidence", lambda t: True, {"with_pose": False}, []),
        ("lunch: W01 has no duty", lambda t: True, {"start": "12:10:00"}, []),
        ("W01 paused (暂停服务)", lambda t: True, {"pauses": {"W01": (0, 1e9)}}, []),
        ("drinks not counted when the hall removes cups from the items", lambda t: True,
         {"eating": {"items": ["sandwich", "banana"]}}, []),
    ],
)
def test_eating_opening(name, food_at, kw, expected):
    out = run(food_at, **kw)
    assert [e[:4] for e in out] == expected, name


def test_drinking_alternates_hand_and_mouth_and_closes_when_put_down():
    # sip every 6 s: 3 s cup at the mouth (hidden behind the hand half the time), 3 s cup in hand; put down at 40 s
    people_at = {}

    rule = EatingRule(site())
    t0 = local(f"{MONDAY} 10:00:00")
    out = []
    for i in range(0, 91):
        off = float(i)
        phase = i % 6
        if off < 40:
            p = pose(CLERK_HAND_AT_MOUTH if phase < 3 else CLERK)
            food = items() if phase == 1 else items(CUP_AT_MOUTH if phase < 3 else CUP_IN_HANDS)
        else:
            p, food = pose(CLERK), items(CUP_ON_DESK)
        people_at[off] = p
        when = t0 + dt.timedelta(seconds=off)
        ctx = FrameContext(camera_id="camA", ts=when.replace(tzinfo=TZ).astimezone(dt.UTC), local=when, shape=SHAPE,
                           detections=items(), small_objects=food, pose=p)
        out += [(e.kind, off, e.at.astimezone(TZ).strftime("%H:%M:%S"), e.details) for e in rule.update(ctx)]
    assert [(k, off, at) for k, off, at, _ in out][0] == ("opened", 10.0, "10:00:00")
    assert out[0][3]["to_mouth"] > 0 and out[0][3]["in_hand"] > 0 and out[0][3]["items"] == ["cup"]
    kind, off, at, details = out[1]
    assert (kind, at, details["ended_by"]) == ("closed", "10:00:39", "no_food") and off > 40


def test_closing_time_and_cooldown():
    out = run(lambda t: True, seconds=40, start="17:29:40")
    assert [(k, at) for k, _, at, *_ in out] == [("opened", "17:29:40"), ("closed", "17:30:00")]
    out = run(lambda t: 5 <= t < 30 or 100 <= t < 130, seconds=150, eating={"cooldown_s": 600})
    assert [k for k, *_ in out] == ["opened", "closed"]
    out = run(lambda t: 5 <= t < 30 or 100 <= t < 130, seconds=150, eating={"cooldown_s": 0})
    assert [k for k, *_ in out] == ["opened", "closed", "opened"]
