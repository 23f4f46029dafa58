"""Regenerate models/ACCURACY.md: measured accuracy of the detectors and of the smoking/sleeping rules
on the shared media. Run: ``python -m models.accuracy [--out models/ACCURACY.md]`` (about a minute on 2 cores).

Ground truth used here: the YOLO labels of the cigarette dataset; the folder a still sits in (smoking vs
phone-negatives); the MANIFEST.tsv descriptions of the clips; and presence intervals of the one-by-one
clip labelled by eye from a 2-second contact sheet (``INTEL_PRESENT`` below; frames within
``BOUNDARY_S`` of a change are not scored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import cv2
import numpy as np

from edge.detect import PHONE_PADS, SmokingAnalyser, class_ids, detect_on_regions, load_detector
from edge.detections import Detections
from edge.paths import media_dir
from edge.rules.sleeping import head_dropped
from models.evaluate import evaluate_detector, evaluate_stills
from models.machine import describe
from models.media import sample_video
from models.stills import StillSmokingDecider

OUT = Path(__file__).resolve().parent / "ACCURACY.md"
README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- accuracy:start (make accuracy) -->", "<!-- accuracy:end -->"


def splice_readme(readme: Path, text: str) -> bool:
    """Replace the README's accuracy section (between the markers) with ``text``, headings one level down."""
    body = readme.read_text(encoding="utf-8")
    if START not in body or END not in body:
        return False
    section = "\n".join(("#" + line) if line.startswith("#") else line for line in text.splitlines()[1:])
    head, rest = body.split(START, 1)
    readme.write_text(f"{head}{START}\n{section.strip()}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    return True
INTEL_PRESENT = [(7, 19), (23, 45), (51, 69), (75, 87), (93, 119), (125, 135)]  # seconds, by eye
BOUNDARY_S = 2.0
SEAT_W01 = np.array([[0.30, 0.15], [0.75, 0.15], [0.75, 0.95], [0.30, 0.95]])  # configs/demo-hall.yaml cam-w01


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f} %)" if b else "n/a"


def cigarette_section(media: Path) -> list[str]:
    det = load_detector("cigarette-yolov8s")
    s = evaluate_detector(det, media / "datasets" / "cigarette" / "test", conf=0.25)
    return [
        "## Cigarette detector (`cigarette-yolov8s`, OpenVINO FP16, input 640)",
        "",
        "| data | images | cigarettes | AP50 | precision @0.25 | recall @0.25 |",
        "|---|---|---|---|---|---|",
        f"| `datasets/cigarette/test` | {s.images} | {s.objects} | {s.ap50:.3f} | {s.precision:.3f} | {s.recall:.3f} |",
        "",
        "Computed by `hallwatch models eval detector` (numpy, COCO-style 101-point AP). Cross-check: Ultralytics'",
        "own `val` on the same IR and split gave AP50 0.442, P 0.619, R 0.402 (its NMS IoU is 0.7, ours 0.6).",
        "The model card reports AP50 0.582 at input 320: the model was fine-tuned at 320 for 6 epochs on a CPU",
        "and the static IR runs at 640, where the close-up cigarettes look twice as large as in training.",
        "**Weak**: ~4 of 10 cigarettes are found at the default threshold, on close-up photos.",
        "",
    ]


