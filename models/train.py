"""Training recipe: fine-tune an Ultralytics detector on a YOLO dataset (how the cigarette model was made).

Real training wants a GPU. Measured reference: the shared cigarette model (YOLOv8s, 3,313 train images,
imgsz 320, batch 16, 6 epochs) took 72 minutes on this project's 2-core CPU, i.e. ~12 min/epoch; at
imgsz 640 expect ~4x that per epoch. On one mid-range GPU (e.g. RTX 3060) the same 6 epochs take a few
minutes, so 100+ epochs at imgsz 640 — what a usable small-object detector needs — are practical only there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Recipe:
    """Hyper-parameters of one training run (Ultralytics names)."""

    epochs: int = 100
    imgsz: int = 640
    batch: int = 16
    patience: int = 20
    device: str = "cpu"
    workers: int = 2
    # small-object friendly augmentation: keep mosaic, moderate scale jitter, no vertical flips
    mosaic: float = 1.0
    scale: float = 0.5
    flipud: float = 0.0


def train(
    base: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    recipe: Recipe = Recipe(),
    name: str = "train",
) -> Path:
    """Fine-tune ``base`` (.pt) on ``data`` (dataset YAML); returns the path of ``best.pt``."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    from ultralytics import YOLO

    if not Path(data).is_file():
        raise FileNotFoundError(f"dataset YAML {data} not found")
    model = YOLO(str(base))
    model.train(
        data=str(data), project=str(Path(out).resolve()), name=name, exist_ok=True, plots=False, **recipe.__dict__
    )
    best = Path(out).resolve() / name / "weights" / "best.pt"
    if not best.is_file():
        raise RuntimeError(f"training finished without {best}")
    return best
