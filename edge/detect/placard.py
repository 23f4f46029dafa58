"""Counter signs: read a window's counter with OCR when its seat is found empty (暂停服务 and the like).

The sign is a hint for the supervisor, never an excuse: the 空岗 finding opens all the same and carries what was
read (``placard_text``, ``placard_word``, ``placard_score``); a supervisor who agrees enters the pause in the console.

OCR is RapidOCR (the ``rapidocr`` package, Apache-2.0) with the PP-OCR detection and recognition models its wheel
ships, run on OpenVINO: nothing is downloaded. ``counter_region`` picks what to read: the window's ``counter``
zones on that camera, else its seat zone grown to take in the desk in front, in the full-resolution picture.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge import geometry as geo
from edge.site import SiteConfig, ZoneConfig

log = logging.getLogger(__name__)

MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
          "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}
COUNTER_PAD = 0.2  # a counter zone's box grows by this share of its size (a sign stands on its edge)
SEAT_PAD = 0.6  # without a counter zone: the seat zone's box grows this much (the desk in front of the seat)
MIN_SCORE = 0.6  # recognised lines below this are ignored
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Placard:
    text: str  # the recognised line that holds the word
    word: str  # the configured word found in it
    score: float  # the recogniser's confidence for the line


def models_dir() -> Path | None:
    """The folder of the OCR models the installed ``rapidocr`` wheel ships, or None when it is not installed."""
    spec = importlib.util.find_spec("rapidocr")
    for where in (spec.submodule_search_locations or []) if spec is not None else []:
        folder = Path(where) / "models"
        if all((folder / name).is_file() for name in MODELS.values()):
            return folder
    return None


def find_placard(lines: Sequence[tuple[str, float]], words: Sequence[str],
                 min_score: float = MIN_SCORE) -> Placard | None:
    """The first recognised line (text, score) holding one of ``words`` (spaces ignored), or None."""
    wanted = [(w, _SPACE.sub("", w)) for w in words if w.strip()]
    for text, score in lines:
        if score < min_score:
            continue
        flat = _SPACE.sub("", text)
        for word, key in wanted:
            if key and key in flat:
                return Placard(text=text.strip(), word=word, score=round(float(score), 3))
    return None


def counter_region(zones: Sequence[ZoneConfig], window_id: str,
                   shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(x1, y1, x2, y2) pixels to read for a window: its counter zones' box padded, else its seat zones' box padded
    more; None when the camera has neither for the window."""
    for kinds, pad in ((("counter",), COUNTER_PAD), (("seat",), SEAT_PAD)):
        polys = [geo.denormalize_polygon(z.polygon, shape) for z in zones if z.kind in kinds and z.window == window_id]
        if polys:
            x1, y1, x2, y2 = geo.pad_boxes(geo.polygon_bbox(np.concatenate(polys)), pad, shape)[0]
            if x2 - x1 >= 16 and y2 - y1 >= 16:
                return int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2))
    return None


class PlacardReader:
    """RapidOCR on OpenVINO with the shipped models; ``read(image)`` -> [(text, score)] (thread-safe)."""

    def __init__(self, folder: Path) -> None:
        from rapidocr import EngineType, RapidOCR

        params: dict = {"Global.log_level": "warning", "Global.use_cls": False}
        for task, name in MODELS.items():
            params[f"{task}.engine_type"] = EngineType.OPENVINO
            params[f"{task}.model_path"] = str(folder / name)
        self._engine = RapidOCR(params=params)
        self._lock = threading.Lock()

    def read(self, image: np.ndarray) -> list[tuple[str, float]]:
        if image is None or image.ndim != 3 or min(image.shape[:2]) < 16:
            return []
        with self._lock:
            out = self._engine(image)
        texts = getattr(out, "txts", None) or ()
        scores = getattr(out, "scores", None) or ()
        return [(str(t), float(s)) for t, s in zip(texts, scores)]

    def placard(self, image: np.ndarray, zones: Sequence[ZoneConfig], window_id: str,
                words: Sequence[str]) -> Placard | None:
        """The pause sign on a window's counter in ``image`` (the full-resolution picture), or None."""
        region = counter_region(zones, window_id, image.shape[:2])
        if region is None:
            return None
        x1, y1, x2, y2 = region
        return find_placard(self.read(image[y1:y2, x1:x2]), words)


def load_placard_reader() -> PlacardReader | None:
    """The OCR reader when ``rapidocr`` is installed, else None (logged once)."""
    folder = models_dir()
    if folder is None:
        log.warning("window_unstaffed: no OCR for counter signs (the 'rapidocr' package is not installed; "
                    "make install puts it in)")
        return None
    try:
        return PlacardReader(folder)
    except Exception:  # noqa: BLE001 - a broken OCR install must not stop the agent; the hint is optional
        log.exception("window_unstaffed: the OCR models in %s could not be loaded", folder)
        return None


def placard_reader(cfg: SiteConfig) -> PlacardReader | None:
    """The agent's reader: None when the empty-seat rule or its placard OCR is off, or no OCR is installed."""
    rule = cfg.rules.window_unstaffed
    if not (rule.enabled and rule.placard_ocr and cfg.cameras):
        return None
    return load_placard_reader()
