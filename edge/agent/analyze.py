"""``hallwatch edge analyze``: the agent's pipeline on one video file or still, as fast as it decodes.

Same sampling, detector, crop pass, rules, health checks and evidence as ``edge run``; instead of
publishing, it returns (and the CLI prints) per-frame detections, zone occupancy, the finding
messages and where the evidence files were written. Users tune zones with it; tests use it.

Frame times: media time 0 maps to ``start_at`` (default: now), so a clip can be replayed "during
service hours" of the config's schedule.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from edge.agent.findings import FindingDispatcher
from edge.agent.pipeline import ChangeGate, FramePipeline
from edge.capture.buffer import FrameRing, Sampler
from edge.capture.reader import CameraFrame
from edge.capture.source import VideoSource
from edge.detect.faces import face_finder
from edge.detect.placard import placard_reader
from edge.detections import Detections
from edge.evidence.writer import EvidenceWriter
from edge.outbox import Outbox
from edge.site import SiteConfig

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass
class _Picture:
    ts: dt.datetime
    image: Any
    detections: Detections | None
    extra: Detections | None = None


class _Collect:
    def __init__(self) -> None:
        self.messages: list = []

    def put(self, msg) -> None:  # noqa: ANN001
        self.messages.append(msg)


@dataclass
class AnalyzeResult:
    camera_id: str
    input: str
    frames: list[dict] = field(default_factory=list)
    messages: list = field(default_factory=list)
    evidence_dir: str = ""
    window_states: list[dict] = field(default_factory=list)
    seats: list[dict] = field(default_factory=list)  # seat decisions (state + cues) of the last frame
    counters: dict[str, int] = field(default_factory=dict)

    def findings(self, rule: str | None = None, kind: str = "finding.opened") -> list:
        return [m for m in self.messages if m.type == kind and (rule is None or m.rule == rule)]

    def to_json(self) -> dict:
        return {
            "camera_id": self.camera_id, "input": self.input, "evidence_dir": self.evidence_dir,
            "frames": self.frames, "findings": [m.model_dump(mode="json") for m in self.messages],
            "window_states": self.window_states, "seats": self.seats, "counters": self.counters,
        }


def seat_decisions(pipeline: FramePipeline, camera_id: str) -> list[dict]:
    """Every seat zone's decision with its cues for the frame just analysed (directly, no return delay)."""
    staffing = pipeline.staffing
    if staffing is None:
        return []
    zones = [z.id for z in pipeline.cfg.camera(camera_id).zones if z.kind == "seat"]
    return [staffing.judge.last[z].to_json() for z in zones if z in staffing.judge.last]


def analyze(
    cfg: SiteConfig,
    camera_id: str,
    input_path: str | os.PathLike[str],
    *,
    detector: Any,
    out_dir: str | os.PathLike[str],
    start_at: dt.datetime | None = None,
    fps: float | None = None,
    max_seconds: float | None = None,
    smoking: Any | None = None,
    skip_unchanged: bool = False,
    frames_detail: bool = True,
) -> AnalyzeResult:
    cam = cfg.camera(camera_id)
    start = (start_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    rate = fps or cam.fps
    ring = FrameRing(cfg.edge.clip_pre_s + cfg.edge.clip_post_s + 2, fps=max(rate, 5.0))
    store = Outbox(out_dir)
    writer = EvidenceWriter(store, {camera_id: ring}, cfg.edge.clip_pre_s, cfg.edge.clip_post_s, tz=cfg.tz,
                            wait_slack_s=1e9, privacy={c.id: c.privacy for c in cfg.cameras},
                            faces=face_finder(cfg))
    gate = ChangeGate() if skip_unchanged else ChangeGate(threshold=0)
    pipeline = FramePipeline(cfg, detector, smoking=smoking, gate=gate)
    sink = _Collect()
    pictures: dict[str, _Picture] = {}
    dispatcher = FindingDispatcher(cfg, sink, writer, lambda cid: pictures.get(cid), placard=placard_reader(cfg))
    result = AnalyzeResult(camera_id, str(input_path), evidence_dir=str(store.files_dir))

    def step(frame: CameraFrame, media_s: float) -> None:
        (a,) = pipeline.analyse([frame])
        pic = _Picture(a.ts, frame.image, a.ctx.detections, a.ctx.small_objects)
        pictures[camera_id] = pic
        writer.note_analysed(camera_id, a.ts, a.ctx.shape, a.ctx.detections, cam.zones)
        for ev in a.events:
            dispatcher.handle(ev, pic)
        dispatcher.clips_finished(writer.poll(), a.ts)
        if frames_detail:
            result.frames.append({
                "ts": a.ts.isoformat(), "media_s": round(media_s, 3), "inferred": a.inferred,
                "detections": a.ctx.detections.to_json(),
                "small_objects": a.ctx.small_objects.to_json() if a.ctx.small_objects is not None else None,
                "zones": pipeline.zone_occupancy(a.ctx),
                "seats": seat_decisions(pipeline, camera_id),
                "events": [f"{e.kind}:{e.rule}:{e.window_id or e.camera_id}" for e in a.events],
            })

    path = Path(input_path)
    last_ts = start
    try:
        still = path.suffix.lower() in IMAGE_SUFFIXES
        if still:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot read image {path}")
            ring.add(start, image)
            step(CameraFrame(camera_id, start, image, 1), 0.0)
        else:
            sampler = Sampler(rate)
            seq = 0
            with VideoSource(str(path), realtime=False, start_at=start) as src:
                for raw in src.frames():
                    if max_seconds is not None and raw.media_s > max_seconds:
                        break
                    want, keep = sampler.take(raw.ts), ring.wants(raw.ts)
                    if not (want or keep):
                        continue
                    image = raw.image()
                    if keep:
                        ring.add(raw.ts, image)
                    if want:
                        seq += 1
                        last_ts = raw.ts
                        step(CameraFrame(camera_id, raw.ts, image, seq), raw.media_s)
        dispatcher.clips_finished(writer.poll(flush=True), last_ts)
        staffing = pipeline.staffing
        if staffing is not None:
            result.window_states = [
                s.to_message(cfg.hall.id, cfg.edge.id).model_dump(mode="json")
                for s in staffing.window_states(last_ts)
                if any(z.window == s.window_id for z in cam.zones)
            ]
            result.seats = seat_decisions(pipeline, camera_id)
            if still:  # one picture: the seat decisions are the answer (no return_s confirmation on one frame)
                for ws in result.window_states:
                    seats = [d for d in result.seats for z in cam.zones if z.id == d["zone_id"]
                             and z.window == ws["window_id"]]
                    if seats and ws["state"] in ("staffed", "empty", "uncertain"):
                        states = {d["state"] for d in seats}
                        ws["state"] = ("staffed" if "staffed" in states else
                                       "uncertain" if "uncertain" in states else "empty")
    finally:
        store.stop()
    result.messages = sink.messages
    result.counters = dict(pipeline.counters) | {f"dispatch_{k}": v for k, v in dispatcher.counters.items()}
    return result
