"""Analysis threads (``edge.analysis_threads``): a batch's cameras are measured by several threads sharing the
compiled models, with the real models on real frames; the results are those of one thread, and the rules see
the frames one at a time in the batch's order."""

from __future__ import annotations

import datetime as dt
import threading

import cv2
import numpy as np
import pytest

from edge.agent.pipeline import ChangeGate, FramePipeline
from edge.capture.reader import CameraFrame
from edge.site import SiteConfig

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall: service hours
SEAT = [[0.05, 0.3], [0.95, 0.3], [0.95, 0.95], [0.05, 0.95]]
N = 6


@pytest.fixture(scope="module")
def frames(media_dir):
    import av

    pictures = [cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))]
    with av.open(str(media_dir / "video" / "bwssytems_5977270-sd_640_360_25fps.mp4")) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % 25 == 0:
                pictures.append(f.to_ndarray(format="bgr24"))
            if len(pictures) == 4:
                break
    return [(pictures * 2)[:N], ((pictures[1:] + pictures[:1]) * 2)[:N]]


@pytest.fixture(scope="module")
def detector(models_dir):
    from edge.detect.base import load_detector

    return load_detector("yolo11n-coco-int8", models_dir=models_dir, threads=1, streams=2)


def _cfg(models_dir, tmp_path) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "threads", "name": "threads"},
        "windows": [{"id": f"W{i}", "number": i + 1, "name": f"w{i}"} for i in range(N)],
        "cameras": [{"id": f"cam{i}", "name": f"c{i}", "source": "unused.mp4",
                     "zones": [{"id": f"seat{i}", "kind": "seat", "window": f"W{i}", "polygon": SEAT}]}
                    for i in range(N)],
        "edge": {"data_dir": str(tmp_path), "models_dir": str(models_dir)},
    })


class Order:
    """A rule (``FrameRule``) recording the cameras in the order the rules are fed, and the thread feeding them."""

    rule_id = "order"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def update(self, ctx):  # noqa: ANN001, ANN201
        self.seen.append((ctx.camera_id, threading.current_thread().name))
        return []


def _run(cfg, detector, frames, workers: int):  # noqa: ANN001, ANN202
    from edge.rules import build_frame_rules

    order = Order()
    pipe = FramePipeline(cfg, detector, rules=[*build_frame_rules(cfg), order], gate=ChangeGate(threshold=0),
                         workers=workers)
    callers: set[str] = set()
    detect = detector.detect

    def recorded(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        callers.add(threading.current_thread().name)
        return detect(*a, **kw)

    detector.detect = recorded
    try:
        out = []
        for k, batch in enumerate(frames):
            cams = [CameraFrame(f"cam{i}", T0 + dt.timedelta(seconds=k), img, k) for i, img in enumerate(batch)]
            out.append(pipe.analyse(cams))
    finally:
        del detector.detect
        pipe.close()
    return out, order.seen, callers, pipe.counters


def test_two_analysis_threads_give_the_results_of_one(models_dir, tmp_path, detector, frames):
    cfg = _cfg(models_dir, tmp_path)
    one, seen1, callers1, counters1 = _run(cfg, detector, frames, 1)
    two, seen2, callers2, counters2 = _run(cfg, detector, frames, 2)
    assert len(callers1) == 1 and len(callers2) == 2 and all(c.startswith("analysis") for c in callers2), callers2
    expected = [f"cam{i}" for i in range(N)] * len(frames)
    assert [c for c, _ in seen1] == [c for c, _ in seen2] == expected  # the batch's order, frame by frame
    assert {t for _, t in seen2} == {threading.current_thread().name}  # rules only in the calling thread
    for batch1, batch2 in zip(one, two):
        for a, b in zip(batch1, batch2):
            assert (a.camera_id, a.ts, a.inferred) == (b.camera_id, b.ts, b.inferred)
            np.testing.assert_allclose(a.ctx.detections.xyxy, b.ctx.detections.xyxy, atol=1e-3)
            for x, y in ((a.ctx.pose, b.ctx.pose), (a.ctx.small_objects, b.ctx.small_objects)):
                assert (x is None) == (y is None)
                if x is not None:
                    np.testing.assert_allclose(x.xyxy, y.xyxy, atol=1e-3)
            assert [e.rule for e in a.events] == [e.rule for e in b.events]
    assert counters1["analysed"] == counters2["analysed"] == N * len(frames)
    for key in ("inferences", "seat_poses", "crop_passes", "seat_regions"):
        assert counters1[key] == counters2[key], key
