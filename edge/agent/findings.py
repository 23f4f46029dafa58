"""Rule events -> contract messages with evidence, in order, into the outbox.

- ``opened``: annotated snapshot + raw frame of the moment (when the event wants evidence and a
  picture of its camera exists), a clip request; then ``FindingOpened``.
- ``updated`` / ``closed``: ``FindingUpdated`` / ``FindingClosed`` (with the episode's duration).
- finished clips: ``FindingUpdated`` carrying the clip.
- sensor events with a configured ``camera``: the snapshot comes from that camera's latest frame. For a
  sensor's blocked exit the picture is cross-checked: the exit zone the sensor guards is highlighted and the
  finding says whether the camera sees it blocked too (``camera_cover``, ``camera_sees_block``), so a snapshot
  that shows a clear exit says so instead of silently contradicting its alert.
- an empty seat (``window_unstaffed``): with a ``placard`` reader, the window's counter is read with OCR in the
  full-resolution picture; a pause sign (暂停服务, …) goes on the finding (``placard_text``, ``placard_word``,
  ``placard_score``) and its caption as a hint for the supervisor. The finding opens all the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from typing import Callable, Protocol

import numpy as np
from pydantic import BaseModel

from edge import geometry as geo
from edge.agent.open_findings import OpenFindings
from edge.contract import RULES, FindingClosed, FindingOpened, FindingUpdated, jsonable
from edge.detect.placard import PlacardReader
from edge.detections import Detections
from edge.evidence.annotate import focus
from edge.evidence.writer import EvidenceWriter, FinishedClip
from edge.rules.base import RuleEvent
from edge.rules.exit_blocked import object_cover
from edge.site import SiteConfig

log = logging.getLogger(__name__)


class MessageSink(Protocol):
    def put(self, msg: BaseModel) -> None: ...


class Picture(Protocol):
    """What a snapshot is drawn from: a camera's frame with its detections."""

    ts: dt.datetime
    image: np.ndarray
    detections: Detections | None
    extra: Detections | None


