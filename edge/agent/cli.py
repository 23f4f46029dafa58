"""``hallwatch edge run|analyze``.

    hallwatch edge run --config configs/demo-hall.yaml
    hallwatch edge analyze --config configs/demo-hall.yaml --camera cam-w02 \\
        --input ../shared/media/video/coralFallacy1011_cctv_footage.mp4 --json [--start 2026-11-23T09:00:00+08:00]
    hallwatch edge calibrate --config configs/seats/library.yaml --camera lib \\
        --source ../shared/media/images/desks/vincenttanujaya08_library_image1.jpg --mark-empty
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
    cal = sub.add_parser("calibrate", help="capture/update the seats' empty references and write a contact sheet")
    cal.add_argument("--config", required=True, help="site config YAML")
    cal.add_argument("--camera", required=True, help="camera id")
    cal.add_argument("--source", help="video file, stream or still instead of the camera's source")
    cal.add_argument("--mark-empty", action="store_true", help="every seat is empty now: take it as the reference")
    cal.add_argument("--force", action="store_true", help="mark seats empty even where a person is seen")
    cal.add_argument("--frames", type=int, default=5, help="frames to grab (default 5)")
    cal.add_argument("--seconds", type=float, default=5.0, help="spread over this many seconds (default 5)")
    cal.add_argument("--out", help="folder for the contact sheet (default <edge.data_dir>/calibrate)")
    cal.add_argument("--json", action="store_true", help="print the decisions as JSON")
    cal.add_argument("--log-level", default="WARNING")
    return p


def calibrate_main(cfg, args) -> int:
    from edge.agent.calibrate import calibrate
    from edge.detect.base import load_detector
    from edge.detect.hands import POSE_MODEL
    from edge.site import resolve_source

    cam = next((c for c in cfg.cameras if c.id == args.camera), None)
    if cam is None:
        print(f"unknown camera {args.camera!r}; cameras: {[c.id for c in cfg.cameras]}", file=sys.stderr)
        return 2
    if not any(z.kind == "seat" for z in cam.zones):
        print(f"camera {args.camera} has no seat zone", file=sys.stderr)
        return 2
    source = args.source or resolve_source(args.config, cam.source)
    if args.source and "://" not in source and not Path(source).exists():
        print(f"source {source} not found", file=sys.stderr)
        return 2
    models_dir = expand_env(cfg.edge.models_dir)
    try:
        detector = load_detector(cfg.edge.detector, cfg.edge.backend, models_dir)
        pose = load_detector(POSE_MODEL, cfg.edge.backend, models_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"cannot load models: {exc}", file=sys.stderr)
        return 2
    out = args.out or str(Path(expand_env(cfg.edge.data_dir)) / "calibrate")
    try:
        res = calibrate(cfg, cam.id, source, detector=detector, pose=pose, out_dir=out, mark_empty=args.mark_empty,
                        force=args.force, n_frames=max(args.frames, 1), seconds=args.seconds)
    except (OSError, ValueError) as exc:
        print(f"cannot calibrate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump({"camera_id": res.camera_id, "frames": res.frames, "marked": res.marked, "skipped": res.skipped,
                   "references_dir": res.references_dir, "sheet_png": res.sheet_png, "sheet_html": res.sheet_html,
                   "seats": [d.to_json() for d in res.decisions]}, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    if args.mark_empty:
        print(f"empty references marked: {', '.join(res.marked) or 'none'} (in {res.references_dir})")
        if res.skipped:
            print(f"not marked, a person is seen: {', '.join(res.skipped)} (--force to mark anyway)")
    for d in res.decisions:
        print(f"{d.zone_id:<16} {d.cues_text()}")
    print(f"contact sheet: {res.sheet_png}  {res.sheet_html}")
    return 0


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
    if args.cmd == "calibrate":
        return calibrate_main(cfg, args)
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
        for seat in f.get("seats", []):
            print(f"{f['media_s']:8.2f}s  seat {seat['zone_id']}: {seat['state']} ({seat['reason']}) person "
                  f"{seat['person_conf']:.2f} pose {seat['pose_conf']:.2f}/{seat['pose_points']} ref "
                  f"{'-' if seat['ref_area'] is None else format(seat['ref_area'], '.2f')}")
        zones = ", ".join(f"{z['zone']}={z['persons']}p/{z['phones']}ph" for z in f["zones"])
        labels = ", ".join(f"{d['label']} {d['confidence']:.2f}" for d in f["detections"])
        print(f"{f['media_s']:8.2f}s  {zones:<30} {labels}  {' '.join(f['events'])}")
    for m in result.messages:
        print(f"{m.type:16} {m.rule:22} {m.finding_id}")
    print(f"evidence files in {result.evidence_dir}")
    return 0
