"""Detection for the edge pipeline: one ``Detector`` interface, two backends, region passes, smoking analysis.

Stable API (what the edge agent calls)::

    from edge.detect import load_detector, detect_on_regions, class_ids, SmokingAnalyser, PHONE_PADS

    load_detector(name_or_path, backend="openvino" | "ultralytics", models_dir=None, verify=False,
                  **options) -> Detector
        name: a manifest in models/manifests (yolo11n-coco-int8, yolov8n-pose-int8, cigarette-yolov8s, …)
        or a path (OpenVINO IR folder/.xml; for ultralytics also .pt/.onnx). options: device=, batch=
        (openvino: None = try a dynamic batch, else batch 1 + async queue), imgsz=.

    Detector.detect(frames: list[np.ndarray], conf=0.25, iou=0.45, classes: list[int] | None = None)
        -> list[Detections]          # one per frame; xyxy in source-frame pixels; pose adds keypoints (N,17,3)
    Detector.names: dict[int, str]; Detector.task: "detect" | "pose"; Detector.input_size: (w, h)

    class_ids(detector, "person", "cell phone") -> list[int]

    detect_on_regions(detector, frame, regions_xyxy, pad=0.15 | (pads…), classes=None, conf=0.25, iou=0.45)
        -> Detections                # padded square crop per region, one batch, mapped back + merged by NMS
        Phones: regions = person boxes, pad=PHONE_PADS, classes=class_ids(coco, "cell phone").

    HandAnalyser(coco_detector, pose_detector=None).analyse(frame, pose, people=None) -> Detections
        # COCO (phone and its look-alikes) on full-resolution squares around the hands of the given pose persons;
        # pose_of(frame, boxes) runs the pose model on padded crops (the seat regions). Fills small_objects.

    SmokingAnalyser(cigarette_detector, pose_detector=None, conf=0.2).analyse(frame, pose=None, seated=None)
        -> (pose: Detections, cigarettes: Detections)   # fill FrameContext.pose / FrameContext.cigarettes
        Cost: one yolov8s pass per head/hand crop (~40 ms each on 2 cores, 90-180 ms per person-frame, see
        bench/detector_crops.py): run it at <= 1 fps per camera and only on frames with people; the
        smoking rule tolerates 5 s gaps. Pass the pose you already computed for sleeping to avoid a 2nd pass.

    Rules (edge.rules): SmokingRule(cfg) / SleepingRule(cfg) are FrameRules; SmokingRule.note_smoke(camera_id,
    ts, sensor_id) is the smoke-sensor fusion seam (call it when a smoke sensor near that camera alarms).

The OpenVINO backend needs only ``openvino`` + OpenCV + numpy; the ultralytics backend needs the
``ultralytics`` extra (torch).
"""

from edge.detect.base import Detector, class_ids, load_detector
from edge.detect.hands import HandAnalyser
from edge.detect.regions import PHONE_PADS, detect_on_regions, square_region
from edge.detect.smoking import SmokingAnalyser

__all__ = [
    "PHONE_PADS",
    "Detector",
    "HandAnalyser",
    "SmokingAnalyser",
    "class_ids",
    "detect_on_regions",
    "load_detector",
    "square_region",
]
