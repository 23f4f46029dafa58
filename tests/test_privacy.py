"""Privacy masking: the public is pixelated/blurred in stored pictures, staff in their zones stay visible.

Unit tables on a textured picture with scripted boxes, the config, and an end-to-end check on a real office CCTV
frame with the real detector: the stored snapshot and frame have the person outside the staff zone masked (the
detail, measured as the variance of the Laplacian inside the box, collapses) and the clerk in the zone intact.
"""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from edge.detections import Detections
from edge.evidence.privacy import mask_boxes, mask_frames, public_boxes, staff_mask
from edge.evidence.writer import EvidenceWriter
from edge.site import PrivacyConfig, SiteConfig, ZoneConfig

NAMES = {0: "person", 56: "chair"}
TS = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def detail(image: np.ndarray, box) -> float:
    """Variance of the Laplacian of the grey picture inside a box: how much fine detail (a face, text) is left."""
    x1, y1, x2, y2 = (int(v) for v in box)
    grey = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image[y1:y2, x1:x2]
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def surviving(image: np.ndarray, reference: np.ndarray, box) -> float:
    """Correlation of the fine detail (Laplacian) inside a box with the reference's: ~1 when the picture there is
    the original, ~0 when what was there is gone (block edges of a pixelation are new detail, not the original's)."""
    x1, y1, x2, y2 = (int(v) for v in box)
    lap = [cv2.Laplacian(cv2.cvtColor(im[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).ravel()
           for im in (image, reference)]
    return float(np.corrcoef(lap[0], lap[1])[0, 1])


def texture(h: int = 200, w: int = 300) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def people(*boxes, conf=0.8, label=0) -> Detections:
    if not boxes:
        return Detections.empty(NAMES)
    return Detections(np.array(boxes, np.float32), np.full(len(boxes), conf, np.float32),
                      np.full(len(boxes), label, np.int32), NAMES)


def zone(kind: str, polygon, window: str | None = "W01") -> ZoneConfig:
    return ZoneConfig(id=f"z-{kind}", kind=kind, window=window, polygon=polygon)


LEFT = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
CLERK_BOX = (20, 20, 120, 180)  # in the left half
CITIZEN_BOX = (180, 40, 280, 190)  # in the right half


@pytest.mark.parametrize(
    "name, zones, dets, privacy, masked",
    [
        ("clerk in the staff zone kept, citizen masked", [zone("staff", LEFT)], people(CLERK_BOX, CITIZEN_BOX), {},
         [CITIZEN_BOX]),
        ("a seat zone protects the clerk too", [zone("seat", LEFT)], people(CLERK_BOX, CITIZEN_BOX), {},
         [CITIZEN_BOX]),
        ("a public zone protects nobody", [zone("public", LEFT, None)], people(CLERK_BOX), {}, [CLERK_BOX]),
        ("a counter zone is the desk top, not the clerk", [zone("counter", LEFT)], people(CLERK_BOX), {},
         [CLERK_BOX]),
        ("no zones: everyone is masked", [], people(CLERK_BOX, CITIZEN_BOX), {}, [CLERK_BOX, CITIZEN_BOX]),
        ("masking off for the camera", [], people(CITIZEN_BOX), {"mask_public": False}, []),
        ("weak person box below the threshold", [], people(CITIZEN_BOX, conf=0.1), {}, []),
        ("a chair is never masked", [], people(CITIZEN_BOX, label=56), {}, []),
    ],
)
def test_public_boxes(name, zones, dets, privacy, masked):
    boxes = public_boxes(dets, zones, (200, 300), PrivacyConfig(**privacy, margin=0))
    assert [tuple(int(v) for v in b) for b in boxes] == [tuple(b) for b in masked], name


def test_margin_grows_boxes_inside_the_picture():
    (box,) = public_boxes(people((250, 150, 300, 200)), [], (200, 300), PrivacyConfig(margin=0.2))
    assert tuple(box) == (240, 140, 300, 200)


@pytest.mark.parametrize("method", ["pixelate", "blur"])
def test_mask_boxes_destroys_detail_inside_and_nothing_outside(method):
    img = texture()
    out = mask_boxes(img, np.array([CITIZEN_BOX], np.float32), method)
    assert detail(out, CITIZEN_BOX) < 0.05 * detail(img, CITIZEN_BOX)
    x1, y1, x2, y2 = CITIZEN_BOX
    outside = np.ones(img.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    assert np.array_equal(out[outside], img[outside])
    assert np.array_equal(img, texture())  # the input is not touched


def test_mask_frames_pairs_each_frame_with_its_boxes():
    frames = [texture(), texture()]
    out = mask_frames(frames, [np.array([CLERK_BOX], np.float32), np.zeros((0, 4), np.float32)])
    assert detail(out[0], CLERK_BOX) < 0.05 * detail(frames[0], CLERK_BOX)
    assert np.array_equal(out[1], frames[1])
    with pytest.raises(ValueError, match="2 frames but 1"):
        mask_frames(frames, [np.zeros((0, 4))])


def test_staff_mask_uses_centre_or_half_the_box():
    poly = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
    boxes = np.array([[100, 0, 200, 100], [140, 0, 260, 100], [160, 0, 300, 100]], np.float32)
    assert staff_mask(boxes, [zone("staff", poly)], (100, 300)).tolist() == [True, False, False]


def test_camera_privacy_config():
    cfg = SiteConfig.model_validate({
        "hall": {"id": "t", "name": "t"}, "windows": [{"id": "W01", "number": 1, "name": "一"}],
        "cameras": [{"id": "c1", "name": "c", "source": "x.mp4"},
                    {"id": "c2", "name": "c", "source": "x.mp4", "privacy": {"mask_public": False, "method": "blur"}}],
    })
    assert cfg.cameras[0].privacy.mask_public and cfg.cameras[0].privacy.method == "pixelate"
    assert not cfg.cameras[1].privacy.mask_public
    with pytest.raises(ValueError, match="method"):
        PrivacyConfig(method="swirl")


class MemoryStore:
    def __init__(self) -> None:
        self.files: list[tuple[str, bytes]] = []

    def put_file(self, data, kind, content_type, captured_at=None):
        self.files.append((kind, data))
        import hashlib

        from edge.contract import EvidenceRef

        return EvidenceRef(sha256=hashlib.sha256(data).hexdigest(), kind=kind, content_type=content_type,
                           size=len(data), captured_at=captured_at)


def stored(store: MemoryStore, kind: str) -> np.ndarray:
    data = next(d for k, d in store.files if k == kind)
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


@pytest.mark.parametrize("camera_id, privacy, citizen_masked", [
    ("cam", {"cam": PrivacyConfig()}, True),
    ("other", {"cam": PrivacyConfig(mask_public=False)}, True),  # a camera without settings gets the defaults
    ("cam", {"cam": PrivacyConfig(mask_public=False)}, False),
])
def test_writer_masks_snapshot_and_frame(camera_id, privacy, citizen_masked):
    img = texture()
    store = MemoryStore()
    writer = EvidenceWriter(store, {}, privacy=privacy)
    writer.snapshot(img, TS, people(CLERK_BOX, CITIZEN_BOX), [zone("staff", LEFT)], ["t"], camera_id=camera_id)
    for kind in ("snapshot", "frame"):
        pic = stored(store, kind)
        inner = (CITIZEN_BOX[0] + 20, CITIZEN_BOX[1] + 20, CITIZEN_BOX[2] - 20, CITIZEN_BOX[3] - 20)
        ratio = detail(pic, inner) / detail(img, inner)
        assert (ratio < 0.1) == citizen_masked, (kind, ratio)
    assert writer.masked == (1 if citizen_masked else 0)


@pytest.mark.e2e
def test_real_cctv_snapshot_masks_the_public_and_keeps_the_clerk(media_dir, models_dir):
    """Office CCTV (pgplarosa, 1920x1080): the clerk at the right desk is in a staff zone; the person at the left
    desk stands for a citizen (no zone covers him). The real detector finds both."""
    from edge.detect.base import load_detector

    img = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))
    det = load_detector("yolo11n-coco-int8", models_dir=models_dir).detect([img], conf=0.25)[0]
    persons = sorted(det.of_class("person").above(0.3).xyxy.tolist())  # by x1
    assert len(persons) >= 2
    staff_zone = zone("staff", [[0.75, 0.35], [1, 0.35], [1, 0.95], [0.75, 0.95]])
    left, right = persons[0], persons[-1]
    assert left[2] < 0.5 * img.shape[1] and right[0] > 0.75 * img.shape[1]  # the left desk, the right desk
    store = MemoryStore()
    EvidenceWriter(store, {}).snapshot(img, TS, det, [staff_zone], ["privacy"], camera_id="cam")
    reference = cv2.imdecode(np.frombuffer(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])[1], np.uint8),
                             cv2.IMREAD_COLOR)
    frame = stored(store, "frame")
    assert surviving(frame, reference, left) < 0.2  # the citizen's picture is gone
    assert surviving(frame, reference, right) > 0.8  # the clerk is as in the original
    assert np.var(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[int(left[1]):int(left[3]), int(left[0]):int(left[2])]) < (
        np.var(cv2.cvtColor(reference, cv2.COLOR_BGR2GRAY)[int(left[1]):int(left[3]), int(left[0]):int(left[2])]))
    snap = stored(store, "snapshot")
    inner = (left[0] + 20, left[1] + 40, left[2] - 20, left[3] - 20)  # inside the drawn box outline and label
    assert surviving(snap, reference, inner) < 0.2


