"""The hand pass's interval (``rules.phone_use.hand_pass_s``) on real footage with the real models: the texting
clip of the demo's window 3, analysed as the agent does (``FramePipeline``, every frame inferred)."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.agent.pipeline import ChangeGate, FramePipeline
from edge.capture.reader import CameraFrame
from edge.site import load_site_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 10:00 in the hall: service hours


@pytest.fixture(scope="module")
def clip_frames(media_dir):
    import av

    out = []
    with av.open(str(media_dir / "video" / "bwssytems_5977270-sd_640_360_25fps.mp4")) as c:
        stream = c.streams.video[0]
        due = 0.0
        for f in c.decode(stream):
            t = float(f.pts * stream.time_base)
            if t + 1e-6 < due:
                continue
            due += 0.5
            out.append((t, f.to_ndarray(format="bgr24")))
            if len(out) == 12:  # 6 s at 2 fps
                break
    return out


@pytest.fixture(scope="module")
def detector(models_dir):
    from edge.detect.base import load_detector

    return load_detector("yolo11n-coco-int8", models_dir=models_dir)


def _run(cfg, detector, frames) -> tuple[FramePipeline, list[bool]]:
    pipe = FramePipeline(cfg, detector, gate=ChangeGate(threshold=0))
    phones = []
    for i, (t, img) in enumerate(frames):
        (a,) = pipe.analyse([CameraFrame("cam-w03", T0 + dt.timedelta(seconds=t), img, i)])
        small = a.ctx.small_objects
        phones.append(small is not None and len(small.of_class("cell phone")) > 0)
    return pipe, phones


def _with_phone_rule(base, **kw):
    phone = base.rules.phone_use.model_copy(update=kw)
    return base.model_copy(update={"rules": base.rules.model_copy(update={"phone_use": phone})})


# 2 s spacing: one pass in each of the camera's 2-s slots, which 5.5 s of frames touch at most four of
@pytest.mark.parametrize("every, idle, max_passes", [(0, 0, 12), (2.0, 0, 4), (0, 2.0, 12)])
def test_hand_pass_interval(demo_config_path, clip_frames, detector, every, idle, max_passes):
    """hand_pass_s spaces the passes always; hand_pass_idle_s only while no phone was seen: once the texting phone
    is seen, with the idle spacing alone every frame gets its pass."""
    cfg = _with_phone_rule(load_site_config(demo_config_path), hand_pass_s=every, hand_pass_idle_s=idle)
    pipe, phones = _run(cfg, detector, clip_frames)
    passes, reused = pipe.counters["crop_passes"], pipe.counters["hand_passes_reused"]
    assert passes + reused == len(clip_frames)  # every frame has a clerk at the seat: a pass or its last result
    assert passes <= max_passes
    if every > 0:
        assert reused > 0
    elif idle > 0:  # idle only until the first pass that sees the phone (within a window_s it stays seen)
        assert reused <= 3, reused
    else:
        assert reused == 0
    assert sum(phones) >= len(clip_frames) // 2, phones  # the texting phone is held in most frames either way


def test_hand_crops_of_a_substream_run_near_their_own_scale(demo_config_path, clip_frames, detector, monkeypatch):
    """The 640x360 texting clip: its hand crops are a few hundred pixels or less. Enlarged at most twice
    (rules.phone_use.hand_crop_max_upscale: 2) they run at square inputs under 640x640, and the texting phone is
    found in as many frames, within one, as with every crop enlarged to the whole input (0, the default)."""
    cfg = _with_phone_rule(load_site_config(demo_config_path), hand_crop_max_upscale=2.0)
    sizes: list[tuple[int, int]] = []
    input_for = detector.input_for

    def recorded(frame, max_upscale=None):
        size = input_for(frame, max_upscale)
        if frame.shape[0] == frame.shape[1]:
            sizes.append(size)
        return size

    monkeypatch.setattr(detector, "input_for", recorded)
    pipe, capped = _run(cfg, detector, clip_frames)
    assert pipe.hands.max_upscale == 2.0
    capped_sizes, sizes[:] = list(sizes), []
    _, whole = _run(load_site_config(demo_config_path), detector, clip_frames)
    assert capped_sizes and any(w < 640 for w, _ in capped_sizes), capped_sizes
    assert all(w == h and w % 128 == 0 for w, h in capped_sizes)
    assert sizes and all(size == (640, 640) for size in sizes)
    assert sum(capped) >= max(sum(whole) - 1, len(clip_frames) // 2), (capped, whole)


def test_hand_pass_idles_while_no_phone_or_food_is_seen(demo_config_path, clip_frames, detector):
    """The same clip with nothing counting as held (phone threshold 0.99, eating off): one pass per
    hand_pass_idle_s slot (2 s: at most 4 passes in the 5.5 s of frames) instead of one per frame."""
    base = _with_phone_rule(load_site_config(demo_config_path), hand_pass_s=0, hand_pass_idle_s=2.0,
                            min_confidence=0.99)
    eating = base.rules.eating.model_copy(update={"enabled": False})
    cfg = base.model_copy(update={"rules": base.rules.model_copy(update={"eating": eating})})
    pipe, _ = _run(cfg, detector, clip_frames)
    passes, reused = pipe.counters["crop_passes"], pipe.counters["hand_passes_reused"]
    assert passes + reused == len(clip_frames) and passes <= 4 and reused >= len(clip_frames) - 4


def test_hand_crops_only_around_each_seats_clerk(media_dir, models_dir, detector, tmp_path):
    """Office CCTV with several people inside two wide seat zones: the hand pass crops around the clerk of each
    seat (the person the phone and eating rules judge), not around everybody near a seat."""
    import cv2
    import numpy as np

    from edge import geometry as geo
    from edge.rules.phone_use import seat_clerks
    from edge.site import SiteConfig

    img = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))
    halves = {"left": [[0.0, 0.25], [0.5, 0.25], [0.5, 1.0], [0.0, 1.0]],
              "right": [[0.5, 0.25], [1.0, 0.25], [1.0, 1.0], [0.5, 1.0]]}
    cfg = SiteConfig.model_validate({
        "hall": {"id": "hands", "name": "hands"},
        "windows": [{"id": "W01", "number": 1, "name": "a"}, {"id": "W02", "number": 2, "name": "b"}],
        "cameras": [{"id": "cam", "name": "cam", "source": "unused.mp4", "zones": [
            {"id": f"seat-{k}", "kind": "seat", "window": w, "polygon": poly}
            for (k, poly), w in zip(halves.items(), ("W01", "W02"))]}],
        "edge": {"data_dir": str(tmp_path), "models_dir": str(models_dir)},
    })
    pipe = FramePipeline(cfg, detector, gate=ChangeGate(threshold=0))
    (a,) = pipe.analyse([CameraFrame("cam", T0, img, 0)])
    pose = a.ctx.pose
    polygons = [geo.denormalize_polygon(p, img.shape[:2]) for p in halves.values()]
    clerks = seat_clerks(pose, polygons)
    near = [i for i in range(len(pose)) if any(geo.box_fraction_in_polygon(pose.xyxy[i:i + 1], p)[0] > 0
                                              for p in polygons)]
    assert 1 <= len(clerks) <= 2 and len(near) > len(clerks), (clerks, near)  # more people than clerks here
    assert pipe.hands.crops == len(pipe.hands.squares(img.shape, pose, clerks))
    assert pipe.hands.crops < len(pipe.hands.squares(img.shape, pose, near))
    assert np.all(np.isin(clerks, near))


def _nothing_held(cfg, **seats):
    """Nothing counts as held (phone threshold 0.99, eating off): the hand pass idles."""
    base = _with_phone_rule(cfg, hand_pass_s=0, hand_pass_idle_s=2.0, min_confidence=0.99)
    eating = base.rules.eating.model_copy(update={"enabled": False})
    return base.model_copy(update={"rules": base.rules.model_copy(update={"eating": eating}),
                                   "seats": base.seats.model_copy(update=seats)})


@pytest.mark.parametrize("pose_idle_s", [0.0, 2.0])
def test_seat_pose_runs_only_when_a_rule_needs_a_new_one(demo_config_path, clip_frames, detector, pose_idle_s):
    """The texting clerk, seen by the full-frame pass: with nothing held, the seat pose is measured when the hand
    pass is due or the last pose is seats.pose_idle_s old; in between the last one stands, stamped with the frame
    it was measured on. pose_idle_s 0: every inferred frame."""
    cfg = _nothing_held(load_site_config(demo_config_path), pose_idle_s=pose_idle_s)
    pipe = FramePipeline(cfg, detector, gate=ChangeGate(threshold=0))
    ctxs = [pipe.analyse([CameraFrame("cam-w03", T0 + dt.timedelta(seconds=t), img, i)])[0].ctx
            for i, (t, img) in enumerate(clip_frames)]
    assert all(c.pose is not None and len(c.pose) and c.pose_ts is not None for c in ctxs)
    fresh = [c.pose_ts == c.ts for c in ctxs]
    assert pipe.counters["seat_poses"] == sum(fresh)
    if pose_idle_s == 0:
        assert all(fresh)
        return
    assert pipe.counters["seat_regions_skipped"] >= len(ctxs) - 2, "the full-frame pass sees the clerk"
    assert sum(fresh) <= 4 + pipe.counters["seat_regions"], fresh  # one in each 2-s slot the 5.5 s touch
    last = None
    for c, new in zip(ctxs, fresh):
        if new:
            last = c
        else:  # the last measured pose, at most pose_idle_s old
            assert c.pose is last.pose and c.pose_ts == last.ts and (c.ts - c.pose_ts).total_seconds() < 2.0
    assert pipe.counters["crop_passes"] <= sum(fresh), "every hand pass has a pose of its own frame"


@pytest.mark.parametrize("share", [0.75, 0.0])
def test_periodic_passes_of_a_camera_analysed_slower_than_configured(demo_config_path, clip_frames, detector, share):
    """The texting clerk's frames 2.5 s apart (a box analysing 0.4 of the configured 2 fps), nothing held: each
    frame is in a new 2-s slot, so the idle hand pass and the seat pose would run on every one; with their share of
    the analysed frames (0.75 x 2 s x 2 fps = 3) they run on every third and the last ones stand in between.
    pass_frames_share 0: on every frame."""
    cfg = _nothing_held(load_site_config(demo_config_path), pose_idle_s=2.0)
    pipe = FramePipeline(cfg, detector, gate=ChangeGate(threshold=0), pass_frames_share=share)
    ctxs = [pipe.analyse([CameraFrame("cam-w03", T0 + dt.timedelta(seconds=2.5 * i), img, i)])[0].ctx
            for i, (_, img) in enumerate(clip_frames)]
    n = len(ctxs)
    assert all(c.pose is not None and len(c.pose) for c in ctxs)
    fresh = [c.pose_ts == c.ts for c in ctxs]
    passes, reused = pipe.counters["crop_passes"], pipe.counters["hand_passes_reused"]
    assert passes + reused == n
    if share == 0:
        assert passes == n and all(fresh)
        return
    due = range(0, n, 3)
    assert passes == len(due), (passes, reused)
    assert pipe.counters["seat_regions_skipped"] >= n - 2, "the full-frame pass sees the clerk"
    assert all(fresh[k] for k in due), fresh  # the hand pass's own pose
    assert sum(fresh) <= len(due) + pipe.counters["seat_regions"], fresh
    for c, new in zip(ctxs, fresh):
        if not new:  # the last measured pose stands, at most two frames old
            assert 0 < (c.ts - c.pose_ts).total_seconds() <= 5.0
