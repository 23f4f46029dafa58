"""Export an Ultralytics model to OpenVINO (FP16, or INT8 with calibration images) and ONNX, and write a manifest.

Needs the ``ultralytics`` extra (torch); INT8 also needs ``nncf``, ONNX needs ``onnx``. On a machine with
internet, get the COCO detector first: ``yolo11n.pt`` downloads automatically the first time
``ultralytics.YOLO("yolo11n.pt")`` runs there; this tool never downloads.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import yaml

from models.manifest import ModelManifest, sha256_file, write_manifest

log = logging.getLogger(__name__)

Target = Literal["openvino-fp16", "openvino-int8", "onnx"]


def _calibration_yaml(images: Path, names: dict[int, str], tmp: Path) -> Path:
    """Ultralytics INT8 export reads calibration images through a dataset YAML."""
    files = sorted(p for p in images.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if len(files) < 8:
        raise ValueError(f"{images}: need at least 8 calibration images, found {len(files)}")
    data = {"path": str(images.resolve()), "train": ".", "val": ".", "names": names}
    out = tmp / "calibration.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True))
    return out


def export_model(
    weights: str | os.PathLike[str],
    target: Target,
    out_dir: str | os.PathLike[str],
    name: str,
    imgsz: int = 640,
    calibration: str | os.PathLike[str] | None = None,
    licence: str = "AGPL-3.0 (Ultralytics)",
    source: str | None = None,
    manifest_dir: str | os.PathLike[str] | None = None,
    path_prefix: str | None = None,
) -> tuple[Path, ModelManifest, Path]:
    """Export ``weights`` and write ``<manifest_dir>/<name>.yaml``. Returns (model path, manifest, manifest file).

    ``path_prefix`` is what the manifest's ``path`` starts with instead of the absolute output folder,
    e.g. ``${HALLWATCH_MODELS_DIR}`` when ``out_dir`` is the models folder.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    from ultralytics import YOLO

    model = YOLO(str(weights))
    names = {int(k): str(v) for k, v in model.names.items()}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        kwargs: dict[str, object] = {"imgsz": imgsz, "batch": 1, "dynamic": False, "device": "cpu"}
        if target == "openvino-fp16":
            kwargs.update(format="openvino", half=True)
        elif target == "openvino-int8":
            if calibration is None:
                raise ValueError("INT8 export needs --calibration DIR (a few hundred images like the cameras see)")
            kwargs.update(format="openvino", int8=True, data=str(_calibration_yaml(Path(calibration), names, tmp)))
        elif target == "onnx":
            kwargs.update(format="onnx", simplify=False)
        else:
            raise ValueError(f"unknown export target {target!r}")
        # Ultralytics writes next to the weights: export from a scratch copy, then move the result.
        scratch = tmp / Path(weights).name
        shutil.copy2(weights, scratch)
        exported = Path(YOLO(str(scratch)).export(**kwargs))
        dest = out_dir / (f"{name}.onnx" if target == "onnx" else name)
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        shutil.move(str(exported), dest)
    if target == "onnx":
        weights_file, fmt, precision = dest.name, "onnx", "fp32"
        wpath = dest
    else:
        bins = sorted(dest.glob("*.bin"))
        if len(bins) != 1:
            raise RuntimeError(f"{dest}: expected one .bin after export, found {len(bins)}")
        weights_file, fmt, precision = bins[0].name, "openvino", ("int8" if target == "openvino-int8" else "fp16")
        wpath = bins[0]
    location = f"{path_prefix.rstrip('/')}/{dest.name}" if path_prefix else str(dest.resolve())
    manifest = ModelManifest(
        name=name,
        task=model.task if model.task in ("detect", "pose") else "detect",
        classes=names,
        format=fmt,  # type: ignore[arg-type]
        path=location,
        weights=weights_file,
        sha256=sha256_file(wpath),
        input_size=(imgsz, imgsz),
        precision=precision,  # type: ignore[arg-type]
        keypoints=17 if model.task == "pose" else None,
        licence=licence,
        source=source or f"exported from {Path(weights).name} by hallwatch models export ({target})",
    )
    mdir = Path(manifest_dir) if manifest_dir else out_dir
    mfile = write_manifest(manifest, mdir / f"{name}.yaml")
    log.info("exported %s -> %s, manifest %s", weights, dest, mfile)
    return dest, manifest, mfile
