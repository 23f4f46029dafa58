"""An evidence clip cut from the packet ring (stream copy, no re-encode) plays in a real headless Chromium:
metadata loads, it has a duration, and a decoded frame drawn on a canvas has picture content."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.capture.packets import PacketRing
from edge.capture.reader import CameraReader
from tests.live import launch_chromium, playwright_api

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
PAGE = """<!doctype html><html><body>
<video id="clip" src="/clip.mp4" muted playsinline preload="auto"></video><canvas id="c"></canvas></body></html>"""
FRAME_STATS = """async () => {
  const v = document.querySelector('#clip');
  await v.play();
  await new Promise(r => v.requestVideoFrameCallback(() => r()));
  v.pause();
  const c = document.querySelector('#c');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let sum = 0, sq = 0, n = 0;
  for (let i = 0; i < d.length; i += 4 * 97) { const y = (d[i] + d[i + 1] + d[i + 2]) / 3; sum += y; sq += y * y; n++; }
  const mean = sum / n;
  return {w: v.videoWidth, h: v.videoHeight, duration: v.duration, ready: v.readyState,
          frames: v.getVideoPlaybackQuality().totalVideoFrames, mean, std: Math.sqrt(sq / n - mean * mean)};
}"""


def test_packet_ring_clip_plays_in_chromium(media_dir):
    ring = PacketRing(60)
    CameraReader("cam", str(media_dir / "video/bwssytems_5977270-sd_640_360_25fps.mp4"), 2.0, None, detect=False,
                 packets=ring, realtime=False, start_at=T0).run()
    clip = ring.cut(T0 + dt.timedelta(seconds=4), T0 + dt.timedelta(seconds=8))
    assert clip is not None and clip.seconds > 4
    _, sync_playwright = playwright_api()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()
            page.route("http://clip.test/", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
            page.route("http://clip.test/clip.mp4",
                       lambda route: route.fulfill(body=clip.data, content_type="video/mp4"))
            page.goto("http://clip.test/")
            page.wait_for_function("document.querySelector('#clip').readyState >= 2", timeout=60_000)
            stats = page.evaluate(FRAME_STATS)
        finally:
            browser.close()
    assert (stats["w"], stats["h"]) == (640, 360), stats
    assert stats["duration"] == pytest.approx(clip.seconds, abs=0.2), stats
    assert stats["frames"] >= 1 and stats["std"] > 5, f"a decoded picture, not a blank frame: {stats}"
