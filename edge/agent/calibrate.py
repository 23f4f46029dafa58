"""``hallwatch edge calibrate``: capture or update the empty references of a camera's seats and write a contact
sheet (PNG + HTML) with every seat crop, the system's decision and its cue values.

    hallwatch edge calibrate --config hall.yaml --camera cam-w01 [--source file.mp4|still.jpg] [--mark-empty]

Frames come from the camera's live source (or ``--source``): ``--frames`` frames spread over ``--seconds``.
``--mark-empty`` is the installer saying "every seat is empty now": each seat's reference becomes the median crop
of those frames (a seat where a person is seen is skipped unless ``--force``). References are kept under
``seats.references_dir`` (default ``<edge.data_dir>/seat_refs``) and the agent reloads them on start. The sheet
shows the seats as the agent would decide them on the last frame, with the references in place.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge import geometry as geo
from edge.agent.pipeline import ChangeGate, FramePipeline
from edge.capture.reader import CameraFrame
from edge.rules.window_unstaffed import WindowUnstaffedRule
from edge.seats import ReferenceStore, SeatDecision, zone_box
from edge.site import SiteConfig

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
COLOURS = {"staffed": (60, 170, 60), "empty": (60, 60, 220), "uncertain": (0, 170, 230)}


@dataclass
class CalibrationResult:
    camera_id: str
    frames: int
    marked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # seats not marked because someone was seen there
    decisions: list[SeatDecision] = field(default_factory=list)
    sheet_png: str = ""
    sheet_html: str = ""
    references_dir: str = ""


def grab_frames(source: str, n: int = 5, seconds: float = 5.0) -> list[np.ndarray]:
    """``n`` BGR frames spread over the first ``seconds`` of a file or stream (a still gives itself once)."""
    if Path(source).suffix.lower() in IMAGE_SUFFIXES:
        img = cv2.imread(source, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"cannot read image {source}")
        return [img]
    import av

    out: list[np.ndarray] = []
    step = seconds / max(n - 1, 1)
    with av.open(source, timeout=10.0) as container:
        stream = container.streams.video[0]
        start, due = None, 0.0
        for f in container.decode(stream):
            if f.pts is None:
                continue
            t = float(f.pts * stream.time_base)
            start = t if start is None else start
            if t - start + 1e-6 >= due:
                out.append(f.to_ndarray(format="bgr24"))
                due += step
                if len(out) >= n:
                    break
    if not out:
        raise ValueError(f"no frames from {source}")
    return out


def _tile(frame: np.ndarray, poly: np.ndarray, ref: np.ndarray | None, d: SeatDecision, side: int = 240) -> np.ndarray:
    box = zone_box(poly)
    h, w = frame.shape[:2]
    pad = 0.25 * max(box[2] - box[0], box[3] - box[1])
    x1, y1 = int(max(box[0] - pad, 0)), int(max(box[1] - pad, 0))
    x2, y2 = int(min(box[2] + pad, w)), int(min(box[3] + pad, h))
    crop = frame[y1:y2, x1:x2].copy()
    cv2.polylines(crop, [np.round(poly - [x1, y1]).astype(np.int32)], True, COLOURS[d.state], 2)
    scale = side / max(crop.shape[:2])
    crop = cv2.resize(crop, (max(int(crop.shape[1] * scale), 1), max(int(crop.shape[0] * scale), 1)))
    canvas = np.full((side + 80, side * 2 + 10, 3), 255, np.uint8)
    canvas[:crop.shape[0], :crop.shape[1]] = crop
    if ref is not None:
        r = cv2.cvtColor(cv2.resize(ref, (side // 2, side // 2), interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)
        canvas[:r.shape[0], side + 10:side + 10 + r.shape[1]] = r
    lines = [f"{d.zone_id}: {d.state} ({d.reason})",
             f"person {d.person_conf:.2f}  pose {d.pose_conf:.2f}/{d.pose_points}  grey {d.brightness:.0f}",
             d.reference_text()]
    for k, text in enumerate(lines):
        cv2.putText(canvas, text, (4, side + 20 + 20 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45, COLOURS[d.state]
                    if k == 0 else (30, 30, 30), 1, cv2.LINE_AA)
    return canvas


def write_sheet(out_dir: Path, camera_id: str, frame: np.ndarray, polys: dict[str, np.ndarray],
                decisions: list[SeatDecision], store: ReferenceStore) -> tuple[Path, Path]:
    """Contact sheet PNG (every seat tile) + HTML (tiles and a cue table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tiles = []
    for d in decisions:
        ref = store.get(camera_id, d.zone_id)
        tile = _tile(frame, polys[d.zone_id], ref.grey() if ref is not None else None, d)
        cv2.imwrite(str(out_dir / f"seat-{d.zone_id}.png"), tile)
        tiles.append(tile)
    cols = 3
    blank = np.full_like(tiles[0], 255)
    while len(tiles) % cols:
        tiles.append(blank)
    sheet = np.vstack([np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)])
    png = out_dir / f"calibrate-{camera_id}.png"
    cv2.imwrite(str(png), sheet)
    keys = ["zone_id", "state", "reason", "person_conf", "persons", "pose_conf", "pose_points", "has_reference",
            "ref_area", "ref_upper", "ref_top", "ref_edges", "person_like", "brightness", "blocked_by"]
    rows = "\n".join("<tr>" + "".join(f"<td>{html.escape(str(d.to_json()[k]))}</td>" for k in keys) + "</tr>"
                     for d in decisions)
    imgs = "\n".join(f'<figure><img src="seat-{html.escape(d.zone_id)}.png" alt="{html.escape(d.zone_id)}">'
                     f"<figcaption>{html.escape(d.zone_id)}: {d.state}</figcaption></figure>" for d in decisions)
    page = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>座位标定 {html.escape(camera_id)}</title>
