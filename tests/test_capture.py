"""Capture: timestamp sampling, looping files, rotation, ring buffer, reconnecting reader, camera health."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from edge.agent.pipeline import camera_phases
from edge.capture import CameraHealthMonitor, CameraReader, FrameRing, Sampler, VideoSource
from edge.capture.source import source_kind
from edge.site import CameraHealthRule
from tests.conftest import free_port
from tests.test_outbox import wait_until

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)


def at(s: float, unix: bool = False) -> dt.datetime:
    return dt.datetime.fromtimestamp(s, tz=dt.timezone.utc) if unix else T0 + dt.timedelta(seconds=s)


@pytest.mark.parametrize(
    "source_fps, fps, seconds, expected",
    [
        (25.0, 2.0, 10.0, 20),
        (30.0, 2.0, 10.0, 20),
        (10.0, 2.0, 10.0, 20),
        (29.97, 5.0, 4.0, 20),
        (2.0, 5.0, 10.0, 20),  # source slower than the sampling rate: every frame
        (14.0, 1.0, 5.0, 5),
    ],
)
def test_sampler_keeps_frames_by_timestamp(source_fps, fps, seconds, expected):  # noqa: ANN001
    s = Sampler(fps)
    kept = [i / source_fps for i in range(int(seconds * source_fps)) if s.take(at(i / source_fps))]
    assert abs(len(kept) - expected) <= 1  # the last frame may be taken up to 10 % of a period early
    if len(kept) > 2 and source_fps >= fps:
        gaps = np.diff(kept)
        assert gaps.mean() == pytest.approx(1 / fps, rel=0.1)


@pytest.mark.parametrize("source_fps", [25.0, 10.0, 29.97])
@pytest.mark.parametrize("phase", [0.0, 0.3, 0.75])
def test_sampler_with_a_phase_samples_on_its_grid(source_fps, phase):  # noqa: ANN001
    s = Sampler(2.0, phase=phase)
    start = 1_790_000_000.13  # Unix seconds: not on any camera's grid
    kept = [i / source_fps for i in range(int(10 * source_fps)) if s.take(at(start + i / source_fps, unix=True))]
    assert kept[0] == 0.0 and abs(len(kept) - 20) <= 1
    for t in kept[1:]:  # every later frame: at most a tenth of a period early, or one frame late, on the grid
        off = ((start + t) - phase * 0.5 + 0.25) % 0.5 - 0.25
        assert -0.05 - 1e-6 <= off <= 1 / source_fps + 1e-6
    gaps = np.diff(kept[1:])
    assert gaps.mean() == pytest.approx(0.5, rel=0.1) and gaps.min() >= 0.5 - 2 / source_fps


@pytest.mark.parametrize("source_fps, offset", [(2.0, 0.0), (2.0, 0.31), (1.0, 0.17), (1.9, 0.05), (2.05, 0.4)])
def test_sampler_with_a_phase_keeps_every_frame_of_a_source_no_faster_than_it(source_fps, offset):  # noqa: ANN001
    for phase in (0.0, 0.4, 0.9):
        s = Sampler(2.0, phase=phase)
        times = [1_790_000_000.0 + offset + i / source_fps for i in range(20)]
        assert all(s.take(at(t, unix=True)) for t in times), (phase, offset)


def test_cameras_of_different_phases_are_sampled_at_different_moments():
    ids = [f"cam{i}" for i in range(30)]
    phases = camera_phases(ids)
    start = 1_790_000_000.0
    moments = []
    for cid in ids:  # every camera opened at the same moment, 25 fps
        s = Sampler(2.0, phase=phases[cid])
        kept = [i / 25 for i in range(100) if s.take(at(start + i / 25, unix=True))]
        moments.append(round((kept[3] % 0.5) / 0.04))  # where in the period its frames fall (in 25-fps frames)
    counts = np.bincount(moments, minlength=13)
    assert counts.max() <= 5  # spread over the period (in phase: all 30 at one moment)
    same = [Sampler(2.0) for _ in ids]
    assert len({tuple(i / 25 for i in range(100) if s.take(at(start + i / 25, unix=True))) for s in same}) == 1


def test_sampler_does_not_burst_after_a_gap():
    s = Sampler(2.0)
    times = [0.0, 0.5, 1.0] + [5.0 + i * 0.04 for i in range(50)]  # 4 s stall, then 25 fps
    kept = [t for t in times if s.take(at(t))]
    assert kept[:3] == [0.0, 0.5, 1.0]
    assert kept[3] == 5.0 and all(b - a >= 0.45 for a, b in zip(kept, kept[1:]))


@pytest.mark.parametrize(
    "url, kind",
    [("rtsp://cam/1", "rtsp"), ("http://x/mjpg", "http"), ("/dev/video0", "device"), ("a/b.mp4", "file"),
     ("RTSPS://cam", "rtsp"), ("v4l2:/dev/video2", "device")],
)
def test_source_kind(url, kind):  # noqa: ANN001
    assert source_kind(url) == kind


def test_looping_file_keeps_time_monotonic_and_upright(media_dir):
    """coralFallacy1011 (10.8 s, 30 fps, stored 848x480 with a -90 display rotation) looped twice."""
    src = VideoSource(str(media_dir / "video/coralFallacy1011_cctv_footage.mp4"), loop=True, realtime=False,
                      start_at=T0)
    seen = []
    for i, raw in enumerate(src.frames()):
        seen.append(raw)
        if i == 0:
            assert raw.image().shape == (848, 480, 3)  # portrait, as players show it
        if raw.media_s > 12.0:
            break
    src.close()
    ts = [r.ts for r in seen]
    assert all(b > a for a, b in zip(ts, ts[1:]))
    assert ts[0] == T0
    gaps = [(b - a).total_seconds() for a, b in zip(ts, ts[1:])]
    assert max(gaps) < 0.1, "no jump or overlap at the loop point"
    assert len(seen) > 325  # past the end of the first pass


def test_ring_keeps_recent_seconds_and_downscales():
    ring = FrameRing(seconds=2.0, fps=5.0, max_width=320)
    img = np.zeros((480, 640, 3), np.uint8)
    for i in range(50):  # 25 fps for 2 s
        t = at(i * 0.04)
        if ring.wants(t):
            ring.add(t, img)
    for i in range(50, 100):
        t = at(i * 0.04)
        if ring.wants(t):
            ring.add(t, img)
    assert 9 <= len(ring) <= 11  # 2 s at 5 fps
    assert ring.newest_ts is not None and (ring.newest_ts - at(3.96)).total_seconds() <= 0.2
    frames = ring.between(at(3.0), at(4.0))
    assert frames and all(at(3.0) <= f.ts <= at(4.0) for f in frames)
    assert frames[0].image().shape == (240, 320, 3)


def test_reader_reconnects_with_backoff_to_a_dead_stream():
    got = []
    r = CameraReader("cam-x", f"rtsp://127.0.0.1:{free_port()}/none", 2.0, got.append, min_backoff_s=0.05,
                     max_backoff_s=0.2, read_timeout_s=1.0).start()
    assert wait_until(lambda: r.counters["reconnects"] >= 3, 20)
    r.stop()
    assert not r.alive() and got == []
    assert r.counters["errors"] >= 3 and r.last_error


def test_reader_samples_a_file_and_ends(media_dir):
    got = []
    r = CameraReader("cam-w03", str(media_dir / "video/bwssytems_5977270-sd_640_360_25fps.mp4"), 2.0, got.append,
                     ring=FrameRing(20, fps=5), realtime=False, start_at=T0).start()
    assert wait_until(lambda: r.state == "ended", 30)
    assert len(got) in (20, 21)  # 9.8 s at 2 fps
    assert [f.seq for f in got] == list(range(1, len(got) + 1))
    assert (got[-1].ts - got[0].ts).total_seconds() == pytest.approx(9.5, abs=0.1)


RULE = CameraHealthRule(offline_s=10, frozen_s=5, covered_s=4, dark_level=20)
NOISE = np.random.default_rng(1).integers(0, 255, (90, 160, 3), dtype=np.uint8)


def moving(i: int) -> np.ndarray:
    return np.roll(NOISE, i * 7, axis=1)


@pytest.mark.parametrize(
    "name, frames, expect",
    [
        ("live", [(t, moving(t)) for t in range(12)], []),
        ("frozen", [(t, moving(0)) for t in range(8)] + [(8, moving(1))],
         [("opened", "camera_frozen", 0), ("closed", "camera_frozen", 8)]),
        ("dark", [(t, np.full((90, 160, 3), 5, np.uint8) + (t % 2)) for t in range(6)] + [(6, moving(6))],
         [("opened", "camera_covered", 0), ("closed", "camera_covered", 6)]),
        ("covered bright", [(t, np.full((90, 160, 3), 200, np.uint8) + (t % 2)) for t in range(5)],
         [("opened", "camera_covered", 0)]),
    ],
)
def test_camera_health_findings(name, frames, expect):  # noqa: ANN001
    mon = CameraHealthMonitor("cam-1", RULE)
    events = []
    for t, img in frames:
        events += mon.observe(at(t), img)
    assert [(e.kind, e.rule, (e.at if e.kind == "opened" else e.at) - T0) for e in events] == [
        (k, r, dt.timedelta(seconds=s)) for k, r, s in expect], name
    if name == "covered bright":
        assert events[0].details["reason"] == "featureless" and mon.state == "covered"
    if name == "dark":
        assert events[1].duration_s == 6


def test_camera_offline_opens_after_silence_and_closes_on_the_next_frame():
    mon = CameraHealthMonitor("cam-1", RULE)
    assert mon.tick(at(0)) == [] and mon.state == "starting"
    mon.observe(at(1), moving(1))
    assert mon.tick(at(10.5)) == []
    (ev,) = mon.tick(at(11))
    assert (ev.kind, ev.rule, ev.at, ev.evidence) == ("opened", "camera_offline", at(1), False)
    assert mon.state == "offline" and mon.tick(at(30)) == []
    (closed,) = mon.observe(at(31), moving(2))
    assert (closed.kind, closed.finding_id, closed.duration_s) == ("closed", ev.finding_id, 30.0)
    assert mon.state == "ok"
