"""Masking of the public as a supervisor sees it (issue 17): the real detector on a real office CCTV frame, the
edge's evidence writer with a staff zone around the clerk, the snapshot uploaded and its finding ingested by the
live server, then the alert opened in headless Chromium. The picture the browser shows has the person outside
the staff zone masked (what was there is gone) and the clerk as in the original. Screenshot in
``test-artifacts/privacy/``."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import cv2
import httpx
import numpy as np
import pytest

from edge import contract as c
from edge.evidence.writer import EvidenceWriter
from edge.paths import PROJECT_ROOT
from tests.browser.test_console_browser import _upload, live_server  # noqa: F401
from tests.live import fresh_artifacts, launch_chromium, playwright_api, wait_js
from tests.test_privacy import MemoryStore, surviving, zone

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.e2e]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "privacy"

# the shown <img> drawn into a canvas at its natural size; a crop of it comes back as a PNG data URL
CROP_JS = """([x1, y1, x2, y2]) => {
  const img = document.querySelector('#snapshot');
  const canvas = document.createElement('canvas');
  canvas.width = x2 - x1; canvas.height = y2 - y1;
  canvas.getContext('2d').drawImage(img, x1, y1, x2 - x1, y2 - y1, 0, 0, x2 - x1, y2 - y1);
  return [img.naturalWidth, img.naturalHeight, canvas.toDataURL('image/png')];
}"""


def shown_crop(page, box) -> tuple[tuple[int, int], np.ndarray]:
    """(natural size, pixels of ``box``) of the snapshot as the browser decoded it."""
    w, h, url = page.evaluate(CROP_JS, [int(v) for v in box])
    png = base64.b64decode(url.split(",", 1)[1])
    return (w, h), cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def test_the_console_shows_the_public_masked_and_the_clerk_intact(live_server, media_dir, models_dir):  # noqa: F811
    from edge.detect.base import load_detector

    expect, sync_playwright = playwright_api()
    srv = live_server
    artifacts = fresh_artifacts(ARTIFACTS)
    img = cv2.imread(str(media_dir / "images" / "desks" / "pgplarosa_sample_frame.png"))
    det = load_detector("yolo11n-coco-int8", models_dir=models_dir).detect([img], conf=0.25)[0]
    persons = sorted(det.of_class("person").above(0.3).xyxy.tolist())  # by x1
    assert len(persons) >= 2
    left, right = persons[0], persons[-1]  # the person at the left desk stands for a citizen; the clerk right
    assert left[2] < 0.5 * img.shape[1] and right[0] > 0.75 * img.shape[1]
    staff = zone("staff", [[0.75, 0.35], [1, 0.35], [1, 0.95], [0.75, 0.95]])
    store = MemoryStore()
    now = dt.datetime.now(dt.timezone.utc)
    EvidenceWriter(store, {}).snapshot(img, now, det, [staff], ["privacy"], camera_id="cam")
    refs = [_upload(srv["base"], srv["edge_token"], data, kind, "image/jpeg") for kind, data in store.files]
    assert [r.kind for r in refs] == ["snapshot", "frame"]
    finding = c.FindingOpened(hall_id=srv["hall_id"], edge_id=srv["cfg"].edge.id, finding_id=uuid.uuid4(),
                              rule="phone_use", severity="warning", started_at=now, window_id="W01",
                              confidence=0.7, details={}, evidence=refs)
    r = httpx.post(f"{srv['base']}/api/v1/ingest", content=c.encode(finding),
                   headers={"Authorization": f"Bearer {srv['edge_token']}", "Content-Type": "application/json"})
    assert r.status_code < 300, r.text

    reference = cv2.imdecode(np.frombuffer(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])[1], np.uint8),
                             cv2.IMREAD_COLOR)
    citizen = (left[0] + 20, left[1] + 40, left[2] - 20, left[3] - 20)  # inside the drawn box outline and label
    clerk = (right[0] + 20, right[1] + 40, right[2] - 20, right[3] - 20)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
            page.goto(f"{srv['base']}/console/")
            page.fill("#username", srv["user"])
            page.fill("#password", srv["password"])
            page.click("#login-submit")
            expect(page.locator("#nav")).to_be_visible()
            page.goto(f"{srv['base']}/console/#/feed")
            page.locator("#alert-rows tr[data-rule='phone_use'] a.open").first.click()
            expect(page.locator("#snapshot")).to_be_visible(timeout=30000)
            wait_js(page, "() => { const i = document.querySelector('#snapshot'); "
                          "return i && i.complete && i.naturalWidth > 0; }")
            (w, h), shown_citizen = shown_crop(page, citizen)
            assert (w, h) == (img.shape[1], img.shape[0])
            _, shown_clerk = shown_crop(page, clerk)
            page.screenshot(path=str(artifacts / "alert-masked.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()

    def as_original(crop: np.ndarray, box) -> tuple[float, float]:
        """(correlation of the fine detail with the original's, share of pixels within 12 grey levels of it)."""
        x1, y1 = int(box[0]), int(box[1])
        canvas = reference.copy()
        canvas[y1:y1 + crop.shape[0], x1:x1 + crop.shape[1]] = crop
        grey = [cv2.cvtColor(a[y1:y1 + crop.shape[0], x1:x1 + crop.shape[1]], cv2.COLOR_BGR2GRAY).astype(int)
                for a in (canvas, reference)]
        return surviving(canvas, reference, box), float((np.abs(grey[0] - grey[1]) < 12).mean())

    detail, same = as_original(shown_citizen, citizen)
    assert detail < 0.2 and same < 0.5, (detail, same)  # the citizen's picture is gone in what the browser shows
    _, same = as_original(shown_clerk, clerk)
    assert same > 0.8, same  # the clerk is as in the original (but for the drawn boxes of other objects)
