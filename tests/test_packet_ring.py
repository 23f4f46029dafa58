"""The record path: packets kept without decoding, clips cut by stream copy, stills on demand; the detect path
decodes only what sampling needs."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from fractions import Fraction

import av
import numpy as np
import pytest

from edge.capture.packets import PacketRing
from edge.capture.reader import CameraReader, StillSlot
from edge.capture.source import TimedPacket, VideoSource
from edge.detections import Detections
from edge.evidence.writer import EvidenceWriter, scale_detections
from edge.outbox import Outbox

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
CLIP = "video/bwssytems_5977270-sd_640_360_25fps.mp4"  # 640x360 H.264, 25 fps, 245 frames, keyframes every 76


def at(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def synthetic(n: int, fps: float = 25.0, gop: int = 50, size: int = 1000) -> list[TimedPacket]:
    return [TimedPacket(at(i / fps), i / fps, i / fps, av.Packet(bytes(size)), i % gop == 0) for i in range(n)]


@pytest.mark.parametrize(
    "seconds, max_bytes, n, oldest_min, oldest_max",
    [
        (5.0, 10**9, 500, 19.96 - 5 - 2, 19.96 - 5),  # whole 2 s GOPs: 5..7 s of history
        (10.0, 10**9, 500, 19.96 - 10 - 2, 19.96 - 10),
        (30.0, 10**9, 500, 0.0, 0.0),  # not full yet: everything since the first keyframe
        (30.0, 120_000, 500, 19.96 - 4.0, 19.96 - 2.0),  # bytes bound: 100 packets of 1000 B per GOP
    ],
)
def test_ring_keeps_whole_gops_covering_the_seconds(seconds, max_bytes, n, oldest_min, oldest_max):  # noqa: ANN001
    ring = PacketRing(seconds, max_bytes=max_bytes)
    for p in synthetic(n):
        ring.add(p)
    oldest = (ring.oldest_ts - T0).total_seconds()
    assert oldest_min - 1e-6 <= oldest <= oldest_max + 1e-6
    assert ring.newest_ts == at((n - 1) / 25)
    assert ring.nbytes() == len(ring) * 1000 and (max_bytes > 10**8 or ring.nbytes() <= max_bytes)


def test_ring_drops_packets_before_the_first_keyframe():
    ring = PacketRing(10)
    for p in synthetic(60)[10:]:  # starts mid-GOP: the keyframe at 2 s is the first usable packet
        ring.add(p)
    assert ring.dropped_before_key == 40 and ring.oldest_ts == at(2.0) and len(ring) == 10


def _record(media_dir, **kw) -> tuple[CameraReader, PacketRing]:  # noqa: ANN001
    ring = PacketRing(60)
    r = CameraReader("cam", str(media_dir / CLIP), 2.0, None, detect=False, packets=ring, realtime=False,
                     start_at=T0, **kw)
    r.run()
    return r, ring


def test_record_input_is_not_decoded_and_clips_are_stream_copies(media_dir):
    r, ring = _record(media_dir)
    assert r.state == "ended" and r.counters["decoded"] == 0 and r.counters["packets"] == 245 and len(ring) == 245
    clip = ring.cut(at(4.0), at(8.0))
    assert clip is not None
    assert clip.start == at(76 / 25) and clip.start <= at(4.0), "starts at the keyframe before the pre-roll"
    assert clip.end <= at(8.0) and clip.seconds == pytest.approx(8.0 - 76 / 25, abs=0.15)
    assert (clip.width, clip.height, clip.codec) == (640, 360, "h264")
    data = clip.data
    assert data.find(b"moov") < data.find(b"mdat"), "faststart: the index comes first"
    with av.open(io.BytesIO(data)) as out, av.open(str(media_dir / CLIP)) as src:
        st = out.streams.video[0]
        assert (st.codec_context.name, st.width, st.height) == ("h264", 640, 360)
        copied = [bytes(p) for p in out.demux(st) if p.size]
        original = [bytes(p) for p in src.demux(video=0) if p.size][76:76 + len(copied)]
        assert len(copied) == clip.frames and copied == original, "packets copied byte for byte (no re-encode)"
    with av.open(io.BytesIO(data)) as out:
        frames = list(out.decode(video=0))
        assert len(frames) == clip.frames and frames[0].key_frame
        assert float(frames[-1].time - frames[0].time) == pytest.approx(clip.seconds, abs=0.05)


def test_still_on_demand_matches_the_decoded_frame(media_dir):
    _, ring = _record(media_dir)
    with VideoSource(str(media_dir / CLIP), realtime=False, start_at=T0) as src:
        want = next(raw for raw in src.frames() if raw.ts >= at(5.0))
        want_img = want.image()
    ts, img = ring.picture_at(want.ts)
    assert ts == want.ts and img.shape == (360, 640, 3)
    assert float(np.abs(img.astype(np.int16) - want_img).mean()) < 1.0
    assert ring.picture_at(at(-5)) is not None, "before the ring: its first picture"


@pytest.mark.parametrize("fps, key_only", [(2.0, False), (0.25, True)])
def test_detect_decodes_keyframes_only_when_sampling_allows(media_dir, fps, key_only):  # noqa: ANN001
    got = []
    r = CameraReader("cam", str(media_dir / CLIP), fps, got.append, realtime=False, start_at=T0)
    r.run()
    assert r.keyframes_only is key_only
    if key_only:  # two GOPs are decoded until the keyframe interval is known; afterwards keyframes only
        assert r.counters["decoded"] <= 2 * 76 + 4 and len(got) >= 2
    else:
        assert r.counters["decoded"] == 245 and len(got) == pytest.approx(245 / 25 * fps, abs=1)
    assert r.counters["sampled"] == len(got)


def test_detect_width_scales_while_converting(media_dir):
    got = []
    CameraReader("cam", str(media_dir / CLIP), 2.0, got.append, realtime=False, start_at=T0,
                 detect_width=320).run()
    assert got and all(f.image.shape == (180, 320, 3) for f in got)


def test_stills_input_decodes_keyframes_only(media_dir):
    slot = StillSlot()
    r = CameraReader("cam", str(media_dir / CLIP), 2.0, None, detect=False, stills=slot, realtime=False,
                     start_at=T0)
    r.run()
    assert r.counters["decoded"] == 4  # keyframes at 0, 76, 152, 228
    ts, img = slot.picture()
    assert ts == at(228 / 25) and img.shape == (360, 640, 3)


@pytest.mark.parametrize(
    "sx, sy, box, kp",
    [(1.0, 1.0, [10, 20, 30, 40], [5, 6]), (3.0, 3.0, [10, 20, 30, 40], [15, 18]), (2.0, 4.0, [1, 1, 2, 2], [10, 24])],
)
def test_scale_detections(sx, sy, box, kp):  # noqa: ANN001
    d = Detections(np.array([[10, 20, 30, 40]], np.float32), np.array([0.9], np.float32), np.array([0], np.int32),
                   {0: "person"}, np.array([[[5, 6, 1.0]]], np.float32))
    s = scale_detections(d, sx, sy)
    assert s.xyxy[0].tolist() == [10 * sx, 20 * sy, 30 * sx, 40 * sy] and s.keypoints[0, 0, :2].tolist() == kp
    assert s.confidence.tolist() == d.confidence.tolist() and s.names == d.names


def test_writer_cuts_clips_from_the_packet_ring_and_snapshots_at_still_resolution(media_dir, tmp_path):
    _, ring = _record(media_dir)
    store = Outbox(tmp_path)
    writer = EvidenceWriter(store, {"cam": ring}, clip_pre_s=2, clip_post_s=3, wait_slack_s=1e9,
                            stills={"cam": ring.picture_at})
    fid = uuid.uuid4()
    assert writer.request_clip(fid, "x", "cam", at(5.0))
    (clip,) = writer.poll()
    assert clip.finding_id == fid and clip.ref.content_type == "video/mp4"
    assert clip.seconds == pytest.approx(8.0, abs=0.15), "pre-roll from 0 s: the keyframe at 3.04 s is after 3.0 s"
    assert clip.ref.captured_at <= at(5.0 - 2), "pre-roll at least clip_pre_s"
    small = np.zeros((180, 320, 3), np.uint8)
    det = Detections(np.array([[10, 10, 50, 90]], np.float32), np.array([0.9], np.float32),
                     np.array([0], np.int32), {0: "person"})
    snap, frame = writer.snapshot(small, at(5.0), det, camera_id="cam")
    assert frame.kind == "frame"
    import cv2

    assert cv2.imread(str(store.file_path(frame.sha256))).shape == (360, 640, 3), "the still, not the small picture"
    assert cv2.imread(str(store.file_path(snap.sha256))).shape == (360, 640, 3)
    store.stop()


def test_stopping_readers_mid_read_is_safe(media_dir):
    """stop() leaves the container to the reader thread (closing it under a read crashed the process)."""
    from tests.test_outbox import wait_until

    for _ in range(3):
        readers = [CameraReader(f"cam{i}", str(media_dir / CLIP), 2.0, lambda f: None, packets=PacketRing(5),
                                loop=True, realtime=False, start_at=T0).start() for i in range(4)]
        assert wait_until(lambda rs=readers: all(r.counters["decoded"] > 20 for r in rs), 60)
        for r in readers:
            r.stop()
        assert not any(r.alive() for r in readers) and all(r.state == "stopped" for r in readers)
        assert not any(r.counters["errors"] for r in readers)


@pytest.mark.parametrize("moment_s, expect_clip", [(-20.0, True), (-90.0, False)])
def test_a_record_input_that_started_after_the_clips_window_still_gives_a_clip(media_dir, tmp_path, moment_s,
                                                                                expect_clip):
    """A finding at the agent's first frames while the main stream connects seconds later: the clip is as long,
    from the record input's first keyframe (its own start time says so); much later than LATE_START_S, none."""
    from edge.evidence.writer import LATE_START_S

    _, ring = _record(media_dir)  # the ring begins at T0
    assert moment_s + 3 < 0 and (-moment_s - 3 > LATE_START_S) != expect_clip
    store = Outbox(tmp_path)
    writer = EvidenceWriter(store, {"cam": ring}, clip_pre_s=2, clip_post_s=3, wait_slack_s=0)
    assert writer.request_clip(uuid.uuid4(), "window_unstaffed", "cam", at(moment_s))
    clips = writer.poll()
    if expect_clip:
        (clip,) = clips
        assert clip.ref.captured_at == T0, "from the record input's first keyframe"
        assert 5.0 - 0.2 <= clip.seconds <= 5.0 + 76 / 25, clip.seconds  # the window's length (first to last frame)
    else:
        assert clips == [] and writer.pending_clips == 0
    store.stop()


