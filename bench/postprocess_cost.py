"""Python CPU around one inference: the input tensor and the head decode, as the OpenVINO backend does them now
and as it did them before (the plain numpy way), on the heads the real models give for real frames.

Not a test. Prints a table: milliseconds per input, median of ``--runs`` passes over the frames.

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/postprocess_cost.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.detect import load_detector  # noqa: E402
from edge.detect.postprocess import decode, letterbox, nms, to_tensor  # noqa: E402
from edge.paths import media_dir  # noqa: E402
from models.machine import describe  # noqa: E402
from models.media import sample_video  # noqa: E402

CLIPS = ("1234hmehme_MINH7.mp4", "pgplarosa_resized_cctv_full_fast_cut.mov")


def plain_tensor(images: list[np.ndarray]) -> np.ndarray:
    """The conversion before: a strided view of the HxWx3 batch cast to float32, then divided."""
    batch = np.stack(images)[..., ::-1].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32) / np.float32(255.0)


def plain_decode(raw: np.ndarray, nc: int, conf: float, iou: float, classes: list[int] | None = None,
                 nk: int = 0) -> tuple:
    """The decode before: the best class of every anchor, along the transposed head."""
    pred = raw.T
    cls_scores = pred[:, 4:4 + nc]
    cls_id = cls_scores.argmax(1)
    score = cls_scores[np.arange(len(cls_scores)), cls_id]
    mask = score > conf
    if classes is not None:
        mask &= np.isin(cls_id, classes)
    idx = np.nonzero(mask)[0]
    cxcywh = pred[idx, :4]
    xyxy = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], 1)
    keep = nms(xyxy + cls_id[idx, None] * 7680.0, score[idx], iou)
    kpts = pred[idx][keep, 4 + nc:].reshape(-1, nk, 3) if nk else None
    return xyxy[keep], score[idx][keep], cls_id[idx][keep], kpts


def per_item_ms(fn, items: list, runs: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for item in items:
            fn(item)
        times.append(time.perf_counter() - t)
    return statistics.median(times) / len(items) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    frames = [f for clip in CLIPS for _, f in sample_video(media_dir() / "video" / clip, 1.0)][:24]
    print(f"# measured on {describe()}; {len(frames)} frames of {', '.join(CLIPS)}; ms per input, median of "
          f"{args.runs} runs\n")
    print("| model | input | tensor: plain | tensor: planes | decode: argmax of every anchor | "
          "decode: anchors above conf | anchors above conf |")
    print("|---|---|---|---|---|---|---|")
    for model in ("yolo11n-coco-int8", "yolov8n-pose-int8"):
        det = load_detector(model)
        nk = det.num_keypoints
        for size in ((640, 640), (640, 384)):
            if size != det.input_size and det.input_for(np.zeros((360, 640, 3), np.uint8)) != size:
                continue
            images = [letterbox(f, size)[0] for f in frames]
            net = det._net if size == det.input_size else det._rect_nets[size]
            heads = [np.asarray(head) for head in net.stream((to_tensor([im]) for im in images), len(images))]
            for head in heads:  # both decodes keep the same boxes of every real head
                ours = decode(head, len(det.names), 0.25, 0.45, None, nk)
                theirs = plain_decode(head, len(det.names), 0.25, 0.45, None, nk)
                assert np.array_equal(ours[1], theirs[1]) and np.array_equal(ours[2], theirs[2])
            above = statistics.mean(int((h[4:4 + len(det.names)].max(0) > 0.25).sum()) for h in heads)
            row = [per_item_ms(lambda im: plain_tensor([im]), images, args.runs),
                   per_item_ms(lambda im: to_tensor([im]), images, args.runs),
                   per_item_ms(lambda h: plain_decode(h, len(det.names), 0.25, 0.45, None, nk), heads, args.runs),
                   per_item_ms(lambda h: decode(h, len(det.names), 0.25, 0.45, None, nk), heads, args.runs)]
            print(f"| {model} | {size[0]}x{size[1]} | " + " | ".join(f"{v:.2f}" for v in row) + f" | {above:.0f} |")


if __name__ == "__main__":
    main()
