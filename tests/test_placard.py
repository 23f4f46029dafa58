"""Counter signs (暂停服务) read with OCR when a seat is found empty: a hint on the finding, never an excuse.

Tables for the word match and the region read, the dispatcher with a scripted reader (the finding opens all the same,
with the sign's text on it and in the caption), and the real OCR (RapidOCR's shipped models on OpenVINO) on the real
counter still with and without a sign placed on the counter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.agent.findings import FindingDispatcher
from edge.detect.placard import Placard, counter_region, find_placard
from edge.detections import Detections
from edge.evidence.writer import EvidenceWriter
from edge.outbox import Outbox
from edge.rules.base import RuleEvent
from edge.site import SiteConfig, ZoneConfig, load_site_config
from tests.test_agent_units import Pic, Sink

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
WORDS = SiteConfig.model_fields["rules"].default_factory().window_unstaffed.placard_words
COUNTER = ZoneConfig(id="counter-w01", kind="counter", window="W01",
                     polygon=[[0.40, 0.64], [0.62, 0.64], [0.62, 0.76], [0.40, 0.76]])
SEAT = ZoneConfig(id="seat-w01", kind="seat", window="W01", polygon=[[0.40, 0.40], [0.60, 0.40], [0.60, 0.60],
                                                                       [0.40, 0.60]])


@pytest.mark.parametrize("lines, found", [
    ([("暂停服务", 0.99)], Placard("暂停服务", "暂停服务", 0.99)),
    ([("Camera4", 0.99), ("本窗口 暂停 办理", 0.93)], Placard("本窗口 暂停 办理", "暂停办理", 0.93)),  # spaces ignored
    ([("暂停服务", 0.4)], None),  # too unsure to report
    ([("欢迎光临", 0.99), ("07/15/2025 10:26:24 AM", 0.99)], None),
    ([], None),
])
def test_find_placard(lines, found):
    assert find_placard(lines, WORDS) == found


def test_counter_region_prefers_the_counter_zone_then_the_seat():
    shape = (1000, 2000)
    # the counter box (800-1240 x 640-760) grown by 20 %; the seat's box grown by 60 % (the desk in front)
    assert counter_region([SEAT, COUNTER], "W01", shape) == pytest.approx((712, 616, 1328, 784), abs=1)
    assert counter_region([SEAT], "W01", shape) == pytest.approx((560, 280, 1440, 720), abs=1)
    assert counter_region([SEAT, COUNTER], "W02", shape) is None


class ScriptedReader:
    def __init__(self, result: Placard | None = None, fail: bool = False) -> None:
        self.result, self.fail, self.calls = result, fail, []

    def placard(self, image, zones, window_id, words):  # noqa: ANN001
        self.calls.append((image.shape, [z.id for z in zones], window_id, list(words)))
        if self.fail:
            raise RuntimeError("OCR broke")
        return self.result


@pytest.mark.parametrize("reader, rule, facts, line", [
    (ScriptedReader(Placard("暂停服务", "暂停服务", 0.99)), "window_unstaffed",
     {"placard_text": "暂停服务", "placard_word": "暂停服务", "placard_score": 0.99}, "柜台告示牌：「暂停服务」"),
    (ScriptedReader(None), "window_unstaffed", {}, None),  # read, nothing there
    (ScriptedReader(fail=True), "window_unstaffed", {}, None),  # a failing OCR costs the hint only
    (ScriptedReader(Placard("暂停服务", "暂停服务", 0.99)), "phone_use", {}, None),  # only empty seats are read
])
def test_dispatcher_notes_a_pause_sign_on_an_empty_seat(demo_config_path, tmp_path, reader, rule, facts, line):
    cfg = load_site_config(demo_config_path)
    store = Outbox(tmp_path)
    writer = EvidenceWriter(store, {}, clip_pre_s=1, clip_post_s=1)
    image = np.random.default_rng(5).integers(0, 255, (72, 128, 3), dtype=np.uint8)
    sink = Sink()
    d = FindingDispatcher(cfg, sink, writer, {"cam-w01": Pic(T0, image, Detections.empty({0: "person"}))}.get,
                          placard=reader)
    captions: list = []
    real = writer.snapshot
    writer.snapshot = lambda *a, **k: captions.append(a[4]) or real(*a, **k)  # type: ignore[method-assign]
    d.handle(RuleEvent("opened", rule, uuid.uuid4(), T0, severity="major", window_id="W01", camera_id="cam-w01",
                       details={"absent_s": 130.0}))
    (msg,) = sink.msgs
    assert msg.type == "finding.opened" and msg.rule == rule  # the finding opens whatever the sign says
    assert {k: v for k, v in msg.details.items() if k.startswith("placard")} == facts
    assert any(line in c for c in captions[0]) if line else not any("告示牌" in c for c in captions[0])
    if rule == "window_unstaffed":
        (shape, zones, window, words), = reader.calls
        assert shape == image.shape and window == "W01" and "seat-w01" in zones and "暂停服务" in words
    else:
        assert reader.calls == []
    store.stop()


def cjk_font() -> Path | None:
    """A font with Chinese glyphs (what .ci/system-deps installs), or None."""
    root = Path("/usr/share/fonts")
    found = sorted(p for pattern in ("**/wqy-*.tt[cf]", "**/*CJK*.tt[cf]") for p in root.glob(pattern))
    return found[0] if found else None


@pytest.mark.e2e
def test_real_ocr_reads_a_sign_on_the_counter_and_nothing_without_one(media_dir):
    """The 2560x1936 counter CCTV still, as it is (its own on-screen text lies outside the counter) and with a
    暂停服务 card stood on the counter: the real OCR on the counter region finds the sign only in the second."""
    from PIL import Image, ImageDraw, ImageFont

    from edge.detect.placard import load_placard_reader, models_dir

    assert models_dir() is not None, "the rapidocr package (its OCR models) is not installed: make install puts it in"
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font to print the sign with (apt-get install fonts-wqy-zenhei)")
    reader = load_placard_reader()
    still = cv2.imread(str(media_dir / "images" / "counter" / "bwssytems_20250715_142638_e37e7821_f000001.jpg"))
    assert reader.placard(still, [COUNTER], "W01", WORDS) is None
    pil = Image.fromarray(cv2.cvtColor(still, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    draw.rectangle([1100, 1300, 1500, 1420], fill=(250, 250, 250))
    draw.text((1120, 1320), "暂停服务", font=ImageFont.truetype(str(font), 60), fill=(200, 0, 0))
    signed = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    found = reader.placard(signed, [COUNTER], "W01", WORDS)
    assert found is not None and found.word == "暂停服务" and found.score >= 0.6, found
    assert reader.placard(signed, [COUNTER], "W02", WORDS) is None  # another window's counter is not read