def test_box_history_unions_the_analysed_frames_around_a_time():
    from edge.evidence.privacy import BoxHistory

    hist = BoxHistory(keep_s=30, max_gap_s=5)
    t = [TS + dt.timedelta(seconds=s) for s in (0, 1, 2, 10, 40)]
    hist.add(t[0], np.array([CLERK_BOX], np.float32))
    hist.add(t[2], np.array([CITIZEN_BOX], np.float32))
    assert hist.boxes_at(t[1]).tolist() == [list(CLERK_BOX), list(CITIZEN_BOX)]  # between two: both
    assert hist.boxes_at(t[2]).tolist() == [list(CITIZEN_BOX)]
    assert hist.boxes_at(t[3]) is None  # 8 s from the last analysed frame: unknown
    hist.add(t[4], np.zeros((0, 4), np.float32))
    assert hist.boxes_at(t[0]) is None  # older than keep_s: forgotten
    assert len(hist.boxes_at(t[4])) == 0  # analysed, nobody outside the staff zones


def test_writer_clip_has_the_public_masked_frame_by_frame(tmp_path):
    import uuid

    import av

    from edge.capture.buffer import FrameRing
    from edge.outbox import Outbox

    store = Outbox(tmp_path)
    ring = FrameRing(30, fps=5)
    writer = EvidenceWriter(store, {"cam": ring}, clip_pre_s=1, clip_post_s=1, wait_slack_s=1e9)
    img = texture(240, 320)
    citizen = (200, 40, 300, 230)
    for i in range(15):  # 0 .. 2.8 s; every other frame analysed (as at a lower analysis rate)
        ts = TS + dt.timedelta(seconds=i * 0.2)
        ring.add(ts, img)
        if i % 2 == 0:
            writer.note_analysed("cam", ts, img.shape[:2], people(CLERK_BOX, citizen), [zone("staff", LEFT)])
    writer.request_clip(uuid.uuid4(), "chatting", "cam", TS + dt.timedelta(seconds=1.4))
    (clip,) = writer.poll(flush=True)
    with av.open(str(store.file_path(clip.ref.sha256))) as c:
        decoded = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    assert len(decoded) == clip.frames >= 10
    reference = [cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)]
    for frame in decoded:
        assert surviving(frame, img, (210, 50, 290, 220)) < 0.2  # the citizen, in every frame
        assert surviving(frame, reference[0], (30, 30, 110, 170)) > 0.5  # the clerk, through H.264
    store.stop()


