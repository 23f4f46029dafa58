"""Cost of seat-centric detection per frame and per camera (ms, median of N runs), decode included:
the full-frame pass alone (before seat decisions) side by side with full frame + seat regions (person) and
full frame + seat regions (person + pose), run through the agent's ``FramePipeline`` on the shared seat cameras.

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/seat_regions.py [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path

import av

from edge.agent.pipeline import ChangeGate, FramePipeline
from edge.capture.reader import CameraFrame
from edge.detect import load_detector
from edge.detect.hands import POSE_MODEL
from edge.paths import PROJECT_ROOT, export_defaults, media_dir
from edge.rules.window_unstaffed import WindowUnstaffedRule
from edge.seats import ReferenceStore
from edge.site import load_site_config
from models.machine import describe

CAMERAS = [  # (config, camera, clip, seconds into it)
    ("configs/seats/office.yaml", "cam5", "video/pgplarosa_resized_cctv_full_fast_cut.mov", 3.0),
    ("configs/seats/table.yaml", "minh7", "video/1234hmehme_MINH7.mp4", 5.0),
]


def decode_at(path: Path, t: float):
    """Open the clip and decode up to ``t`` seconds; returns the frame there (what the capture loop pays)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        for f in c.decode(s):
            if f.pts is not None and float(f.pts * s.time_base) >= t:
                return f.to_ndarray(format="bgr24")
    raise ValueError(f"{path} shorter than {t} s")


def decode_one(path: Path):
    with av.open(str(path)) as c:
        return next(c.decode(c.streams.video[0])).to_ndarray(format="bgr24")


def ms(fn, runs: int) -> float:
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    export_defaults()
    coco, pose = load_detector("yolo11n-coco-int8"), load_detector(POSE_MODEL)
    print(f"# measured on {describe()}; load average {os.getloadavg()[0]:.1f} (other jobs share the CPU)")
    print(f"{'camera':<22} {'seats':>5} {'regions':>7} {'decode':>8} {'full frame':>11} {'+ regions':>10} "
          f"{'+ regions + pose':>17}")
    for cfg_path, cam, clip, t in CAMERAS:
        cfg = load_site_config(PROJECT_ROOT / cfg_path)
        frame = decode_at(media_dir() / clip, t)
        ts = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)

        def run(seat_pass: bool, with_pose: bool, c=cfg, f=frame, cam_id=cam, when=ts):
            rule = WindowUnstaffedRule(c, references=ReferenceStore(None))
            pipe = FramePipeline(c, coco, rules=[rule], gate=ChangeGate(threshold=0), phone_pass=False,
                                 pose=pose if with_pose else None, seat_pass=seat_pass)
            if not with_pose:
                pipe.pose = None
            return lambda: pipe.analyse([CameraFrame(cam_id, when, f, 1)])

        path = media_dir() / clip
        decode = ms(lambda p=path: decode_one(p), args.runs)
        full = ms(run(False, False), args.runs)
        regions = ms(run(True, False), args.runs)
        both = ms(run(True, True), args.runs)
        probe = FramePipeline(cfg, coco, rules=[], phone_pass=False, pose=pose)
        n_regions = len(probe.seat_squares(cam, frame.shape))
        n_seats = sum(z.kind == "seat" for z in cfg.camera(cam).zones)
        name = f"{cam} {frame.shape[1]}x{frame.shape[0]}"
        print(f"{name:<22} {n_seats:>5} {n_regions:>7} {decode:>6.1f}ms {full + decode:>9.1f}ms "
              f"{regions + decode:>8.1f}ms {both + decode:>15.1f}ms")
    print("\nper camera-frame: decode (one frame, PyAV) + FramePipeline.analyse of one frame with the rules; full frame ="
          "\nyolo11n INT8 on the picture (the pass before seat decisions); + regions = the same plus yolo11n on the merged"
          "\nseat squares (one batch); + pose = plus yolov8n-pose INT8 on those squares (the frame's only pose pass)."
          "\nA camera at 2 fps with change gating infers far less often (bench/edge_throughput.py).")


if __name__ == "__main__":
    main()
