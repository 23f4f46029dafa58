"""``hallwatch models dataset export``: the supervisors' labelled samples (``server.feedback``) as a dataset.

Layout written under ``OUT``::

    images/<name>.jpg, labels/<name>.txt, data.yaml      YOLO (boxes in crop coordinates)
    classify/<camera>__<zone>/{occupied,empty}/<name>.jpg  per-seat classification (空岗 samples)
    manifest.csv                                          one row per sample, cue values included

``<name>`` is ``<sample id>_<rule>_<label>``. Every image is the crop of the finding's seat/zone kept when the alert
was decided. What a decision says about a sample:

- 空岗 (``window_unstaffed``) confirmed: the seat was empty -> ``empty``; in YOLO a background image (no boxes);
- 空岗 dismissed as a false positive: someone was there -> ``occupied``; in YOLO the detector's person boxes in the
  seat are the labels (a sample without any box is left out of YOLO and marked ``label by hand`` in the manifest);
- other rules confirmed: their boxes (e.g. ``cigarette``) are the labels; dismissed: left out of YOLO (the box was
  wrong and other objects in the crop are not labelled), kept in the manifest as a negative.

Only the boxes a decision vouches for are labelled, so review the YOLO part before training on it.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SEAT_RULE = "window_unstaffed"
KNOWN_CLASSES = ("person", "cell phone", "cigarette")
MANIFEST_FIELDS = (
    "sample_id", "finding_id", "hall", "rule", "label", "seat_state", "camera", "zone", "window", "decided_at",
    "decided_by", "observed_at", "min_person_conf", "max_person_conf", "persons_in_zone", "crop_x1", "crop_y1",
    "crop_x2", "crop_y2", "yolo_image", "classify_image", "note",
)


@dataclass
class ExportReport:
    samples: int = 0
    yolo_images: int = 0
    yolo_boxes: int = 0
    classify_images: int = 0
    without_crop: int = 0
    crops_filled: int = 0
    per_seat: dict[str, dict[str, int]] = field(default_factory=dict)


def seat_state(rule: str, label: str) -> str:
    """``occupied`` / ``empty`` for a 空岗 sample, '' for other rules."""
    if rule != SEAT_RULE:
        return ""
    return "occupied" if label == "false_positive" else "empty"


def yolo_labels(rule: str, label: str, boxes: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The boxes a decision vouches for (see module doc); None when the sample stays out of YOLO."""
    if rule == SEAT_RULE:
        if label == "confirmed":
            return []
        people = [b for b in boxes if b.get("label") == "person"]
        return people or None
    if label == "confirmed" and boxes:
        return list(boxes)
    return None


def safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text) or "_"


def parse_since(text: str | None) -> dt.datetime | None:
    """``YYYY-MM-DD`` or an ISO date-time; naive values are UTC."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def export_dataset(database_url: str, out: str | Path, *, hall: str | None = None, since: dt.datetime | None = None,
                   evidence_dir: str | Path | None = None) -> ExportReport:
    """Write the samples of the database (one hall, decided since a time) as the dataset under ``out``."""
    from sqlalchemy import select

    from server.db.session import make_engine, make_sessionmaker, unit_of_work
    from server.feedback.models import FeedbackSample
    from server.feedback.samples import fill_crops, to_crop

    out = Path(out)
    report = ExportReport()
    engine = make_engine(database_url)
    try:
        factory = make_sessionmaker(engine)
        if evidence_dir is not None:
            from server.storage import LocalDiskStore

            with unit_of_work(factory) as session:
                report.crops_filled = fill_crops(session, LocalDiskStore(evidence_dir), hall)
        with factory() as session:
            q = select(FeedbackSample)
            if hall:
                q = q.where(FeedbackSample.hall_id == hall)
            if since is not None:
                q = q.where(FeedbackSample.decided_at >= since)
            samples = list(session.scalars(q.order_by(FeedbackSample.id)))
            # the database answered: only now replace a previous export
            for sub in ("images", "labels", "classify"):
                shutil.rmtree(out / sub, ignore_errors=True)
            (out / "images").mkdir(parents=True, exist_ok=True)
            (out / "labels").mkdir(parents=True, exist_ok=True)
            rows, class_ids = [], {name: i for i, name in enumerate(KNOWN_CLASSES)}
            for s in samples:
                report.samples += 1
                state = seat_state(s.rule, s.label)
                name = safe_name(f"{s.id:06d}_{s.rule}_{s.label}")
                cues = s.cues or {}
                crop = s.crop_xyxy or [0.0, 0.0, 1.0, 1.0]
                row: dict[str, Any] = {
                    "sample_id": s.id, "finding_id": s.finding_uuid, "hall": s.hall_id, "rule": s.rule,
                    "label": s.label, "seat_state": state, "camera": s.camera_code or "", "zone": s.zone_code or "",
                    "window": s.window_code or "", "decided_at": s.decided_at.isoformat(), "decided_by": s.decided_by,
                    "observed_at": s.observed_at.isoformat() if s.observed_at else "",
                    "min_person_conf": cues.get("min_person_conf", ""), "max_person_conf": cues.get("max_person_conf", ""),
                    "persons_in_zone": cues.get("persons_in_zone", ""), "crop_x1": crop[0], "crop_y1": crop[1],
                    "crop_x2": crop[2], "crop_y2": crop[3], "yolo_image": "", "classify_image": "", "note": "",
                }
                rows.append(row)
                if s.crop_jpeg is None:
                    report.without_crop += 1
                    row["note"] = "no crop: its evidence file never reached the server"
                    continue
                labels = yolo_labels(s.rule, s.label, list(s.boxes or []))
                if labels is None:
                    row["note"] = ("occupied, no person box: label by hand" if state == "occupied"
                                   else f"false positive: a negative for {s.rule}")
                else:
                    lines = []
                    for b in labels:
                        xyxy = to_crop(b["xyxy"], crop)
                        if xyxy is None:
                            continue
                        cid = class_ids.setdefault(str(b.get("label") or "object"), len(class_ids))
                        cx, cy, w, h = (xyxy[0] + xyxy[2]) / 2, (xyxy[1] + xyxy[3]) / 2, xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]
                        lines.append(f"{cid} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
                    (out / "images" / f"{name}.jpg").write_bytes(s.crop_jpeg)
                    (out / "labels" / f"{name}.txt").write_text("".join(line + "\n" for line in lines))
                    row["yolo_image"] = f"images/{name}.jpg"
                    report.yolo_images += 1
                    report.yolo_boxes += len(lines)
                if state and s.zone_code:
                    seat = f"{safe_name(s.camera_code or 'camera')}__{safe_name(s.zone_code)}"
                    folder = out / "classify" / seat / state
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / f"{name}.jpg").write_bytes(s.crop_jpeg)
                    row["classify_image"] = f"classify/{seat}/{state}/{name}.jpg"
                    report.classify_images += 1
                    counts = report.per_seat.setdefault(seat, {"occupied": 0, "empty": 0})
                    counts[state] += 1
    finally:
        engine.dispose()
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    names = {i: n for n, i in class_ids.items()}
    (out / "data.yaml").write_text(yaml.safe_dump(
        {"path": str(out.resolve()), "train": "images", "val": "images", "names": names},
        allow_unicode=True, sort_keys=False), encoding="utf-8")
    return report