def smoking_section(media: Path) -> list[str]:
    analyser = SmokingAnalyser(load_detector("cigarette-yolov8s"), load_detector("yolov8n-pose-int8"))
    score, decisions = evaluate_stills(StillSmokingDecider(analyser), media / "images" / "smoking",
                                       media / "images" / "phone-negatives")
    missed = [n for n, hit in decisions.items() if not hit and n.startswith("Riswaldy")]
    false = [n for n, hit in decisions.items() if hit and "NEG" in n]
    return [
        "## Smoking rule on stills (per-frame evidence: cigarette on head/hand crops + hand-to-mouth cue)",
        "",
        "| positives (`images/smoking`) | negatives (`images/phone-negatives`) | precision | recall |",
        "|---|---|---|---|",
        f"| {score.positives} | {score.negatives} | {score.precision:.2f} | {score.recall:.2f} |",
        "",
        f"Missed: {', '.join(m[:30] for m in missed) or 'none'}. False alarms: {', '.join(f[:30] for f in false) or 'none'}.",
        "**Caveats**: 10 positives from two phone videos of two men in one alley, 3 negatives; the crop sizes",
        "and pads were chosen while looking at these same stills, so this is a sanity check, not a held-out",
        "measurement. The phone-at-the-ear negative raises the same hand-to-mouth cue (that is why the cue",
        "only adds 0.05). Nothing here shows a ceiling camera: at counter distance expect much lower recall",
        "until the detector is trained on such footage (`hallwatch models train`, on a GPU).",
        "",
    ]


def _seat_persons(dets: Detections, shape: tuple[int, int]) -> int:
    from edge import geometry as geo

    persons = dets.of_class("person").above(0.4)
    if not len(persons):
        return 0
    poly = geo.denormalize_polygon(SEAT_W01.tolist(), shape)
    return int(geo.points_in_polygon(geo.box_anchors(persons.xyxy, "center"), poly).sum())


def phone_presence_section(media: Path) -> list[str]:
    coco = load_detector("yolo11n-coco-int8")
    pose = load_detector("yolov8n-pose-int8")
    phone, person = class_ids(coco, "cell phone"), class_ids(coco, "person")
    lines = ["## Phone detection and seat presence on the counter and office media", "",
             "| media | frames | person found | phone, full frame | phone, + per-person crop pass |",
             "|---|---|---|---|---|"]
    counter = cv2.imread(str(next((media / "images" / "counter").glob("*.jpg"))))
    clips = [("images/counter still (2560x1936 overhead counter, clerk on phone)", [(0.0, counter)])]
    for name, fps in [("bwssytems_5977270-sd_640_360_25fps.mp4", 2), ("bwssytems_20250715_144536_9170ec05.mp4", 2),
                      ("bwssytems_NEG_4105024-sd_640_360_30fps.mp4", 1)]:
        clips.append((f"video/{name} @ {fps} fps", list(sample_video(media / "video" / name, fps))))
    for label, frames in clips:
        n = len(frames)
        persons = full_hits = crop_hits = 0
        for _, frame in frames:
            people = pose.detect([frame], conf=0.4)[0]
            if not len(people):
                people = coco.detect([frame], conf=0.25, classes=person)[0]
            persons += bool(len(people))
            full = coco.detect([frame], conf=0.25, classes=phone)[0]
            full_hits += bool(len(full))
            crops = detect_on_regions(coco, frame, people.xyxy, pad=PHONE_PADS, classes=phone) if len(people) else full
            crop_hits += bool(len(full) or len(crops))
        lines.append(f"| {label} | {n} | {_pct(persons, n)} | {_pct(full_hits, n)} | {_pct(crop_hits, n)} |")
    # seat presence on the one-by-one clip against by-eye intervals
    tp = fp = fn = tn = skipped = 0
    for t, frame in sample_video(media / "video" / "intel-iot-devkit_one-by-one-person-detection.mp4", 1):
        if any(abs(t - b) < BOUNDARY_S for iv in INTEL_PRESENT for b in iv):
            skipped += 1
            continue
        truth = any(a <= t <= b for a, b in INTEL_PRESENT)
        seen = _seat_persons(coco.detect([frame], conf=0.25)[0], frame.shape[:2]) > 0
        tp += truth and seen
        fp += seen and not truth
        fn += truth and not seen
        tn += not truth and not seen
    lines += [
        "",
        "Seat presence (`person` >= 0.4 with its box centre in the demo seat zone of cam-w01) on",
        "`video/intel-iot-devkit_one-by-one-person-detection.mp4` at 1 fps against by-eye intervals:",
        "",
        "| frames scored | skipped near changes | true pos. | false pos. | false neg. | true neg. | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
        (f"| {tp + fp + fn + tn} | {skipped} | {tp} | {fp} | {fn} | {tn} | "
         f"{tp / max(tp + fp, 1):.3f} | {tp / max(tp + fn, 1):.3f} |"),
        "",
        "Phone columns count frames with at least one `cell phone` >= 0.25 (no box-level labels: the clips",
        "show a phone in use throughout, except the NEG clip where it is held to the ear).",
        "The crop pass is what makes the overhead counter still work; on the close 640x360 clips the phone is",
        "already big and the crop pass adds little. **Weak**: the overhead portrait aisle clip (20250715_144536,",
        "phone held low in both hands, 1280x1936) yields no phone at all, full frame or crops. The crop pass",
        "also finds the phone held to the ear in about half the NEG frames: it *is* a phone, so `phone_use`",
        "must tell use from a call (e.g. phone position against the head keypoints), not rely on detection.",
        "Seat presence is perfect on this easy clip (one person at a time, full body, frontal light).",
        "",
    ]
    return lines


