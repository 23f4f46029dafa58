"""``hallwatch edge run|analyze``.

    hallwatch edge run --config configs/demo-hall.yaml
    hallwatch edge analyze --config configs/demo-hall.yaml --camera cam-w02 \\
        --input ../shared/media/video/coralFallacy1011_cctv_footage.mp4 --json [--start 2026-11-23T09:00:00+08:00]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
from pathlib import Path

from edge import paths
from edge.site import ConfigError, apply_env_overrides, expand_env, load_site_config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hallwatch edge", description="Run the edge agent or analyse a file with it.")
    sub = p.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the agent: cameras, rules, sensors, delivery")
    run.add_argument("--config", required=True, help="site config YAML")
    run.add_argument("--smoking", action="store_true", help="also run pose + cigarette models (costly on a CPU)")
    run.add_argument("--log-level", default="INFO")
    an = sub.add_parser("analyze", help="run the pipeline on one video file or still and print the result")
    an.add_argument("--config", required=True, help="site config YAML")
    an.add_argument("--camera", required=True, help="camera id whose zones and fps apply")
    an.add_argument("--input", required=True, help="video file or still image")
    an.add_argument("--json", action="store_true", help="print the full result as JSON")
    an.add_argument("--start", help="ISO time of the first frame (default now), e.g. 2026-11-23T09:00:00+08:00")
    an.add_argument("--fps", type=float, help="sampling rate (default: the camera's fps)")
    an.add_argument("--max-seconds", type=float, help="stop after this much media time")
    an.add_argument("--out", help="folder for evidence files (default: a temporary folder)")
    an.add_argument("--smoking", action="store_true", help="also run pose + cigarette models")
    an.add_argument("--skip-unchanged", action="store_true", help="reuse detections on unchanged frames")
    an.add_argument("--log-level", default="WARNING")
    return p


def load_smoking(models_dir: str | None):  # noqa: ANN201
    """Helper A's smoking analyser (pose + cigarette models), or None when the models are missing."""
    try:
        from edge.detect.base import load_detector
        from edge.detect.smoking import SmokingAnalyser

        cig = load_detector("cigarette-yolov8s", "openvino", models_dir)
        pose = load_detector("yolov8n-pose-int8", "openvino", models_dir)
        return SmokingAnalyser(cig, pose)
    except (ImportError, FileNotFoundError, ValueError, KeyError) as exc:
        logging.getLogger(__name__).warning("smoking analysis off: %s", exc)
        return None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    paths.export_defaults()
    try:
        cfg = apply_env_overrides(load_site_config(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.cmd == "run":
        from edge.agent.runtime import EdgeAgent

        smoking = load_smoking(expand_env(cfg.edge.models_dir)) if args.smoking else None
        return EdgeAgent(cfg, Path(args.config), smoking=smoking).run_forever()
    if not any(c.id == args.camera for c in cfg.cameras):
        print(f"unknown camera {args.camera!r}; cameras: {[c.id for c in cfg.cameras]}", file=sys.stderr)
        return 2
    if not Path(args.input).exists():
        print(f"input {args.input} not found", file=sys.stderr)
        return 2
    from edge.agent.analyze import analyze
    from edge.detect.base import load_detector

    models_dir = expand_env(cfg.edge.models_dir)
    try:
        detector = load_detector(cfg.edge.detector, cfg.edge.backend, models_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"cannot load detector: {exc}", file=sys.stderr)
        return 2
    start = dt.datetime.fromisoformat(args.start) if args.start else None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=cfg.tz)
    out = args.out or tempfile.mkdtemp(prefix="hallwatch-analyze-")
    result = analyze(cfg, args.camera, args.input, detector=detector, out_dir=out, start_at=start, fps=args.fps,
                     max_seconds=args.max_seconds, smoking=load_smoking(models_dir) if args.smoking else None,
                     skip_unchanged=args.skip_unchanged)
    if args.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    for f in result.frames:
        zones = ", ".join(f"{z['zone']}={z['persons']}p/{z['phones']}ph" for z in f["zones"])
        labels = ", ".join(f"{d['label']} {d['confidence']:.2f}" for d in f["detections"])
        print(f"{f['media_s']:8.2f}s  {zones:<30} {labels}  {' '.join(f['events'])}")
    for m in result.messages:
        print(f"{m.type:16} {m.rule:22} {m.finding_id}")
    print(f"evidence files in {result.evidence_dir}")
    return 0
