"""The raw OpenVINO backend on real media: boxes in frame pixels, batches, pose, region pass."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.detect import class_ids, detect_on_regions, load_detector
from edge.detections import Detections

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def coco(models_dir):
    return load_detector("yolo11n-coco-int8", models_dir=models_dir)


@pytest.fixture(scope="module")
def pose(models_dir):
    return load_detector("yolov8n-pose-int8", models_dir=models_dir)


@pytest.fixture(scope="module")
def counter(media_dir):
    img = cv2.imread(str(media_dir / "images" / "counter" / "bwssytems_20250715_142638_e37e7821_f000001.jpg"))
    assert img is not None and img.shape == (1936, 2560, 3)
    return img


@pytest.fixture(scope="module")
def stills(media_dir):
    return {p.name[:26]: cv2.imread(str(p)) for p in sorted((media_dir / "images" / "phone-negatives").glob("*.jpg"))}


@pytest.mark.parametrize(
    "still, must_have",
    [
        ("bwssytems_NEG_3761652-sd_6", {"person", "cell phone"}),  # woman holding a phone up
        ("bwssytems_NEG_3252428-sd_6", {"person"}),
        ("bwssytems_NEG_4105024-sd_6", {"person"}),  # phone at the ear, hidden by the hand
    ],
)
def test_detects_people_and_phones_in_frame_pixels(coco, stills, still, must_have):
    frame = stills[still]
    det = coco.detect([frame], conf=0.4)[0]
    assert isinstance(det, Detections)
    assert must_have <= set(det.labels)
    h, w = frame.shape[:2]
    assert (det.xyxy[:, [0, 2]] <= w).all() and (det.xyxy[:, [1, 3]] <= h).all() and (det.xyxy >= 0).all()
    assert (det.xyxy[:, 2] > det.xyxy[:, 0]).all()
    person = det.of_class("person").xyxy[0]
    assert (person[3] - person[1]) > 0.4 * h  # a standing person spans most of the picture, not 640-space


def test_batch_equals_one_by_one(coco, pose, stills, counter):
    frames = [*stills.values(), counter]
    for det in (coco, pose):
        together = det.detect(frames)
        alone = [det.detect([f])[0] for f in frames]
        assert len(together) == len(frames)
        for a, b in zip(together, alone):
            np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)
            np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-3)


@pytest.mark.parametrize("model", ["yolo11n-coco-int8", "yolov8n-pose-int8"])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_batch_gives_one_result_per_frame_with_inference_threads(models_dir, stills, counter, model, threads):
    """With INFERENCE_NUM_THREADS set, a dynamic batch of YOLO11 (whose attention reshapes to batch 1 inside)
    compiled and returned one result for three frames: the edge's analysis step then failed on every
    multi-camera batch. The batch probe now checks the result count and falls back to batch 1 + async."""
    det = load_detector(model, models_dir=models_dir, device="CPU", threads=threads)
    frames = [*list(stills.values())[:2], counter]
    together = det.detect(frames)
    assert len(together) == len(frames)
    for a, f in zip(together, frames):
        b = det.detect([f])[0]
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)


def test_class_filter_and_threshold(coco, stills):
    frame = stills["bwssytems_NEG_3761652-sd_6"]
    only_phones = coco.detect([frame], conf=0.25, classes=class_ids(coco, "cell phone"))[0]
    assert set(only_phones.labels) == {"cell phone"}
    assert len(coco.detect([frame], conf=0.99)[0]) == 0


def test_pose_keypoints_in_frame_pixels(pose, counter):
    det = pose.detect([counter], conf=0.5)[0]
    assert len(det) == 1, "one clerk at the counter"
    assert det.keypoints is not None and det.keypoints.shape == (1, 17, 3)
    x1, y1, x2, y2 = det.xyxy[0]
    visible = det.keypoints[0][det.keypoints[0, :, 2] > 0.5]
    assert len(visible) >= 5
    assert ((visible[:, 0] >= x1 - 20) & (visible[:, 0] <= x2 + 20)).all()
    assert ((visible[:, 1] >= y1 - 20) & (visible[:, 1] <= y2 + 20)).all()


def test_phone_on_counter_is_found_in_the_clerks_hands(coco, pose, counter):
    """2560x1936 overhead counter: one 640x640 pass sees no phone; the hand pass (full-resolution squares around
    the clerk's wrists) does, in the clerk's hands, and the phone rule calls it use. Margins hold on any CPU:
    no full-frame phone even at 0.1 (none is there at all); the hand-pass phone scores ~0.3 on an AMD EPYC
    with AVX2 only and ~0.15 on one with AVX-512 VNNI (INT8 kernels differ this much on this borderline
    picture), so it is asserted >= 0.1, the level at which the full frame finds nothing; its box is a phone's
    size at the hands, and with a threshold below its score the phone rule calls it use."""
    from edge.detect.hands import HandAnalyser, body_scale, hands_of
    from edge.rules.phone_use import phone_evidence

    phone = class_ids(coco, "cell phone")
    assert len(coco.detect([counter], conf=0.1, classes=phone)[0]) == 0
    hands = HandAnalyser(coco, pose)
    clerk = hands.pose_of(counter, np.array([[896, 774, 1920, 1646]], np.float32))  # padded square around the seat
    assert len(clerk) == 1 and clerk.keypoints is not None
    held = hands.analyse(counter, clerk).of_class("cell phone")
    assert len(held) >= 1
    best = held[np.argmax(held.confidence)]
    assert best.confidence[0] >= 0.1
    scale = body_scale(clerk.keypoints[0], clerk.xyxy[0])
    x1, y1, x2, y2 = best.xyxy[0]
    assert max(x2 - x1, y2 - y1) < 2 * scale  # a phone, not a person-sized box
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    assert min(np.hypot(*(h.point - centre)) for h in hands_of(clerk)) < scale  # in the hands
    assert phone_evidence(clerk, held, 0, min_conf=0.1).state == "use"


def test_hand_crops_of_several_frames_in_one_call_equal_one_frame_at_a_time(coco, pose, counter, stills):
    """``HandAnalyser.analyse_many`` (the agent's batch: every frame's hand crops in one detect call) gives each
    frame what ``analyse`` gives it alone, frames without hands or people included."""
    from edge.detect.hands import HandAnalyser

    hands = HandAnalyser(coco, pose)
    clerk = hands.pose_of(counter, np.array([[896, 774, 1920, 1646]], np.float32))
    woman = stills["bwssytems_NEG_3761652-sd_6"]
    lady = pose.detect([woman], conf=0.4)[0]
    assert len(clerk) and len(lady)
    items = [(counter, clerk, None), (woman, lady, None), (woman, Detections.empty(pose.names), None),
             (woman, lady, [])]
    alone = [hands.analyse(*item) for item in items]
    together = hands.analyse_many(items)
    assert len(together) == len(items) and len(alone[0])
    assert len(alone[2]) == len(alone[3]) == 0
    for a, b in zip(alone, together):
        assert a.class_id.tolist() == b.class_id.tolist()
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)
        np.testing.assert_allclose(a.confidence, b.confidence, atol=0.01)


def test_region_pass_with_no_or_bad_regions(coco, counter):
    assert len(detect_on_regions(coco, counter, np.zeros((0, 4)))) == 0
    assert len(detect_on_regions(coco, counter, [[10, 10, 10, 10], [5000, 5000, 6000, 6000]])) == 0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10), np.uint8), np.zeros((0, 0, 3), np.uint8), np.zeros((8, 8, 3), np.float32), None],
)
def test_a_bad_frame_is_logged_counted_and_does_not_spoil_the_batch(coco, stills, bad, caplog):
    good = stills["bwssytems_NEG_3761652-sd_6"]
    before = coco.bad_frames
    out = coco.detect([good, bad, good])
    assert len(out) == 3 and len(out[1]) == 0
    assert coco.bad_frames == before + 1
    assert "not an HxWx3 uint8 picture" in caplog.text
    alone = coco.detect([good])[0]
    for r in (out[0], out[2]):
        np.testing.assert_allclose(r.xyxy, alone.xyxy, atol=0.5)


@pytest.mark.parametrize(
    "name, backend, error",
    [
        ("no-such-model", "openvino", FileNotFoundError),
        ("yolo11n-coco-int8", "tensorrt", ValueError),
        ("cigarette-yolov8s-pt", "openvino", ValueError),  # a .pt needs the ultralytics backend
    ],
)
def test_load_errors(name, backend, error, models_dir):
    with pytest.raises(error):
        load_detector(name, backend=backend, models_dir=models_dir)


def test_static_ir_refuses_other_input_size(models_dir):
    with pytest.raises(ValueError, match="cannot run at input 320x320"):
        load_detector("cigarette-yolov8s", models_dir=models_dir, imgsz=320)


def test_load_by_path_reads_metadata(models_dir):
    det = load_detector(models_dir / "yolov8n-pose_int8_openvino_model")
    assert det.task == "pose" and det.names == {0: "person"} and det.input_size == (640, 640)


@pytest.mark.parametrize("model, shape", [("coco", (360, 640)), ("coco", (400, 400)), ("pose", (400, 400))])
def test_many_frames_stream_through_the_model(request, monkeypatch, stills, model, shape):
    """Ten frames in one call (ten cameras, or ten seat squares): each frame's result is decoded before the frame
    four places later is prepared, so memory holds a few frames' tensors and outputs whatever the batch (the
    agent's resident memory per camera); the results equal one call per frame."""
    from edge.detect import openvino_backend

    det = request.getfixturevalue(model)
    frames = [cv2.resize(img, shape[::-1]) for img in stills.values()]
    frames = (frames * 4)[:10]
    order: list[tuple[str, int]] = []
    prep, dec = openvino_backend.to_tensor, det._decoded

    def to_tensor(images):
        order.append(("prepared", sum(k == "prepared" for k, _ in order)))
        return prep(images)

    def decoded(*a, **kw):
        order.append(("decoded", sum(k == "decoded" for k, _ in order)))
        return dec(*a, **kw)

    monkeypatch.setattr(openvino_backend, "to_tensor", to_tensor)
    monkeypatch.setattr(det, "_decoded", decoded)
    together = det.detect(frames)
    assert [k for k, _ in order].count("decoded") == len(frames)
    for i in range(len(frames) - 4):
        assert order.index(("decoded", i)) < order.index(("prepared", i + 4)), order
    monkeypatch.undo()
    for f, t in zip(frames, together):
        (one,) = det.detect([f])
        np.testing.assert_allclose(one.xyxy, t.xyxy, atol=1e-3)
        np.testing.assert_allclose(one.confidence, t.confidence, atol=1e-5)


@pytest.mark.parametrize("model", ["yolo11n-coco-int8", "yolov8n-pose-int8"])
def test_inference_streams_run_several_frames_at_once_with_the_same_results(models_dir, stills, counter, model):
    """``streams=2``: the compiled networks (the export's own and the rectangular one of a 640x360 substream)
    have two inference streams of one thread each and a queue of three requests, so both cores work on the frames
    of one call; each frame's result is the one a single stream gives."""
    frames = [*stills.values(), counter, *(cv2.resize(img, (640, 360)) for img in stills.values())]
    one = load_detector(model, models_dir=models_dir, device="CPU", threads=1)
    two = load_detector(model, models_dir=models_dir, device="CPU", threads=1, streams=2)
    together = two.detect(frames)
    nets = [two._net, *two._rect_nets.values()]
    assert (model == "yolo11n-coco-int8") == bool(two._rect_nets)
    for net in nets:
        assert int(net.compiled.get_property("NUM_STREAMS")) == 2
        assert int(net.compiled.get_property("INFERENCE_NUM_THREADS")) == 2
        assert net.depth == 3
    assert one._net.depth == 2 and int(one._net.compiled.get_property("NUM_STREAMS")) == 1
    # a batch runs on one stream: the pose export has a batch dimension, yet with streams its frames go one per
    # request through the queue
    assert two.batching == "async"
    assert one.batching == ("batch" if model == "yolov8n-pose-int8" else "async")
    for a, b in zip(together, one.detect(frames)):
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)
        np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-3)