def test_a_clip_waits_for_a_record_input_that_has_not_started(tmp_path):
    """Nothing recorded yet at the deadline: the request waits (up to LATE_START_S more) instead of giving up."""
    ring = PacketRing(30)
    store = Outbox(tmp_path)
    writer = EvidenceWriter(store, {"cam": ring}, clip_pre_s=1, clip_post_s=1, wait_slack_s=0)
    writer.request_clip(uuid.uuid4(), "window_unstaffed", "cam", at(0.0))
    assert writer.poll() == [] and writer.pending_clips == 1
    assert writer.poll(flush=True) == [] and writer.pending_clips == 0  # flushing gives up (nothing to cut)
    store.stop()


def test_variable_gop_keeps_decoding_every_frame(media_dir, tmp_path):
    """A camera with a variable GOP (keyframes inserted at scene changes, as "smart" codecs do) sampled at 2 fps:
    a few keyframes a frame apart must not switch the decoder to keyframes only (sampling would fall to the
    keyframe rate)."""
    path = tmp_path / "vgop.mp4"
    keys = {0, 1, 50, 51, 100, 150, 151, 200}  # 25 fps: long intervals of 2 s, short ones of 0.04 s
    with av.open(str(media_dir / CLIP)) as src, av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=25, options={"g": "250", "keyint_min": "250", "sc_threshold": "0",
                                                         "bf": "0"})
        st.width, st.height, st.pix_fmt = 640, 360, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            f = frame.reformat(format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, 25)
            f.pict_type = av.video.frame.PictureType.I if i in keys else av.video.frame.PictureType.NONE
            out.mux(st.encode(f))
        out.mux(st.encode(None))
    with av.open(str(path)) as c:
        got_keys = [i for i, p in enumerate(q for q in c.demux(video=0) if q.size) if p.is_keyframe]
    assert got_keys == sorted(keys), "the test clip has the keyframes it was made with"
    got = []
    r = CameraReader("cam", str(path), 2.0, got.append, realtime=False, start_at=T0)
    r.run()
    assert r.counters["decoded"] == 245 and not r.keyframes_only
    assert len(got) == pytest.approx(245 / 25 * 2.0, abs=1)


