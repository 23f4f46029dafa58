"""Pre- and post-processing shared by the raw-runtime backends: letterbox, YOLO head decode, NMS.

Everything follows Ultralytics' conventions so both backends agree on the same
frame: letterbox with grey (114) padding centred, ``(cx, cy, w, h)`` boxes in
input pixels, best class per anchor, class-aware greedy NMS, boxes mapped back
to source-frame pixels and clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Letterbox:
    """How a source frame was fitted into the network input: scale then pad (left, top)."""

    gain: float
    pad_x: float
    pad_y: float
    src_w: int
    src_h: int

    def to_source(self, xy: np.ndarray) -> np.ndarray:
        """Map (..., 2k) x/y pairs from input pixels back to source pixels (clipped)."""
        out = xy.astype(np.float32).copy()
        out[..., 0::2] = np.clip((out[..., 0::2] - self.pad_x) / self.gain, 0, self.src_w)
        out[..., 1::2] = np.clip((out[..., 1::2] - self.pad_y) / self.gain, 0, self.src_h)
        return out


def letterbox(frame: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping aspect ratio and pad to ``size`` = (width, height). Returns (BGR image, mapping)."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 2 or frame.shape[1] < 2:
        raise ValueError(f"expected an HxWx3 BGR frame, got shape {frame.shape}")
    h, w = frame.shape[:2]
    out_w, out_h = size
    r = min(out_h / h, out_w / w)
    new_w, new_h = round(w * r), round(h * r)
    dw, dh = (out_w - new_w) / 2, (out_h - new_h) / 2
    img = frame if (new_w, new_h) == (w, h) else cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    # Ultralytics' scale_boxes recomputes the pad from the gain: use the same numbers.
    pad_x = round((out_w - w * r) / 2 - 0.1)
    pad_y = round((out_h - h * r) / 2 - 0.1)
    return img, Letterbox(gain=r, pad_x=pad_x, pad_y=pad_y, src_w=w, src_h=h)


def to_tensor(images: list[np.ndarray]) -> np.ndarray:
    """BGR uint8 HxWx3 images (of one size) -> float32 NCHW RGB in [0, 1]. Each image is split into its
    contiguous planes first: converting the strided channels of an HxWx3 view directly costs twice as much."""
    h, w = images[0].shape[:2]
    out = np.empty((len(images), 3, h, w), np.float32)
    for k, image in enumerate(images):
        for c, plane in enumerate(reversed(cv2.split(image))):
            out[k, c] = plane
    out /= np.float32(255.0)
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy NMS on xyxy boxes; returns kept indices, highest score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(x1[i], x1[rest])
        yy1 = np.maximum(y1[i], y1[rest])
        xx2 = np.minimum(x2[i], x2[rest])
        yy2 = np.minimum(y2[i], y2[rest])
        inter = (xx2 - xx1).clip(0) * (yy2 - yy1).clip(0)
        ious = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[ious <= iou]
    return np.asarray(keep, dtype=np.int64)


MAX_WH = 7680.0  # class offset for class-aware NMS in one pass (as Ultralytics)


def decode(
    raw: np.ndarray,
    num_classes: int,
    conf: float,
    iou: float,
    classes: list[int] | None = None,
    num_keypoints: int = 0,
    max_det: int = 300,
    max_candidates: int = 30000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Decode one image's YOLOv8/11 head output ``(4 + nc + 3*k, anchors)``.

    Returns (xyxy, score, class_id, keypoints (N, k, 3) or None) in network-input pixels.
    """
    expected = 4 + num_classes + 3 * num_keypoints
    if raw.ndim != 2 or raw.shape[0] != expected:
        raise ValueError(f"head output {raw.shape} does not match 4+{num_classes}+3*{num_keypoints} rows")
    pred = raw.T  # (anchors, C)
    # best score per anchor along the head's contiguous rows; the best class only of the anchors above ``conf``
    # (the same as an argmax of every anchor, a tenth of the work: most anchors hold nothing)
    cls_rows = raw[4 : 4 + num_classes]
    score = cls_rows.max(0)
    idx = np.nonzero(score > conf)[0]
    cls_id = np.zeros(raw.shape[1], np.int64)
    cls_id[idx] = cls_rows[:, idx].argmax(0)
    if classes is not None:
        idx = idx[np.isin(cls_id[idx], classes)]
    if idx.size > max_candidates:
        idx = idx[np.argsort(-score[idx])[:max_candidates]]
    cxcywh = pred[idx, :4]
    xyxy = np.empty_like(cxcywh)
    xyxy[:, :2] = cxcywh[:, :2] - cxcywh[:, 2:] / 2
    xyxy[:, 2:] = cxcywh[:, :2] + cxcywh[:, 2:] / 2
    score, cls_id = score[idx], cls_id[idx]
    keep = nms(xyxy + (cls_id[:, None] * MAX_WH), score, iou)[:max_det]
    kpts = None
    if num_keypoints:
        kpts = pred[idx][keep, 4 + num_classes :].reshape(-1, num_keypoints, 3)
    return xyxy[keep], score[keep], cls_id[keep].astype(np.int32), kpts
