"""Labelled samples from alert decisions.

``record_decision`` is an alert ``TRANSITION_HOOKS`` entry: when a supervisor confirms an alert, or dismisses it
as a false positive, the finding becomes a ``FeedbackSample`` in the same transaction: rule, label, camera, seat
zone, window, the seat cue values and boxes from the finding's details, and the crop of the zone from its evidence
frame (the raw frame when the edge sent one, else the annotated snapshot). Dismissals by the server itself
(``system:…`` actors, e.g. a window pause) are not supervisor judgements and are not kept. A second decision of
the same finding relabels its sample.

The crop needs the evidence store: request sessions carry it in ``session.info["evidence_store"]``
(``server.deps.get_session``). A sample whose file is not (yet) in the store keeps ``crop_jpeg`` empty;
``fill_crops`` completes those later (``hallwatch models dataset export --evidence-dir``).

Crops are pictures of staff: ``purge_crops`` deletes those older than ``feedback_crop_days`` (the router's
background loop runs it), keeping the label and the cue values, which hold no picture.

Crop geometry (pure functions): the bounding box of the zone polygon, padded by ``PAD`` of its size on every
side, clipped to the frame; without a zone, the union of the finding's boxes, padded the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import Alert, Camera, Finding, User, Window
from server.feedback.models import FeedbackSample

log = logging.getLogger(__name__)
PAD = 0.15
"""Crop padding around the zone (or boxes), as a fraction of its width/height on each side."""
LABEL_OF_ACTION = {"confirm": "confirmed", "dismiss": "false_positive"}
JPEG_QUALITY = 92


def finding_boxes(details: dict[str, Any], frame_size: Sequence[int] | None) -> list[dict[str, Any]]:
    """Boxes in a finding's details as ``[{label, confidence, xyxy}]`` in normalized frame coordinates:
    ``details["boxes"]`` (already normalized) and any ``<label>_box`` entry of 4 numbers (pixels when a value
    exceeds 1.5 and the frame size is known)."""
    out: list[dict[str, Any]] = []
    for b in details.get("boxes") or []:
        if isinstance(b, dict) and _is_box(b.get("xyxy")):
            out.append({"label": str(b.get("label") or "object"), "confidence": b.get("confidence"),
                        "xyxy": [float(v) for v in b["xyxy"]]})
    for key, value in details.items():
        if key.endswith("_box") and _is_box(value):
            xyxy = [float(v) for v in value]
            if max(xyxy) > 1.5:
                if not frame_size:
                    continue
                w, h = float(frame_size[0]), float(frame_size[1])
                xyxy = [xyxy[0] / w, xyxy[1] / h, xyxy[2] / w, xyxy[3] / h]
            out.append({"label": key[: -len("_box")], "confidence": None, "xyxy": xyxy})
    return out


def _is_box(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 4 and all(isinstance(x, (int, float)) for x in v)


def crop_box(polygon: Sequence[Sequence[float]] | None, boxes: Sequence[Sequence[float]] = (),
             pad: float = PAD) -> list[float]:
    """Normalized crop [x1, y1, x2, y2] around the polygon (else the union of the boxes; else the whole
    frame), padded by ``pad`` of its size and clipped to [0, 1]."""
    if polygon:
        xs, ys = [float(p[0]) for p in polygon], [float(p[1]) for p in polygon]
    elif boxes:
        xs = [float(v) for b in boxes for v in (b[0], b[2])]
        ys = [float(v) for b in boxes for v in (b[1], b[3])]
    else:
        return [0.0, 0.0, 1.0, 1.0]
    x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
    px, py = (x2 - x1) * pad, (y2 - y1) * pad
    return [max(0.0, x1 - px), max(0.0, y1 - py), min(1.0, x2 + px), min(1.0, y2 + py)]


def to_crop(xyxy: Sequence[float], crop: Sequence[float]) -> list[float] | None:
    """A normalized frame box in normalized crop coordinates, clipped to the crop; None when outside it."""
    cw, ch = crop[2] - crop[0], crop[3] - crop[1]
    if cw <= 0 or ch <= 0:
        return None
    x1 = min(max((xyxy[0] - crop[0]) / cw, 0.0), 1.0)
    y1 = min(max((xyxy[1] - crop[1]) / ch, 0.0), 1.0)
    x2 = min(max((xyxy[2] - crop[0]) / cw, 0.0), 1.0)
    y2 = min(max((xyxy[3] - crop[1]) / ch, 0.0), 1.0)
    if x2 - x1 <= 1e-6 or y2 - y1 <= 1e-6:
        return None
    return [x1, y1, x2, y2]


def cut_jpeg(data: bytes, crop: Sequence[float]) -> tuple[bytes, tuple[int, int]]:
    """Crop a JPEG by a normalized box; returns (JPEG bytes, (frame width, frame height))."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("evidence is not a decodable image")
    h, w = image.shape[:2]
    x1, y1 = int(np.floor(crop[0] * w)), int(np.floor(crop[1] * h))
    x2, y2 = max(x1 + 1, int(np.ceil(crop[2] * w))), max(y1 + 1, int(np.ceil(crop[3] * h)))
    ok, buf = cv2.imencode(".jpg", image[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("crop could not be encoded")
    return buf.tobytes(), (w, h)


def _source(finding: Finding) -> tuple[str | None, Any]:
    """The evidence file a crop comes from: the raw frame, else the annotated snapshot."""
    links = [x for x in finding.evidence_links if x.evidence is not None and
             (x.kind or x.evidence.kind) in ("frame", "snapshot")]
    links.sort(key=lambda x: (0 if (x.kind or x.evidence.kind) == "frame" else 1, x.id))
    if not links:
        return None, None
    return links[0].sha256, links[0].evidence.captured_at


def _zone_polygon(session: Session, finding: Finding, details: dict[str, Any]) -> list[Any] | None:
    seat = details.get("seat_zone")
    if isinstance(seat, dict) and seat.get("polygon"):
        return seat["polygon"]
    if finding.camera_id is None or not finding.zone_code:
        return None
    camera = session.get(Camera, finding.camera_id)
    for z in (camera.zones if camera is not None else []) or []:
        if isinstance(z, dict) and z.get("id") == finding.zone_code:
            return z.get("polygon")
    return None


def record_decision(session: Session, alert: Alert, action: str, user: User | None) -> None:
    """TRANSITION_HOOKS entry: keep a labelled sample of a confirmed / dismissed finding (see module doc)."""
    label = LABEL_OF_ACTION.get(action)
    if label is None:
        return
    actor = user.username if user is not None else "system"
    if actor.startswith("system"):
        return
    finding = alert.finding
    details = dict(finding.details or {})
    camera = session.get(Camera, finding.camera_id) if finding.camera_id is not None else None
    window = session.get(Window, finding.window_id) if finding.window_id is not None else None
    try:  # details come from the edge: a malformed entry costs the sample, never the decision
        frame_size = details.get("frame_size")
        frame_size = [int(v) for v in frame_size] if isinstance(frame_size, (list, tuple)) else None
        boxes = finding_boxes(details, frame_size)
        polygon = _zone_polygon(session, finding, details)
        crop = crop_box(polygon, [b["xyxy"] for b in boxes])
        cues = dict(details.get("seat_cues") or {})
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        log.warning("finding %s: no feedback sample, its details are malformed: %s", finding.finding_id, exc)
        return
    sha, captured = _source(finding)
    comment = next((e.comment for e in reversed(alert.events) if e.action == action), None)
    sample = session.scalars(select(FeedbackSample).where(FeedbackSample.finding_uuid == finding.finding_id)).first()
    if sample is None:
        sample = FeedbackSample(hall_id=finding.hall_id, finding_uuid=finding.finding_id)
        session.add(sample)
    sample.finding_id = finding.id
    sample.rule, sample.label, sample.decided_by, sample.comment = finding.rule, label, actor, comment
    sample.decided_at = alert.decided_at or sample.decided_at
    sample.camera_code = camera.code if camera is not None else None
    seat = details.get("seat_zone")
    sample.zone_code = finding.zone_code or (seat.get("id") if isinstance(seat, dict) else None)
    sample.window_code = window.code if window is not None else None
    sample.observed_at = captured or finding.started_at
    sample.zone_polygon = polygon
    sample.boxes = boxes
    sample.cues = cues
    sample.crop_xyxy = crop
    sample.frame_size = frame_size
    if sample.source_sha256 != sha:
        sample.crop_jpeg = None
    sample.source_sha256 = sha
    session.flush()
    store = session.info.get("evidence_store")
    if store is not None and sample.crop_jpeg is None:
        fill_crop(sample, store)


def fill_crop(sample: FeedbackSample, store: Any) -> bool:
    """Cut the sample's crop from its evidence file when the store has it; False when it cannot (yet)."""
    if sample.source_sha256 is None or sample.crop_xyxy is None:
        return False
    try:
        if not store.exists(sample.source_sha256):
            return False
        with store.open(sample.source_sha256) as fh:
            data = fh.read()
        sample.crop_jpeg, (w, h) = cut_jpeg(data, sample.crop_xyxy)
    except (OSError, ValueError) as exc:
        log.warning("feedback sample %s: no crop from %s: %s", sample.finding_uuid, sample.source_sha256, exc)
        return False
    sample.frame_size = [w, h]
    return True


def fill_crops(session: Session, store: Any, hall_id: str | None = None) -> int:
    """Complete the crops of samples whose evidence arrived after the decision; returns how many were filled."""
    q = select(FeedbackSample).where(FeedbackSample.crop_jpeg.is_(None), FeedbackSample.source_sha256.is_not(None))
    if hall_id is not None:
        q = q.where(FeedbackSample.hall_id == hall_id)
    return sum(fill_crop(s, store) for s in session.scalars(q))


def purge_crops(session: Session, now: dt.datetime, days: float, actor: str = "system:retention") -> int:
    """Delete the crops of samples decided more than ``days`` before ``now``; returns how many, audited."""
    from server.audit import audit

    cutoff = now - dt.timedelta(days=days)
    rows = list(session.scalars(select(FeedbackSample).where(FeedbackSample.crop_jpeg.is_not(None),
                                                             FeedbackSample.decided_at < cutoff)))
    for s in rows:
        s.crop_jpeg = None
        s.source_sha256 = None  # its evidence is gone or going: the crop is never cut again
    if rows:
        audit(session, actor=actor, action="feedback.purge_crops", entity_type="feedback_sample",
              entity_id=f"{len(rows)} crops", after={"cutoff": cutoff.isoformat(), "samples": [s.id for s in rows]})
    return len(rows)


def install_hooks() -> None:
    """Register ``record_decision`` in the alert lifecycle once (idempotent)."""
    from server import alerts

    if record_decision not in alerts.TRANSITION_HOOKS:
        alerts.TRANSITION_HOOKS.append(record_decision)