def test_a_masked_clip_is_decoded_masked_and_encoded_frame_by_frame(media_dir, tmp_path, monkeypatch):
    """A clip whose public must be masked is decoded, masked and re-encoded one frame at a time: each frame is
    encoded before the frame three places later is decoded, so the writer holds a few frames, not the clip (17 s of
    a 1080p main stream decoded whole was 2.5 GB of resident memory, transiently, per finding). With no analysed
    frame near, every frame is masked whole; the clip keeps its frames and its span."""
    from edge.evidence import clip as clip_module
    from edge.evidence import writer as writer_module
    from edge.site import PrivacyConfig

    _, ring = _record(media_dir)
    order: list[tuple[str, int]] = []
    frames_of, from_ndarray = writer_module.mp4_frames, clip_module.av.VideoFrame.from_ndarray

    def decoded(data, start):  # noqa: ANN001, ANN202
        for item in frames_of(data, start):
            order.append(("decoded", sum(k == "decoded" for k, _ in order)))
            yield item

    def encoded(array, format):  # noqa: A002, ANN001, ANN202
        order.append(("encoded", sum(k == "encoded" for k, _ in order)))
        return from_ndarray(array, format=format)

    monkeypatch.setattr(writer_module, "mp4_frames", decoded)
    monkeypatch.setattr(clip_module.av.VideoFrame, "from_ndarray", encoded)
    store = Outbox(tmp_path)
    writer = EvidenceWriter(store, {"cam": ring}, clip_pre_s=2, clip_post_s=3, wait_slack_s=1e9,
                            privacy={"cam": PrivacyConfig(mask_public=True)})
    assert writer.request_clip(uuid.uuid4(), "x", "cam", at(5.0))
    (clip,) = writer.poll()
    monkeypatch.undo()
    n = sum(k == "decoded" for k, _ in order)
    assert n == clip.frames > 150 and sum(k == "encoded" for k, _ in order) == n  # 0 s to 8 s at 25 fps
    assert clip.seconds == pytest.approx(8.0, abs=0.15)
    for i in range(n - 3):
        assert order.index(("encoded", i)) < order.index(("decoded", i + 3)), order[:20]
    with av.open(str(store.file_path(clip.ref.sha256))) as c:
        assert sum(1 for _ in c.decode(video=0)) == n, "re-encoded: every frame of the stream copy"
    store.stop()