def test_clip_frames_without_analysed_frames_nearby_are_masked_whole():
    from edge.evidence.privacy import BoxHistory, mask_clip_frames

    img = texture()
    (_, out), = mask_clip_frames([(TS, img)], BoxHistory(), PrivacyConfig())
    assert surviving(out, img, (0, 0, 300, 200)) < 0.2
    (_, same), = mask_clip_frames([(TS, img)], None, PrivacyConfig(mask_public=False))
    assert same is img


RIGHT = [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]
WAIT_BOX = (170, 30, 290, 190)  # inside the right half, the waiting area below


@pytest.mark.parametrize("name, zones, privacy, hidden, kept", [
    ("the waiting area is masked whole, the staff zone kept", [zone("staff", LEFT), zone("public", RIGHT, None)], {},
     [WAIT_BOX], [(20, 20, 130, 180)]),
    ("a seat zone inside the waiting area stays visible",
     [zone("public", [[0, 0], [1, 0], [1, 1], [0, 1]], None), zone("seat", LEFT)], {}, [WAIT_BOX],
     [(20, 20, 130, 180)]),
    ("an exit inside the waiting area stays visible (what blocks it is the evidence)",
     [zone("public", RIGHT, None), zone("exit", [[0.5, 0], [1, 0], [1, 0.4], [0.5, 0.4]], None)], {},
     [(170, 100, 290, 190)], [(170, 10, 290, 70)]),
    ("zone masking off: only person boxes", [zone("public", RIGHT, None)], {"mask_zones": []}, [],
     [WAIT_BOX]),
    ("masking off for the camera", [zone("public", RIGHT, None)], {"mask_public": False}, [], [WAIT_BOX]),
    ("a counter zone only when asked", [zone("counter", RIGHT)], {}, [], [WAIT_BOX]),
    ("a counter zone when asked", [zone("counter", RIGHT)], {"mask_zones": ["counter"]}, [WAIT_BOX], []),
])
def test_zones_masked_whole_hide_whom_the_detector_missed(name, zones, privacy, hidden, kept):
    from edge.evidence.privacy import mask_public

    img = texture()
    # nobody detected: a citizen the detector missed in the waiting area
    out, n = mask_public(img, people(), zones, PrivacyConfig(**privacy))
    assert n == 0
    for box in hidden:
        assert surviving(out, img, box) < 0.2, (name, box)
    for box in kept:
        assert surviving(out, img, box) > 0.99, (name, box)


