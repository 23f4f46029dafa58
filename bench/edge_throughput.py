"""Edge throughput: analysed frames per second for 1, 4, 8 and 16 cameras, and memory per camera.

Not a test. Prints a table. Cameras are the shared clips (../shared/media/video) assigned round-robin;
frames are decoded and sampled at 2 fps beforehand, so the numbers are the analysis cost:

- ``detect``    : the raw OpenVINO backend (``edge.detect``), one batched ``detect()`` call per round
                  (one frame from every camera);
- ``pipeline``  : the agent's ``FramePipeline`` (detect + per-person phone crops + all rules + health);
- ``ultralytics``: a plain ``YOLO(folder).predict(frame)`` loop over the same frames (when installed).

Memory per camera: RSS growth after opening N real ``VideoSource`` decoders and filling N ring buffers
with ``clip_pre_s + clip_post_s + 2`` seconds at 5 fps, divided by N.

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/edge_throughput.py [--rounds 6] [--cameras 1,4,8,16]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge import paths  # noqa: E402
from edge.agent.pipeline import ChangeGate, FramePipeline  # noqa: E402
from edge.capture.buffer import FrameRing, Sampler  # noqa: E402
from edge.capture.reader import CameraFrame  # noqa: E402
from edge.capture.source import VideoSource  # noqa: E402
from edge.site import SiteConfig  # noqa: E402
from models.machine import describe

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 Shanghai, Monday


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def videos() -> list[Path]:
    vids = sorted((paths.media_dir() / "video").glob("*.mp4"))
    if not vids:
        sys.exit(f"no videos in {paths.media_dir() / 'video'}")
    return vids


def sampled_frames(path: Path, n: int, fps: float = 2.0) -> list:
    out, sampler = [], Sampler(fps)
    with VideoSource(str(path), realtime=False, start_at=T0, loop=True) as src:
        for raw in src.frames():
            if sampler.take(raw.ts):
                out.append((raw.ts, raw.image()))
                if len(out) >= n:
                    break
    return out


def site(n: int) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "bench", "name": "bench"},
        "windows": [{"id": f"W{i:02d}", "number": i + 1, "name": f"w{i}"} for i in range(n)],
        "cameras": [{"id": f"cam{i}", "name": f"c{i}", "source": "x.mp4",
                     "zones": [{"id": f"seat{i}", "kind": "seat", "window": f"W{i:02d}",
                                "polygon": [[0.05, 0.05], [0.95, 0.05], [0.95, 0.95], [0.05, 0.95]]}]}
                    for i in range(n)],
    })


def bench_counts(detector, clips: dict[Path, list], counts: list[int], rounds: int, yolo) -> list[dict]:  # noqa: ANN001
    vids = list(clips)
    rows = []
    for n in counts:
        cams = [(f"cam{i}", clips[vids[i % len(vids)]]) for i in range(n)]
        batches = [[CameraFrame(cid, T0 + dt.timedelta(seconds=r * 0.5), frames[r % len(frames)][1], r + 1)
                    for cid, frames in cams] for r in range(rounds)]
        detector.detect([batches[0][0].image])  # warm-up
        t = time.perf_counter()
        for b in batches:
            detector.detect([f.image for f in b])
        det_fps = n * rounds / (time.perf_counter() - t)
        pipe = FramePipeline(site(n), detector, gate=ChangeGate(threshold=0))
        pipe.analyse(batches[0])
        t = time.perf_counter()
        for b in batches[1:]:
            pipe.analyse(b)
        pipe_fps = n * (rounds - 1) / (time.perf_counter() - t)
        ul_fps = None
        if yolo is not None:
            yolo.predict(batches[0][0].image, verbose=False)
            t = time.perf_counter()
            for b in batches:
                for f in b:
                    yolo.predict(f.image, verbose=False, conf=0.25)
            ul_fps = n * rounds / (time.perf_counter() - t)
        rows.append({"cameras": n, "detect": det_fps, "pipeline": pipe_fps, "ultralytics": ul_fps,
                     "crops": pipe.counters["crop_passes"]})
    return rows


def memory_per_camera(n: int, ring_s: float) -> float:
    gc.collect()
    before = rss_mb()
    keep = []
    vids = videos()
    for i in range(n):
        src = VideoSource(str(vids[i % len(vids)]), realtime=False, loop=True, start_at=T0).open()
        ring = FrameRing(ring_s, fps=5)
        frames = src.frames()
        while True:
            raw = next(frames)
            if ring.wants(raw.ts):
                ring.add(raw.ts, raw.image())
            if raw.media_s >= ring_s:
                break
        keep.append((src, frames, ring))
    gc.collect()
    per = (rss_mb() - before) / n
    for src, _, _ in keep:
        src.close()
    return per


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--cameras", default="1,4,8,16")
    ap.add_argument("--no-ultralytics", action="store_true")
    args = ap.parse_args()
    paths.export_defaults()
    from edge.detect.base import load_detector

    counts = [int(x) for x in args.cameras.split(",")]
    detector = load_detector("yolo11n-coco-int8", "openvino")
    yolo, why = None, ""
    if not args.no_ultralytics:
        try:
            from ultralytics import YOLO

            yolo = YOLO(str(paths.models_dir() / "yolo11n_int8_openvino_model"), task="detect")
        except ImportError as exc:
            why = f"ultralytics not installed ({exc})"
    clips = {v: sampled_frames(v, args.rounds) for v in videos()}
    print(f"# edge throughput on {describe()}, yolo11n INT8, {args.rounds} rounds, "
          f"{len(clips)} clips: {', '.join(p.name[:24] for p in clips)}")
    rows = bench_counts(detector, clips, counts, args.rounds, yolo)
    print(f"{'cameras':>7} | {'detect fps':>10} | {'pipeline fps':>12} | {'ultralytics fps':>15} | {'crop passes':>11}")
    print("-" * 68)
    for r in rows:
        ul = f"{r['ultralytics']:.1f}" if r["ultralytics"] is not None else "n/a"
        print(f"{r['cameras']:>7} | {r['detect']:>10.1f} | {r['pipeline']:>12.1f} | {ul:>15} | {r['crops']:>11}")
    if why:
        print(f"ultralytics column: {why}")
    ring_s = 5 + 10 + 2
    for n in (4,):
        print(f"memory per camera (decoder + {ring_s:.0f} s ring at 5 fps, JPEG): {memory_per_camera(n, ring_s):.1f} MB "
              f"(RSS growth over {n} cameras)")
    print("max cameras at 2 fps each ~= pipeline fps / 2 (analysis only; decoding adds per-camera cost)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
