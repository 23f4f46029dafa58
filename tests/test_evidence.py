"""Evidence: H.264 MP4 clips that browsers play, annotated snapshots, clips finished from the ring buffer."""

from __future__ import annotations

import datetime as dt

import av
import cv2
import numpy as np
import pytest

from edge.capture.buffer import FrameRing
from edge.detections import Detections
from edge.evidence import EvidenceWriter, annotate, encode_mp4, pick_encoder
from edge.outbox import Outbox, sha256_file
from edge.site import ZoneConfig

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)


def at(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def picture(i: int, h: int = 120, w: int = 160) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    cv2.circle(img, (10 + 7 * i % (w - 20), h // 2), 8, (0, 255, 255), -1)
    return img


def test_pyav_has_an_h264_encoder():
    assert pick_encoder() == "libx264"  # the PyAV wheel ships libx264 (GPL build)


@pytest.mark.parametrize(
    "times, size",
    [
        ([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], (120, 160)),
        ([0.0, 0.2, 0.9, 1.0, 3.3, 3.4, 5.0], (121, 161)),  # irregular times, odd size
        ([0.0, 0.04, 0.08, 0.12], (480, 848)),
    ],
)
def test_clip_is_h264_yuv420p_faststart_with_true_timing(tmp_path, times, size):  # noqa: ANN001
    path = encode_mp4([(at(t), picture(i, *size)) for i, t in enumerate(times)], tmp_path / "c.mp4")
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and 0 < data.find(b"moov") < data.find(b"mdat")
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (s.codec_context.height, s.codec_context.width) == (size[0] // 2 * 2, size[1] // 2 * 2)
        decoded = [float(f.time) for f in c.decode(video=0)]
    assert decoded == pytest.approx(times, abs=0.002)


def test_clip_needs_frames(tmp_path):
    with pytest.raises(ValueError):
        encode_mp4([], tmp_path / "x.mp4")


ZONES = [ZoneConfig(id="seat-1", kind="seat", window="W01", polygon=[(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)]),
         ZoneConfig(id="exit-1", kind="exit", polygon=[(0.7, 0.7), (1.0, 0.7), (1.0, 1.0)])]


@pytest.mark.parametrize("caption", [["window_unstaffed W01"], ["空岗 1号窗口 农林水服务"], []])
def test_annotate_draws_zones_boxes_and_caption(caption):  # noqa: ANN001
    img = np.full((360, 640, 3), 128, np.uint8)
    dets = Detections(np.array([[300, 100, 400, 300]], np.float32), np.array([0.9], np.float32),
                      np.array([0], np.int32), {0: "person"})
    out = annotate(img, dets, ZONES, caption, at(0))
    assert out.shape == img.shape and not np.array_equal(out, img)
    assert (out[100, 300:400] != 128).any(), "box edge drawn"
    assert (out[90:200, 150] != 128).any(), "seat zone tinted"
    assert np.array_equal(img, np.full((360, 640, 3), 128, np.uint8)), "input untouched"


def test_writer_snapshot_and_clip_from_ring(tmp_path):
    store = Outbox(tmp_path)
    ring = FrameRing(30, fps=5)
    writer = EvidenceWriter(store, {"cam": ring}, clip_pre_s=2, clip_post_s=3, wait_slack_s=1e9)
    for i in range(25):  # 0 .. 4.8 s
        ring.add(at(i * 0.2), picture(i))
    refs = writer.snapshot(picture(0), at(4), None, ZONES, ["test"])
    assert [r.kind for r in refs] == ["snapshot", "frame"]
    for r in refs:
        assert sha256_file(store.file_path(r.sha256)) == r.sha256
    import uuid

    fid = uuid.uuid4()
    assert writer.request_clip(fid, "phone_use", "cam", at(3.0))
    assert not writer.request_clip(fid, "phone_use", "no-such-camera", at(3.0))
    assert writer.poll() == [], "post-roll (until 6 s) not recorded yet"
    for i in range(25, 35):  # up to 6.8 s
        ring.add(at(i * 0.2), picture(i))
    (clip,) = writer.poll()
    assert clip.finding_id == fid and clip.ref.kind == "clip" and clip.ref.content_type == "video/mp4"
    assert clip.frames == 26 and clip.seconds == pytest.approx(5.0)  # 1.0 .. 6.0 s
    assert clip.ref.captured_at == at(1.0)
    assert writer.pending_clips == 0
    store.stop()


def test_writer_flush_encodes_what_exists(tmp_path):
    import uuid

    store = Outbox(tmp_path)
    ring = FrameRing(30, fps=5)
    writer = EvidenceWriter(store, {"cam": ring}, clip_pre_s=2, clip_post_s=10, wait_slack_s=1e9)
    for i in range(10):
        ring.add(at(i * 0.2), picture(i))
    writer.request_clip(uuid.uuid4(), "x", "cam", at(1.0))
    assert writer.poll() == []
    (clip,) = writer.poll(flush=True)
    assert clip.frames == 10
    store.stop()
