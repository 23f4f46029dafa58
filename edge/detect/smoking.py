"""Per-frame smoking analysis: cigarettes on upscaled head/hand crops, plus the pose hand-to-mouth cue.

The agent calls it once per analysed frame of a camera that has the smoking rule, and puts the
result into ``FrameContext.cigarettes`` (and the pose into ``FrameContext.pose``)::

    analyser = SmokingAnalyser(load_detector("cigarette-yolov8s"), load_detector("yolov8n-pose-int8"))
    pose, cigarettes = analyser.analyse(frame)              # or analyse(frame, pose=already_computed)
    ctx = FrameContext(..., pose=pose, cigarettes=cigarettes)

Why crops: the cigarette model was fine-tuned on close-up photos; at counter distance a cigarette is a
few pixels wide. A square crop around the head (side = ``head_scale`` x shoulder width) and around each
wrist (``hand_scale`` x shoulder width) resized to the 640 input enlarges it 3-10x.
The cue functions here are pure (numpy only) so the rule can use them too.
"""

from __future__ import annotations

import logging

import numpy as np

from edge.detect.base import Detector
from edge.detect.hands import L_WRIST, R_WRIST, body_scale, hand_point, head_point
from edge.detect.regions import detect_on_regions
from edge.detections import Detections
from edge.geometry import box_iou

log = logging.getLogger(__name__)

# head/hand squares grown by 50 % on each side (2x the side); (0.0, 0.5) scored the same on the stills at twice the cost
SMOKING_PADS: tuple[float, ...] = (0.5,)


def hand_to_mouth(kpts: np.ndarray, box: np.ndarray, ratio: float = 0.8) -> bool:
    """Is a visible hand within ``ratio`` x body scale of the head point? (raising a cigarette to the lips).

    A supporting cue only: a phone held to the ear looks the same to a pose model.
    """
    head = head_point(kpts)
    if head is None:
        return False
    scale = body_scale(kpts, box)
    for w in (L_WRIST, R_WRIST):
        hand = hand_point(kpts, w)
        if hand is not None and float(np.hypot(*(hand - head))) <= ratio * scale:
            return True
    return False


def smoking_regions(
    pose: Detections, head_scale: float = 1.5, hand_scale: float = 1.05
) -> tuple[np.ndarray, np.ndarray]:
    """Square regions (xyxy, frame pixels) around each person's head and visible wrists, and their owner index."""
    regions: list[list[float]] = []
    owners: list[int] = []
    if pose.keypoints is None:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.int64)
    for i, (kpts, box) in enumerate(zip(pose.keypoints, pose.xyxy)):
        scale = body_scale(kpts, box)
        centres: list[tuple[np.ndarray, float]] = []
        head = head_point(kpts)
        if head is not None:
            centres.append((head, head_scale * scale))
        for w in (L_WRIST, R_WRIST):
            hand = hand_point(kpts, w)
            if hand is not None:
                centres.append((hand, hand_scale * scale))
        for c, side in centres:
            half = side / 2
            regions.append([c[0] - half, c[1] - half, c[0] + half, c[1] + half])
            owners.append(i)
    return np.asarray(regions, np.float32).reshape(-1, 4), np.asarray(owners, np.int64)


def person_of(points: np.ndarray, pose: Detections) -> np.ndarray:
    """Index of the smallest pose box containing each point, or -1."""
    out = np.full(len(points), -1, np.int64)
    if not len(pose):
        return out
    areas = (pose.xyxy[:, 2] - pose.xyxy[:, 0]) * (pose.xyxy[:, 3] - pose.xyxy[:, 1])
    for j, (x, y) in enumerate(points):
        inside = (pose.xyxy[:, 0] <= x) & (x <= pose.xyxy[:, 2]) & (pose.xyxy[:, 1] <= y) & (y <= pose.xyxy[:, 3])
        if inside.any():
            out[j] = int(np.flatnonzero(inside)[np.argmin(areas[inside])])
    return out


def merge_pose(first: Detections, second: Detections, iou: float = 0.5) -> Detections:
    """Pose persons of ``first`` plus those of ``second`` that overlap none of them (IoU < ``iou``)."""
    if not len(second) or second.keypoints is None:
        return first
    if not len(first):
        return second
    new = box_iou(second.xyxy, first.xyxy).max(axis=1) < iou
    return Detections.merge([first, second[new]]) if new.any() else first


class SmokingAnalyser:
    """Fills ``FrameContext.pose`` and ``FrameContext.cigarettes`` for one frame."""

    def __init__(
        self,
        cigarette: Detector,
        pose: Detector | None = None,
        conf: float = 0.2,
        pose_conf: float = 0.4,
        head_scale: float = 1.5,
        hand_scale: float = 1.05,
        pads: tuple[float, ...] = SMOKING_PADS,
    ) -> None:
        if cigarette.task != "detect" or "cigarette" not in cigarette.names.values():
            raise ValueError(f"{cigarette!r} is not a cigarette detector (names: {list(cigarette.names.values())[:5]})")
        self.cigarette, self.pose = cigarette, pose
        self.conf, self.pose_conf = conf, pose_conf
        self.head_scale, self.hand_scale, self.pads = head_scale, hand_scale, pads

    def analyse(self, frame: np.ndarray, pose: Detections | None = None, seated: Detections | None = None
                ) -> tuple[Detections, Detections]:
        """(pose, cigarettes) for one BGR frame, both in frame pixels. Cigarettes only near heads/hands.

        ``pose``: the frame's pose if already computed (else the pose model runs on the whole frame);
        ``seated``: pose from the seat crops, merged in (it wins over a full-frame box of the same person)."""
        if pose is None:
            if self.pose is None:
                raise ValueError("no pose detections given and no pose model loaded")
            pose = self.pose.detect([frame], conf=self.pose_conf)[0]
        if seated is not None and len(seated):
            pose = merge_pose(seated, pose)
        regions, _ = smoking_regions(pose, self.head_scale, self.hand_scale)
        if not len(regions):
            return pose, Detections.empty(self.cigarette.names)
        cigarettes = detect_on_regions(self.cigarette, frame, regions, pad=self.pads, conf=self.conf, min_size=32)
        return pose, cigarettes
