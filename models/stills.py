"""Run the smoking rule's per-frame decision on a still image (for ``models eval smoking`` and ACCURACY.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from edge.detect.hands import HandAnalyser
from edge.detect.smoking import SmokingAnalyser
from edge.rules.base import FrameContext
from edge.rules.smoking import SmokingRule
from edge.site import SiteConfig

STILL_CAMERA = "still"


def minimal_site() -> SiteConfig:
    """A one-window hall with default rule thresholds, for evaluating rules on stills."""
    return SiteConfig.model_validate(
        {
            "hall": {"id": "eval", "name": "evaluation"},
            "windows": [{"id": "W01", "number": 1, "name": "eval"}],
        }
    )


class StillSmokingDecider:
    """Callable: BGR still -> does the smoking rule see smoking evidence in it?

    With ``hands`` (a ``HandAnalyser``), the COCO detector also looks in everybody's hands, as the edge's hand
    pass does for the people at seats, so the rule can tell a phone or a pen from a cigarette."""

    def __init__(self, analyser: SmokingAnalyser, cfg: SiteConfig | None = None, threshold: float | None = None,
                 hands: HandAnalyser | None = None):
        self.analyser, self.hands = analyser, hands
        self.rule = SmokingRule(cfg or minimal_site())
        self.threshold = threshold
        self.last_scores: dict[str, float] = {}

    def __call__(self, frame: np.ndarray) -> bool:
        pose, cigarettes = self.analyser.analyse(frame)
        small = self.hands.analyse(frame, pose) if self.hands is not None and len(cigarettes) else None
        now = dt.datetime.now(dt.UTC)
        ctx = FrameContext(
            camera_id=STILL_CAMERA, ts=now, local=now.replace(tzinfo=None), shape=frame.shape[:2],
            detections=pose, small_objects=small, pose=pose, cigarettes=cigarettes,
        )
        evidence = self.rule.frame_evidence(ctx, self.threshold)
        self.last_scores = {str(k): v[0] for k, v in evidence.items()}
        return bool(evidence)
