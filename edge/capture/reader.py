"""One reader thread per camera input: demux, decode only what analysis needs, fill the rings, reconnect.

What a reader does depends on its input's roles:

- ``detect``: frames are decoded and sampled by timestamp at ``fps`` (on the grid of the reader's ``phase``, so
  that cameras opened together are not sampled at the same moments); only sampled frames are converted
  to BGR (scaled to ``detect_width`` in the same pass). When keyframes come at least as often as the
  sampling period, only keyframes are decoded (the decoder skips the rest).
- ``record``: packets go into the ``PacketRing`` without decoding (clips are cut by stream copy).
- ``stills``: the newest keyframe is kept undecoded-to-BGR in a ``StillSlot`` (converted on demand); an
  input with ``record`` serves stills from its packet ring instead, so a stills-only input decodes
  keyframes only and a record input decodes nothing.

The reader hands each sampled frame to ``on_frame`` (the agent puts it in the camera's latest-frame
slot for the detection worker; a slower detector drops stale frames instead of building a backlog,
and the dropped count shows up as lag). Errors never end the thread: it logs, counts, waits
(exponential back-off, reset after a healthy stretch) and opens the source again. A file that
does not loop ends the reader (``state == "ended"``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from edge.capture.buffer import FrameRing, Sampler
from edge.capture.packets import PacketRing
from edge.capture.source import RawFrame, VideoSource

log = logging.getLogger(__name__)
KEY_GAPS = 8  # keyframe intervals the choice to decode keyframes only looks back on


@dataclass(frozen=True)
class CameraFrame:
    """A sampled frame ready for analysis."""

    camera_id: str
    ts: dt.datetime  # aware UTC
    image: np.ndarray  # BGR
    seq: int  # sampled-frame counter of this reader


class LatestFrame:
    """A one-slot mailbox: the newest frame wins; counts what was overwritten."""

    def __init__(self) -> None:
        self._item: CameraFrame | None = None
        self._lock = threading.Lock()
        self.dropped = 0
        self.taken_at = float("-inf")  # monotonic time of the last take (a newer frame replaces a waiting one)

    def put(self, item: CameraFrame) -> None:
        with self._lock:
            if self._item is not None:
                self.dropped += 1
            self._item = item

    @property
    def waiting(self) -> bool:
        """A frame is waiting to be taken."""
        return self._item is not None

    def take(self) -> CameraFrame | None:
        with self._lock:
            item, self._item = self._item, None
            if item is not None:
                self.taken_at = time.monotonic()
            return item


class StillSlot:
    """The newest keyframe of a stills input, converted to BGR only when someone asks for it."""

    def __init__(self) -> None:
        self._raw: RawFrame | None = None
        self._lock = threading.Lock()

    def put(self, raw: RawFrame) -> None:
        with self._lock:
            self._raw = raw

    def picture(self) -> tuple[dt.datetime, np.ndarray] | None:
        with self._lock:
            raw = self._raw
        return None if raw is None else (raw.ts, raw.image())


class CameraReader:
    def __init__(
        self,
        camera_id: str,
        url: str,
        fps: float,
        on_frame: Callable[[CameraFrame], None] | None,
        *,
        ring: FrameRing | None = None,
        packets: PacketRing | None = None,
        stills: StillSlot | None = None,
        detect: bool = True,
        detect_width: int | None = None,
        loop: bool = False,
        realtime: bool | None = None,
        start_at: dt.datetime | None = None,
        min_backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        read_timeout_s: float = 10.0,
        threads: int = 1,
        hwaccel: str = "none",
        name: str | None = None,
        phase: float | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.name = name or camera_id
        self.url = url
        self.fps = fps
        self.on_frame = on_frame
        self.ring = ring  # legacy JPEG ring (offline analysis)
        self.packets = packets
        self.stills = stills
        self.detect = detect and on_frame is not None
        self.detect_width = detect_width
        self.loop = loop
        self.realtime = realtime
        self.start_at = start_at
        self.min_backoff_s, self.max_backoff_s = min_backoff_s, max_backoff_s
        self.read_timeout_s = read_timeout_s
        self.threads, self.hwaccel = threads, hwaccel
        self.phase = phase  # of the sampling grid (``Sampler``): cameras opened together sampled at different moments
        self.hwaccel_used = "none"
        self._accel_known = False
        self.keyframes_only = False  # decoding keyframes only (they are frequent enough for the sampling)
        self.counters: Counter[str] = Counter()
        self.state = "starting"  # starting | streaming | reconnecting | ended | stopped
        self.last_error: str | None = None
        self.last_frame_mono: float | None = None  # monotonic time of the last packet read (stall watchdog)
        self.last_ts: dt.datetime | None = None
        self.size: tuple[int, int] = (0, 0)  # (width, height) of the input
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._source: VideoSource | None = None
        self._kicked = threading.Event()

    # ------------------------------------------------------------------ thread
    def start(self) -> "CameraReader":
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"capture-{self.name}", daemon=True)
        self._thread.start()
        return self
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def signal_stop(self) -> None:
        """Ask the thread to end without waiting (stop many readers at once, then ``stop`` each)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it. The container is closed by the reader thread only: closing
        it from here while FFmpeg reads it crashed the process; a read blocked on the network returns within
        ``read_timeout_s`` (FFmpeg's interrupt callback)."""
        self.signal_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped"

    def run(self) -> None:
        backoff = self.min_backoff_s
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ended = self._stream_once()
                if ended:
                    self.state = "ended"
                    log.info("camera %s: %s ended", self.name, self.url)
                    return
            except Exception as exc:  # any source/decoder failure: reconnect
                if self._stop.is_set():  # stop() closed the source under the read
                    break
                self.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                self.counters["errors"] += 1
                log.warning("camera %s: %s; reconnecting in %.1fs", self.name, self.last_error, backoff)
            if self._stop.is_set():
                break
            if time.monotonic() - started > 60:  # it streamed for a while: start back-off afresh
                backoff = self.min_backoff_s
            self.state = "reconnecting"
            self.counters["reconnects"] += 1
            self._stop.wait(backoff)
            backoff = min(self.max_backoff_s, backoff * 2)

    def _stream_once(self) -> bool:
        """Stream until the source fails (raises) or a non-looping file ends (returns True)."""
        sampler = Sampler(self.fps, phase=self.phase)
        src = VideoSource(self.url, loop=self.loop, realtime=self.realtime, start_at=self._next_start(),
                          read_timeout_s=self.read_timeout_s, threads=self.threads,
                          hwaccel=self.hwaccel if self.detect else "none")
        self._source = src
        decode = self.detect or self.ring is not None or (self.stills is not None)
        try:
            src.open()
            self.hwaccel_used = "none"
            self._accel_known = False
            self.size = (src.width, src.height)
            self.state = "streaming"
            if self.packets is not None and src.stream is not None:
                self.packets.set_stream(src.stream)
            self.keyframes_only = not (self.detect or self.ring is not None)
            src.keyframes_only(self.keyframes_only)
            log.info("camera %s: opened %s (%dx%d, %s fps)%s", self.name, self.url, src.width, src.height,
                     f"{src.nominal_fps:.1f}" if src.nominal_fps else "?", "" if decode else ", not decoded")
            last_key: dt.datetime | None = None
            gaps: deque[float] = deque(maxlen=KEY_GAPS)
            self._kicked.clear()
            for p in src.packets():
                if self._stop.is_set():
                    return False
                if self._kicked.is_set():
                    raise ConnectionError("stalled stream")
                self.last_frame_mono = time.monotonic()
                self.counters["packets"] += 1
                self.last_ts = p.ts
                if self.packets is not None:
                    self.packets.add(p)
                if not decode:
                    continue
                if p.keyframe and self.detect and self.ring is None:
                    if last_key is not None:
                        gaps.append((p.ts - last_key).total_seconds())
                        self._choose_decoding(src, max(gaps) if len(gaps) >= 2 else 0.0, sampler.period)
                    last_key = p.ts
                if self.keyframes_only and not p.keyframe:
                    continue
                for raw in src.decode(p, drain=self.keyframes_only):
                    self._frame(raw, sampler)
            if src.kind == "file" and not self.loop:
                for raw in src.flush():
                    self._frame(raw, sampler)
                return True
            raise ConnectionError("stream ended")
        finally:
            src.close()
            self._source = None

    def _choose_decoding(self, src: VideoSource, gop_s: float, period_s: float) -> None:
        """Decode keyframes only while they come at least as often as frames are sampled: ``gop_s`` is the longest
        of the last ``KEY_GAPS`` keyframe intervals, 0 (unknown: every frame) before there are two (cameras with a
        variable GOP insert keyframes at scene changes; one short interval must not drop the sampling to the
        keyframe rate)."""
        key_only = 0 < gop_s <= period_s * 1.05
        if key_only != self.keyframes_only:
            self.keyframes_only = key_only
            src.keyframes_only(key_only)
            log.info("camera %s: keyframes every %.2fs, sampling every %.2fs: decoding %s", self.name, gop_s,
                     period_s, "keyframes only" if key_only else "every frame")

    def _frame(self, raw: RawFrame, sampler: Sampler) -> None:
        if not self._accel_known and self._source is not None:  # known once the decoder opened
            self.hwaccel_used, self._accel_known = self._source.hwaccel, True
        self.counters["decoded"] += 1
        if self.stills is not None and raw.keyframe:
            self.stills.put(raw)
        want = self.detect and sampler.take(raw.ts)
        keep = self.ring is not None and self.ring.wants(raw.ts)
        if not (want or keep):
            return
        image = raw.image(self.detect_width)
        if keep and self.ring is not None:
            self.ring.add(raw.ts, image)
        if want and self.on_frame is not None:
            self._seq += 1
            self.counters["sampled"] += 1
            self.on_frame(CameraFrame(self.camera_id, raw.ts, image, self._seq))

    def _next_start(self) -> dt.datetime | None:
        """After a reconnect, a file continues after the last timestamp (monotonic time)."""
        if self.last_ts is not None and self.start_at is not None:
            return self.last_ts + dt.timedelta(seconds=1.0 / self.fps)
        return self.start_at

    def stalled(self, after_s: float) -> bool:
        """True when the reader is streaming but has decoded nothing for ``after_s`` seconds."""
        return (self.state == "streaming" and self.last_frame_mono is not None
                and time.monotonic() - self.last_frame_mono > after_s)

    def kick(self) -> None:
        """Watchdog: force a reconnect of a stalled stream (the reader thread closes its container at the
        next packet, or when the blocked read times out)."""
        if self._source is not None and not self._kicked.is_set():
            log.warning("camera %s: stream stalled; forcing reconnect", self.name)
            self.counters["stalls"] += 1
            self._kicked.set()
