"""Numpy AP50/precision/recall against hand-computed tables, and evaluation on the real cigarette test split."""

from __future__ import annotations

import importlib.util
import math

import cv2
import numpy as np
import pytest

from edge.detect import load_detector
from edge.detections import Detections
from models.cli import main as models_main
from models.evaluate import average_precision, evaluate_detector, match, read_yolo_labels, score_detections
from models.manifest import all_manifests, load_manifest
from tests.conftest import need


def det(boxes, scores, classes=None) -> Detections:
    n = len(boxes)
    return Detections(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
                      np.asarray(classes if classes is not None else [0] * n, np.int32), {0: "a", 1: "b"})


GT = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)


@pytest.mark.parametrize(
    "boxes, scores, classes, tp",
    [
        ([[0, 0, 10, 10]], [0.9], [0], [True]),
        ([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], [0, 0], [True, False]),  # duplicate = false positive
        ([[0, 0, 10, 10]], [0.9], [1], [False]),  # wrong class
        ([[0, 0, 10, 19]], [0.9], [0], [True]),  # IoU 100/190 = 0.53
        ([[0, 0, 10, 21]], [0.9], [0], [False]),  # IoU 100/210 = 0.48
        ([[1, 1, 11, 11], [0, 0, 10, 10]], [0.5, 0.9], [0, 0], [False, True]),  # higher score matches first
    ],
)
def test_match_table(boxes, scores, classes, tp):
    assert match(det(boxes, scores, classes), GT, np.array([0, 0])).tolist() == tp


@pytest.mark.parametrize(
    "scores, tp, n_gt, ap",
    [
        ([0.9, 0.8], [True, True], 2, 1.0),
        # recall 0.5 at precision 1; like Ultralytics the curve is closed linearly to (recall 1, precision 0)
        ([0.9], [True], 2, 0.75),
        ([0.9, 0.8], [False, True], 1, 0.5),  # precision 0.5 at every recall
        ([], [], 3, 0.0),
    ],
)
def test_average_precision_table(scores, tp, n_gt, ap):
    assert average_precision(np.array(scores), np.array(tp, bool), n_gt) == pytest.approx(ap, abs=0.011)


def test_score_precision_recall_at_operating_threshold():
    samples = [
        (det([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.2]), GT, np.array([0, 0])),  # 1 TP, 1 low FP
        (det([[0, 0, 10, 10]], [0.6]), np.zeros((0, 4), np.float32), np.zeros(0, np.int32)),  # 1 FP
    ]
    s = score_detections(samples, conf=0.25)
    assert (s.images, s.objects) == (2, 2)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(0.5)


def test_no_ground_truth_gives_nan_ap():
    s = score_detections([(det([[0, 0, 1, 1]], [0.9]), np.zeros((0, 4), np.float32), np.zeros(0, np.int32))])
    assert math.isnan(s.ap50) and s.precision == 0.0


def test_yolo_labels(tmp_path, caplog):
    p = tmp_path / "a.txt"
    p.write_text("0 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.1\n\n")
    boxes, cls = read_yolo_labels(p, 100, 200)
    np.testing.assert_allclose(boxes, [[40, 60, 60, 140]])
    assert cls.tolist() == [0] and "line skipped" in caplog.text
    assert read_yolo_labels(tmp_path / "missing.txt", 10, 10)[0].shape == (0, 4)


@pytest.mark.e2e
def test_cigarette_detector_on_real_test_images(models_dir, media_dir):
    """First 24 images of the test split: the fine-tuned detector is far better than chance but weak."""
    split = media_dir / "datasets" / "cigarette" / "test"
    score = evaluate_detector(load_detector("cigarette-yolov8s", models_dir=models_dir), split, limit=24)
    assert score.images == 24 and score.objects >= 24
    assert 0.2 <= score.ap50 <= 0.9
    assert 0.0 < score.recall < 1.0


@pytest.mark.e2e
def test_models_eval_smoking_cli(models_dir, media_dir, capsys):
    assert models_main(["--models-dir", str(models_dir), "eval", "smoking"]) == 0
    out = capsys.readouterr().out
    assert "10 positives, 3 negatives" in out


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("target, precision, fmt", [("openvino-fp16", "fp16", "openvino"), ("onnx", "fp32", "onnx"),
                                                     ("openvino-int8", "int8", "openvino")])
def test_export_writes_a_loadable_manifest(models_dir, media_dir, tmp_path, target, precision, fmt):
    """`models export` of the shared cigarette checkpoint: the result loads with the OpenVINO backend and still
    finds the cigarette in a real smoking still. FP16 reproduces the shared IR bit for bit."""
    need(importlib.util.find_spec("ultralytics") is not None, "ultralytics extra not installed")
    need(target != "onnx" or importlib.util.find_spec("onnx") is not None, "onnx not installed")
    need(target != "openvino-int8" or importlib.util.find_spec("nncf") is not None, "nncf not installed")
    args = ["export", str(models_dir / "cigarette_yolov8s.pt"), "--to", target, "--name", "cig",
            "--out", str(tmp_path / "out")]
    if target == "openvino-int8":  # 8 calibration images, linked (not copied) from the valid split
        calib = tmp_path / "calib"
        calib.mkdir()
        for p in sorted((media_dir / "datasets" / "cigarette" / "valid" / "images").glob("*.jpg"))[:8]:
            (calib / p.name).symlink_to(p)
        args += ["--calibration", str(calib)]
    assert models_main(args) == 0
    m = load_manifest(tmp_path / "out" / "cig.yaml")
    assert m.verify()[0] and m.classes == {0: "cigarette"} and (m.precision, m.format) == (precision, fmt)
    if target == "openvino-fp16":
        assert m.sha256 == all_manifests()["cigarette-yolov8s"].sha256
    detector = load_detector(m.model_file())
    frame = cv2.imread(str(next((media_dir / "images" / "smoking").glob("Riswaldy_IMG_9518_MOV-0019*"))))
    found = detector.detect([frame], conf=0.3)[0]
    assert len(found) >= 1 and found.labels[0] == "cigarette"


@pytest.mark.parametrize("shape, width, want", [
    ((1080, 1920, 3), 640, (360, 640, 3)), ((720, 1280, 3), 640, (360, 640, 3)), ((576, 704, 3), 640, (524, 640, 3)),
    ((480, 640, 3), 640, (480, 640, 3)), ((360, 480, 3), 640, (360, 480, 3)), ((1080, 1920, 3), None, (1080, 1920, 3))])
def test_fit_width_scales_down_to_a_substream_never_up(shape, width, want):
    from models.media import fit_width

    assert fit_width(np.zeros(shape, np.uint8), width).shape == want


def test_item_frames_give_a_still_and_a_clip_as_a_substream_shows_them(media_dir):
    from models.evaluate import item_frames

    still = {"media": "images/desks/pgplarosa_sample_frame.png"}
    ((_, full),) = list(item_frames(still, media_dir))
    ((_, small),) = list(item_frames(still, media_dir, 640))
    assert full.shape[1] > 640 and small.shape[:2] == (round(full.shape[0] * 640 / full.shape[1] / 2) * 2, 640)
    clip = {"media": "video/pgplarosa_resized_cctv_full_fast_cut.mov", "fps": 1, "limit_s": 2}
    frames = list(item_frames(clip, media_dir, 640))
    assert len(frames) >= 2 and {f.shape for _, f in frames} == {(360, 640, 3)}
