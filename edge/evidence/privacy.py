"""Privacy masking: the public is made unreadable in every picture before it leaves the edge.

Evidence is about the staff, so a person in a ``staff`` or ``seat`` zone of the camera stays visible; every other
person box (a citizen at the counter, the waiting area, a passer-by) is pixelated or blurred, per camera
(``cameras[].privacy``: ``mask_public``, ``method``, ``person_min_confidence``, ``margin``).

Zones of the kinds in ``privacy.mask_zones`` (default: ``public``, the waiting area) are masked whole as well, so a
citizen the detector misses there is unreadable all the same; staff, seat and exit zones inside them stay
visible (the staff and what blocks an exit are what evidence is about).

Masks come from the person boxes of the detector, the whole body box grown by ``margin``, which covers the face
whatever the pose, and, where a face detector runs (``privacy.faces``, ``edge.detect.faces``), from every face
outside the staff and seat zones that no clerk's person box holds, grown by ``FACE_MARGIN``. The
masking is irreversible in what is stored: ``pixelate`` keeps one colour per block of at least
``MIN_BLOCK`` pixels (a sixth of the box's shorter side for larger boxes), ``blur`` averages over a kernel of
half the box's shorter side and then pixelates at half that block size, so neither a deconvolution nor a
super-resolution model can bring a face back from the few values left.

Pure functions on numpy pictures (BGR, HxWx3), no I/O:

- ``public_boxes(detections, zones, shape, privacy, faces)`` -> the boxes to mask in one picture;
- ``public_faces(faces, staff_boxes, zones, shape, privacy)`` -> the face boxes among them;
- ``zone_mask(zones, shape, privacy)`` -> the pixels masked whole in one picture (or None);
- ``mask_boxes(image, boxes, method)`` / ``mask_region(image, mask, method)`` -> a masked copy;
- ``mask_frames(frames, boxes_per_frame, method)`` -> masked copies of a clip's frames (each frame with its boxes);
- ``BoxHistory``: the public boxes of a camera's analysed frames, so a clip cut from the frame ring (which keeps
  frames, not detections) is masked frame by frame with the boxes of the analysed frames around each one.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from edge import geometry as geo
from edge.detections import Detections
from edge.site import PrivacyConfig, ZoneConfig

Method = Literal["pixelate", "blur"]
STAFF_KINDS = ("staff", "seat")
KEEP_KINDS = ("staff", "seat", "exit")  # never masked by ``mask_zones``
MIN_BLOCK = 8  # pixels: the smallest block a masked region is reduced to
BLOCKS_PER_SIDE = 6  # a masked box keeps at most this many blocks along its shorter side
STAFF_OVERLAP = 0.5  # a person belongs to a staff zone when the box centre is in it or this share of the box is
FACE_MARGIN = 0.3  # a masked face box grows by this share of its size (hair, ears, a turned head)


def staff_mask(boxes: np.ndarray, zones: Sequence[ZoneConfig], shape: tuple[int, int]) -> np.ndarray:
    """Which boxes (xyxy pixels) are staff: centre inside, or >= STAFF_OVERLAP of the box inside, a staff/seat zone."""
    keep = np.zeros(len(boxes), bool)
    if not len(boxes):
        return keep
    for z in zones:
        if z.kind not in STAFF_KINDS:
            continue
        poly = geo.denormalize_polygon(z.polygon, shape)  # type: ignore[arg-type]
        keep |= geo.points_in_polygon(geo.box_anchors(boxes, "center"), poly)
        keep |= geo.box_fraction_in_polygon(boxes, poly) >= STAFF_OVERLAP
    return keep


def public_faces(faces: np.ndarray | None, staff_boxes: np.ndarray, zones: Sequence[ZoneConfig],
                 shape: tuple[int, int], privacy: PrivacyConfig) -> np.ndarray:
    """Face boxes to mask (xyxy pixels, grown by FACE_MARGIN): faces (rows ``x1, y1, x2, y2[, score]``) at or above
    ``privacy.face_min_confidence`` whose centre is neither in a staff/seat zone nor in a clerk's person box
    (``staff_boxes``), so a clerk's own face stays visible and every other one is hidden."""
    if not privacy.mask_public or not privacy.faces or faces is None or not len(faces):
        return np.zeros((0, 4), np.float32)
    faces = np.asarray(faces, np.float32)
    if faces.shape[1] > 4:
        faces = faces[faces[:, 4] >= privacy.face_min_confidence]
    boxes = faces[:, :4]
    if not len(boxes):
        return np.zeros((0, 4), np.float32)
    keep = staff_mask(boxes, zones, shape) | geo.points_in_boxes(geo.box_anchors(boxes, "center"), staff_boxes)
    boxes = boxes[~keep]
    if not len(boxes):
        return np.zeros((0, 4), np.float32)
    return geo.pad_boxes(boxes, FACE_MARGIN, shape).astype(np.float32)


