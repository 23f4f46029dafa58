"""Unit tables for letterbox, decode, NMS and crop regions (scripted arrays, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detect.postprocess import decode, letterbox, nms, to_tensor
from edge.detect.regions import square_region


@pytest.mark.parametrize(
    "src_hw, gain, pad_xy",
    [
        ((1936, 2560), 0.25, (0, 78)),  # overhead counter still: wide, padded top/bottom
        ((360, 640), 1.0, (0, 140)),
        ((848, 480), 640 / 848, (139, 0)),  # portrait phone video
        ((640, 640), 1.0, (0, 0)),
        ((100, 200), 3.2, (0, 160)),  # upscaled small crop
    ],
)
def test_letterbox_geometry_and_inverse(src_hw, gain, pad_xy):
    h, w = src_hw
    frame = np.full((h, w, 3), 7, np.uint8)
    img, lb = letterbox(frame, (640, 640))
    assert img.shape == (640, 640, 3)
    assert lb.gain == pytest.approx(gain, rel=1e-6)
    assert (lb.pad_x, lb.pad_y) == pad_xy
    # a box covering the whole source maps to the whole source
    full = np.array([[lb.pad_x, lb.pad_y, lb.pad_x + w * gain, lb.pad_y + h * gain]], np.float32)
    np.testing.assert_allclose(lb.to_source(full), [[0, 0, w, h]], atol=1.0)
    # padding is grey 114, the content is the source colour
    if pad_xy[1] > 1:
        assert (img[0, 320] == 114).all() and (img[320, 320] == 7).all()


@pytest.mark.parametrize("shape", [(10, 10), (0, 5, 3), (5, 5, 4), (1, 1, 3)])
def test_letterbox_rejects_bad_frames(shape):
    with pytest.raises(ValueError):
        letterbox(np.zeros(shape, np.uint8), (640, 640))


def test_to_tensor_is_the_plain_conversion():
    images = list(np.random.default_rng(3).integers(0, 256, (3, 37, 53, 3), dtype=np.uint8))
    plain = np.ascontiguousarray(np.stack(images)[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
    np.testing.assert_array_equal(to_tensor(images), plain)


def test_to_tensor_is_rgb_nchw_unit_range():
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR
    t = to_tensor([img, img])
    assert t.shape == (2, 3, 4, 4) and t.dtype == np.float32
    assert t[0, 2].max() == 1.0 and t[0, 0].max() == 0.0  # blue lands in the last (B of RGB) channel


@pytest.mark.parametrize(
    "boxes, scores, iou, kept",
    [
        ([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.7], 0.5, [0, 2]),
        ([[0, 0, 10, 10], [1, 1, 10, 10]], [0.8, 0.9], 0.5, [1]),
        ([[0, 0, 10, 10], [5, 0, 15, 10]], [0.9, 0.8], 0.5, [0, 1]),  # IoU 1/3 < 0.5: both kept
        ([[0, 0, 10, 10], [5, 0, 15, 10]], [0.9, 0.8], 0.3, [0]),
        ([], [], 0.5, []),
    ],
)
def test_nms_table(boxes, scores, iou, kept):
    out = nms(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32), iou)
    assert out.tolist() == kept


def _head(rows: list[tuple[list[float], list[float]]], nc: int, k: int = 0, anchors: int = 50) -> np.ndarray:
    raw = np.zeros((4 + nc + 3 * k, anchors), np.float32)
    for a, (box, cls_scores) in enumerate(rows):
        raw[:4, a] = box
        raw[4 : 4 + nc, a] = cls_scores
        if k:
            raw[4 + nc :, a] = np.arange(3 * k, dtype=np.float32)
    return raw


@pytest.mark.parametrize(
    "rows, conf, classes, expect",
    [
        # one box: cx,cy,w,h -> xyxy
        ([([100, 100, 20, 40], [0.9, 0.1])], 0.25, None, [(0, [90, 80, 110, 120])]),
        # below threshold: nothing
        ([([100, 100, 20, 40], [0.2, 0.1])], 0.25, None, []),
        # same place, two classes: class-aware NMS keeps both
        ([([100, 100, 20, 40], [0.9, 0.0]), ([101, 100, 20, 40], [0.0, 0.8])], 0.25, None, [(0, None), (1, None)]),
        # same place, same class: the weaker one is suppressed
        ([([100, 100, 20, 40], [0.9, 0.0]), ([101, 100, 20, 40], [0.7, 0.0])], 0.25, None, [(0, None)]),
        # class filter
        ([([100, 100, 20, 40], [0.9, 0.0]), ([300, 300, 20, 40], [0.0, 0.8])], 0.25, [1], [(1, [290, 280, 310, 320])]),
        # the filter applies to an anchor's best class: a second-best class above conf does not make it one
        ([([100, 100, 20, 40], [0.9, 0.5])], 0.25, [1], []),
        # a tie goes to the first class
        ([([100, 100, 20, 40], [0.0, 0.7, 0.7])], 0.25, None, [(1, None)]),
    ],
)
def test_decode_table(rows, conf, classes, expect):
    nc = len(rows[0][1])
    xyxy, _score, cls, kpts = decode(_head(rows, nc=nc), nc, conf, 0.45, classes)
    assert kpts is None
    assert [int(c) for c in cls] == [e[0] for e in expect]
    for (_, box), got in zip(expect, xyxy):
        if box is not None:
            np.testing.assert_allclose(got, box)


@pytest.mark.parametrize("classes", [None, [0], [2, 5]])
def test_decode_picks_what_an_argmax_of_every_anchor_picks(classes):
    """Random heads with sparse scores (as a real head: most anchors hold nothing): the anchors, scores and classes
    kept are those of the plain per-anchor argmax and threshold."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        raw = np.zeros((4 + 6, 500), np.float32)
        raw[:2] = rng.uniform(0, 640, (2, 500))
        raw[2:4] = rng.uniform(5, 60, (2, 500))
        raw[4:] = np.where(rng.random((6, 500)) < 0.05, rng.random((6, 500)), 0.0)
        xyxy, score, cls, _ = decode(raw, 6, 0.3, 0.45, classes)
        best = raw[4:].argmax(0)
        top = raw[4:].max(0)
        ok = (top > 0.3) & (np.isin(best, classes) if classes is not None else True)
        want = nms(np.stack([raw[0] - raw[2] / 2, raw[1] - raw[3] / 2, raw[0] + raw[2] / 2, raw[1] + raw[3] / 2], 1)[ok]
                   + best[ok, None] * 7680.0, top[ok], 0.45)
        np.testing.assert_array_equal(score, top[ok][want])
        np.testing.assert_array_equal(cls, best[ok][want])


