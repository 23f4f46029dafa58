"""The one detector interface every backend implements, and how a name becomes a loaded detector."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from edge.detections import Detections

log = logging.getLogger(__name__)

Task = Literal["detect", "pose"]
Backend = Literal["openvino", "ultralytics"]


@runtime_checkable
class Detector(Protocol):
    """A loaded model. Batch in, one ``Detections`` per frame out, boxes in source-frame pixels.

    Pose models also fill ``Detections.keypoints`` (N, 17, 3): x, y in pixels and a visibility score.
    """

    names: dict[int, str]
    task: Task
    input_size: tuple[int, int]  # (width, height) of the network input

    def detect(
        self,
        frames: list[np.ndarray],
        conf: float = 0.25,
        iou: float = 0.45,
        classes: list[int] | None = None,
        max_upscale: float | None = None,
    ) -> list[Detections]:
        """``max_upscale``: frames smaller than the input (crops) are enlarged at most this many times where the
        backend can run a smaller input (OpenVINO); None: to the whole input."""
        ...


def class_ids(detector: Detector, *names: str) -> list[int]:
    """Class ids of the given names (e.g. 'person', 'cell phone'); unknown names raise KeyError."""
    lookup = {n: i for i, n in detector.names.items()}
    missing = [n for n in names if n not in lookup]
    if missing:
        raise KeyError(f"model has no class {missing}; it knows e.g. {list(lookup)[:8]}")
    return [lookup[n] for n in names]


def load_detector(
    name_or_path: str | os.PathLike[str],
    backend: Backend = "openvino",
    models_dir: str | os.PathLike[str] | None = None,
    verify: bool = False,
    **options: object,
) -> Detector:
    """Load a detector by manifest name (``models/manifests/*.yaml``) or by path.

    * a manifest name such as ``"yolo11n-coco-int8"`` resolves its path under ``models_dir``
      (default ``${HALLWATCH_MODELS_DIR}``); ``verify=True`` also checks the weights' SHA-256;
    * a path to an OpenVINO IR folder/``.xml`` (reads Ultralytics' ``metadata.yaml`` for names and task) or an
      ``.onnx`` with its manifest beside it (``<name>.yaml``, as ``models export`` writes), or for the
      ultralytics backend anything ``ultralytics.YOLO`` loads (.pt, .onnx with onnxruntime, IR folder).

    ``options`` go to the backend (openvino: ``device``, ``batch``; ultralytics: ``device``).
    """
    from models.manifest import all_manifests

    manifest = all_manifests().get(str(name_or_path))
    if manifest is not None:
        if verify:
            ok, msg = manifest.verify(models_dir)
            if not ok:
                raise FileNotFoundError(f"model {manifest.name}: {msg}")
        path = manifest.resolved_path(models_dir)
        if not path.exists():
            raise FileNotFoundError(
                f"model {manifest.name}: {path} not found (set HALLWATCH_MODELS_DIR or edge.models_dir)"
            )
        names, task = dict(manifest.classes), manifest.task
        if manifest.format == "pt" and backend == "openvino":
            raise ValueError(f"model {manifest.name} is an Ultralytics checkpoint: use backend='ultralytics'")
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise FileNotFoundError(f"{name_or_path!r} is neither a model manifest name nor an existing path")
        names, task = None, None  # read from the model's metadata
        sibling = path.with_suffix(".yaml")  # `models export --to onnx` writes <name>.onnx + <name>.yaml
        if path.is_file() and path.suffix == ".onnx" and sibling.is_file():
            from models.manifest import load_manifest

            m = load_manifest(sibling)
            names, task = dict(m.classes), m.task
    log.info("loading %s model %s with backend %s", task or "?", path, backend)
    if backend == "openvino":
        from edge.detect.openvino_backend import OpenVinoDetector

        return OpenVinoDetector(path, names=names, task=task, **options)  # type: ignore[arg-type]
    if backend == "ultralytics":
        from edge.detect.ultralytics_backend import UltralyticsDetector

        return UltralyticsDetector(path, names=names, task=task, **options)  # type: ignore[arg-type]
    raise ValueError(f"unknown detector backend {backend!r} (openvino or ultralytics)")
