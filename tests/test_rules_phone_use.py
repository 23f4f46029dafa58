"""phone_use: the per-frame decision from pose + phones in hands (use / call / nobody's), and the sliding-window
state machine (ratio, minimum span, cooldown, schedule) on scripted poses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from edge.detections import Detections
from edge.rules.base import FrameContext
from edge.rules.phone_use import PhoneUseRule, clerk_of, phone_evidence
from tests.test_rules_support import MONDAY, NAMES, SHAPE, TZ, dets, local, site

SEAT_W01 = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float32)  # left half of the 200x100 frame


def person(box, head=None, shoulders=None, elbows=None, wrists=None, hips=None, knees=None, face_down=False, conf=0.9):
    """One pose person: keypoints given as (x, y) pairs per part, the rest invisible."""
    k = np.zeros((17, 3), np.float32)

    def put(idx, pts):
        for i, p in zip(idx, pts):
            if p is not None:
                k[i] = (p[0], p[1], 0.9)

    if head is not None:  # face_down: a camera above sees the top of the head, only the ears
        hx, hy = head
        face = [None if face_down else (hx, hy), None if face_down else (hx - 2, hy - 2),
                None if face_down else (hx + 2, hy - 2), (hx - 4, hy - 2), (hx + 4, hy - 2)]
        put((0, 1, 2, 3, 4), face)
    put((5, 6), shoulders or [])
    put((7, 8), elbows or [])
    put((9, 10), wrists or [])
    put((11, 12), hips or [])
    put((13, 14), knees or [])
    return box, conf, k


def pose(*people) -> Detections:
    if not people:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), {0: "person"},
                          np.zeros((0, 17, 3), np.float32))
    return Detections(np.array([p[0] for p in people], np.float32), np.array([p[1] for p in people], np.float32),
                      np.zeros(len(people), np.int32), {0: "person"}, np.stack([p[2] for p in people]))


# the clerk of W01: head (50, 28), shoulders 16 px apart, forearms pointing down-inwards, hands at ~(47, 65), (53, 65)
CLERK = person((30, 20, 70, 90), head=(50, 28), shoulders=[(42, 38), (58, 38)], elbows=[(40, 55), (60, 55)],
               wrists=[(45, 62), (55, 62)], hips=[(44, 70), (56, 70)], knees=[(44, 82), (56, 82)])
CLERK_AT_EAR = person((30, 20, 70, 90), head=(50, 28), shoulders=[(42, 38), (58, 38)], elbows=[(40, 55), (62, 45)],
                      wrists=[(45, 62), (60, 32)])
CLERK_HANDS_HIDDEN = person((30, 20, 70, 90), head=(50, 30), shoulders=[(42, 38), (58, 38)],
                            hips=[(44, 70), (56, 70)], knees=[(44, 82), (56, 82)], face_down=True)
CLERK_HANDS_HIDDEN_UP = person((30, 20, 70, 90), head=(50, 30), shoulders=[(42, 38), (58, 38)],
                               hips=[(44, 70), (56, 70)], knees=[(44, 82), (56, 82)])
# a citizen across the counter, reaching into the W01 zone: hand at ~(82, 47)
# bent over a phone held up at chest height, seen from above: the phone is near the head, the face hidden
CLERK_BENT = person((30, 20, 70, 90), head=(50, 34), shoulders=[(42, 38), (58, 38)], elbows=[(42, 50), (58, 50)],
                    wrists=[(46, 40), (54, 40)], face_down=True)
CITIZEN = person((75, 0, 100, 45), head=(88, 8), shoulders=[(82, 15), (94, 15)], elbows=[(80, 30), (95, 30)],
                 wrists=[(81, 42), (96, 42)], conf=0.7)
CLERK_W02 = person((130, 20, 170, 90), head=(150, 28), shoulders=[(142, 38), (158, 38)],
                   elbows=[(140, 55), (160, 55)], wrists=[(145, 62), (155, 62)])

IN_HANDS = ("cell phone", (45, 60, 55, 70), 0.5)
AT_EAR = ("cell phone", (57, 24, 65, 34), 0.6)
ON_DESK = ("cell phone", (5, 75, 15, 82), 0.7)  # lying on the counter, away from every hand
HELD_UP = ("cell phone", (45, 30, 55, 37), 0.5)
IN_LAP = ("cell phone", (46, 72, 54, 80), 0.5)
IN_CITIZEN_HAND = ("cell phone", (78, 44, 86, 52), 0.6)
WEAK = ("cell phone", (45, 60, 55, 70), 0.15)
IN_HANDS_W02 = ("cell phone", (145, 60, 155, 70), 0.5)


@pytest.mark.parametrize(
    "name, people, phones, state, how",
    [
        ("phone in both hands", [CLERK], [IN_HANDS], "use", "hand"),
        ("no phone", [CLERK], [], "none", "no phone"),
        ("below min_confidence", [CLERK], [WEAK], "none", "no phone"),
        ("phone at the ear is a call", [CLERK_AT_EAR], [AT_EAR], "call", "ear"),
        ("phone lying on the counter", [CLERK], [ON_DESK], "none", "not in a hand"),
        ("bent over a phone held up: the face is hidden, not at the ear", [CLERK_BENT], [HELD_UP], "use", "hand"),
        ("phone in the citizen's hand, inside the seat zone", [CLERK, CITIZEN], [IN_CITIZEN_HAND], "none",
         "other's hand"),
        ("the clerk's phone beside the citizen's: use", [CLERK, CITIZEN], [IN_CITIZEN_HAND, IN_HANDS], "use", "hand"),
        ("hands hidden, phone in the lap, head bent over it", [CLERK_HANDS_HIDDEN], [IN_LAP], "use", "lap"),
        ("hands hidden, phone in the lap, head up", [CLERK_HANDS_HIDDEN_UP], [IN_LAP], "none", "not in a hand"),
        ("nobody at the seat", [], [IN_HANDS], "none", "no clerk"),
    ],
)
def test_phone_evidence(name, people, phones, state, how):
    p = pose(*people)
    clerk = clerk_of(p, SEAT_W01) if len(p) else None
    ev = phone_evidence(p, dets(*phones), clerk, min_conf=0.2)
    assert (ev.state, ev.how) == (state, how), name


def test_clerk_is_the_most_confident_person_of_the_zone():
    p = pose(CITIZEN, CLERK, CLERK_W02)
    assert clerk_of(p, SEAT_W01) == 1
    assert clerk_of(pose(CLERK_W02), SEAT_W01) is None


def run(phone_at, seconds=40, start="10:00:00", people=(CLERK,), phone=IN_HANDS, with_pose=True, **rules):
    """phone_at(t) -> bool; 2 frames per second; the phone comes from the hand pass (small_objects)."""
    rule = PhoneUseRule(site(**rules))
    t0 = local(f"{MONDAY} {start}")
    out = []
    for i in range(round(seconds / 0.5) + 1):
        off = i * 0.5
        when = t0 + dt.timedelta(seconds=off)
        small = dets(phone) if phone_at(off) else Detections.empty(NAMES)
        p = pose(*people)
        ctx = FrameContext(camera_id="camA", ts=when.replace(tzinfo=TZ).astimezone(dt.UTC), local=when, shape=SHAPE,
                           detections=dets(*[("person", tuple(x[0]), x[1]) for x in people]), small_objects=small,
                           pose=p if with_pose else None)
        out += [(e.kind, off, e.at.astimezone(TZ).strftime("%H:%M:%S.%f")[:10], e.window_id)
                for e in rule.update(ctx)]
    return out


@pytest.mark.parametrize(
    "name, phone_at, kw, expected",
    [
        ("10 s of phone opens exactly at min_s", lambda t: t >= 5, {}, [("opened", 15.0, "10:00:05.0", "W01")]),
        ("9.5 s is not enough", lambda t: 5 <= t < 14.5, {}, []),
        ("every other frame (50 % < 60 %) never opens", lambda t: int(t * 2) % 2 == 0, {}, []),
        ("two frames in three opens", lambda t: int(t * 2) % 3 != 2, {}, "opened"),
        ("phone but no clerk in the seat", lambda t: True, {"people": ()}, []),
        ("a citizen's phone in the seat zone", lambda t: True, {"people": (CLERK, CITIZEN), "phone": IN_CITIZEN_HAND},
         []),
        ("phone lying on the counter", lambda t: True, {"phone": ON_DESK}, []),
        ("below min_confidence", lambda t: True, {"phone": WEAK}, []),
        ("phone held to the ear", lambda t: True, {"people": (CLERK_AT_EAR,), "phone": AT_EAR}, []),
        ("no pose: a phone box alone is no evidence", lambda t: True, {"with_pose": False}, []),
        ("lunch: W01 has no duty", lambda t: True, {"start": "12:10:00"}, []),
        ("lunch: the midday-duty window W02 is watched", lambda t: t >= 5,
         {"start": "12:10:00", "people": (CLERK_W02,), "phone": IN_HANDS_W02}, [("opened", 15.0, "12:10:05.0", "W02")]),
    ],
)
def test_phone_use_opening(name, phone_at, kw, expected):
    out = run(phone_at, **kw)
    if expected == "opened":
        assert [k for k, *_ in out] == ["opened"], name
    else:
        assert out == expected, name


def test_closes_at_last_positive_when_the_phone_is_put_away():
    out = run(lambda t: 5 <= t < 30, seconds=60)
    assert out[0][:3] == ("opened", 15.0, "10:00:05.0")
    kind, emitted, at, _ = out[1]
    assert (kind, at) == ("closed", "10:00:29.5") and emitted > 30


@pytest.mark.parametrize("cooldown_s, n_findings", [(300, 1), (0, 2)])
def test_cooldown_between_findings(cooldown_s, n_findings):
    out = run(lambda t: 5 <= t < 30 or 60 <= t < 90, seconds=120, phone_use={"cooldown_s": cooldown_s})
    assert [k for k, *_ in out].count("opened") == n_findings


def test_closing_time_closes_an_open_finding():
    out = run(lambda t: True, seconds=30, start="17:29:40")
    assert [(k, at) for k, _, at, _ in out] == [("opened", "17:29:40.0"), ("closed", "17:30:00.0")]
