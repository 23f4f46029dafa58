"""The analysis pipeline shared by ``edge run`` and ``edge analyze``: detect -> crops -> rules -> events.

One ``analyse(frames)`` call takes the newest sampled frame of several cameras and:

1. decides per camera whether the picture changed since the last inference (``ChangeGate``); an
   unchanged picture reuses the previous detections (a seated clerk does not move), but presence is
   re-confirmed by a real inference at least every ``reconfirm_s`` seconds of frame time;
2. runs the detector once on all frames that need it (one batch);
3. the seat-region pass (``seats.region_pass``, cameras with seat zones): the seat zones' padded boxes merged
   into as few squares as cover them (``edge.seats.seat_regions``), person detector and pose model on those
   squares of all inferred frames (one batch each; a square enlarged at most ``seats.region_max_upscale`` times
   when that is set), persons mapped back and merged with the full-frame pass
   (``merge_detections``); that pose is the frame's only pose pass -> ``FrameContext.pose``. A frame whose every
   seat zone already holds a confident full-frame person skips the person squares, and its pose runs only when
   a rule needs a new one: the hand pass is due, the smoking analyser runs, or the camera's last pose is
   ``seats.pose_idle_s`` old (the sleeping rule samples it); otherwise the last pose stands, its frame time in
   ``FrameContext.pose_ts``;
   the periodic passes (this pose, the idle hand pass) also wait for their share of the camera's analysed frames
   (``PASS_FRAMES_SHARE``), so a box analysing fewer frames than configured does not pay them on every frame;
4. when the phone_use rule is on: the hand pass on the seat pose (``HandAnalyser``: COCO on full-resolution crops
   around the hands; a 640x640 pass over a large overhead frame misses phones; the crops of every frame due for
   one in a single call) -> ``FrameContext.small_objects``;
5. optionally cigarette detections (the smoking analyser, reusing that pose);
6. feeds a ``FrameContext`` to every rule (``safe_update``) and to the camera's health monitor.

Steps 1-5 measure (``measure``); with ``workers`` > 1 (``edge.analysis_threads``) each of that many threads
measures a share of the batch's cameras (the OpenVINO networks are shared, each thread has its own requests), so
one thread's Python work runs while another's frames are inferred. Step 6 (``apply``) runs in the calling thread,
one frame at a time in the batch's order, once every frame is measured; ``analyse`` does both. The agent calls the
two from different threads, so one batch's rules run while the next batch is measured.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from edge import geometry as geo
from edge.capture.health import CameraHealthMonitor
from edge.capture.reader import CameraFrame
from edge.detect.regions import detect_on_squares, merge_detections
from edge.detections import Detections
from edge.rules import WindowUnstaffedRule, build_frame_rules, find_rule, safe_update
from edge.rules.base import FrameContext, FrameRule, RuleEvent
from edge.site import SiteConfig

log = logging.getLogger(__name__)

DETECT_CONF = 0.25
PERSON_CROP_CONF = 0.35
SEAT_POSE_CONF = 0.3
# A periodic pass every ``every`` seconds also waits until this share of the camera's analysed frames in ``every``
# seconds at its configured fps has gone by since its last run (2 s at 2 fps: 3 frames; a frame the sampler
# dropped does not delay it). At the configured rate the seconds decide; on a box analysing fewer frames than
# configured a pass would otherwise come due on every frame, and the frames it runs on cost several times a
# full-frame pass, so the analysed rate fell further (30 cameras on a 2-core Xeon: 0.4 analysed fps each).
PASS_FRAMES_SHARE = 0.75


def _elapsed(last: dt.datetime | None, ts: dt.datetime, every: float) -> bool:
    """Whether ``every`` seconds have passed from ``last`` to ``ts``: also when ``every`` is 0, there is no
    ``last``, or ``ts`` is before it (a camera's clock stepped back)."""
    return every <= 0 or last is None or not 0 <= (ts - last).total_seconds() < every


def _slot_due(last: dt.datetime | None, ts: dt.datetime, every: float, phase: float = 0.0) -> bool:
    """Whether ``ts`` lies in a later ``every``-second slot than ``last``: slots start ``phase`` x ``every``
    seconds past each multiple of ``every`` of Unix time, so a periodic pass runs on the first frame of each of
    its camera's slots (what it measured stands in for less than ``every`` seconds). Cameras of different phases
    come due in different batches even after something (the agent's start, a stall) made them due together once.
    Also true when ``every`` is 0, there is no ``last``, or ``ts`` is before it."""
    if every <= 0 or last is None or ts < last:
        return True
    shift = phase * every
    return math.floor((ts.timestamp() - shift) / every) > math.floor((last.timestamp() - shift) / every)


def camera_phases(camera_ids: list[str]) -> dict[str, float]:
    """A phase in [0, 1) per camera for ``_slot_due``: the golden-ratio sequence over the cameras' order, so any
    run of consecutive cameras is spread evenly over a period."""
    return {cid: (k * 0.6180339887498949) % 1.0 for k, cid in enumerate(camera_ids)}


class ChangeGate:
    """Skip inference on unchanged pictures, re-confirming once in every ``reconfirm_s`` seconds of frame time (in
    slots of the camera's phase, ``_slot_due``).

    Change = mean absolute difference of a 64x36 grey thumbnail versus the last *inferred* frame.
    """

    def __init__(self, threshold: float = 2.0, reconfirm_s: float = 10.0):
        self.threshold = threshold
        self.reconfirm_s = reconfirm_s
        self.phases: dict[str, float] = {}  # per camera: its re-confirmation slots' phase (``_slot_due``)
        self._last: dict[str, tuple[dt.datetime, np.ndarray]] = {}

    @staticmethod
    def thumb(image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        return cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)

    def needs_inference(self, camera_id: str, ts: dt.datetime, image: np.ndarray) -> bool:
        if self.threshold <= 0:
            return True
        last = self._last.get(camera_id)
        if last is None or _slot_due(last[0], ts, self.reconfirm_s, self.phases.get(camera_id, 0.0)):
            return True
        return float(np.abs(self.thumb(image) - last[1]).mean()) >= self.threshold

    def inferred(self, camera_id: str, ts: dt.datetime, image: np.ndarray) -> None:
        self._last[camera_id] = (ts, self.thumb(image))


@dataclass
class Analysis:
    """What one frame of one camera produced."""

    camera_id: str
    ts: dt.datetime
    ctx: FrameContext
    events: list[RuleEvent]
    inferred: bool
    infer_ms: float = 0.0


@dataclass
class _Measured:
    """What the models said of one frame (or, for a frame the change gate skipped, of its camera's last)."""

    det: Detections
    small: Detections | None
    pose: Detections | None
    pose_ts: dt.datetime | None
    cig: Detections | None
    inferred: bool
    infer_ms: float


@dataclass
class FramePipeline:
    cfg: SiteConfig
    detector: Any  # edge.detect.base.Detector
    rules: list[FrameRule] = field(default_factory=list)
    smoking: Any | None = None  # edge.detect.smoking.SmokingAnalyser
    gate: ChangeGate = field(default_factory=ChangeGate)
    phone_pass: bool = True
    hands: Any | None = None  # edge.detect.hands.HandAnalyser; built with the pose model when phone_use is on
    pose: Any | None = None  # pose Detector for the seat-region pass (loaded when needed)
    seat_pass: bool = True
    health: dict[str, CameraHealthMonitor] = field(default_factory=dict)
    counters: Counter = field(default_factory=Counter)
    workers: int = 1  # analysis threads measuring a batch's cameras (``edge.analysis_threads``)
    pass_frames_share: float = PASS_FRAMES_SHARE  # 0: periodic passes spaced in seconds only

    def __post_init__(self) -> None:
        self.workers = max(1, int(self.workers))
        self._executor: Any = None
        self._counting = threading.Lock()
        if not self.rules:
            self.rules = build_frame_rules(self.cfg)
        self.phases = camera_phases([c.id for c in self.cfg.cameras])
        self.gate.phases = self.phases
        for cam in self.cfg.cameras:
            self.health.setdefault(cam.id, CameraHealthMonitor(cam.id, self.cfg.rules.camera_health))
        # per camera at its last inferred frame: (detections, hand-pass objects, pose, pose_ts, frame ts)
        self._last: dict[str, tuple[Detections, Detections | None, Detections | None, dt.datetime | None,
                                    dt.datetime]] = {}
        self._pose_at: dict[str, tuple[dt.datetime, Detections]] = {}  # a camera's last seat pose and its frame ts
        # a camera's last hand pass: (frame ts, its objects, the pose it used, that pose's frame ts)
        self._hand_at: dict[str, tuple[dt.datetime, Detections | None, Detections | None, dt.datetime | None]] = {}
        self._held_at: dict[str, dt.datetime] = {}  # when a camera's hand pass last saw a phone or food
        self._frames: Counter = Counter()  # analysed frames per camera (``_measure``)
        self._pass_frame: dict[tuple[str, str], int] = {}  # ("pose" | "hand", camera): its frame at that pass
        self._fps = {c.id: c.fps for c in self.cfg.cameras}
        ids = {n: i for i, n in self.detector.names.items()}
        self._phone_cls = [ids["cell phone"]] if "cell phone" in ids else []
        self._seats = {c.id: [z for z in c.zones if z.kind == "seat"] for c in self.cfg.cameras}
        self._person_cls = [ids["person"]] if "person" in ids else []
        self.seat_pass = (self.seat_pass and self.cfg.seats.region_pass and bool(self._person_cls)
                          and any(self._seats.values())
                          and (self.cfg.rules.window_unstaffed.enabled or self.cfg.rules.phone_use.enabled))
        self.phone_pass = self.phone_pass and self.cfg.rules.phone_use.enabled and bool(self._phone_cls)
        if self.pose is None and (self.seat_pass or self.phone_pass):
            self.pose = self._pose_model()
        if self.phone_pass and self.hands is None:
            self.hands = self._hand_analyser()
        self.phone_pass = self.phone_pass and self.hands is not None
        self._regions: dict[tuple[str, tuple[int, int]], list[tuple[int, int, int, int]]] = {}
        from edge.rules.sleeping import SleepingRule

        self._pose_read = self.phone_pass or find_rule(self.rules, SleepingRule) is not None

    def _pose_model(self) -> Any | None:
        from edge.detect.base import load_detector
        from edge.detect.hands import POSE_MODEL
        from edge.yamlconfig import expand_env

        pose = getattr(self.smoking, "pose", None) or getattr(self.hands, "pose", None)
        if pose is not None:
            return pose
        # the detector's device and streams; OpenVINO's default threads: INFERENCE_NUM_THREADS=1 on this model's
        # batch probe, after the detector has run its async queue with the same setting, crashed OpenVINO 2026.4
        options = {k: v for k, v in self.cfg.edge.detector_options().items() if k != "threads"}
        try:
            return load_detector(POSE_MODEL, self.cfg.edge.backend, expand_env(self.cfg.edge.models_dir), **options)
        except (OSError, ValueError) as exc:
            log.warning("no pose model (%s): seats go without the pose cue, phone_use without the hand pass", exc)
            return None

    def _hand_analyser(self) -> Any | None:
        from edge.detect.hands import HandAnalyser

        try:
            return HandAnalyser(self.detector, self.pose,
                                max_upscale=self.cfg.rules.phone_use.hand_crop_max_upscale or None)
        except ValueError as exc:
            log.warning("phone_use has no hand pass (%s): it will find nothing", exc)
            return None

    def seat_squares(self, camera_id: str, shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
        """The merged seat regions of a camera for a frame shape (cached)."""
        from edge.seats import seat_regions, zone_box

        key = (camera_id, (int(shape[0]), int(shape[1])))
        if key not in self._regions:
            boxes = [zone_box(geo.denormalize_polygon(z.polygon, key[1])) for z in self._seats.get(camera_id, [])]
            self._regions[key] = seat_regions(boxes, shape, self.cfg.seats.region_pad,
                                              self.cfg.seats.region_min_px) if boxes else []
        return self._regions[key]

    def seat_region_pass(self, frames: list[CameraFrame], full: list[Detections]
                         ) -> tuple[list[Detections], list[Detections | None], list[dt.datetime | None]]:
        """Persons (merged with ``full``) and pose from the seat regions of ``frames``: one batch per model. The
        pose of a frame that needs no new one (``pose_due``) is the camera's last; the third list gives the frame
        time each pose was measured on."""
        merged, poses = list(full), [None] * len(frames)
        pose_ts: list[dt.datetime | None] = [None] * len(frames)
        if not self.seat_pass:
            return merged, poses, pose_ts
        items = [(f.image, self.seat_squares(f.camera_id, f.image.shape)) for f in frames]
        cap = self.cfg.seats.region_max_upscale or None
        # every seat already has a confident full-frame person: the person crops would add nothing
        seen = [bool(sq) and self._seats_seen(f, full[k]) for k, (f, (_, sq)) in enumerate(zip(frames, items))]
        todo = [k for k, (_, sq) in enumerate(items) if sq and not seen[k]]
        self._count("seat_regions_skipped", sum(seen))
        if todo:
            sub = [items[k] for k in todo]
            self._count("seat_regions", sum(len(sq) for _, sq in sub))
            for k, p in zip(todo, detect_on_squares(self.detector, sub, classes=self._person_cls, conf=DETECT_CONF,
                                                    max_upscale=cap)):
                merged[k] = merge_detections(full[k], p)
        posed = [k for k, (_, sq) in enumerate(items) if sq and (not seen[k] or self.pose_due(frames[k]))]
        if posed and self.pose is not None:
            self._count("seat_poses", len(posed))
            for k, q in zip(posed, detect_on_squares(self.pose, [items[k] for k in posed], conf=SEAT_POSE_CONF,
                                                     max_upscale=cap)):
                poses[k], pose_ts[k] = q, frames[k].ts
                self._pose_at[frames[k].camera_id] = (frames[k].ts, q)
                self._pass_frame["pose", frames[k].camera_id] = self._frames[frames[k].camera_id]
        for k, f in enumerate(frames):  # the last pose stands in (pose_due: it is at most pose_idle_s old)
            if self._pose_read and items[k][1] and poses[k] is None and f.camera_id in self._pose_at:
                pose_ts[k], poses[k] = self._pose_at[f.camera_id]
                self._count("seat_poses_reused")
        return merged, poses, pose_ts

    def pose_due(self, f: CameraFrame) -> bool:
        """Whether a frame whose seats the full-frame pass already sees needs a new seat pose: for the smoking
        analyser always, for the hand pass when it is due, for the rules that read the pose (phone use, eating,
        sleeping) once the camera's last is ``seats.pose_idle_s`` old."""
        if self.smoking is not None or (self.phone_pass and self.hand_due(f)):
            return True
        if not self._pose_read:
            return False
        return self._pass_due("pose", self._pose_at, f, self.cfg.seats.pose_idle_s)

    def hand_due(self, f: CameraFrame) -> bool:
        """Whether the camera's hand pass runs on this frame (``rules.phone_use.hand_pass_s`` and
        ``hand_pass_idle_s``; the latter not while the smoking analyser runs, whose look-alike check needs every
        pass)."""
        rule = self.cfg.rules.phone_use
        idle = self.smoking is None and _elapsed(self._held_at.get(f.camera_id), f.ts, rule.window_s)
        return self._pass_due("hand", self._hand_at, f,
                              max(rule.hand_pass_s, rule.hand_pass_idle_s) if idle else rule.hand_pass_s)

    def _pass_due(self, kind: str, last_at: dict[str, tuple], f: CameraFrame, every: float) -> bool:
        """``_slot_due`` for a camera's periodic pass whose last run is ``last_at[camera]`` (frame time first), once
        ``pass_frames_share`` of the camera's analysed frames in ``every`` seconds have gone by since that run."""
        last = last_at.get(f.camera_id)
        if not _slot_due(last[0] if last else None, f.ts, every, self.phases.get(f.camera_id, 0.0)):
            return False
        at = self._pass_frame.get((kind, f.camera_id))  # set with last_at: None exactly when there is no last run
        need = math.floor(self.pass_frames_share * every * self._fps.get(f.camera_id, 0.0))
        return at is None or self._frames[f.camera_id] - at >= need

    def _seats_seen(self, f: CameraFrame, det: Detections) -> bool:
        from edge.rules.common import in_zone_mask, person_min_confidence

        people = det.of_class("person").above(person_min_confidence(self.cfg))
        if not len(people):
            return False
        shape = f.image.shape[:2]
        return all(in_zone_mask(people, geo.denormalize_polygon(z.polygon, shape)).any()
                   for z in self._seats.get(f.camera_id, []))

    @property
    def staffing(self) -> WindowUnstaffedRule | None:
        return find_rule(self.rules, WindowUnstaffedRule)

    def analyse(self, frames: list[CameraFrame]) -> list[Analysis]:
        """Measure every frame, then feed them to the rules one at a time in their given order."""
        return self.apply(frames, self.measure(frames))

    def measure(self, frames: list[CameraFrame]) -> dict[int, _Measured]:
        """What the models say of each frame (by ``id``; change gate, models), with ``workers`` threads each taking
        a share of the cameras. Touches only the measuring state (gate, last passes), never the rules, so the
        agent measures the next batch while ``apply`` feeds this one to the rules in another thread."""
        parts = [frames[k::self.workers] for k in range(min(self.workers, len(frames)))]
        if len(parts) <= 1:
            return self._measure(frames)
        measured: dict[int, _Measured] = {}
        for part in self._pool().map(self._measure, parts):
            measured.update(part)
        return measured

    def apply(self, frames: list[CameraFrame], measured: dict[int, _Measured]) -> list[Analysis]:
        """Feed ``measure``'s results to the rules and the health monitors, one frame at a time in the given order
        (the frames of one ``measure`` call)."""
        return [self._apply(f, measured[id(f)]) for f in frames]

    def _pool(self) -> Any:
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="analysis")
        return self._executor

    def close(self) -> None:
        """Stop the analysis threads (``workers`` > 1); a later ``analyse`` starts them again."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _measure(self, frames: list[CameraFrame]) -> dict[int, _Measured]:
        """What the models say of each frame (by ``id``): the frames the change gate passes are inferred as one
        batch; the others reuse their camera's last measurement. Cameras of one call are not in another's."""
        for f in frames:
            self._frames[f.camera_id] += 1
        todo = [f for f in frames if self.gate.needs_inference(f.camera_id, f.ts, f.image)]
        results: dict[int, tuple[Detections, Detections | None, dt.datetime | None]] = {}
        infer_ms = 0.0
        if todo:
            t0 = time.perf_counter()
            dets = self.detector.detect([f.image for f in todo], conf=DETECT_CONF)
            dets, seat_pose, seat_pose_ts = self.seat_region_pass(todo, dets)
            infer_ms = (time.perf_counter() - t0) * 1000
            self._count("inferences", len(todo))
            for f, d, sp, st in zip(todo, dets, seat_pose, seat_pose_ts):
                results[id(f)] = (d, sp, st)
        held = self._small_objects([f for f in frames if id(f) in results], results)
        out: dict[int, _Measured] = {}
        for f in frames:
            inferred = id(f) in results
            cig = None
            if inferred:
                det = results[id(f)][0]
                pose, pose_ts, small = held[id(f)]
                self._last[f.camera_id] = (det, small, pose, pose_ts, f.ts)
                self.gate.inferred(f.camera_id, f.ts, f.image)
                pose, pose_ts, cig = self._smoking(f, pose, pose_ts)
            else:
                det, small, pose, pose_ts, at = self._last.get(
                    f.camera_id, (Detections.empty(self.detector.names), None, None, None, f.ts))
                if pose_ts == at:  # the pose was measured on the last inferred frame: it holds for this same picture
                    pose_ts = f.ts
                self._count("skipped_unchanged")
            out[id(f)] = _Measured(det, small, pose, pose_ts, cig, inferred, infer_ms / max(1, len(todo)))
        return out

    def _count(self, key: str, n: int = 1) -> None:
        with self._counting:
            self.counters[key] += n

    def _small_objects(self, frames: list[CameraFrame],
                       results: dict[int, tuple[Detections, Detections | None, dt.datetime | None]]
                       ) -> dict[int, tuple[Detections | None, dt.datetime | None, Detections | None]]:
        """Per inferred frame (by ``id``): (pose of the persons at seats, the frame time it was measured on, what
        the COCO detector sees in their hands). ``results``: (detections, seat pose, its frame time) per frame. The
        seat-region pose is the frame's pose pass; without it (no seat-region pass) the pose model runs on crops
        around the persons at seats, only for the hand pass. The hand pass runs when ``hand_due``, on the crops
        of every such frame in one call; in between its last result stands (as for a frame the change gate
        skips)."""
        out: dict[int, tuple[Detections | None, dt.datetime | None, Detections | None]] = {}
        todo: list[tuple[CameraFrame, Detections, dt.datetime | None, list[int]]] = []
        for f in frames:
            det, seat_pose, seat_ts = results[id(f)]
            if not self._seats.get(f.camera_id):
                out[id(f)] = (None, None, None)
            elif not self.phone_pass:
                out[id(f)] = (seat_pose, seat_ts, None)
            elif not self.hand_due(f):
                self._count("hand_passes_reused")
                _, small, pose, pose_ts = self._hand_at[f.camera_id]
                out[id(f)] = (seat_pose, seat_ts, small) if seat_pose is not None else (pose, pose_ts, small)
            else:
                pose, clerks = self._hand_plan(f, det, seat_pose)
                pose_ts = (seat_ts if pose is seat_pose else f.ts) if pose is not None else None
                if clerks:
                    todo.append((f, pose, pose_ts, clerks))  # type: ignore[arg-type]
                else:
                    out[id(f)] = self._hand_done(f, pose, pose_ts, Detections.empty(self.detector.names))
        if todo:
            self._count("crop_passes", len(todo))
            found = self.hands.analyse_many([(f.image, pose, clerks) for f, pose, _, clerks in todo])
            for (f, pose, pose_ts, _), small in zip(todo, found):
                out[id(f)] = self._hand_done(f, pose, pose_ts, small)
        return out

    def _hand_done(self, f: CameraFrame, pose: Detections | None, pose_ts: dt.datetime | None, small: Detections
                   ) -> tuple[Detections | None, dt.datetime | None, Detections | None]:
        """Keep a camera's hand pass (it stands until the next is due) and return (pose, pose_ts, objects)."""
        self._hand_at[f.camera_id] = (f.ts, small, pose, pose_ts)
        self._pass_frame["hand", f.camera_id] = self._frames[f.camera_id]
        if self._holds(small):
            self._held_at[f.camera_id] = f.ts
        return pose, pose_ts, small

    def _holds(self, small: Detections | None) -> bool:
        """Whether a hand pass saw what the phone or eating rule looks for (at the rule's threshold)."""
        if small is None or not len(small):
            return False
        rules = self.cfg.rules
        names = np.array([small.names.get(int(c), "") for c in small.class_id])
        wanted = (names == "cell phone") & (small.confidence >= rules.phone_use.min_confidence)
        if rules.eating.enabled:
            wanted |= np.isin(names, rules.eating.items) & (small.confidence >= rules.eating.min_confidence)
        return bool(wanted.any())

    def _hand_plan(self, f: CameraFrame, det: Detections, seat_pose: Detections | None
                   ) -> tuple[Detections | None, list[int]]:
        """Pose (the seat pose, or pose on crops around the persons at seats) and the indices into it of each
        seat's clerk (``phone_use.seat_clerks``), whose hands the hand pass looks into: the phone and eating rules
        judge no other hands."""
        from edge.rules.phone_use import seat_clerks

        shape = f.image.shape[:2]
        polygons = [geo.denormalize_polygon(z.polygon, shape) for z in self._seats[f.camera_id]]
        pose = seat_pose
        if pose is None:
            people = det.of_class("person").above(PERSON_CROP_CONF)
            near = geo.boxes_touching_polygons(people.xyxy, polygons)
            if not near.any():
                return None, []
            pose = self.hands.pose_of(f.image, people.xyxy[near])
        return pose, seat_clerks(pose, polygons)

    def _smoking(self, f: CameraFrame, pose: Detections | None, pose_ts: dt.datetime | None
                 ) -> tuple[Detections | None, dt.datetime | None, Detections | None]:
        """(pose, its frame time, cigarettes) of an inferred frame from the smoking analyser, when it runs."""
        if self.smoking is None:
            return pose, pose_ts, None
        try:
            if pose is not None and self.seat_pass:
                pose, cig = self.smoking.analyse(f.image, pose=pose)  # the seat pose: no second pose pass
            else:
                pose, cig = self.smoking.analyse(f.image, seated=pose)
                pose_ts = f.ts if pose is not None else None  # the analyser's own pose pass on this frame
            return pose, pose_ts, cig
        except Exception:
            self._count("smoking_errors")
            log.exception("smoking analyser failed on %s", f.camera_id)
            return pose, pose_ts, None

    def _apply(self, f: CameraFrame, m: _Measured) -> Analysis:
        det, small, pose, pose_ts, cig, inferred = m.det, m.small, m.pose, m.pose_ts, m.cig, m.inferred
        ctx = FrameContext(camera_id=f.camera_id, ts=f.ts, local=self.cfg.local(f.ts), shape=f.image.shape[:2],
                           detections=det, small_objects=small, pose=pose, pose_ts=pose_ts, cigarettes=cig,
                           frame=f.image)
        events: list[RuleEvent] = []
        for rule in self.rules:
            events.extend(safe_update(rule, ctx))
        mon = self.health.get(f.camera_id)
        if mon is not None:
            events.extend(mon.observe(f.ts, f.image))
        self._count("analysed")
        return Analysis(f.camera_id, f.ts, ctx, events, inferred, m.infer_ms)

    def zone_occupancy(self, ctx: FrameContext, min_conf: float | None = None) -> list[dict]:
        """Persons per zone of the frame's camera (what users look at when tuning zones), counted at the rules'
        presence threshold (``rules.window_unstaffed.person_min_confidence``) unless ``min_conf`` is given."""
        from edge.rules.common import person_min_confidence

        cam = self.cfg.camera(ctx.camera_id)
        people = ctx.detections.of_class("person").above(person_min_confidence(self.cfg) if min_conf is None
                                                         else min_conf)
        out = []
        for z in cam.zones:
            poly = geo.denormalize_polygon(z.polygon, ctx.shape)
            centre = geo.points_in_polygon(geo.box_anchors(people.xyxy, "center"), poly) if len(people) else []
            frac = geo.box_fraction_in_polygon(people.xyxy, poly) if len(people) else np.zeros(0)
            phones = 0
            if ctx.small_objects is not None and len(ctx.small_objects):
                ph = ctx.small_objects.of_class("cell phone")
                phones = int((geo.box_fraction_in_polygon(ph.xyxy, poly) > 0).sum()) if len(ph) else 0
            out.append({"zone": z.id, "kind": z.kind, "window": z.window,
                        "persons": int(np.sum(np.asarray(centre, bool) | (frac >= 0.5))), "phones": phones})
        return out