def sleeping_section(media: Path) -> list[str]:
    """Sleeping: no shared footage shows anyone asleep. We measure how often the posture test fires on awake people."""
    pose = load_detector("yolov8n-pose-int8")
    sources: list[tuple[str, list[np.ndarray]]] = []
    counter = cv2.imread(str(next((media / "images" / "counter").glob("*.jpg"))))
    sources.append(("counter still (clerk looking down at a phone)", [counter]))
    gif = cv2.VideoCapture(str(media / "images" / "counter" / "intel-iot-devkit_classroom.gif"))
    frames = []
    while True:
        ok, f = gif.read()
        if not ok:
            break
        frames.append(f)
    sources.append(("classroom GIF (4 seated people, awake)", frames[::5]))
    sources.append(("texting at a table (5977270, 1 fps)",
                    [f for _, f in sample_video(media / "video" / "bwssytems_5977270-sd_640_360_25fps.mp4", 1)]))
    lines = ["## Sleeping", "",
             "No shared clip shows a person asleep, so the rule's recall on real footage is **not measured**.",
             "The timing logic (posture + stillness for `min_s`, nods, waking, duty schedule) is covered by scripted",
             "pose sequences in `tests/test_sleeping_rule.py` (all pass). What real footage can show is how often",
             "the *posture* half fires on awake people — those frames become false alarms if the person also stays",
             "still for `min_s` (default 300 s):", "",
             "| real footage (awake people) | person-frames | head dropped | unknown (shoulders not seen) |",
             "|---|---|---|---|"]
    for label, imgs in sources:
        n = dropped = unknown = 0
        for img in imgs:
            people = pose.detect([img], conf=0.4)[0]
            for k, box in zip(people.keypoints if people.keypoints is not None else [], people.xyxy):
                n += 1
                verdict = head_dropped(k, box)
                dropped += verdict is True
                unknown += verdict is None
        lines.append(f"| {label} | {n} | {_pct(dropped, n)} | {_pct(unknown, n)} |")
    lines += ["", "**Weak where**: a clerk looking down at a phone or papers has the face close to the shoulder line",
              "(the texting clip: 40 % of frames 'head dropped'; and an overhead view flattens it further);",
              "only the stillness requirement (keypoint motion <= `max_motion` of the",
              "person's height for minutes) separates that from sleep. Footage of real naps under hall cameras is",
              "needed before this rule's numbers can be trusted.", ""]
    return lines


def build(media: Path) -> str:
    head = [
        "# Measured accuracy",
        "",
        f"Regenerated by `python -m models.accuracy` on {dt.date.today().isoformat()} from `../shared/media`",
        f"with the OpenVINO backend on {describe()}. Numbers are what the shared data supports — small, and mostly not",
        "hall footage — so read the caveats under each table.",
        "",
    ]
    parts = head + cigarette_section(media) + smoking_section(media) + phone_presence_section(media)
    return "\n".join(parts + sleeping_section(media))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    text = build(media_dir())
    Path(args.out).write_text(text, encoding="utf-8")
    if splice_readme(README, text):
        print(f"updated {README}", file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
