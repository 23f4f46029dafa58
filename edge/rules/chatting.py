"""chatting (串岗聊天): a member of staff in another window's staff area for minutes.

Zones: a window's *staff area* is the union of its ``staff`` zones (behind the counter) and its ``seat`` zones;
a ``public`` zone with ``window`` set is that window's counter front, where the citizen being served stands.
Thresholds ``rules.chatting``; presence per window is the largest count of any fresh camera (``CameraSamples``).

A camera cannot tell who a person is, only how many people stand where. Per frame, a window V is *visited*
when its staff area holds more people than V has seats (``visitors`` = persons - seat zones of V, at least one
seat), while V is on duty and not paused; the sample counts when one of the issue's two cases can hold:

- *left window*: some other window L, on duty and not paused, has nobody in its staff area (the visitor may
  be L's clerk, away from their own seat), or V's counter front shows a citizen (V's clerk is serving and is
  being kept from it); or
- *idle pair*: V's counter front is watched and shows nobody (two staff together with no citizen served).

A visit whose samples span >= ``min_s`` seconds (gaps shorter than ``gap_s`` tolerated) opens a finding at the
first sample; it closes at the last visited sample once the window has had no visitor for ``gap_s`` seconds, or
when duty ends or the window is paused. After a close no finding opens for V for ``cooldown_s`` seconds.

Attribution (decided at opening, from the samples of the visit), never to a person the system cannot place:

- ``left_window``: in at least half the samples exactly one other window L was empty while every other on-duty
  window was watched; the visitor is taken to be L's clerk by elimination: ``window_id`` = L,
  ``staff_id`` = L's A post (the server resolves the roster of L: B when A is on approved leave);
- ``visited_window``: V's counter front was empty and V's seat occupied in at least half the samples: V's
  clerk chats at their own post instead of working; ``window_id`` = V, ``staff_id`` = V's A post;
- ``unidentified``: otherwise (several empty windows, an unwatched window, or the visitor keeps V's clerk from
  a citizen): ``window_id`` and ``staff_id`` are None, and ``details.note`` says that the visitor could not be
  placed; the finding reaches the supervisor without charging anyone.

``details`` always name the visited window, the case, the basis, the candidate windows and the share of
samples in which V was serving.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from edge.rules.base import FrameContext, RuleEvent, new_finding_id
from edge.rules.common import CameraSamples, ZoneIndex, in_zone_mask, person_min_confidence, persons, secs
from edge.site import SiteConfig, WindowConfig

log = logging.getLogger(__name__)
UNPLACED_NOTE = ("the visitor cannot be identified without recognising people: no other window was the only "
                 "empty one, so nobody is charged; the supervisor decides from the evidence")


@dataclass(frozen=True)
class VisitSample:
    """One frame's view of a visited window."""

    ts: dt.datetime
    visitors: int
    empty: frozenset[str]  # other windows on duty, not paused, watched, with nobody in their staff area
    unwatched: int  # other windows on duty and not paused that no fresh camera watches
    public: int | None  # citizens at V's counter front (None: no public zone of V is watched)
    seat_taken: bool


@dataclass
class _Visit:
    samples: list[VisitSample] = field(default_factory=list)
    finding: uuid.UUID | None = None
    started: dt.datetime | None = None
    camera_id: str | None = None
    zone_id: str | None = None
    attributed: str | None = None  # window charged (None: unidentified)


@dataclass
class _Counts:
    """Per-camera latest counts of one window."""

    area: CameraSamples = field(default_factory=CameraSamples)
    seat: CameraSamples = field(default_factory=CameraSamples)
    public: CameraSamples = field(default_factory=CameraSamples)


