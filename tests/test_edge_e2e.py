"""End to end: the real yolo11n INT8 model on real footage through the agent's pipeline (``edge analyze``).

Media time 0 of each clip is replayed at Monday 2026-11-23 09:00 hall time (in service by the demo
schedule). Thresholds are shortened so the short public clips can trigger the rules; everything else
(sampling, detection, crop pass, rules, evidence, clips) is the production path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest

from edge.agent.analyze import AnalyzeResult, analyze
from edge.site import SiteConfig, load_site_config

pytestmark = pytest.mark.e2e

START = dt.datetime(2026, 11, 23, 9, 0)  # a Monday, hall-local, in service


@pytest.fixture(scope="module")
def detector(models_dir):
    from edge.detect.base import load_detector

    return load_detector("yolo11n-coco-int8", "openvino", models_dir)


def site(demo_config_path, **rules) -> SiteConfig:  # noqa: ANN001
    cfg = load_site_config(demo_config_path)
    updates = {name: getattr(cfg.rules, name).model_copy(update=vals) for name, vals in rules.items()}
    return cfg.model_copy(update={"rules": cfg.rules.model_copy(update=updates)})


def run(cfg: SiteConfig, camera: str, media: str, detector, tmp_path, **kw) -> AnalyzeResult:  # noqa: ANN001
    return analyze(cfg, camera, media, detector=detector, out_dir=tmp_path / "evidence",
                   start_at=START.replace(tzinfo=cfg.tz), **kw)


def media_s(cfg: SiteConfig, t: dt.datetime) -> float:
    return (t - START.replace(tzinfo=cfg.tz)).total_seconds()


def check_evidence(result: AnalyzeResult, tmp_path) -> dict[str, int]:  # noqa: ANN001
    """Every referenced file exists, has the referenced hash and size, and decodes. Returns kinds seen."""
    kinds: dict[str, int] = {}
    for m in result.messages:
        for ref in getattr(m, "evidence", []):
            path = tmp_path / "evidence" / "files" / ref.sha256[:2] / ref.sha256
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == ref.sha256 and len(data) == ref.size
            if ref.kind in ("snapshot", "frame"):
                img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                assert img is not None and img.shape[0] > 100, ref
            elif ref.kind == "clip":
                assert data[4:8] == b"ftyp" and data.find(b"moov") < data.find(b"mdat"), "faststart MP4"
                with av.open(str(path)) as c:
                    s = c.streams.video[0]
                    assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
                    frames = list(c.decode(video=0))
                assert len(frames) >= 5
                assert float(frames[-1].time) >= 2.0, "the clip spans real seconds"
            kinds[ref.kind] = kinds.get(ref.kind, 0) + 1
    return kinds


def test_window_unstaffed_opens_and_closes_on_one_by_one_clip(demo_config_path, media_dir, detector, tmp_path):
    """Intel 'one by one' clip at the counter: the table is empty 0-6.5 s and 43-50.5 s (by eye and by the
    model at 2 fps); with absent_s=5 and return_s=1 two episodes open and close at those times. Window 5's
    seat (the left of the same picture) is never staffed: one episode opens at the start and stays open."""
    cfg = site(demo_config_path, window_unstaffed={"absent_s": 5.0, "return_s": 1.0},
               phone_use={"enabled": False})
    r = run(cfg, "cam-w01", str(media_dir / "video/intel-iot-devkit_one-by-one-person-detection.mp4"), detector,
            tmp_path, max_seconds=56)
    everyone = r.findings("window_unstaffed")
    w05 = [m for m in everyone if m.window_id == "W05"]
    assert len(w05) == 1 and media_s(cfg, w05[0].started_at) == pytest.approx(0.0, abs=1.0)
    assert all(m.finding_id != w05[0].finding_id for m in r.findings("window_unstaffed", "finding.closed"))
    opened = [m for m in everyone if m.window_id != "W05"]
    closed = r.findings("window_unstaffed", "finding.closed")
    assert [m.window_id for m in opened] == ["W01", "W01"]
    assert [m.finding_id for m in closed] == [m.finding_id for m in opened]
    (o1, o2), (c1, c2) = opened, closed
    assert media_s(cfg, o1.started_at) == pytest.approx(0.0, abs=1.0)
    assert media_s(cfg, c1.ended_at) == pytest.approx(6.5, abs=1.0)
    assert media_s(cfg, o2.started_at) == pytest.approx(43.5, abs=1.0)
    assert media_s(cfg, c2.ended_at) == pytest.approx(51.0, abs=1.0)
    assert c2.duration_s == pytest.approx((c2.ended_at - o2.started_at).total_seconds(), abs=0.01)
    assert o1.staff_id == "S001" and o1.camera_id == "cam-w01"
    kinds = check_evidence(r, tmp_path)
    assert kinds == {"snapshot": 3, "frame": 3, "clip": 3}
    assert sorted((w["window_id"], w["state"]) for w in r.window_states) == [("W01", "staffed"), ("W05", "empty")]


def test_seat_presence_and_absence_on_chair_clip(demo_config_path, media_dir, detector, tmp_path):
    """coralFallacy1011 clip (phone video, rotated -90 in its metadata): chair empty ~0-0.9 s, a man sits
    and stands, leaves at ~9.8 s. At 10 fps with absent_s=0.5: the initial absence opens and closes when he
    sits; his leaving opens a second finding that stays open at the end of the clip."""
    cfg = site(demo_config_path, window_unstaffed={"absent_s": 0.5, "return_s": 0.3}, phone_use={"enabled": False})
    r = run(cfg, "cam-w02", str(media_dir / "video/coralFallacy1011_cctv_footage.mp4"), detector, tmp_path, fps=10)
    assert r.frames[0]["detections"] and all(f["zones"][0]["window"] == "W02" for f in r.frames)
    opened = r.findings("window_unstaffed")
    closed = r.findings("window_unstaffed", "finding.closed")
    assert len(opened) == 2 and len(closed) == 1 and closed[0].finding_id == opened[0].finding_id
    assert media_s(cfg, closed[0].ended_at) == pytest.approx(1.0, abs=0.5)
    assert media_s(cfg, opened[1].started_at) == pytest.approx(9.9, abs=0.6)
    assert r.window_states[0]["state"] == "empty"
    check_evidence(r, tmp_path)


def test_texting_clip_raises_phone_use(demo_config_path, media_dir, detector, tmp_path):
    cfg = site(demo_config_path, phone_use={"min_s": 3.0, "window_s": 5.0})
    r = run(cfg, "cam-w03", str(media_dir / "video/bwssytems_5977270-sd_640_360_25fps.mp4"), detector, tmp_path)
    opened = r.findings("phone_use")
    assert len(opened) == 1 and opened[0].window_id == "W03"
    assert 3.0 <= media_s(cfg, opened[0].started_at) + 3.0 <= 6.0
    kinds = check_evidence(r, tmp_path)
    assert kinds == {"snapshot": 1, "frame": 1, "clip": 1}


@pytest.mark.parametrize(
    "media, camera, max_seconds",
    [
        ("video/bwssytems_NEG_4105024-sd_640_360_30fps.mp4", "cam-w03", None),  # phone held to the ear
        ("video/intel-iot-devkit_one-by-one-person-detection.mp4", "cam-w03", 6.0),  # empty scene
        ("images/phone-negatives/bwssytems_NEG_3761652-sd_640_360_25fps_f000011.jpg", "cam-w03", None),
    ],
)
def test_negatives_raise_nothing(demo_config_path, media_dir, detector, tmp_path, media, camera, max_seconds):
    """Same short phone thresholds as the positive; a long absent_s so only phone/conduct rules could fire."""
    cfg = site(demo_config_path, phone_use={"min_s": 3.0, "window_s": 5.0}, window_unstaffed={"absent_s": 600})
    r = run(cfg, camera, str(media_dir / media), detector, tmp_path, max_seconds=max_seconds)
    assert r.frames, "frames were analysed"
    assert r.messages == []


def test_analyze_cli_prints_json(demo_config_path, media_dir, models_dir, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "edge", "analyze", "--config", str(demo_config_path), "--camera",
         "cam-w03", "--input", str(media_dir / "video/bwssytems_5977270-sd_640_360_25fps.mp4"), "--json",
         "--max-seconds", "1.2", "--start", "2026-11-23T09:00:00", "--out", str(tmp_path / "ev")],
        capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "HALLWATCH_MODELS_DIR": str(models_dir)},
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["frames"]) == 3
    assert data["frames"][0]["ts"].startswith("2026-11-23T01:00:00")  # 09:00 Shanghai
    assert any(d["label"] == "person" for d in data["frames"][0]["detections"])
    assert data["frames"][0]["zones"][0] == {"zone": "seat-w03", "kind": "seat", "window": "W03", "persons": 1,
                                             "phones": data["frames"][0]["zones"][0]["phones"]}
