"""window_unstaffed (空岗/离岗): nobody in a window's seat zone while the window must be staffed.

State machine per window (thresholds ``rules.window_unstaffed``; presence debouncing in ``edge.rules.common``):

- duty (``schedule.duty_required``: service hours, the lunch break only for the midday-duty window, never on
  holidays or for a window marked closed): absence is measured from the last confirmed presence, but not from
  before the duty stretch began nor from before observation began;
- absence >= ``absent_s`` (and nobody currently reappearing) -> ``opened`` (``at`` = when the absence began);
- the episode crosses 30 min / 60 min -> ``updated`` (severity ``major`` from 30 min);
- presence confirmed for ``return_s`` -> ``closed`` at the return moment; or the duty stretch ends (lunch,
  closing time, window marked closed) -> ``closed`` at the end of duty. ``duration_s`` = ended - started, so the
  assessment's 30 min / 60 min tiers apply to exact episode lengths.
- Each frame, every seat zone gets a ``edge.seats.SeatDecision`` (person box, head/shoulders pose, empty
  reference): ``staffed``, ``empty`` or ``uncertain``. A window seen by several cameras (or with several seat zones)
  is staffed if any fresh decision says staffed, else uncertain if any says uncertain, else empty.
- Only a confidently empty seat advances a 空岗 episode: an ``uncertain`` sample (camera dark, view blocked by a
  passer-by, cues disagree) is no presence sample, opens nothing and sends no tier update; an uncertain stretch
  longer than ``STALE_S`` restarts the absence clock. Presence is debounced in seconds (``PresenceRun``: a
  return counts after ``return_s``, dropouts shorter than the gap are bridged).
- After hours (``seats.learn_after_hours``) an empty seat's reference is refreshed slowly (``SeatJudge.learn``).

Window states for the agent's ``window.state`` messages: ``WindowUnstaffedRule.window_states(now)`` returns one
``WindowStatus`` per window: ``closed`` (marked closed), ``off_duty`` (no duty now), ``unknown`` (no seat zone or
no fresh frame), ``staffed`` (since arrival), ``uncertain`` (the fresh decisions are uncertain) or ``empty`` (since the absence began, with the open finding id);
``WindowStatus.to_message(hall_id, edge_id)`` builds the contract message.

Per-seat thresholds: ``set_seat_overrides`` (from the server's ``command.seat_tuning``, learned from the
supervisors' confirmed and dismissed 空岗 alerts) replaces the person threshold of a seat zone. An ``opened``
finding carries its seat zone (id, normalized polygon), the frame size, the person boxes near the seat and
the cue values of the deciding frame (``seat_cues``), so the server can keep a labelled crop of the seat.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from edge.contract import WindowState, WindowStateName
from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import (
    PRESENCE_GAP_S,
    STALE_S,
    CameraSamples,
    PresenceRun,
    ZoneIndex,
    duty_span,
    in_zone_mask,
    person_min_confidence,
    secs,
    to_utc,
)
from edge.seats import ReferenceStore, SeatDecision, SeatJudge, SeatStateName
from edge.site import SiteConfig, WindowConfig

log = logging.getLogger(__name__)
TIERS_S = (1800.0, 3600.0)  # live updates when an episode crosses 30 min and 60 min


@dataclass(frozen=True)
class WindowStatus:
    """Current state of one window, for ``window.state`` messages and duty checks."""

    window_id: str
    state: WindowStateName
    since: dt.datetime
    persons: int = 0
    camera_id: str | None = None
    finding_id: uuid.UUID | None = None

    def to_message(self, hall_id: str, edge_id: str) -> WindowState:
        return WindowState(hall_id=hall_id, edge_id=edge_id, window_id=self.window_id, state=self.state,
                           since=self.since, persons=self.persons, camera_id=self.camera_id)


@dataclass
class _Window:
    cfg: WindowConfig
    presence: PresenceRun
    samples: CameraSamples = field(default_factory=CameraSamples)
    zone_of_camera: dict[str, str] = field(default_factory=dict)
    finding: uuid.UUID | None = None
    started: dt.datetime | None = None
    camera_id: str | None = None
    tiers_sent: set[float] = field(default_factory=set)
    duty_start: dt.datetime | None = None  # UTC start of the current/last duty stretch
    duty_end: dt.datetime | None = None  # UTC end of the current/last duty stretch
    shown: tuple[WindowStateName, dt.datetime] | None = None  # last reported state, for 'since'
    seat_states: dict[str, tuple[dt.datetime, SeatStateName]] = field(default_factory=dict)  # camera -> latest

    def current(self, now: dt.datetime) -> SeatStateName | None:
        """Fused seat state over the fresh cameras: staffed if any camera says so, else uncertain if any, else empty;
        None when no camera is fresh."""
        fresh = {s for t, s in self.seat_states.values() if abs(secs(t, now)) <= STALE_S}
        if not fresh:
            return None
        return "staffed" if "staffed" in fresh else "uncertain" if "uncertain" in fresh else "empty"


class WindowUnstaffedRule:
    rule_id = "window_unstaffed"

    def __init__(self, cfg: SiteConfig, references: ReferenceStore | None = None):
        self.cfg = cfg
        self.judge = SeatJudge(cfg, references if references is not None else ReferenceStore.for_site(cfg))
        self.p = cfg.rules.window_unstaffed
        self.min_conf = person_min_confidence(cfg)
        self.zones = ZoneIndex.of_kind(cfg, "seat")
        self.closed_override: dict[str, bool] = {}
        self.windows: dict[str, _Window] = {
            w.id: _Window(w, PresenceRun(confirm_s=self.p.return_s, gap_s=min(PRESENCE_GAP_S, self.p.absent_s / 2)))
            for w in cfg.windows
        }
        for cam_id, zs in self.zones.by_camera.items():
            for z in zs:
                assert z.window is not None
                self.windows[z.window].zone_of_camera.setdefault(cam_id, z.id)

    # ------------------------------------------------------------------ control
    def set_window_closed(self, window_id: str, closed: bool) -> None:
        """Mark a window closed (暂停服务) at runtime, on top of the config's ``closed`` flag."""
        self.closed_override[window_id] = closed

    def _window_cfg(self, w: _Window) -> WindowConfig:
        closed = self.closed_override.get(w.cfg.id, w.cfg.closed)
        return w.cfg if closed == w.cfg.closed else w.cfg.model_copy(update={"closed": closed})

    # ------------------------------------------------------------------ frames
    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.p.enabled:
            return []
        zones = self.zones.zones(ctx.camera_id)
        if not zones:
            return []
        people = ctx.detections.of_class("person")
        after_hours = self.cfg.seats.learn_after_hours and self.cfg.schedule.after_hours(ctx.local)
        per_window: dict[str, list[SeatDecision]] = {}
        for z in zones:
            assert z.window is not None
            poly = self.zones.pixels(z, ctx.shape)
            d = self.judge.decide(ctx.camera_id, z, poly, people, ctx.pose, ctx.frame)
            if after_hours and ctx.frame is not None and d.state == "empty":
                self.judge.learn(ctx.camera_id, z, poly, ctx.frame, ctx.ts, d)
            per_window.setdefault(z.window, []).append(d)
        events: list[RuleEvent] = []
        for wid, ds in per_window.items():
            events += self._step(self.windows[wid], ctx, ds)
        return events

    def set_seat_overrides(self, overrides: dict[str, dict[str, float]]) -> None:
        """Per-seat thresholds, keyed by seat zone id, applied from the next frame on (replaces earlier overrides).

        Names (``edge.seats.OVERRIDE_KEYS``; see ``edge.seats.SeatParams`` and the ``seats:`` config block):
        ``min_person_conf`` (person box confidence that makes the seat staffed), ``weak_person_conf`` (a weaker box
        makes it uncertain unless the empty reference says empty), ``keypoint_conf`` (head/shoulder keypoint
        visibility), ``ref_diff`` (changed fraction of the seat's upper part versus the empty reference for a
        person-like change), ``ref_area`` (changed fraction of the whole seat), ``ref_edges`` (edge-density ratio of
        the change). Unknown names raise ValueError and change nothing."""
        self.judge.set_overrides(overrides)

    @staticmethod
    def _fuse(ds: list[SeatDecision]) -> SeatStateName:
        states = {d.state for d in ds}
        return "staffed" if "staffed" in states else "uncertain" if "uncertain" in states else "empty"

    def _step(self, w: _Window, ctx: FrameContext, ds: list[SeatDecision]) -> list[RuleEvent]:
        ts = ctx.ts
        state = self._fuse(ds)
        w.samples.record(ctx.camera_id, ts, sum(d.persons for d in ds))
        w.seat_states[ctx.camera_id] = (ts, state)
        now_state = w.current(ts)
        if now_state == "uncertain":
            arrived = False  # not a presence sample: a long uncertain stretch restarts the absence clock (STALE_S)
        else:
            arrived = w.presence.feed(ts, now_state == "staffed")
        span = duty_span(self.cfg, self._window_cfg(w), ctx.local)
        if span is None:
            if w.finding is not None:
                if w.duty_end is not None and w.duty_end <= ts:
                    return [self._close(w, w.duty_end, "duty_end")]
                return [self._close(w, ts, "window_closed")]
            return []
        w.duty_start, w.duty_end = to_utc(self.cfg, span[0]), to_utc(self.cfg, span[1])
        if now_state == "uncertain":
            return []  # only a confidently empty seat advances a 空岗 episode
        if w.finding is None:
            start = w.presence.absence_start(floor=w.duty_start)
            if start is None or w.presence.is_present(ts) or w.presence.returning(ts):
                return []
            if secs(start, ts) >= self.p.absent_s:
                return [self._open(w, start, ctx.camera_id, ctx)]
            return []
        if arrived and w.presence.since is not None:
            return [self._close(w, max(w.presence.since, w.started or ts), "return")]
        assert w.started is not None
        if w.presence.returning(ts):
            return []  # someone is back, not yet confirmed: no tier update for an episode that may be ending
        out = []
        for tier in TIERS_S:
            if tier not in w.tiers_sent and secs(w.started, ts) >= tier:
                w.tiers_sent.add(tier)
                out.append(RuleEvent("updated", self.rule_id, w.finding, ts, severity="major",
                                     window_id=w.cfg.id, camera_id=w.camera_id,
                                     zone_id=w.zone_of_camera.get(w.camera_id or ""),
                                     details={"absent_s": round(secs(w.started, ts), 1), "tier_s": tier},
                                     evidence=True))
        return out

    def _open(self, w: _Window, start: dt.datetime, camera_id: str, ctx: FrameContext | None = None) -> RuleEvent:
        w.finding, w.started, w.camera_id, w.tiers_sent = new_finding_id(), start, camera_id, set()
        log.info("window_unstaffed opened: window %s empty since %s", w.cfg.id, start.isoformat())
        details = {"absent_s_threshold": self.p.absent_s, "window_number": w.cfg.number,
                   "window_name": w.cfg.name, "staff_b": w.cfg.staff_b}
        zone_id = w.zone_of_camera.get(camera_id)
        if ctx is not None and zone_id is not None and ctx.camera_id == camera_id:
            details.update(self.seat_details(ctx, zone_id))
        return RuleEvent("opened", self.rule_id, w.finding, start, severity="warning", window_id=w.cfg.id,
                         camera_id=camera_id, zone_id=zone_id, staff_id=w.cfg.staff_a, details=details)

    def _close(self, w: _Window, end: dt.datetime, reason: str) -> RuleEvent:
        assert w.finding is not None and w.started is not None
        end = max(end, w.started)
        duration = secs(w.started, end)
        ev = RuleEvent("closed", self.rule_id, w.finding, end, severity="major" if duration >= TIERS_S[0] else "warning",
                       window_id=w.cfg.id, camera_id=w.camera_id, zone_id=w.zone_of_camera.get(w.camera_id or ""),
                       staff_id=w.cfg.staff_a, started_at=w.started, duration_s=duration,
                       details={"ended_by": reason}, evidence=reason == "return")
        log.info("window_unstaffed closed: window %s after %.0f s (%s)", w.cfg.id, duration, reason)
        w.finding = w.started = w.camera_id = None
        return ev

    # ------------------------------------------------------------------ states
    def window_states(self, now: dt.datetime) -> list[WindowStatus]:
        """One WindowStatus per configured window at ``now`` (aware). Call after feeding the frames up to now."""
        local = self.cfg.local(now)
        out = []
        for w in self.windows.values():
            wc = self._window_cfg(w)
            present, n, cam = w.samples.combined(now)
            cam = cam or next(iter(w.zone_of_camera), None)
            since: dt.datetime | None = None
            if wc.closed:
                state: WindowStateName = "closed"
            elif duty_span(self.cfg, wc, local) is None:
                state = "off_duty"
            elif present is None:
                state = "unknown"
            elif w.presence.is_present(now):
                state, since = "staffed", w.presence.since
            elif w.current(now) == "uncertain":
                state = "uncertain"
            else:
                state = "empty"
                since = w.started or w.presence.absence_start(floor=w.duty_start)
            if since is None:
                since = w.shown[1] if w.shown is not None and w.shown[0] == state else now
            w.shown = (state, since)
            out.append(WindowStatus(w.cfg.id, state, since, n if present is not None else 0, cam,
                                    w.finding if state == "empty" else None))
        return out

    # ------------------------------------------------------------------ per-seat thresholds (feedback)
    def seat_min_conf(self, zone_id: str) -> float:
        """The person threshold that makes this seat zone staffed now (its override, else the configured one)."""
        return float(self.judge.params_for(zone_id).min_person_conf)

    def seat_details(self, ctx: FrameContext, zone_id: str) -> dict:
        """What the deciding frame showed at a seat: its zone, the person boxes near it (every confidence the
        detector reported, normalized xyxy) and the cue values (best person confidence in the zone, the
        threshold in force, and the seat decision's own cues of that frame)."""
        zone = next(z for z in self.zones.zones(ctx.camera_id) if z.id == zone_id)
        h, w = ctx.shape[:2]
        cands = ctx.detections.of_class("person")
        inside = cands[in_zone_mask(cands, self.zones.pixels(zone, ctx.shape))] if len(cands) else cands
        thr = self.seat_min_conf(zone_id)
        boxes = [{"label": "person", "confidence": round(float(c), 4),
                  "xyxy": [round(float(b[0]) / w, 5), round(float(b[1]) / h, 5), round(float(b[2]) / w, 5),
                           round(float(b[3]) / h, 5)]}
                 for b, c in zip(inside.xyxy, inside.confidence)]
        return {"seat_zone": {"id": zone.id, "polygon": [[float(x), float(y)] for x, y in zone.polygon]},
                "frame_size": [int(w), int(h)], "boxes": boxes,
                "seat_cues": {"min_person_conf": round(thr, 4),
                              "max_person_conf": round(float(inside.confidence.max()), 4) if len(inside) else 0.0,
                              "persons_in_zone": int((inside.confidence >= thr).sum()) if len(inside) else 0,
                              **self._decision_cues(zone_id)}}

    def _decision_cues(self, zone_id: str) -> dict:
        d = self.judge.last.get(zone_id)
        if d is None:
            return {}
        return {k: v for k, v in d.to_json().items() if isinstance(v, (int, float, str, bool)) or v is None}
