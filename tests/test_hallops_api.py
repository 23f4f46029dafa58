"""Hall operations API: live pictures (edge upload, console list and picture, hall scope, bad uploads)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from edge.agent.live import LiveUploader, encode_small
from tests.test_console_helpers import console  # noqa: F401  (fixture)


def _jpeg(w: int = 1280, h: int = 720) -> bytes:
    img = np.zeros((h, w, 3), np.uint8)
    cv2.rectangle(img, (w // 4, h // 4), (w // 2, h // 2), (0, 200, 255), -1)
    return encode_small(img, max_width=w)


def test_encode_small_scales_to_the_width_and_keeps_the_aspect():
    data = encode_small(np.zeros((720, 1280, 3), np.uint8), max_width=640)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (360, 640)
    small = encode_small(np.zeros((100, 200, 3), np.uint8), max_width=640)
    assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (100, 200)


def test_edge_uploads_live_pictures_and_the_console_shows_them(console):
    cam = "cam-w03"
    pics = {cam: SimpleNamespace(ts=dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone.utc),
                                 image=np.full((720, 1280, 3), 90, np.uint8))}
    up = LiveUploader([cam, "cam-w01"], pics.get, "", console.edge_token, max_width=480)
    assert up.push_once(console.client) == 1          # cam-w01 has no picture yet
    assert up.push_once(console.client) == 0          # same picture: not sent again
    lst = console.get(f"/api/v1/console/halls/{console.hall_id}/live").json()
    row = next(x for x in lst if x["id"] == cam)
    assert row["picture_at"] and row["age_s"] is not None and "W03" in row["windows"]
    assert next(x for x in lst if x["id"] == "cam-w01")["picture_at"] is None
    r = console.get(f"/api/v1/console/halls/{console.hall_id}/live/{cam}.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR).shape[1] == 480
    assert console.get(f"/api/v1/console/halls/{console.hall_id}/live/cam-w01.jpg").status_code == 404


@pytest.mark.parametrize("camera, body, status", [
    ("cam-w03", b"", 422),
    ("cam-w03", b"GIF89a not a jpeg", 415),
    ("cam-w03", b"\xff\xd8\xff" + b"0" * (1024 * 1024 + 10) + b"\xff\xd9", 413),
    ("cam-nowhere", None, 404),
    ("cam-w03", None, 204),
])
def test_live_upload_refuses_bad_pictures_and_keeps_the_last_good_one(console, camera, body, status):
    good = _jpeg()
    r0 = console.client.put("/api/v1/edges/live/cam-w03", content=good,
                            headers={"Authorization": f"Bearer {console.edge_token}"})
    assert r0.status_code == 204
    r = console.client.put(f"/api/v1/edges/live/{camera}", content=good if body is None else body,
                           headers={"Authorization": f"Bearer {console.edge_token}"})
    assert r.status_code == status, r.text
    pic = console.get(f"/api/v1/console/halls/{console.hall_id}/live/cam-w03.jpg")
    assert pic.status_code == 200 and pic.content == good


def test_live_pictures_need_an_edge_token_and_respect_the_hall(console):
    assert console.client.put("/api/v1/edges/live/cam-w03", content=_jpeg()).status_code == 401
    assert console.client.put("/api/v1/edges/live/cam-w03", content=_jpeg(),
                              headers=console.auth("admin")).status_code == 401
    assert console.get("/api/v1/console/halls/other-hall/live").status_code == 404
    assert console.client.get(f"/api/v1/console/halls/{console.hall_id}/live").status_code == 401
