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


def test_live_video_streams_the_pictures_and_asks_the_edge_for_more_while_watched(console):
    cam, hall = "cam-w03", console.hall_id
    edge = {"Authorization": f"Bearer {console.edge_token}"}
    first = console.client.put(f"/api/v1/edges/live/{cam}", content=_jpeg(), headers=edge)
    assert first.status_code == 204 and "x-live-interval" not in first.headers  # nobody watches yet
    r = console.get(f"/api/v1/console/halls/{hall}/live/{cam}.mjpeg?seconds=0.5")
    assert r.status_code == 200
    boundary = r.headers["content-type"].split("boundary=")[1]
    assert r.headers["content-type"].startswith("multipart/x-mixed-replace")
    parts = [p.split(b"\r\n\r\n", 1) for p in r.content.split(f"--{boundary}".encode()) if p.strip()]
    assert all(b"Content-Type: image/jpeg" in head for head, _ in parts)
    pictures = [body[:-2] for _, body in parts if body]  # each body ends with CRLF before the next boundary
    assert pictures == [_jpeg()]  # the picture did not change during the stream: sent once
    watched = console.client.put(f"/api/v1/edges/live/{cam}", content=_jpeg(), headers=edge)
    assert watched.status_code == 204 and float(watched.headers["x-live-interval"]) <= 1.0
    other = console.client.put("/api/v1/edges/live/cam-w01", content=_jpeg(), headers=edge)
    assert "x-live-interval" not in other.headers  # only the camera being watched
    for bad in ("seconds=0", "seconds=601", "seconds=abc"):
        assert console.get(f"/api/v1/console/halls/{hall}/live/{cam}.mjpeg?{bad}").status_code == 422
    assert console.get(f"/api/v1/console/halls/{hall}/live/cam-nowhere.mjpeg?seconds=0.2").status_code == 404
    assert console.get(f"/api/v1/console/halls/other-hall/live/{cam}.mjpeg?seconds=0.2").status_code == 404
    assert console.client.get(f"/api/v1/console/halls/{hall}/live/{cam}.mjpeg?seconds=0.2").status_code == 401


class _Http:
    """Answers uploads like the server: 204, with ``X-Live-Interval`` while ``watched``."""

    def __init__(self) -> None:
        self.watched, self.puts = False, []

    def put(self, url, content, headers):  # noqa: ARG002
        self.puts.append(url.rsplit("/", 1)[1])
        return SimpleNamespace(status_code=204, headers={"X-Live-Interval": "1"} if self.watched else {})


def test_uploader_sends_a_watched_camera_faster_and_goes_back_to_its_period():
    pics = {c: SimpleNamespace(ts=dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone.utc), image=np.zeros((90, 160, 3),
                                                                                                       np.uint8))
            for c in ("cam-a", "cam-b")}
    up = LiveUploader(list(pics), pics.get, "", None, interval_s=5.0)
    http = _Http()
    assert up.push_once(http) == 2 and up.next_wait() == 5.0
    http.watched = True
    for p in pics.values():
        p.ts += dt.timedelta(seconds=1)
    up._sent_at = {c: t - 10 for c, t in up._sent_at.items()}  # both periods are up
    assert up.push_once(http) == 2 and up.next_wait() == 1.0  # the server said someone watches
    pics["cam-a"].ts += dt.timedelta(seconds=1)
    up._sent_at["cam-a"] -= 1.0
    assert up.push_once(http) == 1  # one second later: the watched camera again
    up._fast = {c: (i, until - 60) for c, (i, until) in up._fast.items()}  # no answer said so for a while
    assert up.next_wait() == 5.0
    for asked in ("nan", "0", "-3", "x"):  # a strange answer never makes it spin or crash
        up._watched("cam-b", asked, 0.0)
        assert up._interval("cam-b", 0.0) >= 0.2


# ----------------------------------------------------------------------------- hall map

def floor_plan(w: int = 1200, h: int = 700) -> bytes:
    """A drawn floor plan: walls, a counter row with eight windows, the east exit."""
    img = np.full((h, w, 3), 250, np.uint8)
    cv2.rectangle(img, (20, 20), (w - 20, h - 20), (60, 60, 60), 6)
    for i in range(8):
        x = 80 + i * 130
        cv2.rectangle(img, (x, 60), (x + 110, 140), (200, 170, 120), -1)
    cv2.rectangle(img, (w - 30, 300), (w - 14, 420), (40, 160, 40), -1)
    _, buf = cv2.imencode(".png", img)
    return buf.tobytes()


