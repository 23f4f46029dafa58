"""exit_blocked: learned clear reference + object coverage; people and lighting are not obstructions.

Frames are synthetic (a tiled floor with per-frame sensor noise); the exit zone is the middle of the picture
(x 50-150, y 25-75 of a 100x200 frame).
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.rules.exit_blocked import ExitBlockedRule
from tests.test_rules_support import MONDAY, TZ, dets, simulate, site

RNG = np.random.default_rng(7)
FLOOR = np.kron((np.indices((10, 20)).sum(0) % 2) * 80 + 80, np.ones((10, 10))).astype(np.float32)  # 100x200 tiles


def frame(t: float, box: bool = False, person_x: float | None = None, gain: float = 1.0) -> np.ndarray:
    img = FLOOR * gain + RNG.normal(0, 3, FLOOR.shape)
    if box:
        img[30:70, 60:140] = 40  # a stack of boxes covering 80 % of the exit zone
    if person_x is not None:
        x = int(person_x)
        img[20:95, x:x + 20] = 220
    return np.clip(img, 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)


def run(scene, seconds=240, **rules):
    """scene(t) -> (frame or None, detections)."""
    rule = ExitBlockedRule(site(exit_blocked={"min_s": 60, **rules}))
    events = simulate(rule, f"{MONDAY} 10:00:00", seconds, 1, lambda t: {"camX": scene(t)[1]},
                      frames=lambda t, cam: scene(t)[0])
    return [(e.kind, off, e.at.astimezone(TZ).strftime("%H:%M:%S"), e.duration_s) for off, e in events]


def walker(t):
    """A person crossing the exit zone back and forth for the whole run, detected as a person."""
    x = 40 + (t * 7) % 120
    return frame(t, person_x=x), dets(("person", (x, 20, x + 20, 95), 0.8))


def stander(t):
    return frame(t, person_x=90), dets(("person", (90, 20, 110, 95), 0.8))


@pytest.mark.parametrize(
    "name, scene, expected",
    [
        ("clear exit", lambda t: (frame(t), dets()), []),
        ("boxes from 20 s to 150 s", lambda t: (frame(t, box=20 <= t < 150), dets()),
         [("opened", 80, "10:00:20", None), ("closed", 180, "10:02:30", 130.0)]),
        ("boxes for 59 s only", lambda t: (frame(t, box=20 <= t < 79), dets()), []),
        ("a person walking through all the time", walker, []),
        ("a person standing in the exit for minutes", stander, []),
        ("the lights dim to 60 %", lambda t: (frame(t, gain=0.6 if t > 50 else 1.0), dets()), []),
        ("detected suitcase covering half the zone (no pixels)",
         lambda t: (None, dets(("suitcase", (50, 25, 100, 75), 0.6)) if t >= 10 else dets()),
         [("opened", 70, "10:00:10", None)]),
        ("a chair covering 10 % of the zone", lambda t: (None, dets(("chair", (50, 25, 60, 75), 0.6))), []),
    ],
)
def test_exit_blocked(name, scene, expected):
    assert run(scene) == expected, name


def test_set_reference_detects_an_obstruction_present_at_start():
    rule = ExitBlockedRule(site(exit_blocked={"min_s": 60}))
    rule.set_reference("camX", "exit-1", frame(0))
    events = simulate(rule, f"{MONDAY} 10:00:00", 90, 1, lambda t: {"camX": dets()},
                      frames=lambda t, cam: frame(t, box=True))
    assert [(e.kind, off) for off, e in events] == [("opened", 60)]
