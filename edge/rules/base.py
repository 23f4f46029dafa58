"""What every rule (video or sensor) consumes and produces.

A rule is a small state machine. It is fed observations stamped with real time
(frame timestamps or reading times, never frame counts) and returns
``RuleEvent``s: a finding opens, is updated, or closes. The agent turns events
into contract messages (edge.contract) and evidence, and puts them in the
outbox. Rules do no I/O.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from edge.contract import Severity
from edge.detections import Detections

EventKind = Literal["opened", "updated", "closed"]


@dataclass(frozen=True)
class RuleEvent:
    kind: EventKind
    rule: str
    finding_id: uuid.UUID
    at: dt.datetime  # aware UTC: started_at for opened, ended_at for closed
    severity: Severity = "warning"
    window_id: str | None = None
    camera_id: str | None = None
    sensor_id: str | None = None
    zone_id: str | None = None
    staff_id: str | None = None
    confidence: float | None = None
    started_at: dt.datetime | None = None  # for closed: when the episode began
    duration_s: float | None = None  # for closed
    details: dict[str, Any] = field(default_factory=dict)
    evidence: bool = True  # whether the agent should capture a snapshot/clip (video) or chart (sensor)


@dataclass(frozen=True)
class FrameContext:
    """Everything known about one analysed frame of one camera."""

    camera_id: str
    ts: dt.datetime  # aware UTC, from the frame's presentation timestamp
    local: dt.datetime  # naive hall-local time of ts, for schedule checks
    shape: tuple[int, int]  # (height, width) of the frame
    detections: Detections  # full-frame detections (COCO: person, cell phone, …)
    small_objects: Detections | None = None  # second-pass detections on per-person crops, frame coords
    pose: Detections | None = None  # pose model output (boxes + 17 keypoints), frame coords
    pose_ts: dt.datetime | None = None  # frame time the pose was measured on (earlier than ts when it stands in)
    cigarettes: Detections | None = None  # cigarette detector on head/hand crops, frame coords
    frame: np.ndarray | None = None  # BGR picture, for rules that look at pixels (exit reference, health)


class FrameRule(Protocol):
    """A video rule: fed every analysed frame of the cameras it watches."""

    rule_id: str

    def update(self, ctx: FrameContext) -> list[RuleEvent]: ...


def new_finding_id() -> uuid.UUID:
    return uuid.uuid4()
