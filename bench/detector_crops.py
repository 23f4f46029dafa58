"""Cost of the detection passes on real frames (ms, median of N runs): full-frame COCO pass, pose pass,
per-person crop pass for phones (PHONE_PADS), head/hand crop pass for cigarettes (SmokingAnalyser).

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/detector_crops.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from edge.detect import PHONE_PADS, SmokingAnalyser, class_ids, detect_on_regions, load_detector
from edge.detect.smoking import SMOKING_PADS, smoking_regions
from edge.paths import media_dir
from models.machine import describe
from models.media import sample_video


def ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    media = media_dir()
    coco, pose = load_detector("yolo11n-coco-int8"), load_detector("yolov8n-pose-int8")
    smoking = SmokingAnalyser(load_detector("cigarette-yolov8s"), pose)
    phone = class_ids(coco, "cell phone")
    frames = {
        "counter 2560x1936": cv2.imread(str(next((media / "images" / "counter").glob("*.jpg")))),
        "table 640x360": next(f for t, f in sample_video(media / "video" / "bwssytems_5977270-sd_640_360_25fps.mp4", 1)
                              if t >= 3),
        "smoker 640x640": cv2.imread(str(next((media / "images" / "smoking").glob("Riswaldy_IMG_9518_MOV-0019*")))),
    }
    print(f"# measured on {describe()}")
    print(f"{'frame':<20} {'persons':>7} {'full COCO':>10} {'pose':>8} {'phone crops':>16} {'head/hand crops':>20}")
    for name, frame in frames.items():
        people = pose.detect([frame], conf=0.4)[0]
        regions, _ = smoking_regions(people)
        n_phone = len(people) * len(PHONE_PADS)
        n_cig = len(regions) * len(SMOKING_PADS)
        full = ms(lambda f=frame: coco.detect([f]), args.runs)
        p = ms(lambda f=frame: pose.detect([f]), args.runs)
        crops = ms(lambda f=frame, b=people.xyxy: detect_on_regions(coco, f, b, pad=PHONE_PADS, classes=phone), args.runs)
        cig = ms(lambda f=frame, pp=people: smoking.analyse(f, pose=pp), args.runs)
        print(f"{name:<20} {len(people):>7} {full:>8.1f}ms {p:>6.1f}ms {crops:>7.1f}ms ({n_phone} crops) "
              f"{cig:>8.1f}ms ({n_cig} crops)")
    print("\nphone crops = yolo11n INT8 on each person box at pads", PHONE_PADS,
          "; head/hand crops = cigarette yolov8s FP16 on head + wrists at pads", SMOKING_PADS)
    hand_rows(args.runs)




def hand_rows(runs: int) -> None:
    """The hand pass of phone_use (edge.detect.hands) against the per-person crop pass it replaces, per frame:
    pose on the seat region + COCO on the hand squares, side by side with COCO on PHONE_PADS person crops."""
    from edge.detect.hands import HandAnalyser

    media = media_dir()
    coco, pose = load_detector("yolo11n-coco-int8"), load_detector("yolov8n-pose-int8")
    hands = HandAnalyser(coco, pose)
    phone = class_ids(coco, "cell phone")
    cases = {  # frame, seat region (normalised xyxy)
        "counter 2560x1936": (cv2.imread(str(next((media / "images" / "counter").glob("*.jpg")))),
                              (0.35, 0.40, 0.75, 0.85)),
        "office 1920x1080": (cv2.imread(str(media / "images" / "desks" / "pgplarosa_sample_frame.png")),
                             (0.33, 0.40, 0.48, 0.92)),
        "table 640x360": (next(f for t, f in sample_video(media / "video" / "bwssytems_5977270-sd_640_360_25fps.mp4", 1)
                               if t >= 3), (0.0, 0.0, 1.0, 1.0)),
    }
    print(f"\n{'frame':<20} {'seat pose':>10} {'hand pass':>18} {'pose + hands':>13} {'old person crops':>18}")
    for name, (frame, seat) in cases.items():
        h, w = frame.shape[:2]
        box = np.array([seat], np.float32) * [w, h, w, h]
        people = hands.pose_of(frame, box)
        n_hand = len(hands.squares(frame.shape, people))
        p = ms(lambda f=frame, b=box: hands.pose_of(f, b), runs)
        hp = ms(lambda f=frame, pp=people: hands.analyse(f, pp), runs)
        old = ms(lambda f=frame, b=people.xyxy: detect_on_regions(coco, f, b, pad=PHONE_PADS, classes=phone), runs)
        print(f"{name:<20} {p:>8.1f}ms {hp:>7.1f}ms ({n_hand} crops) {p + hp:>11.1f}ms "
              f"{old:>7.1f}ms ({len(people) * len(PHONE_PADS)} crops)")
    print("hand pass = COCO on squares of", "/".join(str(s) for s in hands.sides),
          "body scales around each person's hands; runs only for people at seats, on inferred frames, with phone_use on")


if __name__ == "__main__":
    main()
