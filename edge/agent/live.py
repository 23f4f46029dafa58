"""Live pictures for the console: every ``edge.live_snapshot_s`` seconds the latest analysed picture of each
camera, scaled down to ``edge.live_snapshot_width`` pixels wide and JPEG-encoded, is PUT to
``{server_url}/api/v1/edges/live/{camera}``, after ``prepare`` (the agent masks the public in it as in every
stored picture: a live picture leaves the edge too). Only the newest picture matters: a failed upload is not queued or
retried, the next period sends a fresh one.

While someone watches a camera's live video the server answers its uploads with ``X-Live-Interval`` (seconds):
that camera's pictures are then sent that often (never more often than ``MIN_INTERVAL_S``) for the next
``WATCHED_HOLD_S`` seconds, the other cameras keep the usual period."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import httpx
import numpy as np

from edge.evidence.privacy import mask_public
from edge.site import SiteConfig

log = logging.getLogger(__name__)
MIN_INTERVAL_S = 0.2
WATCHED_HOLD_S = 10.0


def masked_by_privacy(cfg: SiteConfig) -> Callable[[str, Any], np.ndarray]:
    """(camera id, picture) -> the picture with the public masked by the camera's privacy settings and zones."""
    cameras = {c.id: c for c in cfg.cameras}

    def prepare(camera_id: str, pic: Any) -> np.ndarray:
        cam = cameras[camera_id]
        return mask_public(pic.image, pic.detections, cam.zones, cam.privacy)[0]

    return prepare


def encode_small(image: np.ndarray, max_width: int = 640, quality: int = 70) -> bytes:
    """The picture scaled to at most ``max_width`` pixels wide (aspect kept), as JPEG bytes."""
    h, w = image.shape[:2]
    if w > max_width:
        image = cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


class LiveUploader:
    """Sends the latest picture of each camera to the server, one camera after the other, each period."""

    def __init__(self, cameras: list[str], latest_picture: Callable[[str], Any], server_url: str,
                 token: str | None, interval_s: float = 5.0, max_width: int = 640, timeout_s: float = 10.0,
                 prepare: Callable[[str, Any], np.ndarray] | None = None) -> None:
        self.cameras = cameras
        self.latest_picture = latest_picture
        self.base = server_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.interval_s = interval_s
        self.max_width = max_width
        self.timeout_s = timeout_s
        self.prepare = prepare  # (camera, picture) -> the image to send
        self._sent: dict[str, Any] = {}
        self._sent_at: dict[str, float] = {}  # monotonic time of each camera's last upload
        self._fast: dict[str, tuple[float, float]] = {}  # camera -> (interval asked for, until monotonic time)
        self.counters = {"sent": 0, "failed": 0}

    def _interval(self, cam: str, now: float) -> float:
        fast = self._fast.get(cam)
        return fast[0] if fast is not None and now < fast[1] else self.interval_s

    def next_wait(self) -> float:
        """Seconds until the next pass: the shortest period any camera is on now."""
        now = time.monotonic()
        return min([self.interval_s] + [self._interval(c, now) for c in self.cameras])

    def push_once(self, http: httpx.Client) -> int:
        """Upload every camera whose latest picture changed since its last upload and whose period (its own,
        shorter while watched) is up; the number sent."""
        sent = 0
        for cam in self.cameras:
            pic = self.latest_picture(cam)
            if pic is None or self._sent.get(cam) == pic.ts:
                continue
            now = time.monotonic()
            if cam in self._sent_at and now - self._sent_at[cam] < 0.9 * self._interval(cam, now):
                continue
            try:
                image = self.prepare(cam, pic) if self.prepare is not None else pic.image
                data = encode_small(image, self.max_width)
                r = http.put(f"{self.base}/api/v1/edges/live/{cam}", content=data,
                             headers={**self.headers, "Content-Type": "image/jpeg"})
            except (httpx.HTTPError, ValueError) as exc:
                self.counters["failed"] += 1
                log.debug("live picture of %s not sent: %s", cam, exc)
                continue
            if r.status_code == 204:
                self._sent[cam], self._sent_at[cam] = pic.ts, now
                self._watched(cam, r.headers.get("X-Live-Interval"), now)
                self.counters["sent"] += 1
                sent += 1
            else:
                self.counters["failed"] += 1
                log.info("live picture of %s refused: %s %s", cam, r.status_code, r.text[:200])
        return sent

    def _watched(self, cam: str, asked: str | None, now: float) -> None:
        if asked is None:
            self._fast.pop(cam, None)
            return
        try:
            interval = float(asked)
        except ValueError:
            return
        if interval == interval:  # not NaN
            interval = min(self.interval_s, max(MIN_INTERVAL_S, interval))
            self._fast[cam] = (interval, now + WATCHED_HOLD_S)

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(timeout=self.timeout_s) as http:
            while not stop.wait(self.next_wait()):
                try:
                    self.push_once(http)
                except Exception:
                    log.exception("live pictures: upload pass failed")