def classify(samples: list[VisitSample]) -> tuple[str, str, str | None]:
    """(case, basis, charged window or None) of a visit from its samples (see the module docstring)."""
    n = len(samples)
    single = Counter(next(iter(s.empty)) for s in samples if len(s.empty) == 1 and s.unwatched == 0)
    serving = sum(1 for s in samples if s.public)
    idle = sum(1 for s in samples if s.public == 0)
    if single:
        window, hits = single.most_common(1)[0]
        if hits * 2 >= n:
            return "left_window", "left_window", window
    if idle * 2 >= n and sum(s.seat_taken for s in samples) * 2 >= n:
        return "idle_pair", "visited_window", None
    case = "visit_while_serving" if serving * 2 >= n else ("idle_pair" if idle * 2 >= n else "left_window")
    return case, "unidentified", None


class ChattingRule:
    rule_id = "chatting"

    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self.p = cfg.rules.chatting
        self.min_conf = person_min_confidence(cfg)
        self.staff = ZoneIndex.of_kind(cfg, "staff")
        self.seats = ZoneIndex.of_kind(cfg, "seat")
        self.public = ZoneIndex.of_kind(cfg, "public")
        self.closed_override: dict[str, bool] = {}
        self.counts: dict[str, _Counts] = {w.id: _Counts() for w in cfg.windows}
        self.visits: dict[str, _Visit] = {w.id: _Visit() for w in cfg.windows}
        self.cooldown_until: dict[str, dt.datetime] = {}

    # ------------------------------------------------------------------ control
    def set_window_closed(self, window_id: str, closed: bool) -> None:
        """Mark a window paused (暂停服务) or closed at runtime: it is neither visited nor a window left."""
        self.closed_override[window_id] = closed

    def _closed(self, w: WindowConfig) -> bool:
        return self.closed_override.get(w.id, w.closed)

    def _on_duty(self, w: WindowConfig, local: dt.datetime) -> bool:
        return not self._closed(w) and self.cfg.schedule.duty_required(local, w)

    # ------------------------------------------------------------------ frames
    def update(self, ctx: FrameContext) -> list[RuleEvent]:
        if not self.p.enabled:
            return []
        staff_zones = self.staff.zones(ctx.camera_id)
        seat_zones = self.seats.zones(ctx.camera_id)
        if not staff_zones and not seat_zones:
            return []
        people = persons(ctx.detections, self.min_conf)
        area: dict[str, np.ndarray] = {}
        seat: dict[str, np.ndarray] = {}
        seats_of: Counter[str] = Counter()
        for z in staff_zones + seat_zones:
            assert z.window is not None
            mask = in_zone_mask(people, self.staff.pixels(z, ctx.shape))
            area[z.window] = area[z.window] | mask if z.window in area else mask
            if z.kind == "seat":
                seat[z.window] = seat[z.window] | mask if z.window in seat else mask
                seats_of[z.window] += 1
        for wid, mask in area.items():
            self.counts[wid].area.record(ctx.camera_id, ctx.ts, int(mask.sum()))
            self.counts[wid].seat.record(ctx.camera_id, ctx.ts, int(seat.get(wid, mask[:0]).sum()))
        for z in self.public.zones(ctx.camera_id):
            if z.window is not None:
                n = int(in_zone_mask(people, self.public.pixels(z, ctx.shape)).sum())
                self.counts[z.window].public.record(ctx.camera_id, ctx.ts, n)
        out: list[RuleEvent] = []
        first_zone: dict[str, str] = {}
        for z in staff_zones:
            assert z.window is not None
            first_zone.setdefault(z.window, z.id)
        for wid, zone_id in first_zone.items():
            if self.visits[wid].camera_id not in (None, ctx.camera_id) and self.visits[wid].finding:
                continue  # another camera carries this window's open finding
            out += self._step(self.cfg.window(wid), ctx, zone_id, max(1, seats_of.get(wid, 0)))
        return out

    def _sample(self, v: WindowConfig, ctx: FrameContext, seats: int) -> VisitSample | None:
        c = self.counts[v.id]
        present, n, _ = c.area.combined(ctx.ts)
        if not present or n - seats < 1:
            return None
        empty, unwatched = set(), 0
        for w in self.cfg.windows:
            if w.id == v.id or not self._on_duty(w, ctx.local):
                continue
            seen, _, _ = self.counts[w.id].area.combined(ctx.ts)
            if seen is None:
                unwatched += 1
            elif not seen:
                empty.add(w.id)
        pub_seen, pub_n, _ = c.public.combined(ctx.ts)
        public = None if pub_seen is None else pub_n
        if not empty and public is None:
            return None
        seat_taken, _, _ = c.seat.combined(ctx.ts)
        return VisitSample(ctx.ts, n - seats, frozenset(empty), unwatched, public, bool(seat_taken))

    def _step(self, v: WindowConfig, ctx: FrameContext, zone_id: str, seats: int) -> list[RuleEvent]:
        visit = self.visits[v.id]
        if not self._on_duty(v, ctx.local):
            ev = [self._close(v, visit, ctx.ts, "paused" if self._closed(v) else "duty_end")] if visit.finding else []
            visit.samples.clear()
            return ev
        s = self._sample(v, ctx, seats)
        if s is None:
            if visit.samples and secs(visit.samples[-1].ts, ctx.ts) > self.p.gap_s:
                ev = [self._close(v, visit, visit.samples[-1].ts, "visitor_left")] if visit.finding else []
                visit.samples.clear()
                return ev
            return []
        if visit.samples and secs(visit.samples[-1].ts, s.ts) > self.p.gap_s:
            visit.samples.clear()
        visit.samples.append(s)
        if visit.finding is None and secs(visit.samples[0].ts, s.ts) >= self.p.min_s:
            if ctx.ts >= self.cooldown_until.get(v.id, ctx.ts):
                return [self._open(v, visit, ctx.camera_id, zone_id)]
        return []

    def _open(self, v: WindowConfig, visit: _Visit, camera_id: str, zone_id: str) -> RuleEvent:
        samples = visit.samples
        case, basis, left = classify(samples)
        charged = left if basis == "left_window" else (v.id if basis == "visited_window" else None)
        staff = self.cfg.window(charged).staff_a if charged else None
        visit.finding, visit.started = new_finding_id(), samples[0].ts
        visit.camera_id, visit.zone_id = camera_id, zone_id
        visit.attributed = charged
        n = len(samples)
        details = {
            "visited_window": v.id, "case": case, "attribution": basis, "left_window": left,
            "empty_windows": sorted({w for s in samples for w in s.empty}),
            "serving_share": round(sum(1 for s in samples if s.public) / n, 3),
            "max_visitors": max(s.visitors for s in samples), "samples": n, "min_s": self.p.min_s,
        }
        if charged is None:
            details["person"] = "unidentified"
            details["note"] = UNPLACED_NOTE
        log.info("chatting opened: window %s visited (%s, charged %s)", v.id, case, charged or "nobody")
        return RuleEvent("opened", self.rule_id, visit.finding, visit.started, severity="warning", window_id=charged,
                         camera_id=camera_id, zone_id=zone_id, staff_id=staff, details=details)

    def _close(self, v: WindowConfig, visit: _Visit, end: dt.datetime, reason: str) -> RuleEvent:
        assert visit.finding is not None and visit.started is not None
        end = max(end, visit.started)
        ev = RuleEvent("closed", self.rule_id, visit.finding, end, severity="warning", window_id=visit.attributed,
                       camera_id=visit.camera_id, zone_id=visit.zone_id, started_at=visit.started,
                       duration_s=secs(visit.started, end), details={"ended_by": reason, "visited_window": v.id},
                       evidence=False)
        self.cooldown_until[v.id] = end + dt.timedelta(seconds=self.p.cooldown_s)
        visit.finding = visit.started = visit.camera_id = visit.zone_id = visit.attributed = None
        return ev