def public_boxes(detections: Detections | None, zones: Sequence[ZoneConfig], shape: tuple[int, int],
                 privacy: PrivacyConfig, faces: np.ndarray | None = None) -> np.ndarray:
    """Boxes to mask (xyxy pixels, grown by their margin and clipped to the picture): the person boxes outside the
    staff zones and, with ``faces`` (the face detector's rows), the faces of ``public_faces``; empty when masking
    is off for the camera or nobody outside the staff zones is seen."""
    none = np.zeros((0, 4), np.float32)
    if not privacy.mask_public:
        return none
    people = none
    staff = none
    if detections is not None and len(detections):
        persons = detections.of_class("person").above(privacy.person_min_confidence)
        if len(persons):
            is_staff = staff_mask(persons.xyxy, zones, shape)
            staff = persons.xyxy[is_staff]
            if (~is_staff).any():
                people = geo.pad_boxes(persons.xyxy[~is_staff], privacy.margin, shape).astype(np.float32)
    face_boxes = public_faces(faces, staff, zones, shape, privacy)
    if not len(face_boxes):
        return people
    return np.concatenate([people, face_boxes]).astype(np.float32)


def zone_mask(zones: Sequence[ZoneConfig], shape: tuple[int, int], privacy: PrivacyConfig) -> np.ndarray | None:
    """Pixels (HxW bool) of the zones masked whole: the kinds in ``privacy.mask_zones`` less every staff, seat and
    exit zone; None when there are none (or masking is off for the camera)."""
    if not privacy.mask_public or not privacy.mask_zones:
        return None
    masked = [z for z in zones if z.kind in privacy.mask_zones]
    if not masked:
        return None
    h, w = shape
    out = np.zeros((h, w), np.uint8)
    for z in masked:
        cv2.fillPoly(out, [np.round(geo.denormalize_polygon(z.polygon, shape)).astype(np.int32)], 1)
    for z in zones:
        if z.kind in KEEP_KINDS:
            cv2.fillPoly(out, [np.round(geo.denormalize_polygon(z.polygon, shape)).astype(np.int32)], 0)
    return out.astype(bool) if out.any() else None


def mask_region(image: np.ndarray, mask: np.ndarray | None, method: Method = "pixelate") -> np.ndarray:
    """A copy of ``image`` with the pixels of ``mask`` (HxW bool) made unreadable; ``image`` itself when the mask
    is None or empty."""
    if mask is None or not mask.any():
        return image
    ys, xs = np.nonzero(mask)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    hidden = mask_boxes(image, box, method)
    out = image.copy()
    out[mask] = hidden[mask]
    return out


