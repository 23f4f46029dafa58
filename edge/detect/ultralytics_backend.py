"""Optional backend (extra ``ultralytics``): ``ultralytics.YOLO`` for anything it loads (.pt, ONNX, OpenVINO IR).

Needs torch and torchvision, which ``make demo`` leaves out: ``make tools`` (or ``make test``) installs them with
ultralytics' other dependencies from the ``ultralytics`` extra, then ``ultralytics`` itself without its
opencv-python dependency (see the project's Makefile). We switch off Ultralytics' auto-install and online checks
so a missing package fails loudly instead of downloading.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from edge.detections import Detections

log = logging.getLogger(__name__)

# one line: how to get what this backend and `hallwatch models train|export` need
INSTALL_TOOLS = ("install the model tooling with `make tools` in the HallWatch checkout "
                 "(or: pip install 'hallwatch[ultralytics]' && pip install --no-deps ultralytics)")

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_VERBOSE", "0")


class UltralyticsDetector:
    """Wraps ``ultralytics.YOLO``; same interface and output type as the OpenVINO backend."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        names: dict[int, str] | None = None,
        task: str | None = None,
        device: str = "cpu",
        imgsz: int | None = None,
    ) -> None:
        try:
            from ultralytics import YOLO
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(f"the ultralytics backend needs torch and ultralytics: {INSTALL_TOOLS}") from exc
        self.path = Path(path)
        self._model = YOLO(str(self.path), task=task) if task else YOLO(str(self.path))
        self.task = task or self._model.task
        model_names = {int(k): str(v) for k, v in self._model.names.items()}
        self.names: dict[int, str] = dict(names) if names else model_names
        self.device = device
        self.imgsz = imgsz or 640
        self.input_size = (self.imgsz, self.imgsz)
        self.bad_frames = 0

    def __repr__(self) -> str:
        return f"UltralyticsDetector({self.path.name}, task={self.task}, classes={len(self.names)})"

    def detect(
        self,
        frames: list[np.ndarray],
        conf: float = 0.25,
        iou: float = 0.45,
        classes: list[int] | None = None,
        max_upscale: float | None = None,  # noqa: ARG002 - Ultralytics letterboxes every frame to its imgsz
    ) -> list[Detections]:
        if not frames:
            return []
        from edge.detect.openvino_backend import _usable

        if not all(_usable(f) for f in frames):  # same contract as the OpenVINO backend
            good = [i for i, f in enumerate(frames) if _usable(f)]
            self.bad_frames += len(frames) - len(good)
            log.error("%s: %d of %d frames are not HxWx3 uint8 pictures; skipped", self.path.name,
                      len(frames) - len(good), len(frames))
            out = [Detections.empty(self.names) for _ in frames]
            for i, r in zip(good, self.detect([frames[i] for i in good], conf, iou, classes) if good else []):
                out[i] = r
            return out
        results = self._model.predict(
            list(frames), conf=conf, iou=iou, classes=classes, imgsz=self.imgsz, device=self.device, verbose=False
        )
        out: list[Detections] = []
        for r in results:
            b = r.boxes
            kpts = None
            if self.task == "pose" and r.keypoints is not None:
                data = r.keypoints.data.cpu().numpy().astype(np.float32)
                kpts = data.reshape(len(b), data.shape[-2] if data.ndim == 3 else 17, 3)
            out.append(
                Detections(
                    xyxy=b.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
                    confidence=b.conf.cpu().numpy().astype(np.float32).reshape(-1),
                    class_id=b.cls.cpu().numpy().astype(np.int32).reshape(-1),
                    names=self.names,
                    keypoints=kpts,
                )
            )
        return out
