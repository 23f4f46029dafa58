"""Rectangular detector input (``edge.detect.ov_rect``): the rebuilt YOLO11 network gives the export's own output
at the export's size, and on real 16:9 and 4:3 frames finds what the letterboxed square finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.detect import ov_rect
from edge.detect.openvino_backend import OpenVinoDetector
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e

IR = "yolo11n_int8_openvino_model"


@pytest.mark.parametrize("hw, want", [
    ((360, 640), (640, 384)), ((1080, 1920), (640, 384)), ((720, 1280), (640, 384)), ((576, 704), (640, 544)),
    ((480, 640), (640, 480)), ((1936, 2560), (640, 512)), ((640, 640), (640, 640)), ((1936, 1280), (448, 640)),
    ((100, 3000), (640, 32))])
def test_fit_input_is_the_smallest_stride_multiple_holding_the_frame(hw, want):
    assert ov_rect.fit_input(hw, 640) == want


def test_anchor_points_are_cell_centres_level_by_level():
    points, scale = ov_rect.anchors(64, 32, [8, 16, 32])
    assert points.shape == (2, 8 * 4 + 4 * 2 + 2 * 1) and scale.shape == (1, 42)
    assert points[:, 0].tolist() == [0.5, 0.5] and points[:, 1].tolist() == [1.5, 0.5]  # x runs first in a row
    assert points[:, 8].tolist() == [0.5, 1.5]
    assert scale[0, :32].tolist() == [8] * 32 and scale[0, -2:].tolist() == [32, 32]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clip(0).prod(2)
    area = lambda x: (x[:, 2:] - x[:, :2]).prod(1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def test_at_the_export_size_the_rebuilt_network_gives_the_exports_output(models_dir, media_dir):
    import openvino as ov

    from edge.detect.postprocess import letterbox, to_tensor

    core = ov.Core()
    xml = next((models_dir / IR).glob("*.xml"))
    export = core.compile_model(core.read_model(str(xml)), "CPU")
    rebuilt = core.compile_model(ov_rect.rect_model(core.read_model(str(xml)), 80, 640, 640), "CPU")
    frame = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))
    x = to_tensor([letterbox(frame, (640, 640))[0]])
    a = export.create_infer_request().infer({0: x})[export.outputs[0]][0]
    b = rebuilt.create_infer_request().infer({0: x})[rebuilt.outputs[0]][0]
    assert a.shape == b.shape == (84, 8400)
    assert np.abs(a[4:] - b[4:]).max() < 1e-4  # class scores: the same logits through the same sigmoid
    sure = a[4:].max(0) > 0.25
    assert sure.sum() >= 5
    # boxes: the export decodes in lower precision; the rebuilt head in float (within 1 % of the box size)
    size = np.maximum(a[2:4, sure], 1)
    assert (np.abs(a[:4, sure] - b[:4, sure]) / np.concatenate([size, size]) < 0.01).all()


@pytest.fixture(scope="module")
def detector(models_dir):
    return OpenVinoDetector(models_dir / IR)


@pytest.mark.parametrize("still", ["desks/pgplarosa_sample_frame.png", "smoking-cctv/AIProjectsOrg_cctv_smoking_0836.jpg",
                                   "smoking-cctv/AIProjectsOrg_cctv_smoking_0924.jpg",
                                   "phone-negatives/bwssytems_NEG_3761652-sd_640_360_25fps_f000011.jpg"])
def test_a_rectangular_input_finds_what_the_square_finds(detector, media_dir, still):
    frame = cv2.imread(str(media_dir / "images" / still))
    assert detector.rect and detector.input_for(frame) != (640, 640)
    rect = detector.detect([frame], conf=0.2)[0]
    detector.rect = False
    try:
        square = detector.detect([frame], conf=0.2)[0]
    finally:
        detector.rect = True
    # a sure detection of one (>= 0.5) is found by the other (>= 0.2, a margin for scores near a threshold)
    for one, other in ((square, rect), (rect, square)):
        sure = one.confidence >= 0.5
        assert sure.sum() >= 1
        for box, cls in zip(one.xyxy[sure], one.class_id[sure]):
            same = other.xyxy[other.class_id == cls]
            assert len(same) and _iou(box[None], same).max() > 0.8, (still, cls, box)


def test_mixed_frame_shapes_in_one_call_come_back_in_order(detector, media_dir):
    names = ["desks/pgplarosa_sample_frame.png", "exits-real/AwaraPirkhdrie_door_chair_12.jpg",
             "counter/bwssytems_20250715_142638_e37e7821_f000001.jpg",
             "phone-negatives/bwssytems_NEG_3252428-sd_640_360_25fps_f000028.jpg"]
    frames = [cv2.imread(str(media_dir / "images" / n)) for n in names]
    together = detector.detect(frames, conf=0.3)
    alone = [detector.detect([f], conf=0.3)[0] for f in frames]
    for a, b in zip(together, alone):
        assert len(a) == len(b) and np.allclose(a.xyxy, b.xyxy, atol=1)


def test_an_export_the_rebuild_does_not_know_keeps_the_square(detector, media_dir, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise ValueError("not a YOLOv8/YOLO11 detect head")

    monkeypatch.setattr(ov_rect, "rect_model", refuse)
    d = OpenVinoDetector(detector.path)
    frame = cv2.imread(str(media_dir / "images" / "smoking-cctv" / "AIProjectsOrg_cctv_smoking_0924.jpg"))
    assert d.input_for(frame) == (640, 640) and not d.rect
    assert "no rectangular input" in caplog.text
    assert len(d.detect([frame], conf=0.3)[0]) >= 1
    with pytest.raises(ValueError, match="detect head"):
        import openvino as ov

        monkeypatch.undo()
        ov_rect.head_levels(ov.Core().read_model(str(detector.path)), 79)  # 79 classes: no such head


def test_the_pose_model_runs_a_capped_square_at_a_smaller_input_and_finds_the_same_people(models_dir, media_dir):
    """The pose export has a dynamic input: a seat square of a substream, capped (``seats.region_max_upscale``),
    runs at a smaller square input reshaped as it is; without a cap every frame keeps the export's 640x640."""
    pose = OpenVinoDetector(models_dir / "yolov8n-pose_int8_openvino_model")
    frame = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))
    frame = cv2.resize(frame, (640, round(frame.shape[0] * 640 / frame.shape[1])), interpolation=cv2.INTER_AREA)
    side = frame.shape[0]
    square = np.ascontiguousarray(frame[:, (640 - side) // 2:(640 + side) // 2])
    assert not pose.rect and pose.input_for(frame) == (640, 640) and pose.input_for(square) == (640, 640)
    assert pose.input_for(square, 1.0) == (384, 384) and pose.input_for(square, 1.4) == (512, 512)
    full = pose.detect([square], conf=0.2)[0]
    capped = pose.detect([square], conf=0.2, max_upscale=1.4)[0]
    assert capped.keypoints is not None and capped.keypoints.shape[1:] == (17, 3)
    for one, other in ((full, capped), (capped, full)):
        sure = one.confidence >= 0.5
        assert sure.sum() >= 1
        for box in one.xyxy[sure]:
            assert len(other) and _iou(box[None], other.xyxy).max() > 0.7, box


def test_two_single_thread_detectors_in_one_process_do_not_crash(models_dir, media_dir):
    """The batch probe once ran a batch of 2 through a graph that fixes batch 1 inside, which wrote past OpenVINO's
    buffers: the next detector of the process crashed. Run apart, so a crash fails this test alone."""
    code = (f"import cv2; from edge.detect.openvino_backend import OpenVinoDetector as D\n"
            f"f = cv2.imread({str(media_dir / 'images' / 'desks' / 'pgplarosa_sample_frame.png')!r})\n"
            f"a = D({str(models_dir / IR)!r}, threads=1); b = D({str(models_dir / IR)!r}, threads=1)\n"
            f"assert a.batching == b.batching == 'async'\n"
            f"print(len(a.detect([f, f])[1]), len(b.detect([f])[0]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
