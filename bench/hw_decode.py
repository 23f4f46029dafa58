"""Decode cost of one camera stream in software and with FFmpeg hardware decode, through the agent's own
``VideoSource`` (``edge.hwaccel``): CPU seconds per decoded frame, frames per second, and CPU per sampled BGR
picture (what the analysis takes, 2 per second), side by side in one run.

Not a test. Prints a table. Streams: the given files, default the ``bench/edge_cost.py`` cache (1080p25 main
stream and 640x360 substreams). A kind this FFmpeg build lacks, or whose device is absent, gets a row saying so.

    .venv/bin/python bench/hw_decode.py [--kinds cuda,vaapi,qsv] [--seconds 16] [FILE ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from edge_cost import CACHE  # noqa: E402  (the streams bench/edge_cost.py generates)

from edge.capture.source import VideoSource  # noqa: E402

SAMPLE_FPS = 2.0


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def decode(path: Path, kind: str, seconds: float) -> dict:
    """Every frame of ``seconds`` of the file decoded (no pacing), a BGR picture converted 2 times a second."""
    src = VideoSource(str(path), realtime=False, hwaccel=kind)
    src.open()
    frames = pictures = 0
    first: np.ndarray | None = None
    t, c = time.perf_counter(), cpu_s()
    nxt = 0.0
    try:
        for p in src.packets():
            if p.media_s > seconds:
                break
            for raw in src.decode(p):
                frames += 1
                if raw.media_s >= nxt:
                    img = raw.image()
                    first = img if first is None else first
                    pictures += 1
                    nxt += 1.0 / SAMPLE_FPS
        used = src.hwaccel
    finally:
        src.close()
    wall, cpu = time.perf_counter() - t, cpu_s() - c
    return {"frames": frames, "fps": frames / wall, "cpu_per_frame": cpu / max(1, frames),
            "cores_rt": cpu / max(1e-9, frames / (src.nominal_fps or 25.0)), "used": used, "first": first,
            "pictures": pictures}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--kinds", default="cuda,vaapi,qsv")
    ap.add_argument("--seconds", type=float, default=16.0)
    args = ap.parse_args()
    files = args.files or sorted(CACHE.glob("*_main.mp4"))[:1] + sorted(CACHE.glob("*_sub*.mp4"))[:2]
    if not files:
        sys.exit(f"no streams: run bench/edge_cost.py once (cache {CACHE}) or name files")
    import av
    from av.codec.hwaccel import hwdevices_available

    print(f"# PyAV {av.__version__}, FFmpeg hardware devices in this build: {', '.join(hwdevices_available())}; "
          f"{os.cpu_count()} CPUs; every frame of {args.seconds:.0f} s decoded, a BGR picture {SAMPLE_FPS:.0f} times "
          f"a second\n")
    print("| stream | decode | ran as | frames/s | CPU ms per frame | cores per camera in real time | "
          "first picture vs software (mean abs grey levels) |")
    print("|---|---|---|---|---|---|---|")
    for path in files:
        soft = decode(path, "none", args.seconds)
        rows = [("software", soft)]
        for kind in [k for k in args.kinds.split(",") if k]:
            if kind not in hwdevices_available():
                print(f"| {path.name} | {kind} | not in this FFmpeg build | | | | |")
                continue
            rows.append((kind, decode(path, kind, args.seconds)))
        for name, r in rows:
            diff = ("" if name == "software" or r["first"] is None or soft["first"] is None
                    or r["first"].shape != soft["first"].shape
                    else f"{np.abs(r['first'].astype(np.int16) - soft['first']).mean():.2f}")
            print(f"| {path.name} | {name} | {r['used'] if name != 'software' else 'software'} | {r['fps']:.0f} | "
                  f"{r['cpu_per_frame'] * 1000:.2f} | {r['cores_rt']:.3f} | {diff} |")


if __name__ == "__main__":
    main()