<style>body{{font-family:sans-serif}} figure{{display:inline-block;margin:4px}} td,th{{border:1px solid #ccc;
padding:2px 6px}} table{{border-collapse:collapse}}</style></head><body>
<h1>座位标定 / Seat calibration: {html.escape(camera_id)}</h1>
<p>左：座位区域（绿 在岗 / 红 空 / 橙 待确认）；右：空座参考图。Left: seat crop (green staffed, red empty, orange
uncertain); right: the empty reference.</p>
{imgs}
<table><tr>{"".join(f"<th>{k}</th>" for k in keys)}</tr>
{rows}
</table></body></html>"""
    page_path = out_dir / f"calibrate-{camera_id}.html"
    page_path.write_text(page, encoding="utf-8")
    return png, page_path


def seat_decisions(cfg: SiteConfig, camera_id: str, frame: np.ndarray, detector: Any, pose: Any,
                   store: ReferenceStore, ts: dt.datetime | None = None) -> list[SeatDecision]:
    """Every seat decision of one camera on one frame, through the agent's pipeline (full frame + seat regions)."""
    rule = WindowUnstaffedRule(cfg, references=store)
    pipe = FramePipeline(cfg, detector, rules=[rule], gate=ChangeGate(threshold=0), phone_pass=False, pose=pose)
    ts = ts or dt.datetime.now(dt.UTC)
    pipe.analyse([CameraFrame(camera_id, ts, frame, 1)])
    zones = [z for z in cfg.camera(camera_id).zones if z.kind == "seat"]
    return [rule.judge.last[z.id] for z in zones if z.id in rule.judge.last]


def calibrate(cfg: SiteConfig, camera_id: str, source: str, *, detector: Any, pose: Any, out_dir: str | os.PathLike[str],
              mark_empty: bool = False, force: bool = False, n_frames: int = 5, seconds: float = 5.0,
              store: ReferenceStore | None = None) -> CalibrationResult:
    store = store if store is not None else ReferenceStore.for_site(cfg)
    frames = grab_frames(source, n_frames, seconds)
    zones = [z for z in cfg.camera(camera_id).zones if z.kind == "seat"]
    if not zones:
        raise ValueError(f"camera {camera_id} has no seat zone")
    shape = frames[-1].shape[:2]
    polys = {z.id: geo.denormalize_polygon(z.polygon, shape) for z in zones}
    res = CalibrationResult(camera_id, len(frames), references_dir=str(store.dir or ""))
    now = dt.datetime.now(dt.UTC)
    if mark_empty:
        seen: dict[str, bool] = {z.id: False for z in zones}
        empty_store = ReferenceStore(None)  # judge each frame without references: is anyone there?
        for f in frames:
            for d in seat_decisions(cfg, camera_id, f, detector, pose, empty_store, now):
                seen[d.zone_id] |= d.person_conf >= d_threshold(cfg) or d.pose_points >= 2
        rule = WindowUnstaffedRule(cfg, references=store)
        for z in zones:
            if seen[z.id] and not force:
                res.skipped.append(z.id)
                log.warning("seat %s: a person is seen, not marked empty (use --force)", z.id)
                continue
            if rule.judge.mark_empty(camera_id, z, polys[z.id], frames, now) is not None:
                res.marked.append(z.id)
    res.decisions = seat_decisions(cfg, camera_id, frames[-1], detector, pose, store, now)
    png, page = write_sheet(Path(out_dir), camera_id, frames[-1], polys, res.decisions, store)
    res.sheet_png, res.sheet_html = str(png), str(page)
    return res


def d_threshold(cfg: SiteConfig) -> float:
    """The person confidence that makes a seat staffed (what the rules use)."""
    from edge.seats import SeatParams

    return SeatParams.of(cfg).min_person_conf
