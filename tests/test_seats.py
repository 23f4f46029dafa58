"""Seat decisions (edge.seats): region merging, cues, empty references, uncertain, hysteresis, overrides.

Unit tests feed scripted detections and synthetic pictures; tests/test_seats_e2e.py runs the real models on the
shared stills and clips.
"""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from edge.detections import Detections
from edge.rules.window_unstaffed import WindowUnstaffedRule
from edge.seats import (
    REF_SIZE,
    ReferenceStore,
    SeatParams,
    compare_reference,
    decide,
    merge_regions,
    seat_crop,
    seat_regions,
)
from edge.site import SiteConfig
from edge.yamlconfig import ConfigError
from tests.test_rules_support import MONDAY, P_W01, P_W02, TZ, dets, local, simulate, site

NAMES = {0: "person"}


def people(*items: tuple[tuple[float, float, float, float], float]) -> Detections:
    if not items:
        return Detections.empty(NAMES)
    return Detections(np.array([b for b, _ in items], np.float32), np.array([c for _, c in items], np.float32),
                      np.zeros(len(items), np.int32), NAMES)


def pose(box: tuple[float, float, float, float], points: dict[int, tuple[float, float]], conf: float = 0.8,
         vis: float = 0.9) -> Detections:
    k = np.zeros((1, 17, 3), np.float32)
    for i, (x, y) in points.items():
        k[0, i] = (x, y, vis)
    return Detections(np.array([box], np.float32), np.array([conf], np.float32), np.zeros(1, np.int32), NAMES, k)


# ----------------------------------------------------------------------------------------------- regions

@pytest.mark.parametrize("name, boxes, shape, expected", [
    ("one seat: padded square around it", [(100, 100, 200, 200)], (1000, 1000), [(65, 65, 235, 235)]),
    ("overlapping seats: one square costs less than two", [(100, 100, 200, 200), (150, 100, 250, 200)],
     (1000, 1000), [(65, 40, 285, 260)]),
    ("seats side by side: two squares (one would cost more pixels)", [(100, 100, 200, 200), (210, 100, 310, 200)],
     (1000, 1000), [(65, 65, 235, 235), (175, 65, 345, 235)]),
    ("two far apart: two squares", [(0, 0, 100, 100), (700, 700, 800, 800)], (1000, 1000),
     [(0, 0, 170, 170), (665, 665, 835, 835)]),
    ("at the frame edge: shifted inside", [(900, 900, 1000, 1000)], (1000, 1000), [(830, 830, 1000, 1000)]),
    ("outside the frame: nothing", [(2000, 2000, 2100, 2100)], (1000, 1000), []),
])
def test_seat_regions(name, boxes, shape, expected):
    regions = seat_regions(boxes, shape, pad=0.35, min_size=64)
    assert regions == expected, name
    if not expected:
        return
    for b in boxes:  # every seat box is covered by a region
        assert any(r[0] <= b[0] and r[1] <= b[1] and r[2] >= b[2] and r[3] >= b[3] for r in regions), name


@pytest.mark.parametrize("squares, gain, n", [
    ([(0, 0, 10, 10), (2, 1, 12, 11)], 1.0, 1),      # heavy overlap: merged
    ([(0, 0, 10, 10), (9, 9, 19, 19)], 1.0, 2),      # corner touch: bounding square is 3.6x the cost
    ([(0, 0, 10, 10), (9, 9, 19, 19)], 2.0, 1),      # … unless a larger gain allows it
    ([(0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10)], 1.0, 1),
])
def test_merge_regions(squares, gain, n):
    assert len(merge_regions(squares, gain)) == n


# ----------------------------------------------------------------------------------------------- cues

ZONE = np.array([[100, 100], [200, 100], [200, 220], [100, 220]], np.float64)  # a seat, 100 x 120 px
P = SeatParams(min_person_conf=0.4, weak_person_conf=0.25)