@pytest.mark.parametrize("shape, cap, size", [
    ((100, 100), 2.0, (256, 256)),  # enlarged twice: 200 -> the next multiple of 128
    ((150, 150), 2.0, (384, 384)),
    ((200, 200), 2.0, (512, 512)),
    ((300, 300), 2.0, (640, 640)),  # 600: the whole input is the smallest that holds it
    ((900, 900), 2.0, (640, 640)),  # larger than the input: shrunk as always
    ((50, 50), 2.0, (128, 128)),
    ((150, 150), None, (640, 640)),  # uncapped: enlarged to the whole input
    ((360, 640), 2.0, (640, 384)),  # a substream frame: its rectangular input, as uncapped
    ((120, 200), 2.0, (512, 320)),  # a wide crop: the capped square's rectangular fit
])
def test_max_upscale_picks_the_smallest_input_that_holds_the_enlarged_frame(coco, shape, cap, size):
    frame = np.zeros((*shape, 3), np.uint8)
    assert coco.input_for(frame, cap) == size
    (det,) = coco.detect([frame], max_upscale=cap)
    assert len(det) == 0  # a black frame, run at that input without error


def test_a_capped_crop_finds_what_the_whole_input_finds(coco, stills):
    """A square crop around the woman holding a phone up (what the hand pass cuts), scaled to 200 pixels: enlarged
    twice (512x512) the detector finds the person and the phone at the phone rule's threshold (0.2), as enlarged to
    640x640 (phone ~0.6 and ~0.4 on an Intel Xeon with AMX)."""
    frame = cv2.resize(stills["bwssytems_NEG_3761652-sd_6"][:, 140:500], (200, 200), interpolation=cv2.INTER_AREA)
    assert coco.input_for(frame, 2.0) == (512, 512)
    capped, whole = coco.detect([frame], conf=0.2, max_upscale=2.0)[0], coco.detect([frame], conf=0.2)[0]
    assert {"person", "cell phone"} <= set(capped.labels)
    assert {"person", "cell phone"} <= set(whole.labels)