def _block(w: int, h: int) -> int:
    return max(MIN_BLOCK, min(w, h) // BLOCKS_PER_SIDE)


def _pixelate(region: np.ndarray, block: int) -> np.ndarray:
    h, w = region.shape[:2]
    small = cv2.resize(region, (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def mask_boxes(image: np.ndarray, boxes: np.ndarray, method: Method = "pixelate") -> np.ndarray:
    """A copy of ``image`` with every box (xyxy pixels) pixelated or blurred beyond recognition."""
    out = image.copy()
    hgt, wid = image.shape[:2]
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64).reshape(-1, 4):
        a, b = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
        c, d = min(wid, int(np.ceil(x2))), min(hgt, int(np.ceil(y2)))
        if c - a < 2 or d - b < 2:
            continue
        region = out[b:d, a:c]
        block = _block(c - a, d - b)
        if method == "blur":
            k = max(3, (min(c - a, d - b) // 2) | 1)
            region = _pixelate(cv2.blur(region, (k, k)), max(MIN_BLOCK // 2, block // 2))
        else:
            region = _pixelate(region, block)
        out[b:d, a:c] = region
    return out


def mask_frames(frames: Sequence[np.ndarray], boxes_per_frame: Sequence[np.ndarray],
                method: Method = "pixelate") -> list[np.ndarray]:
    """Masked copies of a clip's frames, frame i with ``boxes_per_frame[i]`` (to be encoded afterwards: masking a
    clip means decoding and re-encoding it)."""
    if len(frames) != len(boxes_per_frame):
        raise ValueError(f"{len(frames)} frames but {len(boxes_per_frame)} box lists")
    return [mask_boxes(f, b, method) for f, b in zip(frames, boxes_per_frame)]


def mask_public(image: np.ndarray, detections: Detections | None, zones: Sequence[ZoneConfig],
                privacy: PrivacyConfig, faces: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(picture with the public masked, number of person and face boxes masked); the picture itself when nothing
    is masked. ``faces``: the face detector's rows for this picture (``public_faces``)."""
    boxes = public_boxes(detections, zones, image.shape[:2], privacy, faces)
    out = mask_region(image, zone_mask(zones, image.shape[:2], privacy), privacy.method)
    if not len(boxes):
        return out, 0
    return mask_boxes(out, boxes, privacy.method), len(boxes)


@dataclass
class BoxHistory:
    """Public boxes of one camera's analysed frames over the last ``keep_s`` seconds (frame time).

    ``boxes_at(ts)`` is the union of the boxes of the analysed frames just before and just after ``ts`` (or of
    the nearest one), so a citizen moving between two analysed frames is covered in the frames between them.
    A frame further than ``max_gap_s`` from any analysed frame gets ``None``: nothing is known about who is in
    it, and the caller masks it whole rather than guess.
    """

    keep_s: float = 60.0
    max_gap_s: float = 5.0
    _items: deque = field(default_factory=deque)  # (ts, boxes), ts ascending

    def add(self, ts: dt.datetime, boxes: np.ndarray) -> None:
        while self._items and self._items[-1][0] >= ts:
            self._items.pop()  # a camera restarted or a frame was analysed again: keep times increasing
        self._items.append((ts, np.asarray(boxes, np.float32).reshape(-1, 4)))
        while self._items and (ts - self._items[0][0]).total_seconds() > self.keep_s:
            self._items.popleft()

    def boxes_at(self, ts: dt.datetime) -> np.ndarray | None:
        times = [t for t, _ in self._items]
        i = bisect.bisect_left(times, ts)
        if i < len(times) and times[i] == ts:
            return self._items[i][1]
        near = [self._items[k] for k in (i - 1, i) if 0 <= k < len(self._items)]
        near = [(t, b) for t, b in near if abs((t - ts).total_seconds()) <= self.max_gap_s]
        if not near:
            return None
        return np.concatenate([b for _, b in near]).reshape(-1, 4)


def mask_clip_frames(frames: Iterable[tuple[dt.datetime, np.ndarray]], history: BoxHistory | None,
                     privacy: PrivacyConfig,
                     zones: Sequence[ZoneConfig] = ()) -> Iterator[tuple[dt.datetime, np.ndarray]]:
    """A clip's (ts, frame) pairs with the public masked from ``history`` and the ``mask_zones`` of ``zones``, one
    by one as ``frames`` yields them (a frame nobody needs masked is yielded as it came); a frame no analysed
    frame is near is pixelated whole (without detections there is no telling who is in it)."""
    if not privacy.mask_public:
        yield from frames
        return
    region: dict[tuple[int, int], np.ndarray | None] = {}
    for ts, img in frames:
        boxes = history.boxes_at(ts) if history is not None else None
        h, w = img.shape[:2]
        if boxes is None:
            boxes = np.array([[0, 0, w, h]], np.float32)
        if (h, w) not in region:
            region[(h, w)] = zone_mask(zones, (h, w), privacy)
        img2 = mask_region(img, region[(h, w)], privacy.method)
        yield ts, (mask_boxes(img2, boxes, privacy.method) if len(boxes) else img2)
