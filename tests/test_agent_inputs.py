"""A live agent on a camera with two inputs: analysis on a small substream, evidence from the main stream
(snapshots at its resolution, clips by stream copy from its packet ring), and the heartbeat's accelerators."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from edge.site import SiteConfig
from tests.conftest import free_port
from tests.test_agent import Collector
from tests.test_outbox import UploadReceiver, wait_until

MAIN = "video/bwssytems_5977270-sd_640_360_25fps.mp4"  # 640x360 H.264 25 fps


def substream(src: Path, out: Path, size: tuple[int, int] = (320, 180)) -> Path:
    """The clip re-encoded small, as a camera's second stream."""
    with av.open(str(src)) as inp, av.open(str(out), "w", format="mp4") as dst:
        st = dst.add_stream("libx264", rate=25)
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        st.options = {"preset": "ultrafast", "x264-params": "keyint=50:bframes=0"}
        for i, frame in enumerate(inp.decode(video=0)):
            f = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in st.encode(f):
                dst.mux(p)
        for p in st.encode(None):
            dst.mux(p)
    return out


@pytest.mark.e2e
def test_agent_analyses_the_substream_and_keeps_main_stream_evidence(mqtt_broker, topic_prefix, media_dir,
                                                                      models_dir, tmp_path):
    from edge.agent.runtime import EdgeAgent

    sub = substream(media_dir / MAIN, tmp_path / "sub.mp4")
    port = free_port()
    server = UploadReceiver(port)
    server.start()
    cfg = SiteConfig.model_validate({
        "hall": {"id": "hall-i", "name": "测试大厅"},
        "schedule": {"workdays": [0, 1, 2, 3, 4, 5, 6], "sessions": ["00:00-23:59"]},
        "windows": [{"id": "W01", "number": 1, "name": "综合"}],
        "cameras": [{"id": "cam-1", "name": "two inputs", "fps": 2, "loop": True,
                     "inputs": [{"path": str(sub), "roles": ["detect"]},
                                {"path": str(media_dir / MAIN), "roles": ["record", "stills"]}],
                     "zones": [{"id": "seat-1", "kind": "seat", "window": "W01",  # a corner nobody sits in (textured: a flat
                                # or dark seat is uncertain, never empty)
                                "polygon": [[0.0, 0.85], [0.12, 0.85], [0.12, 1.0], [0.0, 1.0]]}]}],
        "rules": {"window_unstaffed": {"absent_s": 2}, "phone_use": {"enabled": False}},
        "mqtt": {"host": mqtt_broker.host, "port": mqtt_broker.port, "topic_prefix": topic_prefix},
        "edge": {"id": "edge-i", "server_url": f"http://127.0.0.1:{port}", "data_dir": str(tmp_path / "edge"),
                 # clip_post_s 5: on a loaded machine the record input may start seconds after the detect input,
                 # and this seat is empty from the first frame (the finding's moment)
                 "models_dir": str(models_dir), "heartbeat_s": 1, "clip_pre_s": 3, "clip_post_s": 5},
    })
    col = Collector(mqtt_broker.host, mqtt_broker.port, topic_prefix)
    agent = EdgeAgent(cfg, sensors=False)
    agent.start()
    try:
        def opened() -> list[dict]:
            return [f for f in col.of("finding.opened") if f["rule"] == "window_unstaffed"]

        assert wait_until(opened, 90), col.of("finding.opened")
        finding = opened()[0]
        refs = {e["kind"]: e for e in finding["evidence"]}
        assert {"snapshot", "frame"} <= set(refs)

        def clip_ref() -> dict | None:
            for u in col.of("finding.updated"):
                if u["finding_id"] == finding["finding_id"]:
                    return next((e for e in u["evidence"] if e["kind"] == "clip"), None)
            return None

        assert wait_until(clip_ref, 60), col.of("finding.updated")
        clip = clip_ref()
        assert wait_until(lambda: {refs["frame"]["sha256"], clip["sha256"]} <= set(server.files), 30)

        frame = cv2.imdecode(np.frombuffer(server.files[refs["frame"]["sha256"]], np.uint8), cv2.IMREAD_COLOR)
        assert frame.shape == (360, 640, 3), "the snapshot comes from the main stream, not the 320x180 substream"
        with av.open(io.BytesIO(server.files[clip["sha256"]])) as c:
            st = c.streams.video[0]
            assert (st.codec_context.name, st.width, st.height) == ("h264", 640, 360)
            frames = list(c.decode(st))
        # the finding's moment is when the seat became empty (the first frames): the clip runs from the ring's
        # first keyframe to 5 s (clip_post_s) after the moment, at least 2 s of it
        assert frames[0].key_frame and float(frames[-1].time - frames[0].time) >= 1.9

        detect, (record,) = agent.readers["cam-1"], agent.aux_readers
        assert detect.size == (320, 180) and record.size == (640, 360)
        assert record.counters["packets"] > 0 and record.counters["decoded"] == 0, "the main stream is not decoded"
        hb = col.of("edge.heartbeat")[-1]
        assert hb["accel"]["device"] == "CPU" and hb["accel"]["hwaccel"] == "none"
    finally:
        agent.stop()
        col.close()
        server.stop()
