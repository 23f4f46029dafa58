"""Agent building blocks with scripted inputs: the unchanged-frame gate, the periodic passes' slots, the finding
dispatcher, the hand-over between the detect and rules jobs."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import numpy as np
import pytest

from edge.agent.findings import FindingDispatcher
from edge.agent.pipeline import ChangeGate, _slot_due, camera_phases
from edge.capture.buffer import FrameRing
from edge.contract import jsonable
from edge.detections import Detections
from edge.evidence.writer import EvidenceWriter
from edge.outbox import Outbox
from edge.rules.base import RuleEvent
from edge.site import load_site_config

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
RNG = np.random.default_rng(3)
SCENE = RNG.integers(0, 255, (72, 128, 3), dtype=np.uint8)


def at(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


@pytest.mark.parametrize(
    "steps",
    [
        # (time, picture, expected inference?) - the same scene is re-confirmed every 10 s
        [(0, SCENE, True), (1, SCENE, False), (9.9, SCENE, False), (10, SCENE, True), (11, SCENE, False)],
        # a real change triggers inference at once
        [(0, SCENE, True), (1, 255 - SCENE, True), (2, 255 - SCENE, False)],
        # sensor noise of +-1 grey level is no change
        [(0, SCENE, True), (1, np.clip(SCENE.astype(int) + 1, 0, 255).astype(np.uint8), False)],
        # time going backwards (a looped file restarted by the reader) re-infers
        [(5, SCENE, True), (1, SCENE, True)],
    ],
)
def test_change_gate(steps):  # noqa: ANN001
    gate = ChangeGate(threshold=2.0, reconfirm_s=10.0)
    for t, img, expected in steps:
        need = gate.needs_inference("cam", at(t), img)
        assert need is expected, (t, expected)
        if need:
            gate.inferred("cam", at(t), img)


def test_gate_threshold_zero_always_infers():
    gate = ChangeGate(threshold=0)
    gate.inferred("cam", at(0), SCENE)
    assert gate.needs_inference("cam", at(0.5), SCENE)


def test_gate_reconfirms_in_the_cameras_slot():
    """Phase 0.5 of 10 s: the camera's slots start at :05, so an unchanged picture inferred at :01 is
    re-confirmed at :05, not at :11."""
    gate = ChangeGate(threshold=2.0, reconfirm_s=10.0)
    gate.phases = {"cam": 0.5}
    gate.inferred("cam", at(1), SCENE)
    assert not gate.needs_inference("cam", at(4.9), SCENE)
    assert gate.needs_inference("cam", at(5.1), SCENE)


@pytest.mark.parametrize(
    "last, now, every, phase, due",
    [
        (None, 0.0, 2.0, 0.0, True),  # never measured
        (0.0, 1.9, 2.0, 0.0, False),
        (0.0, 2.0, 2.0, 0.0, True),  # the next slot starts
        (1.9, 2.1, 2.0, 0.0, True),  # a pass late in its slot: the next slot's first frame still gets one
        (2.1, 3.9, 2.0, 0.0, False),
        (0.0, 0.9, 2.0, 0.5, False),
        (0.0, 1.0, 2.0, 0.5, True),  # phase 0.5: slots start at odd seconds
        (1.0, 2.9, 2.0, 0.5, False),
        (5.0, 1.0, 2.0, 0.0, True),  # the clock stepped back
        (0.0, 0.1, 0.0, 0.0, True),  # every 0: always
    ],
)
def test_slot_due(last, now, every, phase, due):  # noqa: ANN001
    assert _slot_due(None if last is None else at(last), at(now), every, phase) is due


@pytest.mark.parametrize("phased", [True, False])
def test_cameras_due_together_once_spread_over_later_batches(phased):
    """30 cameras measured together (the agent's start, or a stall), then analysed at 2 fps with a 2 s pass: with
    their phases each batch holds about a quarter of the passes; without, all 30 come due in the same batch."""
    cams = [f"cam{k}" for k in range(30)]
    phases = camera_phases(cams) if phased else {}
    last = {c: at(0) for c in cams}
    per_batch = []
    for step in range(1, 25):
        now = at(step * 0.5)
        due = [c for c in cams if _slot_due(last[c], now, 2.0, phases.get(c, 0.0))]
        for c in due:
            last[c] = now
        per_batch.append(len(due))
    assert sum(per_batch) >= 30 * 5  # a pass in each 2-s slot of every camera
    if phased:
        assert max(per_batch) <= 10, per_batch
    else:
        assert max(per_batch) == 30, per_batch


@pytest.mark.parametrize(
    "value, expected",
    [
        ({"a": np.float32(1.5), "b": np.int64(2)}, {"a": 1.5, "b": 2}),
        ({"t": at(0), "u": uuid.UUID(int=1)}, {"t": "2026-11-23T01:00:00+00:00", "u": str(uuid.UUID(int=1))}),
        ({"arr": np.array([1, 2]), "tup": (1, "x"), "nan": float("nan")}, {"arr": [1, 2], "tup": [1, "x"], "nan": None}),
        ({1: {"nested": {2, }}}, {"1": {"nested": [2]}}),
    ],
)
def test_jsonable(value, expected):  # noqa: ANN001
    assert jsonable(value) == expected


@dataclass
class Pic:
    ts: dt.datetime
    image: np.ndarray
    detections: Detections | None
    extra: Detections | None = None


class Sink:
    def __init__(self) -> None:
        self.msgs: list = []

    def put(self, m) -> None:  # noqa: ANN001
        self.msgs.append(m)


def test_dispatcher_sensor_finding_gets_camera_snapshot_chart_and_order(demo_config_path, tmp_path):
    cfg = load_site_config(demo_config_path)
    store = Outbox(tmp_path)
    ring = FrameRing(30, fps=5)
    for i in range(20):
        ring.add(at(i * 0.2), SCENE)
    writer = EvidenceWriter(store, {"cam-w04": ring}, clip_pre_s=1, clip_post_s=1, wait_slack_s=1e9)
    pics = {"cam-w04": Pic(at(3), SCENE, Detections.empty({0: "person"}))}
    sink = Sink()
    d = FindingDispatcher(cfg, sink, writer, pics.get)
    chart = store.put_file(b"\x89PNG chart", "chart", "image/png", at(3))
    fid = uuid.uuid4()
    # lock-exit-east is covered by cam-w04 in the demo config
    d.handle(RuleEvent("opened", "exit_locked_during_hours", fid, at(2), severity="major", sensor_id="lock-exit-east",
                       details={"state": "LOCK", "w": np.float64(3.0)}), extra_refs=[chart])
    d.handle(RuleEvent("closed", "exit_locked_during_hours", fid, at(62), sensor_id="lock-exit-east",
                       started_at=at(2)))
    d.handle(RuleEvent("opened", "smoke_detected", uuid.uuid4(), at(5), severity="critical", sensor_id="smoke-hall"))
    opened, closed, smoke = sink.msgs
    assert [e.kind for e in opened.evidence] == ["chart", "snapshot", "frame"]
    assert opened.details == {"state": "LOCK", "w": 3.0} and opened.sensor_id == "lock-exit-east"
    assert closed.type == "finding.closed" and closed.duration_s == 60.0
    assert smoke.evidence == [], "no camera configured for the smoke sensor"
    (clip,) = writer.poll(flush=True)
    assert clip.finding_id == fid
    store.stop()


# exit-east on cam-w04 spans x 0.40-0.72, y 0.12-0.24 of the frame (128x72 here: x 51-92, y 9-17)
@pytest.mark.parametrize("boxes, labels, rule_open, cover, sees, line", [
    ([], [], False, 0.0, False, "画面中未见遮挡物"),  # the sensor says blocked, the picture shows it clear
    ([[50, 8, 93, 18]], ["suitcase"], False, 1.0, True, "物品遮挡出口 100%"),
    ([[50, 8, 93, 18]], ["person"], False, 0.0, False, "画面中未见遮挡物"),  # a person is no obstruction
    ([], [], True, 0.0, True, "疑似遮挡"),  # the camera's own exit rule sees the zone changed
])
def test_dispatcher_sensor_exit_blocked_is_cross_checked_by_the_camera(demo_config_path, tmp_path, boxes, labels,
                                                                      rule_open, cover, sees, line):
    cfg = load_site_config(demo_config_path)
    store = Outbox(tmp_path)
    writer = EvidenceWriter(store, {}, clip_pre_s=1, clip_post_s=1)
    names = {0: "person", 1: "suitcase"}
    dets = Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.8, np.float32),
                      np.array([0 if lb == "person" else 1 for lb in labels], np.int32), names)
    pics = {"cam-w04": Pic(at(3), SCENE, dets)}
    sink = Sink()
    asked: list = []
    d = FindingDispatcher(cfg, sink, writer, pics.get,
                          exit_open=lambda cam, zone: asked.append((cam, zone)) or rule_open)
    captions: list = []
    real = writer.snapshot
    writer.snapshot = lambda *a, **k: captions.append((a[4], k["highlight"])) or real(*a, **k)  # type: ignore
    d.handle(RuleEvent("opened", "exit_blocked", uuid.uuid4(), at(2), severity="major",
                       sensor_id="occupancy-exit-east", details={"value": True}))
    (msg,) = sink.msgs
    assert asked == [("cam-w04", "exit-east")]
    assert msg.details["camera_cover"] == pytest.approx(cover, abs=0.05)
    assert msg.details["camera_sees_block"] is sees and msg.details["value"] is True
    (caption, highlight), = captions
    assert any(line in c for c in caption) and list(highlight) == ["exit-east"]
    assert [e.kind for e in msg.evidence] == ["snapshot", "frame"]
    store.stop()


def test_dispatcher_never_raises_on_bad_event(demo_config_path, tmp_path):
    cfg = load_site_config(demo_config_path)
    sink = Sink()
    d = FindingDispatcher(cfg, sink, None, lambda c: None)
    d.handle(RuleEvent("opened", "", uuid.uuid4(), at(0), window_id="W01"))
    d.handle(RuleEvent("opened", "window_unstaffed", uuid.uuid4(), at(0), window_id="W01", confidence=1.7))
    assert d.counters["errors"] == 1  # empty rule id: rejected by the contract, logged and counted
    (msg,) = sink.msgs
    assert msg.confidence == 1.0 and msg.staff_id == "S001"


@pytest.mark.parametrize("camera, started_s, picture_s, expected_s", [
    ("cam-w01", 9.0, 10.0, 9.0),  # the start is still in the ring buffer (clip_pre_s = 5)
    ("cam-w01", 5.0, 10.0, 5.0),  # exactly at the buffer's reach
    ("cam-w01", -110.0, 10.0, 10.0),  # an empty seat confirmed 120 s after it emptied: clip the confirmation
    (None, -3000.0, 10.0, 10.0),  # a sensor finding: the covering camera's picture now
])
def test_clip_anchor(demo_config_path, tmp_path, camera, started_s, picture_s, expected_s):
    cfg = load_site_config(demo_config_path)
    writer = EvidenceWriter(Outbox(tmp_path), {}, clip_pre_s=5, clip_post_s=10)
    d = FindingDispatcher(cfg, Sink(), writer, lambda cam: None)
    ev = RuleEvent("opened", "window_unstaffed", uuid.uuid4(), at(started_s), camera_id=camera,
                   sensor_id=None if camera else "lock-exit-east")
    assert d._clip_anchor(ev, at(picture_s)) == at(expected_s)


def test_batch_gathering_waits_only_for_cameras_without_a_frame():
    """The detection loop lets other cameras' frames join a batch for up to batch_wait_s, but not when every
    camera already has one waiting (analysis is then the bottleneck: waiting would only lose time); a frame that
    arrives while it waits ends the wait once every camera has one."""
    import threading
    import time
    from types import SimpleNamespace

    from edge.agent.runtime import EdgeAgent
    from edge.capture.reader import CameraFrame, LatestFrame

    loop = SimpleNamespace(slots={c: LatestFrame() for c in ("a", "b")}, _frame_ready=threading.Event(),
                           cfg=SimpleNamespace(edge=SimpleNamespace(batch_frames=0)))
    frame = CameraFrame("a", T0, SCENE, 1)
    for slot in loop.slots.values():
        slot.put(frame)
    t = time.monotonic()
    EdgeAgent._gather(loop, 30.0)
    assert time.monotonic() - t < 5.0, "every camera has a frame: no wait"

    loop.slots["b"].take()

    def late() -> None:
        loop.slots["b"].put(frame)
        loop._frame_ready.set()

    timer = threading.Timer(0.2, late)
    timer.start()
    t = time.monotonic()
    EdgeAgent._gather(loop, 30.0)
    timer.join()
    assert loop.slots["b"].waiting and time.monotonic() - t < 5.0, "the missing camera's frame ended the wait"

    loop.slots["b"].take()
    t = time.monotonic()
    EdgeAgent._gather(loop, 0.2)
    assert time.monotonic() - t >= 0.2 and not loop.slots["b"].waiting, "a camera without frames: up to wait_s"


def scripted_jobs(measure, analyse, overlap_rules: bool):
    """The agent's real detect and rules job loops, started on a stand-in agent with one camera whose pipeline is
    ``measure`` and whose rules step is ``analyse``: (agent, feed(n) putting frame n in the slot, stop, jobs)."""
    import threading
    from collections import Counter, deque
    from types import SimpleNamespace

    from edge.agent.runtime import EdgeAgent
    from edge.capture.reader import CameraFrame, LatestFrame

    agent = SimpleNamespace(slots={"a": LatestFrame()}, _frame_ready=threading.Event(), batch_wait_s=0.0,
                            pipeline=SimpleNamespace(measure=measure, counters=Counter()), _measured=deque(),
                            _handoff=threading.Condition(), _gather=lambda wait_s: None, _analyse=analyse,
                            _tick=lambda now: None, _applying=False, overlap_rules=overlap_rules,
                            cfg=SimpleNamespace(edge=SimpleNamespace(batch_frames=0)))
    agent._take_batch = lambda: EdgeAgent._take_batch(agent)

    def feed(n: int) -> None:
        agent.slots["a"].put(CameraFrame("a", at(n), SCENE, n))
        agent._frame_ready.set()

    stop = threading.Event()
    jobs = [threading.Thread(target=EdgeAgent._detect_loop, args=(agent, stop), daemon=True),
            threading.Thread(target=EdgeAgent._rules_loop, args=(agent, stop), daemon=True)]
    for job in jobs:
        job.start()
    return agent, feed, stop, jobs


@pytest.mark.parametrize("limit, waiting, taken", [
    (0, ["c", "a", "d"], ["a", "c", "d"]),  # no limit: every waiting frame
    (2, ["c", "a", "d"], ["a", "c"]),  # the two cameras taken longest ago (c, then a), whatever their frames' times
    (2, ["d"], ["d"]),
    (5, ["b", "d"], ["b", "d"]),  # a limit above the cameras: all
])
def test_batch_takes_the_cameras_taken_longest_ago_first(limit, waiting, taken):  # noqa: ANN001
    """edge.batch_frames: a batch of at most that many frames, first those of the cameras whose last frame was taken
    longest ago (not the oldest frames: a camera's waiting frame is replaced by each newer one, and ordering by frame
    time would leave a camera waiting for ever); the others stay for the next batch, and with that many waiting
    the gathering does not wait for the rest."""
    import threading
    import time
    from types import SimpleNamespace

    from edge.agent.runtime import EdgeAgent
    from edge.capture.reader import CameraFrame, LatestFrame

    loop = SimpleNamespace(slots={c: LatestFrame() for c in "abcd"}, _frame_ready=threading.Event(),
                           cfg=SimpleNamespace(edge=SimpleNamespace(batch_frames=limit)))
    for c in "cadb":  # taken in this order: c longest ago
        loop.slots[c].put(CameraFrame(c, at(0), SCENE, 0))
        loop.slots[c].take()
    for k, c in enumerate(waiting):  # the camera taken longest ago has the newest frame
        loop.slots[c].put(CameraFrame(c, at(10 - k), SCENE, 1))
    t = time.monotonic()
    EdgeAgent._gather(loop, 30.0 if 0 < limit <= len(waiting) else 0.05)
    assert time.monotonic() - t < 5.0
    assert sorted(f.camera_id for f in EdgeAgent._take_batch(loop)) == taken
    assert sorted(c for c, s in loop.slots.items() if s.waiting) == sorted(set(waiting) - set(taken))


def test_rules_of_a_batch_run_while_the_next_is_measured_and_none_is_lost():
    """The detect job measures batch n+1 while the rules job applies batch n; it takes no further frame until the
    rules job has taken the batch it handed over; batches reach the rules in the order measured; a batch measured
    but not applied when the jobs stop is applied by ``_apply_measured`` (``EdgeAgent.stop``)."""
    import threading

    from edge.agent.runtime import EdgeAgent
    from edge.capture.reader import CameraFrame

    measured_seq: dict[int, threading.Event] = {n: threading.Event() for n in range(1, 6)}
    hold = {1: threading.Event(), 4: threading.Event()}  # apply of these batches waits until set
    applying: dict[int, threading.Event] = {n: threading.Event() for n in hold}
    applied: list[int] = []

    def measure(frames: list[CameraFrame]) -> dict[int, int]:
        measured_seq[frames[0].seq].set()
        return {id(f): f.seq for f in frames}

    def analyse(frames: list[CameraFrame], measured: dict[int, int]) -> None:
        n = measured[id(frames[0])]
        if n in hold:
            applying[n].set()
            assert hold[n].wait(30)
        applied.append(n)

    agent, feed, stop, jobs = scripted_jobs(measure, analyse, overlap_rules=True)
    feed(1)
    assert applying[1].wait(30), "batch 1 reaches the rules"
    feed(2)
    assert measured_seq[2].wait(30), "batch 2 is measured while batch 1 is still being applied"
    with agent._handoff:
        assert agent._handoff.wait_for(lambda: len(agent._measured) == 1, 30)
    feed(3)
    assert agent.slots["a"].waiting and not measured_seq[3].is_set(), "no third batch while batch 2 waits"
    hold[1].set()
    assert measured_seq[3].wait(30)
    feed(4)
    assert applying[4].wait(30)
    feed(5)
    assert measured_seq[5].wait(30)
    with agent._handoff:
        assert agent._handoff.wait_for(lambda: len(agent._measured) == 1, 30), "batch 5 waits for the rules"
    stop.set()
    hold[4].set()
    for job in jobs:
        job.join(30)
        assert not job.is_alive()
    assert applied == [1, 2, 3, 4], "batch 5 is still waiting when the jobs stop"
    EdgeAgent._apply_measured(agent)
    assert applied == [1, 2, 3, 4, 5] and not agent._measured


def test_serial_rules_make_the_detect_job_wait_for_the_applied_batch():
    """``overlap_rules=False`` (the bench's comparison): no frame is taken while a batch is being applied."""
    import threading

    from edge.capture.reader import CameraFrame

    applying, release, measured = threading.Event(), threading.Event(), []

    def analyse(frames: list[CameraFrame], m: dict) -> None:
        applying.set()
        assert release.wait(30)

    def measure(frames: list[CameraFrame]) -> dict:
        measured.append(frames[0].seq)
        return {}

    agent, feed, stop, jobs = scripted_jobs(measure, analyse, overlap_rules=False)
    feed(1)
    assert applying.wait(30)
    feed(2)
    assert agent.slots["a"].waiting and measured == [1], "batch 2 waits until batch 1 is applied"
    stop.set()
    release.set()
    for job in jobs:
        job.join(30)


def test_camera_lag_is_read_after_the_picture(monkeypatch):
    """The heartbeat's lag is the time from the camera's last analysed picture to when it is read: a read that
    waits (the rules job holds the lock) must not compare a newer picture with the time before the wait."""
    from collections import deque
    from types import SimpleNamespace

    from edge.agent import runtime
    from edge.agent.runtime import EdgeAgent

    clock = {"now": at(0)}
    monkeypatch.setattr(runtime, "utcnow", lambda: clock["now"])

    def latest_picture(camera_id: str) -> SimpleNamespace:
        clock["now"] = at(30)  # the read waited 30 s; the picture came from the batch applied meanwhile
        return SimpleNamespace(ts=at(20))

    agent = SimpleNamespace(readers={"a": SimpleNamespace(state="streaming")}, _analysed={"a": deque()},
                            started_mono=0.0, latest_picture=latest_picture, camera_state=lambda cid: "ok")
    [health] = EdgeAgent.camera_health(agent)
    assert health.lag_s == 10.0 and health.state == "ok"