class FindingDispatcher:
    def __init__(
        self,
        cfg: SiteConfig,
        sink: MessageSink,
        evidence: EvidenceWriter | None,
        latest_picture: Callable[[str], Picture | None],
        registry: OpenFindings | None = None,
        exit_open: Callable[[str, str], bool] | None = None,
        placard: PlacardReader | None = None,
    ) -> None:
        self.cfg = cfg
        self.sink = sink
        self.evidence = evidence
        self.latest_picture = latest_picture
        self.counters: Counter[str] = Counter()
        self.opened: dict[uuid.UUID, RuleEvent] = {}
        self.log: list[BaseModel] = []  # every message sent (analyze prints them; bounded by the caller)
        self.keep_log = False
        self._sensor_camera = {s.id: s.camera for s in cfg.sensors if s.camera}
        self._sensor_exit = {s.id: s.guards.exit_zone for s in cfg.sensors if s.guards.exit_zone}
        self.exit_open = exit_open  # (camera, exit zone) -> the camera's exit rule has that exit blocked now
        self.registry: OpenFindings | None = registry
        self.placard = placard  # reads a 暂停服务 sign on the counter of a window found empty (a hint, never an excuse)

    def _send(self, msg: BaseModel) -> None:
        self.sink.put(msg)
        if self.keep_log:
            self.log.append(msg)
        self.counters[msg.type] += 1  # type: ignore[attr-defined]

    def _caption(self, ev: RuleEvent) -> list[str]:
        """The snapshot's caption in the console's language (Chinese): rule, window, camera or sensor by name."""
        parts = [RULES.get(ev.rule, ev.rule)]
        if ev.window_id:
            w = self.cfg.window(ev.window_id)
            parts.append(f"{w.number}号窗口 {w.name}")
        if ev.camera_id:
            cam = next((c for c in self.cfg.cameras if c.id == ev.camera_id), None)
            parts.append(f"摄像头 {cam.name if cam and cam.name else ev.camera_id}")
        if ev.sensor_id:
            sen = next((x for x in self.cfg.sensors if x.id == ev.sensor_id), None)
            parts.append(f"传感器 {sen.name if sen and sen.name else ev.sensor_id}")
        return parts

    def _exit_cross_check(self, camera: str, zone_id: str, zones: list, pic: Picture) -> tuple[dict, str | None]:
        """What the camera sees of the exit a sensor reports blocked: (facts for the finding, caption line)."""
        zone = next((z for z in zones if z.id == zone_id and z.kind == "exit"), None)
        if zone is None:
            return {}, None
        cover, _ = object_cover(pic.detections, geo.denormalize_polygon(zone.polygon, pic.image.shape[:2]))
        rule_open = bool(self.exit_open is not None and self.exit_open(camera, zone_id))
        sees = rule_open or cover >= self.cfg.rules.exit_blocked.min_cover
        if cover >= self.cfg.rules.exit_blocked.min_cover:
            line = f"摄像头核对：物品遮挡出口 {cover:.0%}"
        elif rule_open:
            line = "摄像头核对：出口画面与畅通时不同（疑似遮挡）"
        else:
            line = "摄像头核对：画面中未见遮挡物，请到现场核实"
        return {"camera_cover": round(cover, 3), "camera_sees_block": sees}, line

    def _placard_check(self, window_id: str, zones: list, image: np.ndarray) -> tuple[dict, str | None]:
        """A pause sign read on the empty window's counter in ``image`` (the camera's full-resolution picture):
        (facts for the finding, caption line), or nothing."""
        try:
            found = self.placard.placard(image, zones, window_id, self.cfg.rules.window_unstaffed.placard_words)
        except Exception:  # noqa: BLE001 - the hint is optional: the finding goes out without it
            log.exception("reading the counter of %s failed", window_id)
            return {}, None
        self.counters["placard_reads"] += 1
        if found is None:
            return {}, None
        self.counters["placards"] += 1
        facts = {"placard_text": found.text, "placard_word": found.word, "placard_score": found.score}
        return facts, f"柜台告示牌：「{found.text}」（文字识别，请督查核实是否已批准暂停服务）"

    def handle(self, ev: RuleEvent, picture: Picture | None = None, extra_refs: list | None = None) -> None:
        """Turn one event into its message (with evidence for ``opened``; ``extra_refs`` e.g. a sensor chart).
        Never raises."""
        try:
            self._handle(ev, picture, list(extra_refs or []))
        except Exception:
            self.counters["errors"] += 1
            log.exception("dispatching %s %s %s failed", ev.kind, ev.rule, ev.finding_id)

    def _clip_anchor(self, ev: RuleEvent, picture_ts: dt.datetime) -> dt.datetime:
        """Where the clip is centred: the start of the violation while the ring buffer still holds it, else
        the moment it was confirmed (an empty seat is confirmed absent_s after it emptied, longer ago than
        the buffer reaches). Sensor findings: the camera's picture now."""
        if ev.camera_id is None:
            return picture_ts
        if (picture_ts - ev.at).total_seconds() <= self.evidence.clip_pre_s:  # type: ignore[union-attr]
            return ev.at
        return picture_ts

    def _handle(self, ev: RuleEvent, picture: Picture | None, extra_refs: list) -> None:
        hall, edge = self.cfg.hall.id, self.cfg.edge.id
        details = jsonable(ev.details)
        if ev.kind == "opened":
            refs = list(extra_refs)
            camera = ev.camera_id or (self._sensor_camera.get(ev.sensor_id) if ev.sensor_id else None)
            if ev.evidence and self.evidence is not None and camera is not None:
                pic = picture or self.latest_picture(camera)
                if pic is not None:
                    zones = self.cfg.camera(camera).zones if any(c.id == camera for c in self.cfg.cameras) else []
                    zone_id = ev.zone_id or (self._sensor_exit.get(ev.sensor_id) if ev.sensor_id else None)
                    classes, highlight = focus(ev.rule, zones, ev.window_id, zone_id)
                    caption = self._caption(ev)
                    if ev.sensor_id and ev.rule == "exit_blocked" and zone_id:
                        facts, line = self._exit_cross_check(camera, zone_id, zones, pic)
                        details.update(facts)
                        caption += [line] if line else []
                    still = None
                    if ev.rule == "window_unstaffed" and ev.window_id and self.placard is not None:
                        still = self.evidence.best_picture(camera, pic.image, pic.ts)  # read here, stored below
                        facts, line = self._placard_check(ev.window_id, zones, still)
                        details.update(facts)
                        caption += [line] if line else []
                    refs += self.evidence.snapshot(pic.image, pic.ts, pic.detections, zones, caption,
                                                  extra=pic.extra, camera_id=camera, highlight=highlight,
                                                  classes=classes, still=still)
                    self.evidence.request_clip(ev.finding_id, ev.rule, camera, self._clip_anchor(ev, pic.ts))
                else:
                    self.counters["no_picture"] += 1
            self.opened[ev.finding_id] = ev
            if self.registry is not None:
                self.registry.opened(ev.finding_id, ev.rule, ev.at)
            self._send(FindingOpened(
                hall_id=hall, edge_id=edge, finding_id=ev.finding_id, rule=ev.rule, severity=ev.severity,
                started_at=ev.at, window_id=ev.window_id, camera_id=ev.camera_id, sensor_id=ev.sensor_id,
                zone_id=ev.zone_id, staff_id=ev.staff_id or self._staff(ev.window_id),
                confidence=None if ev.confidence is None else float(min(1.0, max(0.0, ev.confidence))),
                details=details, evidence=refs))
        elif ev.kind == "updated":
            self._send(FindingUpdated(hall_id=hall, edge_id=edge, finding_id=ev.finding_id, rule=ev.rule, at=ev.at,
                                      details=details))
        elif ev.kind == "closed":
            started = ev.started_at or (self.opened[ev.finding_id].at if ev.finding_id in self.opened else ev.at)
            duration = ev.duration_s if ev.duration_s is not None else max(0.0, (ev.at - started).total_seconds())
            self.opened.pop(ev.finding_id, None)
            if self.registry is not None:
                self.registry.closed(ev.finding_id)
            self._send(FindingClosed(hall_id=hall, edge_id=edge, finding_id=ev.finding_id, rule=ev.rule,
                                     ended_at=ev.at, duration_s=max(0.0, float(duration)), details=details))

    def close_interrupted(self) -> int:
        """Close the findings a previous run of this edge left open (see edge.agent.open_findings)."""
        if self.registry is None:
            return 0
        gone = self.registry.take_interrupted()
        for f in gone:
            self._send(FindingClosed(
                hall_id=self.cfg.hall.id, edge_id=self.cfg.edge.id, finding_id=f.finding_id, rule=f.rule,
                ended_at=f.ended_at, duration_s=(f.ended_at - f.started_at).total_seconds(),
                details={"interrupted": "the edge agent stopped; if the condition went on, a new finding follows"}))
            log.warning("closed %s finding %s left open by the previous run (interrupted)", f.rule, f.finding_id)
        return len(gone)

    def clips_finished(self, clips: list[FinishedClip], now: dt.datetime) -> None:
        for c in clips:
            self._send(FindingUpdated(hall_id=self.cfg.hall.id, edge_id=self.cfg.edge.id, finding_id=c.finding_id,
                                      rule=c.rule, at=now, details={"clip_frames": c.frames,
                                                                    "clip_s": round(c.seconds, 2)},
                                      evidence=[c.ref]))

    def _staff(self, window_id: str | None) -> str | None:
        """The A post of the window by the roster (the server may re-attribute with the day's roster)."""
        if not window_id:
            return None
        try:
            return self.cfg.window(window_id).staff_a
        except StopIteration:
            return None