def test_decode_pose_keeps_keypoints_of_kept_boxes():
    raw = _head([([100, 100, 20, 40], [0.9]), ([400, 400, 20, 40], [0.6])], nc=1, k=17)
    *_, kpts = decode(raw, 1, 0.25, 0.45, None, num_keypoints=17)
    assert kpts is not None and kpts.shape == (2, 17, 3)
    assert kpts[0, 1].tolist() == [3, 4, 5]


def test_decode_rejects_wrong_head_shape():
    with pytest.raises(ValueError, match="does not match"):
        decode(np.zeros((84, 10), np.float32), 1, 0.25, 0.45)


@pytest.mark.parametrize(
    "box, shape, pad, expect",
    [
        ([100, 100, 200, 300], (1000, 1000), 0.0, (50, 100, 250, 300)),  # square on the longer side
        ([100, 100, 200, 300], (1000, 1000), 0.5, (0, 0, 400, 400)),  # grown 2x, shifted into the frame
        ([950, 950, 1000, 1000], (1000, 1000), 0.0, (936, 936, 1000, 1000)),  # min_size 64 at the corner
        ([0, 0, 5000, 100], (1000, 2000), 0.0, (1000, 0, 2000, 1000)),  # side capped at the short side, kept inside
        ([10, 10, 10, 50], (100, 100), 0.1, None),  # degenerate
        ([200, 200, 300, 300], (100, 100), 0.1, None),  # outside
        ([float("nan"), 0, 10, 10], (100, 100), 0.1, None),
    ],
)
def test_square_region_table(box, shape, pad, expect):
    assert square_region(box, shape, pad=pad) == expect
