"""Open a camera source with PyAV (FFmpeg): demux its packets and decode frames, both stamped with real time.

``packets()`` demuxes only (a record input never decodes); ``decode(packet)`` turns one packet into
frames for the inputs that analyse; ``frames()`` does both.

Sources: ``rtsp://`` (TCP transport, socket timeout), ``http(s)://`` (MJPEG/HLS/progressive files),
video files (optionally looped for demos), and local devices (``/dev/video*`` through v4l2).

Time: every packet and frame gets an aware UTC ``ts``. Files map media time onto a start time (``start_at``,
default: when the file was opened); when a file loops, the next pass continues after the last
frame of the previous one, so timestamps stay monotonic. Live sources map the stream's
presentation timestamps onto the wall clock at the first frame and re-anchor if the two drift apart
by more than ``max_drift_s`` (camera clock jumps, PTS resets).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator

import av
import cv2
import numpy as np

log = logging.getLogger(__name__)

SourceKind = str  # "rtsp" | "http" | "file" | "device"


def source_kind(url: str) -> SourceKind:
    low = url.lower()
    if low.startswith(("rtsp://", "rtsps://")):
        return "rtsp"
    if low.startswith(("http://", "https://")):
        return "http"
    if low.startswith("/dev/video") or low.startswith("v4l2:"):
        return "device"
    return "file"


def open_options(kind: SourceKind, timeout_s: float) -> dict[str, str]:
    """FFmpeg options per source kind (socket timeouts are in microseconds)."""
    us = str(int(timeout_s * 1_000_000))
    if kind == "rtsp":
        return {"rtsp_transport": "tcp", "timeout": us, "max_delay": "500000"}
    if kind == "http":
        return {"rw_timeout": us, "reconnect": "1", "reconnect_streamed": "1"}
    return {}


@dataclass(frozen=True)
class TimedPacket:
    """An encoded packet of the video stream, stamped like the frame it holds."""

    ts: dt.datetime  # aware UTC of its presentation time
    media_s: float  # presentation time in seconds since the source was opened, monotonic across loops
    dts_s: float  # decode time on the same scale (equal to media_s without B-frames)
    packet: av.Packet
    keyframe: bool


@dataclass(frozen=True)
class RawFrame:
    """A decoded frame before conversion: converting to a numpy picture costs, so samplers decide first."""

    ts: dt.datetime  # aware UTC
    media_s: float  # seconds since the source was opened, monotonic across loops
    frame: av.VideoFrame

    @property
    def keyframe(self) -> bool:
        return bool(self.frame.key_frame)

    def image(self, width: int | None = None) -> np.ndarray:
        """BGR picture, upright: the display-matrix rotation phones record is applied (FFmpeg's autorotate).

        ``width`` scales while converting (one swscale pass, aspect kept, even height); never upscales.
        """
        f = self.frame
        if width and width < f.width:
            height = max(2, int(round(f.height * width / f.width)) // 2 * 2)
            arr = f.to_ndarray(format="bgr24", width=width, height=height, interpolation="AREA")
        else:
            arr = f.to_ndarray(format="bgr24")
        return upright(arr, frame_rotation(f))


def frame_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation in degrees (0, 90, 180, 270) from the frame's side data."""
    try:
        rot = getattr(frame, "rotation", 0) or 0
    except Exception:  # side data absent or unreadable
        return 0
    return int(round(rot / 90.0)) * 90 % 360


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 90:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if rotation == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if rotation == 270:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    return image


class SourceEnded(Exception):
    """A (non-looping) file reached its end."""


def make_hwaccel(kind: str) -> object | None:
    """An FFmpeg hardware decode context for ``kind`` (vaapi, qsv, cuda), or None when "none" or not available
    here: not in this FFmpeg build, or its device cannot be opened (``hwaccel_device_error``)."""
    if kind in ("", "none"):
        return None
    try:
        from av.codec.hwaccel import HWAccel, hwdevices_available

        if kind not in hwdevices_available():
            log.warning("hwaccel %s: not in this FFmpeg build's devices %s; decoding in software", kind,
                        hwdevices_available())
            return None
        error = hwaccel_device_error(kind)
        if error:
            log.warning("hwaccel %s: no device (%s); decoding in software", kind, error)
            return None
        return HWAccel(device_type=kind, allow_software_fallback=True)
    except Exception as exc:  # an old PyAV
        log.warning("hwaccel %s unavailable (%s); decoding in software", kind, exc)
        return None


@functools.lru_cache(maxsize=None)
def hwaccel_device_error(kind: str) -> str | None:
    """Why FFmpeg cannot open a ``kind`` device here (None when it can), tried once per process with the H.264
    decoder: a device that fails to open (no /dev/nvidia*, no /dev/dri) failed every camera's open, where the
    codec's software fallback covers only a decoder without that hardware config."""
    from av.codec.hwaccel import HWAccel

    try:
        HWAccel(device_type=kind, allow_software_fallback=True).create(av.codec.Codec("h264", "r"))
    except NotImplementedError:  # this decoder has no such hardware config: the open falls back by itself
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class VideoSource:
    """One open connection to a camera. Iterate ``packets()`` (demux only) or ``frames()``; ``close()`` when done.

    Decoding runs in the caller's thread with ``threads`` decoder threads (default 1: many cameras on few
    cores decode best one thread each, and FFmpeg's automatic threading was seen to crash PyAV under
    extreme load). ``keyframes_only(True)`` makes the decoder skip every non-key frame.
    """

    def __init__(
        self,
        url: str,
        *,
        loop: bool = False,
        realtime: bool | None = None,
        start_at: dt.datetime | None = None,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        max_drift_s: float = 5.0,
        clock: Callable[[], dt.datetime] | None = None,
        threads: int = 1,
        hwaccel: str = "none",
    ) -> None:
        self.url = url
        self.kind = source_kind(url)
        self.loop = loop and self.kind == "file"
        self.realtime = (self.kind == "file") if realtime is None else realtime  # pace files like a live camera
        self.max_drift_s = max_drift_s
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.start_at = start_at
        self._timeouts = (open_timeout_s, read_timeout_s)
        self.threads = max(1, threads)
        self.hwaccel_wanted = hwaccel
        self._accel: object | None = None
        self.container: av.container.InputContainer | None = None
        self.stream: av.video.stream.VideoStream | None = None
        self.width = self.height = 0
        self.nominal_fps: float | None = None
        self._last_frame_ts: dt.datetime | None = None

    def open(self) -> "VideoSource":
        url, fmt = self.url, None
        if self.kind == "device":
            url, fmt = self.url.removeprefix("v4l2:"), "v4l2"
        accel = self._accel = make_hwaccel(self.hwaccel_wanted)
        kwargs = {"hwaccel": accel} if accel is not None else {}
        self.container = av.open(url, format=fmt, options=open_options(self.kind, self._timeouts[1]),
                                 timeout=self._timeouts, **kwargs)
        stream = self.stream = self.container.streams.video[0]
        if self.threads > 1:
            stream.thread_type = "FRAME"
        stream.thread_count = self.threads
        self.width, self.height = stream.codec_context.width, stream.codec_context.height
        rate = stream.average_rate or stream.base_rate
        self.nominal_fps = float(rate) if rate else None
        return self

    @property
    def hwaccel(self) -> str:
        """The hardware decode that runs ("none" until the decoder opened on a device; FFmpeg falls back to
        software silently when the device cannot decode the stream)."""
        cc = self.stream.codec_context if self.stream is not None else None
        if self._accel is None or cc is None or not getattr(cc, "is_hwaccel", False):
            return "none"
        return self.hwaccel_wanted

    def keyframes_only(self, on: bool) -> None:
        if self.stream is not None:
            self.stream.codec_context.skip_frame = "NONKEY" if on else "DEFAULT"

    def close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # closing a broken stream must not raise
                log.debug("closing %s failed", self.url, exc_info=True)
            self.container = None
            self.stream = None

    def __enter__(self) -> "VideoSource":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ frames
    def frames(self) -> Iterator[RawFrame]:
        """Every decoded frame (demux + decode)."""
        for p in self.packets():
            yield from self.decode(p)
        yield from self.flush()

    def decode(self, p: TimedPacket, drain: bool = False) -> list[RawFrame]:
        """The frames the decoder gives back for this packet, stamped relative to the packet.

        ``drain`` empties the decoder's reorder delay right away and resets it (for a keyframe decoded on
        its own: without it, its picture comes out only after more packets)."""
        assert self.stream is not None
        cc = self.stream.codec_context
        frames = list(cc.decode(p.packet))
        if drain:
            frames += cc.decode(None)
            cc.flush_buffers()
        return [self._stamp(f, p) for f in frames]

    def flush(self) -> list[RawFrame]:
        """Frames still held by the decoder at the end of a file."""
        if self.stream is None or self._last_frame_ts is None:
            return []
        try:
            frames = self.stream.codec_context.decode(None)
        except av.error.FFmpegError:
            return []
        last = self._last_frame_ts
        out = []
        for f in frames:
            last = last + dt.timedelta(seconds=1.0 / (self.nominal_fps or 25.0))
            out.append(RawFrame(last, 0.0, f))
        self._last_frame_ts = last
        return out

    def _stamp(self, frame: av.VideoFrame, p: TimedPacket) -> RawFrame:
        ts, media_s = p.ts, p.media_s
        ft, pt = _frame_time(frame), _packet_time(p.packet)
        if ft is not None and pt is not None and ft != pt:  # a reordered frame (B-frames)
            ts, media_s = ts + dt.timedelta(seconds=ft - pt), media_s + (ft - pt)
        if self._last_frame_ts is not None and ts <= self._last_frame_ts:
            ts = self._last_frame_ts + dt.timedelta(microseconds=1)
        self._last_frame_ts = ts
        return RawFrame(ts, media_s, frame)

    def packets(self) -> Iterator[TimedPacket]:
        """Demux the video stream (no decoding), each packet stamped with real time."""
        if self.container is None:
            self.open()
        if self.kind == "file":
            yield from self._file_packets()
        else:
            yield from self._live_packets()

    def _file_packets(self) -> Iterator[TimedPacket]:
        assert self.container is not None and self.stream is not None
        start = self.start_at or self._clock()
        wall0 = time.monotonic()
        offset = 0.0  # media seconds of the passes already played
        frame_dur = 1.0 / self.nominal_fps if self.nominal_fps else 0.04
        while True:
            t0: float | None = None
            last = -1.0  # presentation time of the latest packet of this pass, relative to t0
            last_dts = float("-inf")
            for packet in self.container.demux(self.stream):
                if packet.size == 0:
                    continue
                t = _packet_time(packet)
                d = _packet_time(packet, dts=True)
                if t is None:
                    t = (t0 or 0.0) + last + frame_dur if last >= 0 else 0.0
                if d is None:
                    d = t
                if t0 is None:
                    t0 = t  # the first presentation is media time 0 (B-frames decode slightly before it)
                rel, rel_d = t - t0, d - t0
                if rel_d <= last_dts:  # non-monotonic DTS inside a file: keep time moving forward
                    rel_d = last_dts + frame_dur
                    rel = max(rel, rel_d)
                last_dts = rel_d
                last = max(last, rel)
                if self.realtime:
                    delay = wall0 + offset + rel_d - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                media_s = offset + rel
                yield TimedPacket(start + dt.timedelta(seconds=media_s), media_s, offset + rel_d, packet,
                                  bool(packet.is_keyframe))
            if not self.loop:
                return
            if t0 is None:
                raise SourceEnded(f"{self.url}: no video packets")
            offset += last + frame_dur
            self.container.seek(0)

    def _live_packets(self) -> Iterator[TimedPacket]:
        assert self.container is not None and self.stream is not None
        anchor_wall: dt.datetime | None = None
        anchor_t = 0.0
        opened = self._clock()
        last_ts: dt.datetime | None = None
        for packet in self.container.demux(self.stream):
            if packet.size == 0:
                continue
            now = self._clock()
            t = _packet_time(packet)
            if t is None:
                ts = now
            else:
                if anchor_wall is None:
                    anchor_wall, anchor_t = now, t
                ts = anchor_wall + dt.timedelta(seconds=t - anchor_t)
                if abs((ts - now).total_seconds()) > self.max_drift_s:
                    log.info("%s: stream clock drifted %.1fs from wall clock; re-anchoring", self.url,
                             (ts - now).total_seconds())
                    anchor_wall, anchor_t, ts = now, t, now
            if last_ts is not None and ts <= last_ts:
                ts = last_ts + dt.timedelta(microseconds=1)
            last_ts = ts
            media_s = (ts - opened).total_seconds()
            d = _packet_time(packet, dts=True)
            dts_s = media_s - (t - d) if (t is not None and d is not None) else media_s
            yield TimedPacket(ts, media_s, dts_s, packet, bool(packet.is_keyframe))


def _packet_time(packet: av.Packet, dts: bool = False) -> float | None:
    value = packet.dts if dts else packet.pts
    if value is None or packet.time_base is None:
        return None
    return float(value * Fraction(packet.time_base))


def _frame_time(frame: av.VideoFrame) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * Fraction(frame.time_base))