def _put_plan(console, data: bytes, role: str = "admin"):
    return console.client.put(f"/api/v1/console/halls/{console.hall_id}/map/plan", content=data,
                              headers=console.auth(role))


def _place(console, kind: str, ref: str, x: float, y: float, role: str = "admin"):
    return console.client.put(f"/api/v1/console/halls/{console.hall_id}/map/markers/{kind}/{ref}",
                              json={"x": x, "y": y}, headers=console.auth(role))


@pytest.mark.parametrize("data, role, status", [
    (b"", "admin", 422),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "admin", 415),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "admin", 422),
    (b"\x89PNG" + b"\0" * (8 * 1024 * 1024 + 1), "admin", 413),
    (None, "supervisor", 403),
    (None, "admin", 204),
])
def test_floor_plan_upload_checks_the_file_and_the_role(console, data, role, status):
    r = _put_plan(console, floor_plan() if data is None else data, role)
    assert r.status_code == status, r.text
    m = console.get(f"/api/v1/console/halls/{console.hall_id}/map").json()
    assert m["has_plan"] == (status == 204)
    if status == 204:
        assert (m["plan"]["width"], m["plan"]["height"]) == (1200, 700)
        img = console.get(f"/api/v1/console/halls/{console.hall_id}/map/plan")
        assert img.headers["content-type"] == "image/png" and img.content == floor_plan()


def test_items_are_placed_moved_removed_and_audited(console):
    assert _place(console, "window", "W01", 0.1, 0.1).status_code == 409          # no plan yet
    assert _put_plan(console, floor_plan()).status_code == 204
    cases = [("window", "W01", 0.1, 0.15, 200), ("camera", "cam-w04", 0.8, 0.3, 200),
             ("exit", "exit-east", 0.98, 0.5, 200), ("sensor", "lock-exit-east", 0.97, 0.45, 200),
             ("window", "W99", 0.5, 0.5, 404), ("door", "W01", 0.5, 0.5, 422), ("window", "W02", 1.5, 0.5, 422)]
    for kind, ref, x, y, code in cases:
        assert _place(console, kind, ref, x, y).status_code == code, (kind, ref)
    assert _place(console, "window", "W02", 0.2, 0.2, role="supervisor").status_code == 403
    assert _place(console, "window", "W01", 0.12, 0.16).status_code == 200      # moved
    items = {(i["kind"], i["ref"]): i for i in console.get(f"/api/v1/console/halls/{console.hall_id}/map").json()["items"]}
    assert (items[("window", "W01")]["x"], items[("window", "W01")]["y"]) == (0.12, 0.16)
    assert items[("window", "W02")]["x"] is None and items[("exit", "exit-east")]["camera"] == "cam-w04"
    r = console.client.delete(f"/api/v1/console/halls/{console.hall_id}/map/markers/sensor/lock-exit-east",
                              headers=console.auth("admin"))
    assert r.status_code == 204
    from sqlalchemy import select

    from server.db import AuditLog
    from server.db.session import unit_of_work
    with unit_of_work(console.app.state.sessionmaker) as s:
        acts = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.entity_id.like(f"{console.hall_id}%"))
                                            .order_by(AuditLog.id))]
    assert acts.count("map.place") == 5 and acts.count("map.remove") == 1 and "map.plan" in acts


def test_open_alerts_show_on_the_item_they_name_most_severe_first(console):
    console.open_finding(rule="window_unstaffed", window="W02", severity="major")
    console.open_finding(rule="smoking", window="W02", severity="critical")
    items = {(i["kind"], i["ref"]): i for i in console.get(f"/api/v1/console/halls/{console.hall_id}/map").json()["items"]}
    assert [a["rule"] for a in items[("window", "W02")]["alerts"]] == ["smoking", "window_unstaffed"]
    assert items[("window", "W01")]["alerts"] == []
    assert (items[("window", "W02")]["staff_a"], items[("window", "W02")]["seated"]) == ("张伟", None)
    assert console.get("/api/v1/console/halls/other/map").status_code == 404
