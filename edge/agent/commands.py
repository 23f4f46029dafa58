"""Answers to the server's commands: duty check (一键查岗) and after-hours safety check (下班安全检查).

- ``command.duty_check`` -> ``DutyCheckResult``: every window's current state (from the
  window_unstaffed rule) with a fresh annotated snapshot from the camera that sees its seat.
- ``command.safety_check`` -> ``SafetyCheckResult``: camera items (nobody present per camera, each
  exit zone clear, each camera online) plus the sensor hub's items (power off, exits unlocked, doors
  closed, smoke normal, sensors online).
- ``command.window_pauses`` -> no answer: the hall's pause plan (暂停服务) replaces the previous one;
  ``PausePlan.apply`` closes each paused window in the window_unstaffed rule while its pause lasts
  (no 空岗) and gives it back its configured state afterwards, on the edge's own clock.
- ``command.seat_tuning`` -> no answer: the hall's per-seat thresholds (learned from the supervisors' decisions)
  replace the previous ones in the window_unstaffed rule (``apply_seat_tuning``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any, Callable, Protocol

from edge import geometry as geo
from edge.contract import (
    Command,
    DutyCheckResult,
    EvidenceRef,
    SafetyCheckResult,
    SafetyItem,
    WindowPauseSpec,
    WindowSnapshot,
    utcnow,
)
from edge.detections import Detections
from edge.evidence.writer import EvidenceWriter
from edge.rules.exit_blocked import object_cover
from edge.site import SiteConfig

log = logging.getLogger(__name__)
PERSON_CONF = 0.4
OBJECT_CONF = 0.3


class Picture(Protocol):
    ts: dt.datetime
    image: Any
    detections: Detections | None
    extra: Detections | None


class CommandContext(Protocol):
    """What the agent exposes to command handlers (thread-safe reads)."""

    cfg: SiteConfig

    def latest_picture(self, camera_id: str) -> Picture | None: ...

    def window_states(self, now: dt.datetime) -> list[Any]: ...  # WindowStatus

    def camera_state(self, camera_id: str) -> str: ...

    def exit_finding_open(self, camera_id: str, zone_id: str) -> bool: ...


def duty_check(cmd: Command, agent: CommandContext, evidence: EvidenceWriter) -> DutyCheckResult:
    cfg = agent.cfg
    now = utcnow()
    seat_camera = {z.window: c.id for c, z in cfg.seat_zones()}
    shots: dict[str, list[EvidenceRef]] = {}
    windows = []
    for status in agent.window_states(now):
        camera = status.camera_id or seat_camera.get(status.window_id)
        refs: list[EvidenceRef] = []
        if camera is not None:
            if camera not in shots:
                pic = agent.latest_picture(camera)
                shots[camera] = [] if pic is None else evidence.snapshot(
                    pic.image, pic.ts, pic.detections, cfg.camera(camera).zones,
                    [f"duty check / camera {camera}"], extra=pic.extra, raw=False, camera_id=camera)
            refs = shots[camera]
        windows.append(WindowSnapshot(window_id=status.window_id, state=status.state, persons=status.persons,
                                      camera_id=camera, evidence=refs))
    return DutyCheckResult(hall_id=cfg.hall.id, edge_id=cfg.edge.id, request_id=cmd.id, taken_at=now,
                           windows=windows)


def camera_items(agent: CommandContext, evidence: EvidenceWriter) -> list[SafetyItem]:
    cfg = agent.cfg
    items: list[SafetyItem] = []
    for cam in cfg.cameras:
        if not cam.enabled:
            continue
        state = agent.camera_state(cam.id)
        items.append(SafetyItem(item="camera_online", subject=cam.id, passed=state == "ok", detail=state))
        pic = agent.latest_picture(cam.id)
        if pic is None:
            items.append(SafetyItem(item="nobody_present", subject=cam.id, passed=None, detail="no picture"))
            continue
        refs = evidence.snapshot(pic.image, pic.ts, pic.detections, cam.zones, [f"safety check / camera {cam.id}"],
                                 extra=pic.extra, raw=False, camera_id=cam.id)
        dets = pic.detections if pic.detections is not None else Detections.empty()
        people = dets.of_class("person").above(PERSON_CONF)
        items.append(SafetyItem(item="nobody_present", subject=cam.id, passed=len(people) == 0,
                                value=len(people), detail=f"{len(people)} person(s) seen", evidence=refs))
        for z in cam.zones:
            if z.kind != "exit":
                continue
            poly = geo.denormalize_polygon(z.polygon, pic.image.shape[:2])
            cover, _ = object_cover(dets, poly, OBJECT_CONF)
            blocked = agent.exit_finding_open(cam.id, z.id) or cover >= cfg.rules.exit_blocked.min_cover
            items.append(SafetyItem(item="exit_clear", subject=z.id, passed=not blocked, value=round(cover, 3),
                                    detail=f"objects cover {cover:.0%} of the exit zone", evidence=refs))
    return items


def safety_check(cmd: Command, agent: CommandContext, evidence: EvidenceWriter,
                 sensor_items: Callable[[dt.datetime], list[SafetyItem]] | None) -> SafetyCheckResult:
    now = utcnow()
    items = camera_items(agent, evidence)
    if sensor_items is not None:
        try:
            items.extend(sensor_items(now))
        except Exception:
            log.exception("sensor safety items failed")
            items.append(SafetyItem(item="sensor_online", subject="sensor hub", passed=None, detail="error"))
    return SafetyCheckResult(hall_id=agent.cfg.hall.id, edge_id=agent.cfg.edge.id, request_id=cmd.id, taken_at=now,
                             items=items)


class PausePlan:
    """The pause plan of the last ``command.window_pauses`` and the windows it has closed so far."""

    def __init__(self) -> None:
        self.pauses: list[WindowPauseSpec] = []
        self.closed: set[str] = set()

    def replace(self, cmd: Command) -> None:
        self.pauses = list(cmd.pauses or [])

    def paused_at(self, now: dt.datetime) -> set[str]:
        return {p.window_id for p in self.pauses if p.start <= now < p.end}

    def apply(self, now: dt.datetime, set_closed: Callable[[str, bool], None],
              configured_closed: dict[str, bool]) -> list[tuple[str, bool]]:
        """Close windows whose pause began, give back the configured state to those whose pause ended or was
        withdrawn; returns the (window, paused) changes made. Windows the site config does not know are
        ignored."""
        want = {w for w in self.paused_at(now) if w in configured_closed}
        changes = [(w, True) for w in sorted(want - self.closed)] + [(w, False) for w in sorted(self.closed - want)]
        for window_id, paused in changes:
            set_closed(window_id, paused or configured_closed[window_id])
            log.info("window %s %s (暂停服务)", window_id, "paused" if paused else "resumed")
        self.closed = want
        return changes


def new_request_id() -> uuid.UUID:
    return uuid.uuid4()


def apply_seat_tuning(cmd: Command, set_seat_overrides: Callable[[dict[str, dict[str, float]]], None],
                      seat_zone_ids: set[str]) -> dict[str, dict[str, float]]:
    """Hand the command's per-seat thresholds to the rule (``WindowUnstaffedRule.set_seat_overrides``); seats the
    site config does not know are left out and logged. Returns what was applied."""
    given = dict(cmd.seat_overrides or {})
    unknown = sorted(set(given) - seat_zone_ids)
    if unknown:
        log.warning("seat tuning for unknown seat zones ignored: %s", ", ".join(unknown))
    applied = {z: dict(v) for z, v in given.items() if z in seat_zone_ids}
    set_seat_overrides(applied)
    log.info("seat tuning applied to %d seat(s)", len(applied))
    return applied
