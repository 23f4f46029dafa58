"""Frames per second of each model for a batch of N frames (one per camera) in one detect() call:
raw OpenVINO backend (dynamic batch or async queue) vs ultralytics.YOLO on the same frames.

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/detector_batch.py [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

from edge.detect import load_detector
from edge.paths import media_dir
from models.machine import describe
from models.media import sample_video


def fps(det, frames, runs: int) -> float:
    det.detect(frames)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        det.detect(frames)
        times.append(time.perf_counter() - t)
    return len(frames) / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    pool = [f for _, f in sample_video(media_dir() / "video" / "intel-iot-devkit_one-by-one-person-detection.mp4", 0.5)]
    backends = ["openvino"] + (["ultralytics"] if importlib.util.find_spec("ultralytics") else [])
    sizes = [1, 2, 4, 8]
    print(f"# measured on {describe()}")
    print(f"{'model':<20} {'backend':<12} {'mode':<6} " + " ".join(f"{'batch ' + str(n):>9}" for n in sizes) + "  (frames/s)")
    for model in ["yolo11n-coco-int8", "yolov8n-pose-int8", "cigarette-yolov8s"]:
        for backend in backends:
            det = load_detector(model, backend=backend)
            mode = getattr(det, "batching", "-")
            row = [fps(det, pool[:n], args.runs) for n in sizes]
            print(f"{model:<20} {backend:<12} {mode:<6} " + " ".join(f"{v:>9.1f}" for v in row))


if __name__ == "__main__":
    main()
