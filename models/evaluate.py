"""Accuracy of a detector on a YOLO-labelled dataset (AP50, precision, recall) and of a frame rule on
labelled folders of stills — numpy only, no torch.

AP50 follows the COCO convention Ultralytics also uses: per class, predictions of all images sorted by
score, greedily matched to unmatched ground truth of the same class at IoU >= 0.5, precision made
monotone, area under the precision/recall curve by 101-point interpolation; mAP50 = mean over classes
with ground truth. Precision/recall are reported at an operating score threshold (``conf``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.detect.base import Detector
from edge.detections import Detections

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU (N, M) of xyxy boxes."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float32)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def read_yolo_labels(path: Path, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(xyxy pixels, class ids) from a YOLO .txt (class cx cy w h, normalised). Missing file = no objects."""
    if not path.is_file():
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.int32)
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    boxes, classes = [], []
    for i, r in enumerate(rows):
        if len(r) != 5:  # polygons / malformed lines: counted and skipped
            log.warning("%s:%d: expected 5 values, got %d; line skipped", path, i + 1, len(r))
            continue
        c, cx, cy, w, h = int(r[0]), *(float(v) for v in r[1:])
        boxes.append([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
        classes.append(c)
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int32)


def match(pred: Detections, gt_boxes: np.ndarray, gt_cls: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Boolean (N,) true-positive flags for predictions (greedy by score, one GT at most once)."""
    tp = np.zeros(len(pred), bool)
    used = np.zeros(len(gt_boxes), bool)
    ious = box_iou(pred.xyxy, gt_boxes)
    for i in np.argsort(-pred.confidence, kind="stable"):
        cand = (gt_cls == pred.class_id[i]) & ~used & (ious[i] >= iou) if len(gt_boxes) else np.zeros(0, bool)
        if cand.any():
            j = int(np.flatnonzero(cand)[np.argmax(ious[i][cand])])
            used[j] = tp[i] = True
    return tp


def average_precision(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> float:
    """COCO 101-point interpolated AP from pooled predictions of one class."""
    if n_gt == 0:
        return float("nan")
    if not len(scores):
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tpc = np.cumsum(tp[order])
    fpc = np.cumsum(~tp[order])
    recall = tpc / n_gt
    precision = tpc / (tpc + fpc)
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    return float(np.trapezoid(np.interp(x, mrec, mpre), x))


@dataclass(frozen=True)
class DetectionScore:
    images: int
    objects: int
    ap50: float
    precision: float
    recall: float
    conf: float

    def row(self) -> dict[str, float | int]:
        return {"images": self.images, "objects": self.objects, "AP50": round(self.ap50, 3),
                "precision": round(self.precision, 3), "recall": round(self.recall, 3), "conf": self.conf}


def score_detections(
    samples: Iterable[tuple[Detections, np.ndarray, np.ndarray]], conf: float = 0.25, iou: float = 0.5
) -> DetectionScore:
    """Score (predictions, gt boxes, gt classes) per image. Predictions should go down to a low score (0.001)."""
    per_class: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    n_gt: dict[int, int] = {}
    tp_at = fp_at = 0
    images = 0
    for pred, gt_boxes, gt_cls in samples:
        images += 1
        flags = match(pred, gt_boxes, gt_cls, iou)
        for c in np.unique(np.concatenate([pred.class_id, gt_cls])).tolist():
            m = pred.class_id == c
            per_class.setdefault(c, []).append((pred.confidence[m], flags[m]))
            n_gt[c] = n_gt.get(c, 0) + int((gt_cls == c).sum())
        hi = pred.confidence >= conf
        tp_at += int(flags[hi].sum())
        fp_at += int((~flags[hi]).sum())
    aps = []
    for c, parts in per_class.items():
        if n_gt.get(c, 0) == 0:
            continue
        aps.append(average_precision(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), n_gt[c]))
    total = sum(n_gt.values())
    return DetectionScore(
        images=images,
        objects=total,
        ap50=float(np.mean(aps)) if aps else float("nan"),
        precision=tp_at / (tp_at + fp_at) if tp_at + fp_at else float("nan"),
        recall=tp_at / total if total else float("nan"),
        conf=conf,
    )


def dataset_images(split_dir: Path, limit: int | None = None) -> list[Path]:
    images = sorted(p for p in (split_dir / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return images[:limit] if limit else images


def evaluate_detector(
    detector: Detector, split_dir: str | Path, conf: float = 0.25, limit: int | None = None, batch: int = 4
) -> DetectionScore:
    """AP50/P/R of ``detector`` on ``split_dir/{images,labels}`` (YOLO format). Unreadable images are logged
    and skipped (counted out of ``images``)."""
    split = Path(split_dir)

    def samples() -> Iterable[tuple[Detections, np.ndarray, np.ndarray]]:
        paths = dataset_images(split, limit)
        for k in range(0, len(paths), batch):
            chunk = [(p, cv2.imread(str(p))) for p in paths[k : k + batch]]
            ok = [(p, im) for p, im in chunk if im is not None]
            for p, im in chunk:
                if im is None:
                    log.error("cannot read %s; skipped", p)
            preds = detector.detect([im for _, im in ok], conf=0.001, iou=0.6)
            for (p, im), pred in zip(ok, preds):
                gt_boxes, gt_cls = read_yolo_labels(split / "labels" / f"{p.stem}.txt", im.shape[1], im.shape[0])
                yield pred, gt_boxes, gt_cls

    return score_detections(samples(), conf=conf)


@dataclass(frozen=True)
class ImageScore:
    positives: int
    negatives: int
    tp: int
    fp: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else float("nan")


def evaluate_stills(
    decide: Callable[[np.ndarray], bool], positives_dir: str | Path, negatives_dir: str | Path
) -> tuple[ImageScore, dict[str, bool]]:
    """Image-level precision/recall of a frame decision (e.g. the smoking rule's per-frame evidence)
    on a folder of positive and a folder of negative stills. Returns the score and each file's decision."""
    decisions: dict[str, bool] = {}
    counts = {"pos": 0, "neg": 0, "tp": 0, "fp": 0}
    for label, folder in (("pos", Path(positives_dir)), ("neg", Path(negatives_dir))):
        for p in sorted(q for q in folder.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES):
            img = cv2.imread(str(p))
            if img is None:
                log.error("cannot read %s; skipped", p)
                continue
            hit = bool(decide(img))
            decisions[p.name] = hit
            counts[label] += 1
            if hit:
                counts["tp" if label == "pos" else "fp"] += 1
    return ImageScore(counts["pos"], counts["neg"], counts["tp"], counts["fp"]), decisions


# ------------------------------------------------------------------ by-eye truth of the action rules
TRUTH_DIR = Path(__file__).resolve().parent / "truth" / "actions"


def load_truth(name: str) -> dict:
    """``models/truth/actions/<name>.yaml`` (by-eye labels pointing at ../shared/media paths)."""
    import yaml

    return yaml.safe_load((TRUTH_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def item_frames(item: dict, media: Path, width: int | None = None) -> Iterable[tuple[float, np.ndarray]]:
    """(seconds, BGR frame) of one truth item: a still once, a video sampled by PTS at ``item['fps']``; ``width``:
    scaled down to that many pixels wide (a substream, ``models.media.fit_width``)."""
    from models.media import fit_width, sample_video

    path = media / item["media"]
    if path.suffix.lower() in IMAGE_SUFFIXES:
        img = cv2.imread(str(path))
        if img is None:
            raise FileNotFoundError(f"cannot read {path}")
        yield 0.0, fit_width(img, width)
        return
    for t, frame in sample_video(path, float(item.get("fps", 1)), item.get("limit_s")):
        yield t, fit_width(frame, width)


@dataclass
class Tally:
    """Counts of a binary decision against truth, with the wrong items named."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    wrong: list[str] | None = None

    def add(self, truth: bool, decided: bool, name: str) -> None:
        self.tp += truth and decided
        self.fp += decided and not truth
        self.fn += truth and not decided
        self.tn += not truth and not decided
        if truth != decided:
            self.wrong = (self.wrong or []) + [f"{name} ({'missed' if truth else 'false alarm'})"]

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.fp + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else float("nan")


def norm_box(box: list[float], shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    return np.asarray(box, np.float64) * [w, h, w, h]


def phone_decisions(truth: dict, media: Path, coco: Detector, pose: Detector, min_conf: float | None = None,
                    max_upscale: float | None = None, width: int | None = None
                    ) -> Iterable[tuple[str, str, bool, object]]:
    """(split, name, truth is 'use', PhoneEvidence) per labelled person-frame: pose on a padded square around the
    seat, the hand pass on the person at the seat, full-frame phones, then ``phone_evidence``. ``min_conf`` and
    ``max_upscale`` (hand crops enlarged at most so many times, 0 = to the whole input): the phone rule's defaults
    (``min_confidence``, ``hand_crop_max_upscale``) when None, as the agent runs. ``width``: the footage scaled
    down to that many pixels wide first (a substream)."""
    from edge.detect.hands import HandAnalyser
    from edge.rules.phone_use import clerk_of, phone_evidence
    from edge.rules_config import PhoneUseRule

    threshold = PhoneUseRule().min_confidence if min_conf is None else min_conf
    cap = PhoneUseRule().hand_crop_max_upscale if max_upscale is None else max_upscale
    hands = HandAnalyser(coco, pose, max_upscale=cap or None)
    phone_cls = [i for i, n in coco.names.items() if n == "cell phone"]
    for item in truth["items"]:
        for t, frame in item_frames(item, media, width):
            full = coco.detect([frame], conf=0.25, classes=phone_cls)[0]
            for k, seat in enumerate(item["seats"]):
                box = norm_box(seat["seat"], frame.shape)
                people = hands.pose_of(frame, box[None])
                polygon = box[[0, 1, 2, 1, 2, 3, 0, 3]].reshape(4, 2)
                clerk = clerk_of(people, polygon)
                held = hands.analyse(frame, people, [clerk]) if clerk is not None else full[:0]
                ev = phone_evidence(people, Detections.merge([full, held]), clerk, threshold)
                name = f"{Path(item['media']).name[:28]}@{t:.1f}s#{k}"
                yield item["split"], name, seat["label"] == "use", ev


def smoking_decisions(truth: dict, media: Path, decide: Callable[[np.ndarray], bool]
                      ) -> Iterable[tuple[str, str, bool, bool]]:
    """(split, name, truth is smoking, decided smoking) per still or sampled frame of the smoking truth."""
    for item in truth["items"]:
        for t, frame in item_frames(item, media):
            name = Path(item["media"]).name[:30] + ("" if t == 0 and "fps" not in item else f"@{t:.0f}s")
            yield item["split"], name, item["label"] == "smoking", bool(decide(frame))


def tiles(shape: tuple[int, ...], side: int = 480, step: int = 400) -> np.ndarray:
    """Overlapping square tiles (xyxy) covering a frame: pose on them sees the back rows a whole-frame pass misses."""
    h, w = shape[:2]
    ys = sorted({*range(0, max(h - side, 0) + 1, step), max(h - side, 0)})
    xs = sorted({*range(0, max(w - side, 0) + 1, step), max(w - side, 0)})
    return np.array([[x, y, x + side, y + side] for y in ys for x in xs], np.float32)


def sleeping_decisions(truth: dict, media: Path, pose: Detector) -> Iterable[tuple[str, str, bool, bool]]:
    """(split, 'asleep' | 'awake', pose found the person, posture says asleep) per labelled person."""
    from edge.detect.regions import detect_on_regions
    from edge.geometry import box_iou
    from edge.rules.sleeping import head_dropped

    frames: dict[str, dict[float, np.ndarray]] = {}
    for item in truth["items"]:
        path = item["media"]
        if "t" in item:
            if path not in frames:
                frames[path] = {round(t, 1): f for t, f in item_frames({"media": path, "fps": 1}, media)}
            frame = frames[path][round(float(item["t"]), 1)]
        else:
            frame = next(iter(item_frames(item, media)))[1]
        people = detect_on_regions(pose, frame, tiles(frame.shape), pad=0.0, conf=0.5)
        for kind in ("asleep", "awake"):
            for box in item.get(kind) or []:
                b = norm_box(box, frame.shape)
                found, dropped = False, False
                if len(people):
                    iou = box_iou(b[None], people.xyxy)[0]
                    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
                    inside = ((people.xyxy[:, 0] <= cx) & (cx <= people.xyxy[:, 2]) & (people.xyxy[:, 1] <= cy)
                              & (cy <= people.xyxy[:, 3]))
                    score = np.where(inside, np.maximum(iou, 0.2), iou)
                    j = int(np.argmax(score))
                    if score[j] >= 0.2 and people.keypoints is not None:
                        found, dropped = True, bool(head_dropped(people.keypoints[j], people.xyxy[j]))
                yield item["split"], kind, found, dropped
