"""``hallwatch models list|export|train|eval|dataset|tune``."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

from edge.detect.ultralytics_backend import INSTALL_TOOLS
from edge.paths import media_dir, models_dir
from models.manifest import MANIFEST_DIR, all_manifests


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hallwatch models", description="List, export, train and evaluate models.")
    p.add_argument("--models-dir", help="folder with model folders (default: $HALLWATCH_MODELS_DIR or ../shared/models)")
    p.add_argument("--manifests", help=f"manifest folder (default: {MANIFEST_DIR})")
    sub = p.add_subparsers(dest="cmd", required=True)

    ls = sub.add_parser("list", help="show manifests and verify presence + SHA-256 of their weights")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--no-verify", action="store_true", help="skip hashing the weights")

    ex = sub.add_parser("export", help="Ultralytics .pt -> OpenVINO FP16/INT8 or ONNX, writing a manifest")
    ex.add_argument("weights", help="Ultralytics checkpoint (.pt)")
    ex.add_argument("--to", dest="target", choices=["openvino-fp16", "openvino-int8", "onnx"], default="openvino-fp16")
    ex.add_argument("--name", required=True, help="manifest name, e.g. yolo11n-coco-fp16")
    ex.add_argument("--out", required=True, help="folder to write the exported model into")
    ex.add_argument("--calibration", help="folder of calibration images (INT8)")
    ex.add_argument("--imgsz", type=int, default=640)
    ex.add_argument("--manifest-dir", help="where to write <name>.yaml (default: --out)")
    ex.add_argument("--path-prefix", help="write the manifest path as PREFIX/<folder>, e.g. '${HALLWATCH_MODELS_DIR}'")

    tr = sub.add_parser("train", help="fine-tune an Ultralytics detector on a YOLO dataset (GPU recommended)")
    tr.add_argument("--base", required=True, help="starting checkpoint (.pt)")
    tr.add_argument("--data", required=True, help="dataset YAML (Ultralytics format)")
    tr.add_argument("--out", required=True, help="runs folder")
    tr.add_argument("--name", default="train")
    tr.add_argument("--epochs", type=int, default=100)
    tr.add_argument("--imgsz", type=int, default=640)
    tr.add_argument("--batch", type=int, default=16)
    tr.add_argument("--device", default="cpu", help="cpu, 0 (first GPU), …")

    ev = sub.add_parser("eval", help="accuracy of a detector on a YOLO dataset, or of the smoking rule on stills")
    evs = ev.add_subparsers(dest="what", required=True)
    ed = evs.add_parser("detector", help="AP50 / precision / recall on a YOLO-labelled split")
    ed.add_argument("--model", required=True, help="manifest name or model path")
    ed.add_argument("--data", required=True, help="split folder with images/ and labels/")
    ed.add_argument("--backend", choices=["openvino", "ultralytics"], default="openvino")
    ed.add_argument("--conf", type=float, default=0.25, help="operating threshold for precision/recall")
    ed.add_argument("--limit", type=int, help="only the first N images")
    ed.add_argument("--json", action="store_true")
    es = evs.add_parser("smoking", help="image-level precision/recall of the smoking rule on labelled stills")
    es.add_argument("--positives", default=None, help="folder of smoking stills (default: media images/smoking)")
    es.add_argument("--negatives", default=None, help="folder of non-smoking stills (default: images/phone-negatives)")
    es.add_argument("--json", action="store_true")

    ds = sub.add_parser("dataset", help="datasets from the supervisors' confirmed / dismissed alerts")
    dss = ds.add_subparsers(dest="what", required=True)
    dx = dss.add_parser("export", help="labelled crops as YOLO + per-seat classification layouts with a manifest")
    dx.add_argument("--database-url", required=True, help="the server's database, e.g. postgresql+psycopg://…")
    dx.add_argument("--out", required=True, help="dataset folder to write")
    dx.add_argument("--hall", help="only this hall")
    dx.add_argument("--since", help="only decisions from this date / ISO time on (UTC when no offset)")
    dx.add_argument("--evidence-dir", help="the server's evidence folder: cut the crops still missing first")

    tu = sub.add_parser("tune", help="re-tune thresholds from an exported dataset")
    tus = tu.add_subparsers(dest="what", required=True)
    tp = tus.add_parser("presence", help="per-seat person thresholds from the 空岗 samples -> override YAML")
    tp.add_argument("--dataset", required=True, help="folder written by 'hallwatch models dataset export'")
    tp.add_argument("--out", default=None, help="override YAML to write (default: DATASET/seat-overrides.yaml)")
    tp.add_argument("--min-samples", type=int, default=2, help="occupied samples a seat needs for an override")
    tp.add_argument("--margin", type=float, default=0.02, help="distance kept from the samples' confidences")
    tp.add_argument("--floor", type=float, default=0.25, help="lowest threshold (the detector's own cut-off)")
    return p


def _fmt(v: float) -> str:
    return "n/a" if isinstance(v, float) and math.isnan(v) else f"{v:.3f}"


def cmd_list(args: argparse.Namespace) -> int:
    manifests = all_manifests(args.manifests)
    rows = []
    bad = 0
    for m in manifests.values():
        ok, msg = (True, "not verified") if args.no_verify else m.verify(args.models_dir)
        bad += not ok
        rows.append({
            "name": m.name, "task": m.task, "classes": len(m.classes), "format": m.format,
            "precision": m.precision, "input": f"{m.input_size[0]}x{m.input_size[1]}",
            "path": str(m.resolved_path(args.models_dir)), "sha256": m.sha256, "status": msg,
            "licence": m.licence, "source": m.source,
        })
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(f"{'name':<22} {'task':<6} {'cls':>3} {'format':<8} {'prec':<5} {'input':<8} {'status':<14} licence")
        for r in rows:
            print(f"{r['name']:<22} {r['task']:<6} {r['classes']:>3} {r['format']:<8} {r['precision']:<5} "
                  f"{r['input']:<8} {r['status'][:14]:<14} {r['licence']}")
            print(f"{'':<22} {r['path']}")
            if r["status"] not in ("ok", "not verified"):
                print(f"{'':<22} ! {r['status']}")
    return 1 if bad else 0


def cmd_export(args: argparse.Namespace) -> int:
    from models.export import export_model

    dest, manifest, mfile = export_model(
        args.weights, args.target, args.out, args.name, imgsz=args.imgsz, calibration=args.calibration,
        manifest_dir=args.manifest_dir, path_prefix=args.path_prefix,
    )
    print(f"exported {args.weights} -> {dest}\nmanifest {mfile} (sha256 {manifest.sha256[:16]}…)")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from models.train import Recipe, train

    recipe = Recipe(epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, device=args.device)
    best = train(args.base, args.data, args.out, recipe, name=args.name)
    print(f"best weights: {best}\nnext: hallwatch models export {best} --to openvino-int8 --calibration DIR --name NAME --out DIR")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from edge.detect.base import load_detector

    if args.what == "detector":
        from models.evaluate import evaluate_detector

        det = load_detector(args.model, backend=args.backend, models_dir=args.models_dir)
        score = evaluate_detector(det, args.data, conf=args.conf, limit=args.limit)
        if args.json:
            print(json.dumps(score.row()))
        else:
            print(f"{args.model} on {args.data}: images {score.images}, objects {score.objects}, "
                  f"AP50 {_fmt(score.ap50)}, precision {_fmt(score.precision)}, recall {_fmt(score.recall)} "
                  f"(at conf {score.conf})")
        return 0
    from edge.detect.hands import HandAnalyser
    from edge.detect.smoking import SmokingAnalyser
    from models.evaluate import evaluate_stills
    from models.stills import StillSmokingDecider

    pos = Path(args.positives) if args.positives else media_dir() / "images" / "smoking"
    neg = Path(args.negatives) if args.negatives else media_dir() / "images" / "phone-negatives"
    analyser = SmokingAnalyser(load_detector("cigarette-yolov8s", models_dir=args.models_dir),
                               load_detector("yolov8n-pose-int8", models_dir=args.models_dir))
    hands = HandAnalyser(load_detector("yolo11n-coco-int8", models_dir=args.models_dir))  # phone/pen look-alikes
    score, decisions = evaluate_stills(StillSmokingDecider(analyser, hands=hands), pos, neg)
    out = {"positives": score.positives, "negatives": score.negatives, "tp": score.tp, "fp": score.fp,
           "precision": score.precision, "recall": score.recall, "decisions": decisions}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"smoking rule on stills: {score.positives} positives, {score.negatives} negatives, "
              f"precision {_fmt(score.precision)}, recall {_fmt(score.recall)}")
        for name, hit in decisions.items():
            print(f"  {'SMOKING' if hit else '-':<8} {name}")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from models.dataset import export_dataset, parse_since

    try:
        r = export_dataset(args.database_url, args.out, hall=args.hall, since=parse_since(args.since),
                           evidence_dir=args.evidence_dir)
    except SQLAlchemyError as exc:
        print(f"hallwatch models dataset export: database {args.database_url!r}: {str(exc).splitlines()[0]}",
              file=sys.stderr)
        return 2
    print(f"{r.samples} samples -> {args.out}: YOLO {r.yolo_images} images / {r.yolo_boxes} boxes, "
          f"classification {r.classify_images} images, {r.without_crop} without a crop"
          + (f" ({r.crops_filled} crops cut now)" if args.evidence_dir else ""))
    for seat, counts in sorted(r.per_seat.items()):
        print(f"  {seat:<40} occupied {counts['occupied']:>4}  empty {counts['empty']:>4}")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from models.tune import tune_presence, write_overrides

    doc, results = tune_presence(args.dataset, floor=args.floor, margin=args.margin, min_samples=args.min_samples)
    out = write_overrides(doc, args.out or Path(args.dataset) / "seat-overrides.yaml")
    print(f"{'seat zone':<24} {'camera':<12} {'occ':>4} {'empty':>5} {'old':>6} {'new':>6} {'occ now':>7} "
          f"{'unfixable':>9} {'empty kept':>10}")
    for r in results:
        new = "-" if r.new is None else f"{r.new:.3f}"
        print(f"{r.zone:<24} {r.camera:<12} {r.occupied:>4} {r.empty:>5} {r.old:>6.3f} {new:>6} {r.fixed:>7} "
              f"{r.unfixable:>9} {r.empty_kept:>10}")
    print(f"{len(doc['seat_overrides'])} seat override(s) -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.models_dir is None:
        args.models_dir = str(models_dir())
    handlers = {"list": cmd_list, "export": cmd_export, "train": cmd_train, "eval": cmd_eval,
                "dataset": cmd_dataset, "tune": cmd_tune}
    try:
        return handlers[args.cmd](args)
    except ModuleNotFoundError as exc:
        print(f"hallwatch models {args.cmd}: missing package {exc.name!r}: {INSTALL_TOOLS}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"hallwatch models {args.cmd}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