def test_clip_frames_mask_the_waiting_area_in_every_frame():
    from edge.evidence.privacy import BoxHistory, mask_clip_frames

    img = texture()
    hist = BoxHistory()
    hist.add(TS, np.zeros((0, 4), np.float32))  # analysed: nobody found outside the staff zones
    zones = [zone("staff", LEFT), zone("public", RIGHT, None)]
    (_, out), = mask_clip_frames([(TS, img)], hist, PrivacyConfig(), zones)
    assert surviving(out, img, WAIT_BOX) < 0.2 and surviving(out, img, (20, 20, 130, 180)) > 0.99
    (_, same), = mask_clip_frames([(TS, img)], hist, PrivacyConfig(), [zone("staff", LEFT)])
    assert same is img  # nothing to mask: the frame as it was


def test_live_pictures_leave_the_edge_masked():
    from edge.agent.live import LiveUploader, masked_by_privacy

    img = texture()
    sent: list[bytes] = []

    class Http:
        def put(self, url, content, headers):  # noqa: ARG002
            sent.append(content)
            return type("R", (), {"status_code": 204, "headers": {}})()

    pic = type("P", (), {"ts": TS, "image": img, "detections": people(CITIZEN_BOX)})()
    cfg = SiteConfig.model_validate({
        "hall": {"id": "t", "name": "t"}, "windows": [{"id": "W01", "number": 1, "name": "一"}],
        "cameras": [{"id": "cam", "name": "c", "source": "x.mp4",
                     "zones": [{"id": "s", "kind": "staff", "window": "W01", "polygon": LEFT}]}],
    })
    up = LiveUploader(["cam"], lambda cam: pic, "http://server", None, max_width=300,
                      prepare=masked_by_privacy(cfg))
    assert up.push_once(Http()) == 1
    live = cv2.imdecode(np.frombuffer(sent[0], np.uint8), cv2.IMREAD_COLOR)
    inner = (CITIZEN_BOX[0] + 20, CITIZEN_BOX[1] + 20, CITIZEN_BOX[2] - 20, CITIZEN_BOX[3] - 20)
    assert detail(live, inner) < 0.1 * detail(img, inner)
