"""The edge agent: cameras -> detection -> hall rules -> findings with evidence -> durable outbox.

Jobs (each its own thread, restarted by the watchdog in ``run_forever``/``watch`` when one dies):

- ``capture-<camera>``: a ``CameraReader`` per camera input (reconnects itself; the watchdog also kicks
  stalled streams): the detect input puts sampled frames in the camera's latest-frame slot, the record
  input's packets go into the camera's packet ring (clips by stream copy), a separate stills input keeps
  its newest keyframe;
- ``detect``: takes the newest frame of every camera (at most ``edge.batch_frames``, the cameras taken longest
  ago first) and measures them as one batch (``FramePipeline.measure``: change gate and models), then hands the
  batch to ``rules`` and measures the next one;
- ``rules``: feeds each measured batch to the hall rules and health monitors (``FramePipeline.apply``), checks
  camera silence (offline), publishes window states on change;
- ``evidence``: turns rule events into messages with snapshots, finishes clips (FindingUpdated);
- ``commands``: answers duty and safety checks from the command topic, applies the pause plan;
- ``heartbeat``: per-camera fps, lag and health, sensors, outbox backlog;
- the outbox's MQTT and upload threads, and the sensor hub (helper C) when sensors are configured.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge import contract
from edge.agent.commands import PausePlan, apply_seat_tuning, duty_check, safety_check
from edge.agent.findings import FindingDispatcher
from edge.agent.jobs import Job, Supervisor
from edge.agent.open_findings import OpenFindings
from edge.agent.pipeline import ChangeGate, FramePipeline, camera_phases
from edge.capture.packets import PacketRing
from edge.capture.reader import CameraFrame, CameraReader, LatestFrame, StillSlot
from edge.contract import CameraHealth, EdgeAccel, Heartbeat, utcnow
from edge.detect.faces import face_finder
from edge.detect.placard import placard_reader
from edge.detections import Detections
from edge.evidence.writer import EvidenceWriter
from edge.outbox import Outbox
from edge.rules import ExitBlockedRule, find_rule, pausable
from edge.rules.base import RuleEvent
from edge.site import SiteConfig, expand_env, resolve_source

log = logging.getLogger(__name__)
VERSION = "0.1.0"


@dataclass
class Picture:
    ts: dt.datetime
    image: Any
    detections: Detections | None
    extra: Detections | None = None


def limit_malloc_arenas(arenas: int | None = None) -> bool:
    """Cap glibc's per-thread malloc arenas (``HALLWATCH_MALLOC_ARENAS``, default 2; 0 leaves glibc's default).

    Two reader threads per camera would otherwise each grow an arena of their own: tens of cameras cost
    about a third more resident memory. Call before the threads start; False where it does not apply.
    """
    n = int(os.environ.get("HALLWATCH_MALLOC_ARENAS", "2")) if arenas is None else arenas
    if n <= 0:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-8, n))  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc
        return False


class EdgeAgent:
    def __init__(self, cfg: SiteConfig, config_path: str | os.PathLike[str] | None = None, *,
                 detector: Any = None, data_dir: str | os.PathLike[str] | None = None,
                 sensors: bool = True, smoking: Any = None, skip_unchanged: bool = True,
                 realtime: bool | None = None, batch_wait_s: float = 0.05, overlap_rules: bool = True) -> None:
        """``overlap_rules``: the detect job measures the next batch while the rules job applies the last one (False:
        it waits until the batch is applied, one batch at a time; ``bench/edge_cost.py`` compares the two)."""
        self.cfg = cfg
        limit_malloc_arenas()
        self.config_path = Path(config_path) if config_path else Path.cwd() / "site.yaml"
        self.data_dir = Path(data_dir or cfg.edge.data_dir)
        self.started_mono = time.monotonic()
        self.batch_wait_s = batch_wait_s
        self.overlap_rules = overlap_rules
        if detector is None:
            from edge.detect.base import load_detector

            detector = load_detector(cfg.edge.detector, cfg.edge.backend, expand_env(cfg.edge.models_dir),
                                     **cfg.edge.detector_options())
        self.outbox = Outbox(self.data_dir / "outbox", prefix=cfg.mqtt.topic_prefix, await_receipts=True)
        cams = [c for c in cfg.cameras if c.enabled]
        ring_s = cfg.edge.clip_pre_s + cfg.edge.clip_post_s + 2
        self.rings = {c.id: PacketRing(ring_s) for c in cams}
        self.slots = {c.id: LatestFrame() for c in cams}
        self._frame_ready = threading.Event()
        self.readers: dict[str, CameraReader] = {}  # the detect reader of each camera
        self.aux_readers: list[CameraReader] = []  # record / stills inputs other than the detect one
        stills: dict[str, Any] = {}
        phases = camera_phases([c.id for c in cfg.cameras])  # sampling moments spread over the period
        for c in cams:
            for inp in c.streams():
                roles = set(inp.roles)
                slot = StillSlot() if "stills" in roles and "record" not in roles else None
                if "stills" in roles and ("detect" not in roles or c.detect_width):  # else: analysed at full size
                    stills[c.id] = self.rings[c.id].picture_at if slot is None else _slot_still(slot)
                reader = CameraReader(
                    c.id, resolve_source(self.config_path, inp.path), c.fps,
                    self._on_frame if "detect" in roles else None, detect="detect" in roles,
                    packets=self.rings[c.id] if "record" in roles else None, stills=slot,
                    detect_width=c.detect_width, loop=c.loop, realtime=realtime, hwaccel=cfg.edge.hwaccel,
                    name=c.id if "detect" in roles else f"{c.id}:{'+'.join(sorted(roles))}", phase=phases[c.id])
                if "detect" in roles:
                    self.readers[c.id] = reader
                else:
                    self.aux_readers.append(reader)
        self.pipeline = FramePipeline(cfg, detector, smoking=smoking,
                                      gate=ChangeGate() if skip_unchanged else ChangeGate(threshold=0),
                                      workers=cfg.edge.analysis_threads if cfg.edge.backend == "openvino" else 1)
        staffing = self.pipeline.staffing
        if staffing is not None and cfg.seats.references_dir is None:
            from edge.seats import ReferenceStore

            staffing.judge.store = ReferenceStore(self.data_dir / "seat_refs")  # the seats' empty references
        self.evidence = EvidenceWriter(self.outbox, self.rings, cfg.edge.clip_pre_s, cfg.edge.clip_post_s, tz=cfg.tz,
                                       privacy={c.id: c.privacy for c in cfg.cameras}, stills=stills,
                                       faces=face_finder(cfg))
        self._camera_zones = {c.id: c.zones for c in cfg.cameras}
        self.open_findings = OpenFindings(self.data_dir / "open_findings.sqlite3")
        self.dispatcher = FindingDispatcher(cfg, self.outbox, self.evidence, self.latest_picture, self.open_findings,
                                            exit_open=self.exit_finding_open, placard=placard_reader(cfg))
        self._pictures: dict[str, Picture] = {}
        self._analysed: dict[str, deque[float]] = {c.id: deque(maxlen=512) for c in cams}
        self._lock = threading.RLock()  # pipeline state (rules, health) and pictures
        # measured batches from the detect job to the rules job (at most one waits; ``_handoff`` guards it)
        self._measured: deque[tuple[list[CameraFrame], dict[int, Any]]] = deque()
        self._handoff = threading.Condition()
        self._applying = False  # the rules job is applying a batch (``overlap_rules`` False waits for it)
        self._events: queue.Queue[tuple[RuleEvent, Picture | None]] = queue.Queue()
        self._commands: queue.Queue[bytes] = queue.Queue(maxsize=100)
        self.pause_plan = PausePlan()
        self._window_published: dict[str, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._stopped = False
        self.supervisor = Supervisor()
        self.hub = None
        if sensors and cfg.sensors:
            try:
                from edge.sensors.hub import SensorHub, wall_clock
                from edge.sensors.simclock import SimClock

                clock = wall_clock
                if os.environ.get("HALLWATCH_SIM_CLOCK") == "1":  # demo only: sensors follow the simulated day
                    clock = SimClock()
                    log.warning("sensor rules run on the simulator's clock (HALLWATCH_SIM_CLOCK=1; demo only)")
                self.hub = SensorHub(cfg, on_event=self._sensor_event, on_reading=self.outbox.put, clock=clock)
            except ImportError as exc:
                log.warning("sensor hub unavailable (%s); sensors off", exc)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.dispatcher.close_interrupted()  # episodes the previous run left open (their state was in memory)
        self.open_findings.alive(utcnow())
        m = self.cfg.mqtt
        password = os.environ.get(m.password_env) if m.password_env else None
        self.outbox.subscribe(contract.command_topic(self.cfg.hall.id, self.cfg.edge.id, m.topic_prefix),
                              self._on_command)
        self.outbox.start_mqtt(m.host, m.port, self.cfg.hall.id, self.cfg.edge.id, keepalive=m.keepalive_s,
                               username=m.username, password=password, version=VERSION)
        self.outbox.start_uploads(self.cfg.edge.server_url, os.environ.get(self.cfg.edge.token_env))
        for reader in self.all_readers():
            reader.start()
        for name, target in (("detect", self._detect_loop), ("rules", self._rules_loop),
                             ("evidence", self._evidence_loop), ("commands", self._command_loop),
                             ("heartbeat", self._heartbeat_loop)):
            self.supervisor.add(Job(name, target))
        if self.cfg.edge.live_snapshot_s > 0:
            from edge.agent.live import LiveUploader, masked_by_privacy

            self.live = LiveUploader(list(self.readers), self.latest_picture, self.cfg.edge.server_url,
                                     os.environ.get(self.cfg.edge.token_env), self.cfg.edge.live_snapshot_s,
                                     self.cfg.edge.live_snapshot_width, prepare=masked_by_privacy(self.cfg))
            self.supervisor.add(Job("live", self.live.run))
        if self.hub is not None:
            self.hub.start()
        log.info("edge agent %s/%s started: %d camera(s), %d rule(s), sensors %s", self.cfg.hall.id,
                 self.cfg.edge.id, len(self.readers), len(self.pipeline.rules), "on" if self.hub else "off")

    def watch(self) -> None:
        """One watchdog pass: restart dead jobs and readers, kick stalled streams."""
        self.supervisor.check()
        for reader in self.all_readers():
            if reader.state in ("ended", "stopped"):
                continue
            if not reader.alive():
                log.error("watchdog: capture of %s is dead; restarting", reader.name)
                self.supervisor.counters[f"restart:capture-{reader.name}"] += 1
                reader.start()
            elif reader.stalled(reader.read_timeout_s * 2):
                reader.kick()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        for reader in self.all_readers():
            reader.signal_stop()
        for reader in self.all_readers():
            reader.stop()
        if self.hub is not None:
            self.hub.stop()
        self.supervisor.stop()
        self.pipeline.close()
        self._apply_measured()
        self._drain_events()
        self.outbox.flush(3.0)
        self.open_findings.alive(utcnow())  # a graceful stop: still-open episodes end now on the next start
        self.outbox.stop(graceful=True)

    def all_readers(self) -> list[CameraReader]:
        return list(self.readers.values()) + self.aux_readers

    def run_forever(self) -> int:
        def on_signal(signum, frame) -> None:  # noqa: ANN001
            log.info("signal %s: stopping", signum)
            self._stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not self._stop.wait(1.0):
            self.watch()
        self.stop()
        return 0

    # ------------------------------------------------------------------ frames and detection
    def _on_frame(self, frame: CameraFrame) -> None:
        self.slots[frame.camera_id].put(frame)
        self._frame_ready.set()

    def _detect_loop(self, stop: threading.Event) -> None:
        """Measure batches (models, outside the agent's lock) and hand each to the rules job; the next batch is
        taken once the rules job has taken this one, so the rules of one batch run while the next is measured."""
        while not stop.is_set():
            self._frame_ready.wait(0.5)
            self._frame_ready.clear()
            self._gather(self.batch_wait_s)
            frames = self._take_batch()
            if not frames:
                continue
            try:
                measured = self.pipeline.measure(frames)
            except Exception:
                self.pipeline.counters["detect_errors"] += 1
                log.exception("detection step failed (frames of %s)", [f.camera_id for f in frames])
                continue
            with self._handoff:
                self._measured.append((frames, measured))
                self._handoff.notify_all()
                # stopping: ``stop`` applies a batch left here
                while (self._measured or (self._applying and not self.overlap_rules)) and not stop.is_set():
                    self._handoff.wait(0.5)

    def _rules_loop(self, stop: threading.Event) -> None:
        """Feed measured batches to the rules in the order they were measured; check camera silence and publish
        window states once a second."""
        last_tick = 0.0
        while not stop.is_set():
            with self._handoff:
                if not self._measured:
                    self._handoff.wait(0.5)
                batch = self._measured.popleft() if self._measured else None
                self._applying = batch is not None
                self._handoff.notify_all()
            try:
                if batch is not None:
                    self._analyse(*batch)
                if time.monotonic() - last_tick >= 1.0:
                    last_tick = time.monotonic()
                    self._tick(utcnow())
            except Exception:
                self.pipeline.counters["rules_errors"] += 1
                log.exception("rules step failed (frames of %s)", [f.camera_id for f in batch[0]] if batch else [])
            finally:
                with self._handoff:
                    self._applying = False
                    self._handoff.notify_all()

    def _apply_measured(self) -> None:
        """Feed the batches measured but not yet applied to the rules (on stop: their findings are not lost)."""
        while self._measured:
            self._analyse(*self._measured.popleft())

    def _take_batch(self) -> list[CameraFrame]:
        """The waiting frames of every camera, or with ``edge.batch_frames`` that many, first those of the cameras
        taken longest ago (a waiting frame is replaced by a newer one, so its own time says nothing of the wait)."""
        limit = self.cfg.edge.batch_frames
        slots = list(self.slots.values())
        if 0 < limit < len(slots):
            slots = sorted((s for s in slots if s.waiting), key=lambda s: s.taken_at)[:limit]
        return [f for f in (s.take() for s in slots) if f is not None]

    def _gather(self, wait_s: float) -> None:
        """Let other cameras' frames join the batch: wait up to ``wait_s`` while a camera has no frame waiting
        (not at all when every camera has one, as when analysis is the bottleneck; with ``edge.batch_frames``,
        once that many wait)."""
        deadline = time.monotonic() + wait_s
        enough = min(len(self.slots), self.cfg.edge.batch_frames or len(self.slots))
        while sum(s.waiting for s in self.slots.values()) < enough:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._frame_ready.wait(left)
            self._frame_ready.clear()

    def _analyse(self, frames: list[CameraFrame], measured: dict[int, Any]) -> None:
        with self._lock:
            results = self.pipeline.apply(frames, measured)
            for a, f in zip(results, frames):
                pic = Picture(a.ts, f.image, a.ctx.detections, a.ctx.small_objects)
                self._pictures[a.camera_id] = pic
                self.evidence.note_analysed(a.camera_id, a.ts, a.ctx.shape, a.ctx.detections,
                                            self._camera_zones.get(a.camera_id, []))
                self._analysed[a.camera_id].append(time.monotonic())
                for ev in a.events:
                    self._events.put((ev, pic))
            self._publish_window_states(max(a.ts for a in results))

    def _tick(self, now: dt.datetime) -> None:
        with self._lock:
            for mon in self.pipeline.health.values():
                if mon.camera_id in self.readers:
                    for ev in mon.tick(now):
                        self._events.put((ev, None))
            self._publish_window_states(now)

    def _publish_window_states(self, now: dt.datetime) -> None:
        staffing = self.pipeline.staffing
        if staffing is None:
            return
        for st in staffing.window_states(now):
            key = (st.state, st.persons if st.state == "staffed" else 0)
            if self._window_published.get(st.window_id, (None,))[0] != st.state:
                self.outbox.put(st.to_message(self.cfg.hall.id, self.cfg.edge.id))
            self._window_published[st.window_id] = key

    # ------------------------------------------------------------------ events and evidence
    def _sensor_event(self, ev: RuleEvent) -> None:
        if ev.rule == "smoke_detected" and ev.kind == "opened" and ev.camera_id:
            self._note_smoke(ev.camera_id, ev.sensor_id)
        extra = []
        if ev.kind == "opened" and ev.sensor_id and ev.evidence and self.hub is not None:
            try:
                png = self.hub.chart_png(ev.sensor_id, ev.at, rule=ev.rule)
                extra.append(self.outbox.put_file(png, "chart", "image/png", ev.at))
            except Exception:
                log.exception("chart for %s failed", ev.sensor_id)
        self._events.put((ev, None) if not extra else (ev, _WithRefs(extra)))  # type: ignore[arg-type]

    def _note_smoke(self, camera_id: str, sensor_id: str | None) -> None:
        """Smoke-sensor fusion: a smoke alarm near a camera makes the smoking rule quicker and surer there."""
        from edge.rules.smoking import SmokingRule

        with self._lock:
            rule = find_rule(self.pipeline.rules, SmokingRule)
            if rule is not None:  # the alarm is now, whatever clock the sensor rules run on
                rule.note_smoke(camera_id, utcnow(), sensor_id)
                log.info("smoke alarm from %s noted for the smoking rule on %s", sensor_id, camera_id)

    def _evidence_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                ev, pic = self._events.get(timeout=0.5)
            except queue.Empty:
                ev = None
            if ev is not None:
                self._dispatch(ev, pic)
            self.dispatcher.clips_finished(self.evidence.poll(), utcnow())

    def _dispatch(self, ev: RuleEvent, pic: Any) -> None:
        if isinstance(pic, _WithRefs):
            self.dispatcher.handle(ev, None, extra_refs=pic.refs)
        else:
            self.dispatcher.handle(ev, pic)

    def _drain_events(self) -> None:
        while True:
            try:
                ev, pic = self._events.get_nowait()
            except queue.Empty:
                break
            self._dispatch(ev, pic)
        self.dispatcher.clips_finished(self.evidence.poll(flush=True), utcnow())

    # ------------------------------------------------------------------ commands
    def _on_command(self, payload: bytes) -> None:
        try:
            self._commands.put_nowait(payload)
        except queue.Full:
            log.warning("command queue full: command dropped")

    def _command_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._apply_pauses()
            try:
                payload = self._commands.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                cmd = contract.parse_command(payload)
            except contract.ContractError as exc:
                self.pipeline.counters["bad_commands"] += 1
                log.warning("ignoring bad command: %s", exc)
                continue
            if cmd.type == "command.window_pauses":
                self.pause_plan.replace(cmd)
                self._apply_pauses()
            elif cmd.type == "command.seat_tuning":
                self._apply_seat_tuning(cmd)
            elif cmd.type == "command.duty_check":
                self.outbox.put(duty_check(cmd, self, self.evidence))
            else:
                items = self.hub.safety_items if self.hub is not None else None
                self.outbox.put(safety_check(cmd, self, self.evidence, items))
            log.info("answered %s %s", cmd.type, cmd.id)

    def _apply_pauses(self) -> None:
        with self._lock:
            targets = pausable(self.pipeline.rules)
            if targets:
                def set_closed(window_id: str, closed: bool) -> None:
                    for rule in targets:
                        rule.set_window_closed(window_id, closed)

                self.pause_plan.apply(utcnow(), set_closed, {w.id: w.closed for w in self.cfg.windows})

    def _apply_seat_tuning(self, cmd: contract.Command) -> None:
        with self._lock:
            staffing = self.pipeline.staffing
            if staffing is not None:
                apply_seat_tuning(cmd, staffing.set_seat_overrides, {z.id for _, z in self.cfg.seat_zones()})

    # CommandContext for edge.agent.commands
    def latest_picture(self, camera_id: str) -> Picture | None:
        with self._lock:
            return self._pictures.get(camera_id)

    def window_states(self, now: dt.datetime) -> list[Any]:
        with self._lock:
            staffing = self.pipeline.staffing
            return staffing.window_states(now) if staffing is not None else []

    def camera_state(self, camera_id: str) -> str:
        with self._lock:
            mon = self.pipeline.health.get(camera_id)
            return mon.state if mon is not None else "offline"

    def exit_finding_open(self, camera_id: str, zone_id: str) -> bool:
        with self._lock:
            rule = find_rule(self.pipeline.rules, ExitBlockedRule)
            ex = rule.exits.get((camera_id, zone_id)) if rule is not None else None
            return bool(ex is not None and ex.finding is not None)

    # ------------------------------------------------------------------ heartbeat
    def camera_health(self) -> list[CameraHealth]:
        out = []
        for cid, reader in self.readers.items():
            pic = self.latest_picture(cid)  # the clocks are read after it: it may wait for the rules job's lock
            now_mono, now = time.monotonic(), utcnow()
            times = [t for t in self._analysed[cid] if now_mono - t <= 30]
            fps = len(times) / min(30.0, max(1.0, now_mono - self.started_mono))
            lag = max(0.0, (now - pic.ts).total_seconds()) if pic is not None else 0.0
            state = self.camera_state(cid)
            if state == "ok" and reader.state == "reconnecting":
                state = "offline"
            out.append(CameraHealth(camera_id=cid, state=state, fps=round(fps, 2), lag_s=round(lag, 2)))  # type: ignore[arg-type]
        return out

    def heartbeat(self) -> Heartbeat:
        return Heartbeat(hall_id=self.cfg.hall.id, edge_id=self.cfg.edge.id, cameras=self.camera_health(),
                         sensors=self.hub.health() if self.hub is not None else [],
                         outbox_pending=self.outbox.pending(), uptime_s=round(time.monotonic() - self.started_mono, 1),
                         accel=self.accel())

    def accel(self) -> EdgeAccel:
        """What runs: the detector's OpenVINO device (CPU for other backends) and the detect inputs' decode."""
        used = {r.hwaccel_used for r in self.readers.values() if r.state == "streaming"}
        hw = self.cfg.edge.hwaccel if used == {self.cfg.edge.hwaccel} else "none"
        return EdgeAccel(device=str(getattr(self.pipeline.detector, "device", "CPU")), hwaccel=hw,
                         device_wanted=self.cfg.edge.device, hwaccel_wanted=self.cfg.edge.hwaccel,
                         streams=getattr(self.pipeline.detector, "streams", None))

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.cfg.edge.heartbeat_s):
            try:
                self.open_findings.alive(utcnow())
                self.outbox.publish_volatile(self.heartbeat())
            except Exception:
                log.exception("heartbeat failed")


def _slot_still(slot: StillSlot) -> Any:
    return lambda ts: slot.picture()


@dataclass
class _WithRefs:
    refs: list
