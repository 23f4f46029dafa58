"""A snapshot shows what its alert claims: the zone it is about highlighted and named, only the object classes
that matter, each object once, labels in Chinese. Pictures go to ``test-artifacts/evidence/`` to look at."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from edge.detections import Detections
from edge.evidence.annotate import HIGHLIGHT, annotate, boxes_to_draw, class_label, focus, zone_label
from edge.paths import PROJECT_ROOT
from edge.site import ZoneConfig

ART = PROJECT_ROOT / "test-artifacts" / "evidence"
SEAT_A = ZoneConfig(id="seat-w05-a", kind="seat", window="W05", name="5号窗口A岗",
                    polygon=[(0.05, 0.3), (0.45, 0.3), (0.45, 0.95), (0.05, 0.95)])
SEAT_B = ZoneConfig(id="seat-w05-b", kind="seat", window="W06", name="6号窗口",
                    polygon=[(0.55, 0.3), (0.95, 0.3), (0.95, 0.95), (0.55, 0.95)])
EXIT = ZoneConfig(id="exit-east", kind="exit", name="东侧安全出口", polygon=[(0.6, 0.0), (1.0, 0.0), (1.0, 0.25)])
ZONES = [SEAT_A, SEAT_B, EXIT]


def dets(rows: list[tuple[list[float], str, float]]) -> Detections:
    names = sorted({r[1] for r in rows})
    ids = {n: i for i, n in enumerate(names)}
    return Detections(np.array([r[0] for r in rows], np.float32).reshape(-1, 4),
                      np.array([r[2] for r in rows], np.float32), np.array([ids[r[1]] for r in rows], np.int32),
                      {i: n for n, i in ids.items()})


@pytest.mark.parametrize("rule, window, zone, classes, highlight", [
    ("window_unstaffed", "W05", None, ("person",), ["seat-w05-a"]),   # the empty seat, not its neighbour
    ("phone_use", "W06", None, ("person", "cell phone"), ["seat-w05-b"]),
    ("exit_blocked", None, "exit-east", None, ["exit-east"]),
    ("smoking", None, None, ("person", "cigarette"), []),
    ("power_left_on", None, None, None, []),
])
def test_focus(rule, window, zone, classes, highlight):
    assert focus(rule, ZONES, window, zone) == (classes, highlight)


def test_each_object_once_and_only_the_classes_that_matter():
    full = dets([([100, 100, 140, 160], "cell phone", 0.55), ([10, 10, 90, 200], "person", 0.9),
                 ([300, 300, 360, 340], "cup", 0.8), ([200, 200, 330, 280], "laptop", 0.7)])
    crops = dets([([102, 98, 141, 158], "cell phone", 0.81)])  # the same phone seen again by the crop pass
    kept = boxes_to_draw((full, crops), ("person", "cell phone"))
    assert sorted((b[1], round(b[2], 2)) for b in kept) == [("cell phone", 0.81), ("person", 0.9)]
    assert len(boxes_to_draw((full, crops), None)) == 4


@pytest.mark.parametrize("lang, label, zone", [("zh", "手机 81%", "座位区 5号窗口A岗"),
                                              ("en", "cell phone 81%", "seat 5号窗口A岗")])
def test_labels_in_the_ui_language(lang, label, zone):
    assert class_label("cell phone", 0.81, lang) == label and zone_label(SEAT_A, lang) == zone


def test_the_snapshot_marks_the_empty_seat_and_drops_clutter(media_dir):
    ART.mkdir(parents=True, exist_ok=True)
    img = cv2.imread(str(sorted((media_dir / "images" / "counter").glob("*.jpg"))[0]))
    img = cv2.resize(img, (960, int(960 * img.shape[0] / img.shape[1])))
    h, w = img.shape[:2]
    found = dets([([0.6 * w, 0.35 * h, 0.8 * w, 0.9 * h], "person", 0.88),
                  ([0.3 * w, 0.5 * h, 0.35 * w, 0.56 * h], "cup", 0.7)])
    classes, highlight = focus("window_unstaffed", ZONES, "W05")
    out = annotate(img, found, ZONES, ["空岗/离岗", "5号窗口 党员服务"], highlight=highlight, classes=classes)
    cv2.imwrite(str(ART / "window-unstaffed-w05.png"), out)
    # the empty seat carries the thick red outline, the neighbour's seat does not
    ax = int(0.05 * w)
    seat_a_edge = out[int(0.6 * h), max(0, ax - 2):ax + 3]
    bx = int(0.55 * w)
    seat_b_edge = out[int(0.6 * h), bx - 2:bx + 3]

    def red(px: np.ndarray) -> bool:
        return bool(((px[:, 2] > 200) & (px[:, 0] < 80) & (px[:, 1] < 80)).any())

    assert red(seat_a_edge) and not red(seat_b_edge)
    assert tuple(HIGHLIGHT) == (0, 0, 255)
    # the cup is not drawn: where its box edge would be, the picture equals one annotated without any boxes
    bare = annotate(img, None, ZONES, ["空岗/离岗", "5号窗口 党员服务"], highlight=highlight)
    cx1, cy1 = int(0.3 * w), int(0.5 * h)
    assert np.array_equal(out[cy1, cx1 + 5:cx1 + 20], bare[cy1, cx1 + 5:cx1 + 20])
    cluttered = annotate(img, found, ZONES, [], highlight=highlight)
    assert not np.array_equal(cluttered[cy1, cx1 + 5:cx1 + 20], bare[cy1, cx1 + 5:cx1 + 20])


@pytest.mark.parametrize("sensor, rule, line", [
    ("office-plug", "high_power_appliance", "watts"),   # the limit the kettle alert is about, not the standby
    ("office-plug", "power_left_on", "standby"),
    ("pc-w01", None, "standby"),
])
def test_a_sensor_chart_draws_the_limit_its_alert_judged_by(monkeypatch, sensor, rule, line):
    from edge.sensors import charts, safety
    from tests.test_sensors_support import MONDAY, Feeder, at

    f = Feeder(start=at(MONDAY, "10:00:00"))
    seen = {}
    monkeypatch.setattr(charts, "chart_png", lambda *a, **kw: seen.update(kw) or b"png")
    f.hub.chart_png(sensor, at(MONDAY, "10:02:00"), rule=rule)
    s = next(x for x in f.hub.cfg.sensors if x.id == sensor)
    expected = (s.high_power_w or f.hub.cfg.rules.high_power_appliance.watts) if line == "watts" \
        else safety.standby_w(f.hub.cfg, s)
    assert seen["mark_w"] == expected and expected > 0


def test_the_kettle_chart_shows_every_reading_and_the_peak(media_dir):
    import io

    from PIL import Image

    from tests.test_sensors_support import MONDAY, Feeder, at

    f = Feeder(start=at(MONDAY, "10:00:00"))
    for i, w in enumerate([3.0, 1942.0, 1890.0, 1200.0, 2.0]):
        f.report("office-plug", w, at(MONDAY, "10:01:00") + dt.timedelta(seconds=40 * i))
    png = f.hub.chart_png("office-plug", at(MONDAY, "10:01:40"), rule="high_power_appliance")
    ART.mkdir(parents=True, exist_ok=True)
    (ART / "kettle-chart.png").write_bytes(png)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size[0] >= 600
