"""End-to-end seat decisions: the real detector and pose model (OpenVINO INT8) on real shared stills and a clip,
through the agent's pipeline (full frame + seat regions) and ``hallwatch edge calibrate`` / ``edge analyze``.

Margins are states (staffed / empty / uncertain), not scores.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import cv2
import pytest

from edge.agent.calibrate import calibrate, seat_decisions
from edge.paths import PROJECT_ROOT
from edge.rules.window_unstaffed import WindowUnstaffedRule
from edge.seats import ReferenceStore
from edge.site import load_site_config

pytestmark = pytest.mark.e2e
LIB = PROJECT_ROOT / "configs" / "seats" / "library.yaml"
OFFICE = PROJECT_ROOT / "configs" / "seats" / "office.yaml"


@pytest.fixture(scope="module")
def models(models_dir):
    from edge.detect.base import load_detector
    from edge.detect.hands import POSE_MODEL

    return load_detector("yolo11n-coco-int8", models_dir=models_dir), load_detector(POSE_MODEL, models_dir=models_dir)


def still(media_dir, n: int):
    img = cv2.imread(str(media_dir / "images" / "desks" / f"vincenttanujaya08_library_image{n}.jpg"))
    assert img is not None
    return img


def test_calibrate_then_decide_library_stills(media_dir, models, tmp_path):
    """Mark the empty library seats (still 1), then: a student at b3 (still 2) is staffed, the seats with a book or
    a phone left on the desk (still 3) are empty, and the seats hidden by a passer-by (still 4) are not empty."""
    detector, pose = models
    cfg = load_site_config(LIB)
    store = ReferenceStore(tmp_path / "refs")
    src = media_dir / "images" / "desks" / "vincenttanujaya08_library_image1.jpg"
    res = calibrate(cfg, "lib", str(src), detector=detector, pose=pose, out_dir=tmp_path / "sheet", mark_empty=True,
                    store=store)
    assert sorted(res.marked) == ["seat-a1", "seat-a2", "seat-a3", "seat-b1", "seat-b2", "seat-b3"]
    assert (tmp_path / "sheet" / "calibrate-lib.png").stat().st_size > 10_000
    assert "seat-b3" in (tmp_path / "sheet" / "calibrate-lib.html").read_text(encoding="utf-8")
    assert {d.state for d in res.decisions} == {"empty"}

    reloaded = ReferenceStore(tmp_path / "refs")  # what the agent reads on restart
    states = {d.zone_id: d for d in seat_decisions(cfg, "lib", still(media_dir, 2), detector, pose, reloaded)}
    assert states["seat-b3"].state == "staffed"
    assert states["seat-b3"].person_conf >= 0.5 and states["seat-b3"].pose_points >= 2
    assert [z for z, d in states.items() if d.state == "staffed"] == ["seat-b3"]

    left = {d.zone_id: d.state for d in seat_decisions(cfg, "lib", still(media_dir, 3), detector, pose, reloaded)}
    assert set(left.values()) == {"empty"}, left  # belongings stay, nobody sits

    blocked = {d.zone_id: d for d in seat_decisions(cfg, "lib", still(media_dir, 4), detector, pose, reloaded)}
    assert blocked["seat-a1"].state == "uncertain" and blocked["seat-a1"].reason == "blocked"
    assert blocked["seat-b3"].state == "empty"


def test_seat_region_pass_finds_every_office_clerk(media_dir, models):
    """Office CCTV at 1920x1080: three clerks at their desks, station 3 empty. The full-frame pass alone misses the
    clerk seen from behind (models/ACCURACY.md, stills); with seat regions and pose every occupied seat is staffed."""
    detector, pose = models
    cfg = load_site_config(OFFICE)
    img = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))
    with_regions = {d.zone_id: d.state for d in seat_decisions(cfg, "cam5", img, detector, pose, ReferenceStore(None))}
    assert with_regions == {"seat-st1": "staffed", "seat-st2": "staffed", "seat-st3": "empty", "seat-st4": "staffed"}


def test_a_capped_seat_region_pass_on_a_substream_keeps_the_office_decisions(media_dir, models, monkeypatch):
    """The office still scaled to a 640x360 substream: with ``seats.region_max_upscale: 1.4`` its seat regions run
    at a smaller input than 640x640 and every seat keeps the uncapped decision (bench/seat_upscale.py measures the
    labelled seats)."""
    from edge.agent.pipeline import FramePipeline

    detector, pose = models
    cfg = load_site_config(OFFICE)
    capped = cfg.model_copy(update={"seats": cfg.seats.model_copy(update={"region_max_upscale": 1.4})})
    img = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))
    small = cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA)
    squares = FramePipeline(capped, detector, pose=pose, phone_pass=False).seat_squares("cam5", small.shape)
    sizes = {pose.input_for(small[y1:y2, x1:x2], 1.4) for x1, y1, x2, y2 in squares}
    assert squares and (640, 640) not in sizes, sizes
    base = {d.zone_id: d.state for d in seat_decisions(cfg, "cam5", small, detector, pose, ReferenceStore(None))}
    caps: list[float | None] = []
    detect = pose.detect

    def recording(frames, *args, **kwargs):
        caps.append(kwargs.get("max_upscale"))
        return detect(frames, *args, **kwargs)

    monkeypatch.setattr(pose, "detect", recording)
    cap = {d.zone_id: d.state for d in seat_decisions(capped, "cam5", small, detector, pose, ReferenceStore(None))}
    assert caps and set(caps) == {1.4}  # the seat regions' pose pass ran capped
    assert cap == base
    assert base["seat-st3"] == "empty" and list(base.values()).count("staffed") >= 2, base


def test_clip_through_the_rule_no_false_unstaffed(media_dir, models):
    """The office clip (two clerks seated all along): with absent_s scaled to 3 s, no 空岗 opens for them."""
    from models.media import sample_video
    from models.seats_eval import TZ_START, _config, decide_frame, make_pipeline

    detector, pose = models
    cfg = _config("configs/seats/office.yaml", episode=True)
    pipe, rule = make_pipeline(cfg, detector, pose, ReferenceStore(None))
    opened, staffed = [], 0
    for t, img in sample_video(media_dir / "video" / "pgplarosa_resized_cctv_full_fast_cut.mov", 1.0, limit_s=8):
        ts = TZ_START.replace(tzinfo=cfg.tz).astimezone(dt.UTC) + dt.timedelta(seconds=t)
        ds, events = decide_frame(pipe, rule, "cam5", ts, img)
        staffed += ds["seat-st2"].state == "staffed"
        opened += [e.window_id for e in events if e.kind == "opened"]
    assert "ST1" not in opened and "ST2" not in opened
    assert staffed >= 7  # of 9 samples
    assert isinstance(rule, WindowUnstaffedRule)


def test_analyze_cli_reports_seat_decisions_on_a_still(media_dir, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "edge", "analyze", "--config", str(LIB), "--camera", "lib",
         "--input", str(media_dir / "images" / "desks" / "vincenttanujaya08_library_image2.jpg"), "--json",
         "--start", "2026-11-23T10:00:00+08:00", "--out", str(tmp_path)],
        check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=_env())
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    seats = {s["zone_id"]: s for s in res["seats"]}
    assert seats["seat-b3"]["state"] == "staffed" and seats["seat-b3"]["reason"] in ("person", "pose")
    assert {"person_conf", "pose_points", "ref_area", "brightness"} <= set(seats["seat-b3"])
    states = {w["window_id"]: w["state"] for w in res["window_states"]}
    assert states["B3"] == "staffed" and states["A1"] == "empty"  # directly, no return_s on one still
    zone_b3 = next(z for z in res["frames"][0]["zones"] if z["zone"] == "seat-b3")
    assert zone_b3["persons"] == 1


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env
