"""Both backends give the same detections on the same real frames.

Tolerance: every detection with confidence >= 0.3 from either backend has a partner of the same class
in the other backend's output (confidence >= 0.2, to allow for a score sitting just at the border) with
box IoU >= 0.9, and the partners' scores differ by at most 0.01; pose keypoints of partners lie within
3 % of the person's height. Both backends run the same IR through OpenVINO and our letterbox copies
Ultralytics' rounding, so on the shared stills the measured difference is 0.000 in score and IoU 1.000
(13 stills, 46 detections, 2026-11-22); the tolerance leaves room for other OpenVINO/OpenCV versions.
"""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest

from edge.detect.base import load_detector
from models.evaluate import box_iou
from tests.conftest import need

pytestmark = pytest.mark.e2e

SCORE_TOL = 0.01
IOU_MIN = 0.9


@pytest.fixture(scope="module")
def frames(media_dir):
    out = [cv2.imread(str(p)) for p in sorted((media_dir / "images" / "phone-negatives").glob("*.jpg"))]
    out += [cv2.imread(str(p)) for p in sorted((media_dir / "images" / "smoking").glob("*.jpg"))[:2]]
    out.append(cv2.imread(str(next((media_dir / "images" / "counter").glob("*.jpg")))))
    cap = cv2.VideoCapture(str(media_dir / "video" / "bwssytems_5977270-sd_640_360_25fps.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = cap.read()
    assert ok
    out.append(frame)
    assert all(f is not None for f in out)
    return out


def _unmatched(a, b) -> list[str]:
    problems = []
    ious = box_iou(a.xyxy, b.xyxy)
    for i in np.flatnonzero(a.confidence >= 0.3):
        cand = (b.class_id == a.class_id[i]) & (b.confidence >= 0.2)
        if not cand.any() or ious[i][cand].max() < IOU_MIN:
            problems.append(f"{a.labels[i]} {a.confidence[i]:.2f} {a.xyxy[i].round()} has no partner")
            continue
        j = int(np.flatnonzero(cand)[np.argmax(ious[i][cand])])
        if abs(float(a.confidence[i]) - float(b.confidence[j])) > SCORE_TOL:
            problems.append(f"{a.labels[i]} scores {a.confidence[i]:.3f} vs {b.confidence[j]:.3f}")
    return problems


@pytest.mark.parametrize("model", ["yolo11n-coco-int8", "yolov8n-pose-int8", "cigarette-yolov8s"])
def test_openvino_and_ultralytics_agree(model, frames, models_dir):
    need(importlib.util.find_spec("ultralytics") is not None, "ultralytics extra not installed (make tools)")
    # the same input for both: the square letterbox (the rectangular input has its own tests, test_detect_rect)
    ov = load_detector(model, backend="openvino", models_dir=models_dir, rect=False)
    ul = load_detector(model, backend="ultralytics", models_dir=models_dir)
    a_all = ov.detect(frames, conf=0.2)
    b_all = ul.detect(frames, conf=0.2)
    compared = 0
    for k, (a, b) in enumerate(zip(a_all, b_all)):
        problems = _unmatched(a, b) + _unmatched(b, a)
        assert not problems, f"frame {k}: {problems}"
        compared += int((a.confidence >= 0.3).sum())
        if a.keypoints is not None and len(a):
            ious = box_iou(a.xyxy, b.xyxy)
            for i in np.flatnonzero(a.confidence >= 0.3):
                j = int(np.argmax(ious[i]))
                vis = (a.keypoints[i, :, 2] > 0.5) & (b.keypoints[j, :, 2] > 0.5)
                dist = np.hypot(*(a.keypoints[i, vis, :2] - b.keypoints[j, vis, :2]).T)
                height = float(a.xyxy[i, 3] - a.xyxy[i, 1])
                assert dist.max(initial=0) <= 0.03 * height, f"frame {k}: keypoints differ by {dist.max():.1f}px"
    assert compared >= 3, "too few confident detections to compare"


def test_ultralytics_backend_skips_bad_frames_like_openvino(frames, models_dir):
    need(importlib.util.find_spec("ultralytics") is not None, "ultralytics extra not installed")
    ul = load_detector("yolo11n-coco-int8", backend="ultralytics", models_dir=models_dir)
    out = ul.detect([frames[0], np.zeros((4, 4), np.uint8)])
    assert len(out) == 2 and len(out[0]) >= 1 and len(out[1]) == 0 and ul.bad_frames == 1