def textured(h: int = 300, w: int = 300, seed: int = 1) -> np.ndarray:
    """A lit, textured empty scene (an office floor and furniture stand-in)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(60, 200, (h // 10, w // 10), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(base, cv2.COLOR_GRAY2BGR)


def with_person(img: np.ndarray) -> np.ndarray:
    """Head and torso over the upper two thirds of the seat: a dark, patterned shape."""
    out = img.copy()
    cv2.ellipse(out, (150, 118), (22, 22), 0, 0, 360, (40, 50, 60), -1)  # head
    cv2.rectangle(out, (106, 136), (194, 210), (30, 30, 90), -1)  # shoulders and torso
    for y in range(140, 210, 8):
        cv2.line(out, (106, y), (194, y), (200, 200, 220), 2)
    return out


def with_bag(img: np.ndarray) -> np.ndarray:
    """A bag on the seat: a small block in the lower part."""
    out = img.copy()
    cv2.rectangle(out, (135, 190), (165, 218), (20, 20, 20), -1)
    return out


def reference_of(img: np.ndarray) -> object:
    store = ReferenceStore(None)
    crop = seat_crop(img, (100, 100, 200, 220))
    return store.put("cam", "seat", crop, dt.datetime(2026, 11, 23, tzinfo=dt.UTC), save=False)


EMPTY = textured()


@pytest.mark.parametrize("name, persons, kp, frame, ref, state, reason", [
    ("confident person box", [((110, 105, 190, 215), 0.8)], None, EMPTY, False, "staffed", "person"),
    ("weak box, no reference: cues disagree", [((110, 105, 190, 215), 0.3)], None, EMPTY, False, "uncertain",
     "disagree"),
    ("weak box, the reference says empty", [((110, 105, 190, 215), 0.3)], None, EMPTY, True, "empty",
     "looks_empty"),
    ("a very weak box is nothing", [((110, 105, 190, 215), 0.1)], None, None, False, "empty", "no_cue"),
    ("head and shoulders in the zone", [], ((110, 95, 190, 215), {0: (150, 115), 5: (130, 140), 6: (170, 140)}),
     EMPTY, False, "staffed", "pose"),
    ("head just above the zone counts", [], ((110, 85, 190, 215), {0: (150, 92), 1: (145, 90), 2: (155, 90)}),
     EMPTY, False, "staffed", "pose"),
    ("a tiny pose 'person' is no one seated", [], ((140, 105, 160, 120), {0: (150, 108), 5: (145, 115),
                                                                         6: (155, 115)}), EMPTY, False, "empty",
     "no_cue"),
    ("the next seat's shoulder reaching in", [], ((190, 100, 290, 220), {5: (195, 140), 6: (250, 140)}), EMPTY,
     False, "empty", "no_cue"),
    ("dark camera", [], None, np.zeros((300, 300, 3), np.uint8), False, "uncertain", "dark"),
    ("passer-by between camera and seat", [((60, 60, 260, 299), 0.9)], None, EMPTY, False, "uncertain", "blocked"),
    ("missed person, the reference sees one", [], None, with_person(EMPTY), True, "staffed", "reference"),
    ("a bag on the seat is not a person", [], None, with_bag(EMPTY), True, "empty", "looks_empty"),
    ("empty seat equals its reference", [], None, EMPTY, True, "empty", "looks_empty"),
    ("light change only", [], None, np.clip(EMPTY.astype(np.int16) * 0.6 + 10, 0, 255).astype(np.uint8), True,
     "empty", "looks_empty"),
])
def test_decide(name, persons, kp, frame, ref, state, reason):
    p = pose(kp[0], kp[1]) if kp else None
    d = decide("seat", "cam", ZONE, people(*persons), p, frame, reference_of(EMPTY) if ref else None, P)
    assert (d.state, d.reason) == (state, reason), f"{name}: {d.cues_text()}"
    assert d.has_reference == bool(ref and frame is not None)


def test_reference_ignored_when_the_view_moved():
    ref = reference_of(EMPTY)
    moved = decide("seat", "cam", ZONE, people(), None, with_person(EMPTY), ref, P, shift=0.05)
    still = decide("seat", "cam", ZONE, people(), None, with_person(EMPTY), ref, P, shift=0.001)
    assert (moved.state, moved.has_reference) == ("empty", False) and "view moved 5.0%" in moved.cues_text()
    assert still.state == "staffed"


def test_compare_reference_cues():
    crop_ref = seat_crop(EMPTY, (100, 100, 200, 220))
    same = compare_reference(crop_ref, crop_ref)
    person = compare_reference(seat_crop(with_person(EMPTY), (100, 100, 200, 220)), crop_ref)
    bag = compare_reference(seat_crop(with_bag(EMPTY), (100, 100, 200, 220)), crop_ref)
    assert same.area == 0 and same.top == 1.0
    assert person.area > 2 * bag.area and person.upper > 0.5 > bag.upper
    assert crop_ref.shape == (REF_SIZE, REF_SIZE)


def test_overrides_are_checked():
    with pytest.raises(ValueError, match="unknown seat override"):
        P.with_overrides({"bogus": 1.0})
    assert P.with_overrides({"min_person_conf": 0.2}).min_person_conf == 0.2


# ----------------------------------------------------------------------------------------------- references

def test_reference_store_round_trip(tmp_path):
    store = ReferenceStore(tmp_path)
    crop = seat_crop(EMPTY, (100, 100, 200, 220))
    t = dt.datetime(2026, 11, 23, 20, tzinfo=dt.UTC)
    store.set_view("cam", EMPTY)
    store.put("cam", "seat", crop, t, source="mark")
    again = ReferenceStore(tmp_path)
    ref = again.get("cam", "seat")
    assert ref is not None and ref.source == "mark" and ref.updated == t
    assert np.array_equal(ref.grey(), crop)
    assert again.views["cam"].shape == store.views["cam"].shape
    (tmp_path / "cam" / "broken.png").write_bytes(b"not a png")
    assert ReferenceStore(tmp_path).get("cam", "broken") is None  # ignored, nothing else lost


def test_after_hours_frames_teach_the_empty_reference(tmp_path):
    cfg = site(window_unstaffed={"absent_s": 120, "return_s": 10})
    rule = WindowUnstaffedRule(cfg, references=ReferenceStore(tmp_path))
    frame = np.full((100, 200, 3), 120, np.uint8)
    frame[::7] = 30  # some texture
    # 20:00 on a Monday is after hours: nobody there -> the references are learned and kept on disk
    simulate(rule, f"{MONDAY} 20:00:00", 120, 30, lambda t: {"camA": dets()}, frames=lambda t, cam: frame)
    assert rule.judge.store.get("camA", "seat-w01") is not None
    assert ReferenceStore(tmp_path).get("camA", "seat-w01") is not None
    # during service hours nothing is learned
    rule2 = WindowUnstaffedRule(cfg, references=ReferenceStore(tmp_path / "day"))
    simulate(rule2, f"{MONDAY} 10:00:00", 120, 30, lambda t: {"camA": dets()}, frames=lambda t, cam: frame)
    assert rule2.judge.store.get("camA", "seat-w01") is None


# ----------------------------------------------------------------------------------------------- rule: uncertain

def _summary(events, window="W01"):
    return [(e.kind, off) for off, e in events if e.window_id == window]


WEAK = ("person", (30, 20, 70, 90), 0.3)  # a weak box in W01's seat: uncertain without a reference


@pytest.mark.parametrize("name, script, expected", [
    ("confident empty opens after absent_s", lambda t: dets(P_W02), [("opened", 120)]),
    ("uncertain all along: nothing opens", lambda t: dets(WEAK, P_W02), []),
    ("uncertain stretch > STALE_S restarts the absence clock",
     lambda t: dets(WEAK, P_W02) if 60 <= t < 100 else dets(P_W02), [("opened", 220)]),
    ("a short uncertain moment (< STALE_S) is bridged",
     lambda t: dets(WEAK, P_W02) if 60 <= t < 66 else dets(P_W02), [("opened", 120)]),
    ("staffed, then uncertain: stays staffed, no episode",
     lambda t: dets(P_W01, P_W02) if t < 30 else dets(WEAK, P_W02), []),
])
def test_uncertain_never_advances_an_episode(name, script, expected):
    rule = WindowUnstaffedRule(site(window_unstaffed={"absent_s": 120, "return_s": 10}),
                               references=ReferenceStore(None))
    events = simulate(rule, f"{MONDAY} 10:00:00", 300, 2, lambda t: {"camA": script(t)})
    assert _summary(events) == expected, name


def test_window_state_shows_uncertain_and_hysteresis_in_seconds():
    rule = WindowUnstaffedRule(site(window_unstaffed={"absent_s": 120, "return_s": 10}),
                               references=ReferenceStore(None))
    t0 = local(f"{MONDAY} 10:00:00")

    def state_after(seconds: float, script) -> str:
        simulate(rule, t0.strftime("%Y-%m-%d %H:%M:%S"), seconds, 1, lambda t: {"camA": script(t)})
        now = (t0 + dt.timedelta(seconds=seconds)).replace(tzinfo=TZ).astimezone(dt.UTC)
        return {s.window_id: s.state for s in rule.window_states(now)}["W01"]

    assert state_after(20, lambda t: dets(P_W01)) == "staffed"
    t0 += dt.timedelta(seconds=21)
    assert state_after(3, lambda t: dets(WEAK)) == "staffed"  # a 3 s dropout is bridged (gap_s)
    t0 += dt.timedelta(seconds=4)
    assert state_after(20, lambda t: dets(WEAK)) == "uncertain"
    t0 += dt.timedelta(seconds=21)
    assert state_after(20, lambda t: dets()) == "empty"
    t0 += dt.timedelta(seconds=21)
    assert state_after(5, lambda t: dets(P_W01)) == "empty"  # back for 5 s < return_s: not yet staffed
    t0 += dt.timedelta(seconds=6)
    assert state_after(12, lambda t: dets(P_W01)) == "staffed"


def test_seat_overrides_change_the_next_decisions():
    rule = WindowUnstaffedRule(site(window_unstaffed={"absent_s": 60, "return_s": 10}),
                               references=ReferenceStore(None))
    low = ("person", (30, 20, 70, 90), 0.3)
    events = simulate(rule, f"{MONDAY} 10:00:00", 100, 2, lambda t: {"camA": dets(low, P_W02)})
    assert _summary(events) == [] and rule.judge.last["seat-w01"].state == "uncertain"
    rule.set_seat_overrides({"seat-w01": {"min_person_conf": 0.25}})
    simulate(rule, f"{MONDAY} 10:02:00", 4, 2, lambda t: {"camA": dets(low, P_W02)})
    assert rule.judge.last["seat-w01"].state == "staffed"
    rule.set_seat_overrides({"seat-w01": {"weak_person_conf": 0.35}})  # the box is now below even the weak level
    events = simulate(rule, f"{MONDAY} 10:03:00", 100, 2, lambda t: {"camA": dets(low, P_W02)})
    assert rule.judge.last["seat-w01"].state == "empty" and _summary(events) == [("opened", 60)]
    with pytest.raises(ValueError):
        rule.set_seat_overrides({"seat-w01": {"nonsense": 1}})
    assert rule.judge.overrides == {"seat-w01": {"weak_person_conf": 0.35}}  # a bad call changes nothing


# ----------------------------------------------------------------------------------------------- config

def test_seats_config_errors_point_at_the_yaml_line(tmp_path):
    from edge.site import load_site_config

    cfg_file = tmp_path / "hall.yaml"
    cfg_file.write_text("hall: {id: h, name: h}\nwindows:\n  - {id: W1, number: 1, name: a}\nseats:\n"
                        "  region_pad: 0.3\n  ref_diff: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_site_config(cfg_file)
    assert ":6:" in str(err.value) and "ref_diff" in str(err.value)
    ok = SiteConfig.model_validate({"hall": {"id": "h", "name": "h"}, "windows": [{"id": "W", "number": 1,
                                                                                 "name": "a"}]})
    assert ok.seats.region_pass and SeatParams.of(ok).min_person_conf == 0.4


def test_contract_and_board_know_uncertain():
    import typing
    from pathlib import Path

    from edge.contract import WindowState, WindowStateName

    assert "uncertain" in typing.get_args(WindowStateName)
    msg = WindowState(hall_id="h", edge_id="e", window_id="W01", state="uncertain",
                      since=dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC))
    assert WindowState.model_validate(msg.model_dump(mode="json")).state == "uncertain"
    i18n = (Path(__file__).resolve().parent.parent / "server/console/static/js/i18n.js").read_text(encoding="utf-8")
    assert 'uncertain: "待确认"' in i18n and 'uncertain: "Uncertain"' in i18n
