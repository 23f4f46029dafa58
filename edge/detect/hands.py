"""Hands: where a person's hands are (pose wrists and elbows) and what the COCO detector sees in them.

A phone (or a cigarette, a pen, a cup) at counter distance is a few dozen pixels of a 2560x1936 frame and
vanishes in a 640x640 pass over the whole picture. It is where the hands are, so::

    hands = hands_of(pose, people=seated)                 # one Hand per visible wrist, in frame pixels
    squares = hand_squares(hands)                         # a square per hand, merged where hands meet
    held = HandAnalyser(coco, pose_model).analyse(frame, pose, people=seated)   # COCO on those squares

The hand is a little beyond the wrist along the forearm (the fingers are beyond the wrist, away from the
elbow). Squares of one body scale (shoulder width) around a person's hands that overlap (both hands on one
phone) merge into one group, like the seat regions of ``edge.detect.regions``; each group is cut from the
frame at its full resolution as squares of ``HAND_SIDES`` body scales around its centre and resized to the
model input. Why that large: the INT8 COCO detector finds a phone by its context (a hand, an arm, a lap) and
at a size of roughly a tenth of its input; on a tight crop around the hand it sees no phone at all (measured
on the counter and office CCTV: nothing at 1-2 body scales, 0.2-0.6 at 3-5). Two sides are a cheap
test-time augmentation: an INT8 model's score for a small object swings with the crop scale. A person whose
wrists are not visible but whose hips are gets a lap group instead (a phone held low, hands behind the desk).

Everything except ``HandAnalyser`` is a pure function of pose keypoints (numpy only), so rules use them too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from edge.detect.base import Detector
from edge.detect.regions import detect_on_regions, detect_on_squares, square_region
from edge.detections import Detections

log = logging.getLogger(__name__)

# COCO keypoint indices
NOSE, L_EYE, R_EYE, L_EAR, R_EAR = 0, 1, 2, 3, 4
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 5, 6, 7, 8, 9, 10
L_HIP, R_HIP, L_KNEE, R_KNEE = 11, 12, 13, 14
FACE = (NOSE, L_EYE, R_EYE, L_EAR, R_EAR)
WRISTS = (L_WRIST, R_WRIST)
ELBOW_OF = {L_WRIST: L_ELBOW, R_WRIST: R_ELBOW}
KP_MIN_VIS = 0.5

POSE_MODEL = "yolov8n-pose-int8"
HAND_SIDES: tuple[float, ...] = (3.0, 5.0)  # sides of the crops around a hand group, in body scales
HAND_REACH = 1.0  # hands closer than this (body scales) form one group
FINGERS = 0.4  # the hand centre lies this fraction of the forearm beyond the wrist
MIN_SQUARE = 96  # pixels: smaller crops are grown to this (a 20-pixel hand upscaled 30x is noise)
# what a hand holds that the COCO detector knows: a phone, what a phone or a cigarette can be mistaken for, and
# food (the eating rule)
HELD_CLASSES: tuple[str, ...] = (
    "cell phone", "remote", "toothbrush", "scissors", "knife", "fork", "spoon", "cup", "wine glass", "bottle",
    "book", "mouse", "keyboard", "bowl", "banana", "apple", "orange", "sandwich", "hot dog", "pizza", "donut", "cake",
)


def visible(kpts: np.ndarray, *idx: int) -> bool:
    return bool(all(kpts[i, 2] >= KP_MIN_VIS for i in idx))


def body_scale(kpts: np.ndarray, box: Sequence[float]) -> float:
    """A person's size in pixels: the shoulder width, but at least a fifth of the box height (shoulders collapse
    to a few pixels in profile view) and at least 8 pixels."""
    ls, rs = kpts[L_SHOULDER], kpts[R_SHOULDER]
    width = float(np.hypot(*(ls[:2] - rs[:2]))) if min(ls[2], rs[2]) >= KP_MIN_VIS else 0.0
    return max(width, 0.2 * float(max(box[3] - box[1], 1.0)), 8.0)


def hand_point(kpts: np.ndarray, wrist: int) -> np.ndarray | None:
    """Where the fingers are: the wrist pushed ``FINGERS`` of the forearm further from the elbow; None if the wrist
    is not visible."""
    if kpts[wrist, 2] < KP_MIN_VIS:
        return None
    w = kpts[wrist, :2].astype(np.float64)
    elbow = ELBOW_OF[wrist]
    if kpts[elbow, 2] >= KP_MIN_VIS:
        return w + FINGERS * (w - kpts[elbow, :2])
    return w


def head_point(kpts: np.ndarray) -> np.ndarray | None:
    """Mouth-ish point: the mean of the visible face keypoints (nose, eyes, ears); None if none is visible."""
    vis = [kpts[i, :2] for i in FACE if kpts[i, 2] >= KP_MIN_VIS]
    return np.mean(vis, axis=0) if vis else None


def shoulder_line(kpts: np.ndarray) -> float | None:
    """Image y of the shoulders (mean of the visible ones), None if neither is visible."""
    ys = [kpts[i, 1] for i in (L_SHOULDER, R_SHOULDER) if kpts[i, 2] >= KP_MIN_VIS]
    return float(np.mean(ys)) if ys else None


def box_gap(point: np.ndarray, box: np.ndarray) -> float:
    """Distance in pixels from a point to a box (xyxy); 0 inside it."""
    dx = max(box[0] - point[0], 0.0, point[0] - box[2])
    dy = max(box[1] - point[1], 0.0, point[1] - box[3])
    return float(np.hypot(dx, dy))


def lap_box(kpts: np.ndarray, box: Sequence[float]) -> np.ndarray | None:
    """The lap of a seated person: from the hips to the knees (or half a body scale below the hips when the knees
    are hidden by the desk), one body scale wide around them; None without a visible hip."""
    hips = [kpts[i, :2] for i in (L_HIP, R_HIP) if kpts[i, 2] >= KP_MIN_VIS]
    if not hips:
        return None
    knees = [kpts[i, :2] for i in (L_KNEE, R_KNEE) if kpts[i, 2] >= KP_MIN_VIS]
    scale = body_scale(kpts, box)
    pts = np.asarray(hips + knees, np.float64)
    if not knees:
        pts = np.vstack([pts, pts + [0.0, 0.5 * scale]])
    x1, y1 = pts.min(axis=0) - 0.5 * scale
    x2, y2 = pts.max(axis=0) + 0.5 * scale
    return np.array([x1, y1, x2, y2], np.float64)


@dataclass(frozen=True)
class Hand:
    """One visible hand of one pose person (frame pixels)."""

    person: int  # index into the pose detections
    wrist: int  # L_WRIST or R_WRIST (L_HIP for a lap square standing in for hidden hands)
    point: np.ndarray  # estimated centre of the hand
    scale: float  # the owner's body scale in pixels


def hands_of(pose: Detections, people: Iterable[int] | None = None, lap: bool = True) -> list[Hand]:
    """Every visible hand of the given pose persons (all when ``people`` is None). With ``lap``, a person with no
    visible wrist but a visible hip gets one 'hand' at the centre of the lap (``wrist`` = L_HIP)."""
    out: list[Hand] = []
    if pose.keypoints is None:
        return out
    for i in range(len(pose)) if people is None else people:
        kpts, box = pose.keypoints[i], pose.xyxy[i]
        scale = body_scale(kpts, box)
        found = False
        for w in WRISTS:
            p = hand_point(kpts, w)
            if p is not None:
                out.append(Hand(int(i), w, p, scale))
                found = True
        if not found and lap:
            lb = lap_box(kpts, box)
            if lb is not None:
                out.append(Hand(int(i), L_HIP, (lb[:2] + lb[2:]) / 2, scale))
    return out


def merge_squares(boxes: np.ndarray) -> list[tuple[np.ndarray, list[int]]]:
    """Merge overlapping squares into bounding squares until none overlap: [(square xyxy, member indices)]."""
    groups = [(np.asarray(b, np.float64), [k]) for k, b in enumerate(np.asarray(boxes).reshape(-1, 4))]
    merged = True
    while merged:
        merged = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                ba, bb = groups[a][0], groups[b][0]
                if ba[0] < bb[2] and bb[0] < ba[2] and ba[1] < bb[3] and bb[1] < ba[3]:
                    lo, hi = np.minimum(ba[:2], bb[:2]), np.maximum(ba[2:], bb[2:])
                    side, centre = float((hi - lo).max()), (lo + hi) / 2
                    sq = np.concatenate([centre - side / 2, centre + side / 2])
                    groups[a] = (sq, groups[a][1] + groups[b][1])
                    del groups[b]
                    merged = True
                    break
            if merged:
                break
    return groups


def hand_groups(hands: Sequence[Hand], reach: float = HAND_REACH) -> list[tuple[np.ndarray, float, list[int]]]:
    """Hands of one person closer than ``reach`` body scales form a group: [(centre, body scale, hand indices)].
    Hands of different people never merge (their crops may still overlap; detections are merged by NMS)."""
    out: list[tuple[np.ndarray, float, list[int]]] = []
    for person in sorted({h.person for h in hands}):
        idx = [k for k, h in enumerate(hands) if h.person == person]
        scale = hands[idx[0]].scale
        boxes = [np.concatenate([hands[k].point - reach * scale / 2, hands[k].point + reach * scale / 2]) for k in idx]
        for sq, members in merge_squares(np.asarray(boxes)):
            out.append(((sq[:2] + sq[2:]) / 2, scale, [idx[m] for m in members]))
    return out


def hand_squares(hands: Sequence[Hand], sides: Sequence[float] = HAND_SIDES, min_size: float = MIN_SQUARE
                 ) -> np.ndarray:
    """Squares (xyxy, frame pixels, not yet shifted into the frame) of each side around each hand group."""
    boxes = []
    for centre, scale, _ in hand_groups(hands):
        for side in sides:
            half = max(side * scale, min_size) / 2
            boxes.append([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half])
    return np.asarray(boxes, np.float64).reshape(-1, 4)


class HandAnalyser:
    """COCO detections in the hands of the people at the seats, at the frame's full resolution.

    ``analyse(frame, pose, people)`` -> ``Detections`` of ``HELD_CLASSES`` in frame pixels (what goes into
    ``FrameContext.small_objects``). ``pose_of(frame, boxes)`` runs the pose model on padded crops around person
    boxes when the pipeline has no pose of its own. ``crops`` counts the hand crops run (for benchmarks).
    ``max_upscale``: a crop is enlarged at most this many times (``Detector.detect``; the agent, ``make accuracy``
    and ``bench/crop_upscale.py`` take ``rules.phone_use.hand_crop_max_upscale``); None: to the detector's whole
    input.
    """

    def __init__(self, detector: Detector, pose: Detector | None = None, conf: float = 0.15, pose_conf: float = 0.4,
                 sides: Sequence[float] = HAND_SIDES, classes: Sequence[str] = HELD_CLASSES,
                 max_upscale: float | None = None) -> None:
        lookup = {n: i for i, n in detector.names.items()}
        if "cell phone" not in lookup:
            raise ValueError(f"{detector!r} does not detect phones (names: {list(lookup)[:5]})")
        self.detector, self.pose = detector, pose
        self.conf, self.pose_conf, self.sides = conf, pose_conf, tuple(sides)
        self.max_upscale = max_upscale
        self.classes = [lookup[c] for c in classes if c in lookup]
        self.crops = 0
        self._counting = threading.Lock()  # analysis threads share the analyser

    def pose_of(self, frame: np.ndarray, boxes: np.ndarray, pad: float = 0.15) -> Detections:
        """Pose persons from padded square crops around ``boxes`` (frame pixels); needs the pose model."""
        if self.pose is None:
            raise ValueError("no pose model loaded")
        if not len(boxes):
            return Detections.empty(self.pose.names)
        return detect_on_regions(self.pose, frame, boxes, pad=pad, conf=self.pose_conf)

    def squares(self, frame_shape: tuple[int, ...], pose: Detections, people: Iterable[int] | None = None
                ) -> list[tuple[int, int, int, int]]:
        """The crops ``analyse`` runs: squares around the hand groups, shifted inside the frame."""
        out: list[tuple[int, int, int, int]] = []
        for sq in hand_squares(hands_of(pose, people), self.sides):
            r = square_region(sq, frame_shape, pad=0.0, min_size=MIN_SQUARE)
            if r is not None and r not in out:
                out.append(r)
        return out

    def analyse(self, frame: np.ndarray, pose: Detections, people: Iterable[int] | None = None) -> Detections:
        """Held objects in the hands of ``people`` (indices into ``pose``; all when None), frame pixels."""
        return self.analyse_many([(frame, pose, people)])[0]

    def analyse_many(self, items: Sequence[tuple[np.ndarray, Detections, Iterable[int] | None]]
                     ) -> list[Detections]:
        """``analyse`` of several (frame, pose, people): every frame's hand crops in one ``detect()`` call, so
        the inference streams get them all at once."""
        plans = [(frame, self.squares(frame.shape, pose, people)) for frame, pose, people in items]
        with self._counting:
            self.crops += sum(len(sq) for _, sq in plans)
        return detect_on_squares(self.detector, plans, classes=self.classes, conf=self.conf,
                                 max_upscale=self.max_upscale)
