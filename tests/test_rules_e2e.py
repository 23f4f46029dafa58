"""End-to-end: the real detector (yolo11n INT8, raw OpenVINO, helper A's backend) on real clips from
../shared/media feeds the real rules, with durations from the frames' PTS.

Thresholds are scaled down through the config (the clips last ~10 s): window_unstaffed absent_s = return_s = 1 s,
phone_use min_s = 4 s over window_s = 6 s.
"""

from __future__ import annotations

import datetime as dt

import pytest

from edge.rules import PhoneUseRule, WindowUnstaffedRule
from edge.rules.base import FrameContext
from edge.site import SiteConfig
from tests.test_rules_support import TZ

pytestmark = pytest.mark.e2e
START = dt.datetime(2026, 11, 23, 10, 0, 0)  # a Monday, in service hours (hall-local)
FPS = 2.0


def hall(polygon, **rules) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "e2e", "name": "e2e"},
        "windows": [{"id": "W01", "number": 1, "name": "一号"}],
        "cameras": [{"id": "cam", "name": "cam", "source": "x.mp4",
                     "zones": [{"id": "seat", "kind": "seat", "window": "W01", "polygon": polygon}]}],
        "rules": rules,
    })


@pytest.fixture(scope="module")
def detector(models_dir):
    from edge.detect.base import load_detector

    return load_detector("yolo11n-coco-int8", models_dir=models_dir)


def frames(media_dir, clip, detector, crops=False):
    """Sample the clip at FPS by PTS; yield FrameContexts with real detections (and, with ``crops``, pose of the
    persons and the hand pass, as the pipeline does for people at seats)."""
    import av

    from edge.detect.base import load_detector
    from edge.detect.hands import POSE_MODEL, HandAnalyser

    hands = HandAnalyser(detector, load_detector(POSE_MODEL)) if crops else None
    with av.open(str(media_dir / "video" / clip)) as container:
        stream = container.streams.video[0]
        due = 0.0
        for f in container.decode(stream):
            t = float(f.pts * stream.time_base)
            if t + 1e-6 < due:
                continue
            due += 1 / FPS
            img = f.to_ndarray(format="bgr24")
            d = detector.detect([img], conf=0.25)[0]
            people = d.of_class("person").above(0.4)
            pose = small = None
            if hands is not None and len(people):
                pose = hands.pose_of(img, people.xyxy)
                small = hands.analyse(img, pose)
            local = START + dt.timedelta(seconds=t)
            yield FrameContext(camera_id="cam", ts=local.replace(tzinfo=TZ).astimezone(dt.UTC), local=local,
                               shape=img.shape[:2], detections=d, small_objects=small, pose=pose, frame=img)


def offsets(events):
    return [(e.kind, round((e.at.astimezone(TZ).replace(tzinfo=None) - START).total_seconds(), 1), e.duration_s)
            for e in events]


def test_presence_clip_opens_and_closes_window_unstaffed(media_dir, detector):
    """coralFallacy1011: empty chair 0-1.4 s, a man sits 1.5-9.5 s, empty again from 10 s."""
    rule = WindowUnstaffedRule(hall([[0.3, 0.2], [1, 0.2], [1, 0.8], [0.3, 0.8]],
                                    window_unstaffed={"absent_s": 1.0, "return_s": 1.0}))
    events = [e for c in frames(media_dir, "coralFallacy1011_cctv_footage.mp4", detector) for e in rule.update(c)]
    assert offsets(events) == [("opened", 0.0, None), ("closed", 1.5, 1.5), ("opened", 9.5, None)]


@pytest.mark.parametrize(
    "clip, expected",
    [
        ("bwssytems_5977270-sd_640_360_25fps.mp4", ["opened"]),  # a woman texting at a table
        ("bwssytems_NEG_4105024-sd_640_360_30fps.mp4", []),  # phone held to the ear: a call
        ("coralFallacy1011_cctv_footage.mp4", []),  # a man sitting on a chair, no phone
    ],
)
def test_phone_use_on_real_clips(media_dir, detector, clip, expected):
    rule = PhoneUseRule(hall([[0, 0], [1, 0], [1, 1], [0, 1]], phone_use={"min_s": 4, "window_s": 6}))
    events = [e for c in frames(media_dir, clip, detector, crops=True) for e in rule.update(c)]
    assert [e.kind for e in events] == expected
    if expected:
        assert events[0].rule == "phone_use" and events[0].window_id == "W01" and 0.2 <= events[0].confidence <= 1
