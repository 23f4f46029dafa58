"""Second-pass detection on regions of a frame (the way Frigate detects on regions).

Small objects (a phone at counter distance, a cigarette) are a few pixels wide in a
640x640 letterbox of a 2560x1936 frame. Cropping a padded square around each person
(or each head / hand) and resizing it to the model input multiplies their size; the
detections are then mapped back to frame coordinates and merged with NMS.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from edge.detect.base import Detector
from edge.detect.postprocess import nms
from edge.detections import Detections

log = logging.getLogger(__name__)

PHONE_PADS: tuple[float, ...] = (0.15, 0.4)  # per-person crops for phones: two scales, merged by NMS


def square_region(
    box: Sequence[float], frame_shape: tuple[int, ...], pad: float = 0.15, min_size: int = 64
) -> tuple[int, int, int, int] | None:
    """A square around ``box`` grown by ``pad`` (fraction of its longer side) and shifted to fit the frame.

    Returns integer (x1, y1, x2, y2) or None if the box is degenerate or outside the frame.
    """
    h, w = int(frame_shape[0]), int(frame_shape[1])
    x1, y1, x2, y2 = (float(v) for v in box)
    if not np.all(np.isfinite([x1, y1, x2, y2])) or x2 <= x1 or y2 <= y1:
        return None
    if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
        return None
    side = max(x2 - x1, y2 - y1) * (1 + 2 * pad)
    side = round(min(max(side, min_size), w, h))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = round(min(max(cx - side / 2, 0), w - side))
    top = round(min(max(cy - side / 2, 0), h - side))
    return left, top, left + side, top + side


def detect_on_regions(
    detector: Detector,
    frame: np.ndarray,
    regions_xyxy: np.ndarray | Sequence[Sequence[float]],
    pad: float | Sequence[float] = 0.15,
    classes: list[int] | None = None,
    conf: float = 0.25,
    iou: float = 0.45,
    min_size: int = 64,
    max_upscale: float | None = None,
) -> Detections:
    """Run ``detector`` on a padded square crop around each region; return detections in frame pixels.

    ``pad`` is a fraction of the region's longer side added on every side; a sequence of pads crops each
    region at several scales (cheap test-time augmentation: an INT8 model's score for a small object
    swings with the crop scale; ``PHONE_PADS`` is what the counter still needs).

    All crops go to the detector in one ``detect()`` call (one batch). Overlapping crops can see the
    same object twice: results are merged with class-aware NMS. Degenerate regions are skipped and logged.
    Keypoints (pose models) are mapped back too. ``max_upscale``: see ``Detector.detect``.
    """
    regions = np.asarray(regions_xyxy, dtype=np.float32).reshape(-1, 4)
    crops: list[np.ndarray] = []
    offsets: list[tuple[int, int, int, int]] = []
    pads = [float(pad)] if isinstance(pad, (int, float)) else [float(p) for p in pad]
    for r in regions:
        for p in pads:
            sq = square_region(r, frame.shape, pad=p, min_size=min_size)
            if sq is None:
                log.debug("skipping degenerate region %s", r.tolist())
                break
            if sq in offsets:
                continue
            x1, y1, x2, y2 = sq
            crops.append(frame[y1:y2, x1:x2])
            offsets.append(sq)
    if not crops:
        return Detections.empty(detector.names)
    parts: list[Detections] = []
    found = detector.detect(crops, conf=conf, iou=iou, classes=classes, max_upscale=max_upscale)
    for det, (x1, y1, _, _) in zip(found, offsets):
        if not len(det):
            continue
        xyxy = det.xyxy + np.array([x1, y1, x1, y1], np.float32)
        kpts = None
        if det.keypoints is not None:
            kpts = det.keypoints.copy()
            kpts[..., 0] += x1
            kpts[..., 1] += y1
        parts.append(Detections(xyxy, det.confidence, det.class_id, det.names, kpts))
    if not parts:
        return Detections.empty(detector.names)
    merged = Detections.merge(parts)
    keep = nms(merged.xyxy + merged.class_id[:, None] * 7680.0, merged.confidence, iou)
    return merged[keep]


def detect_on_squares(
    detector: Detector,
    items: Sequence[tuple[np.ndarray, Sequence[tuple[int, int, int, int]]]],
    classes: list[int] | None = None,
    conf: float = 0.25,
    iou: float = 0.45,
    max_upscale: float | None = None,
) -> list[Detections]:
    """Run ``detector`` on given square crops (already inside their frame) of several frames in one batch.

    ``items``: (frame, [squares xyxy]) per frame. Returns one ``Detections`` per frame, in that frame's pixels,
    overlapping crops merged with class-aware NMS (keypoints mapped back too). ``max_upscale``: see
    ``Detector.detect``."""
    crops: list[np.ndarray] = []
    owner: list[tuple[int, int, int]] = []
    for k, (frame, squares) in enumerate(items):
        for x1, y1, x2, y2 in squares:
            crops.append(frame[y1:y2, x1:x2])
            owner.append((k, x1, y1))
    per: list[list[Detections]] = [[] for _ in items]
    if crops:
        found = detector.detect(crops, conf=conf, iou=iou, classes=classes, max_upscale=max_upscale)
        for det, (k, x1, y1) in zip(found, owner):
            if not len(det):
                continue
            kpts = None
            if det.keypoints is not None:
                kpts = det.keypoints.copy()
                kpts[..., 0] += x1
                kpts[..., 1] += y1
            per[k].append(Detections(det.xyxy + np.array([x1, y1, x1, y1], np.float32), det.confidence,
                                     det.class_id, det.names, kpts))
    out = []
    for parts in per:
        if not parts:
            out.append(Detections.empty(detector.names))
            continue
        merged = Detections.merge(parts)
        out.append(merged[nms(merged.xyxy + merged.class_id[:, None] * 7680.0, merged.confidence, iou)])
    return out


def merge_detections(first: Detections, second: Detections, iou: float = 0.5, contained: float = 0.85) -> Detections:
    """Detections of two passes over one frame merged: class-aware NMS (the more confident box wins), then a box
    lying ``contained`` or more inside a more confident box of its class is dropped (a region crop cuts a person
    at its border and sees a part of them). Keypoints are kept only when both passes carry them."""
    if not len(second):
        return first
    if not len(first):
        return second
    if (first.keypoints is None) != (second.keypoints is None):
        second = Detections(second.xyxy, second.confidence, second.class_id, second.names)
        first = Detections(first.xyxy, first.confidence, first.class_id, first.names)
    merged = Detections.merge([first, second])
    merged = merged[nms(merged.xyxy + merged.class_id[:, None] * 7680.0, merged.confidence, iou)]
    keep = np.ones(len(merged), bool)
    b = merged.xyxy
    areas = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    for i in range(len(merged)):  # merged is sorted by confidence (nms order)
        if not keep[i]:
            continue
        for j in range(i + 1, len(merged)):
            if not keep[j] or merged.class_id[j] != merged.class_id[i] or areas[j] <= 0:
                continue
            iw = max(0.0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            ih = max(0.0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            if iw * ih / areas[j] >= contained:
                keep[j] = False
    return merged[keep]
