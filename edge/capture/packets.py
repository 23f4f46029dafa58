"""The packet ring of a camera's record stream: encoded packets, never decoded, cut into clips by stream copy.

The ring keeps whole GOPs (a keyframe and the packets that depend on it): it drops the oldest GOP only
while the next one alone still covers ``seconds`` and the ring stays under ``max_bytes``, so a clip
can always start at the keyframe at or before its start (pre-roll at least what was asked for). A clip
is an MP4 (index up front, "faststart") holding the camera's own H.264/H.265 packets: no re-encode,
the camera's quality. ``picture_at`` decodes one picture on demand (from the keyframe before it),
for evidence snapshots at the record stream's resolution.

Thread-safe: the reader adds, the evidence writer cuts.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import tempfile
import threading
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from edge.capture.source import TimedPacket, frame_rotation, upright

log = logging.getLogger(__name__)

CLIP_TIME_BASE = Fraction(1, 90000)


@dataclass
class _Gop:
    start: dt.datetime
    packets: list[TimedPacket] = field(default_factory=list)
    nbytes: int = 0


@dataclass(frozen=True)
class PacketClip:
    data: bytes  # MP4
    start: dt.datetime  # timestamp of the first (key) frame
    end: dt.datetime  # timestamp of the last frame
    frames: int
    width: int
    height: int
    codec: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


class _Template:
    """The codec parameters of a stream, kept after its container closes (a stream of an unwritten
    in-memory MP4, usable as ``add_stream_from_template``'s template)."""

    def __init__(self, stream: av.video.stream.VideoStream) -> None:
        self._holder = av.open(io.BytesIO(), "w", format="mp4")
        self.stream = self._holder.add_stream_from_template(stream)
        cc = stream.codec_context
        self.key = (cc.name, cc.width, cc.height, bytes(cc.extradata or b""))
        self.codec, self.width, self.height = cc.name, cc.width, cc.height


class PacketRing:
    def __init__(self, seconds: float, max_bytes: int = 24 * 1024 * 1024) -> None:
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._gops: deque[_Gop] = deque()
        self._bytes = 0
        self._template: _Template | None = None
        self._lock = threading.Lock()
        self.dropped_before_key = 0  # packets that arrived before any keyframe (undecodable, not kept)

    # ------------------------------------------------------------------ filling
    def set_stream(self, stream: av.video.stream.VideoStream) -> None:
        """The stream the next packets come from; a stream with other codec parameters empties the ring."""
        tmpl = _Template(stream)
        with self._lock:
            if self._template is not None and self._template.key != tmpl.key:
                log.info("record stream changed (%s -> %s); ring emptied", self._template.key[:3], tmpl.key[:3])
                self._gops.clear()
                self._bytes = 0
            self._template = tmpl

    def add(self, p: TimedPacket) -> None:
        with self._lock:
            if p.keyframe:
                self._gops.append(_Gop(p.ts))
            elif not self._gops:
                self.dropped_before_key += 1
                return
            elif self._gops[-1].packets and p.dts_s <= self._gops[-1].packets[-1].dts_s:
                return  # a repeated or backwards packet (muxers refuse non-increasing DTS)
            gop = self._gops[-1]
            gop.packets.append(p)
            gop.nbytes += p.packet.size
            self._bytes += p.packet.size
            while len(self._gops) > 1 and ((p.ts - self._gops[1].start).total_seconds() >= self.seconds
                                            or self._bytes > self.max_bytes):
                self._bytes -= self._gops.popleft().nbytes

    # ------------------------------------------------------------------ reading
    @property
    def newest_ts(self) -> dt.datetime | None:
        with self._lock:
            for gop in reversed(self._gops):
                if gop.packets:
                    return gop.packets[-1].ts
            return None

    @property
    def oldest_ts(self) -> dt.datetime | None:
        with self._lock:
            return self._gops[0].start if self._gops else None

    def __len__(self) -> int:
        with self._lock:
            return sum(len(g.packets) for g in self._gops)

    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def _span(self, start: dt.datetime, end: dt.datetime) -> tuple[list[TimedPacket], _Template | None]:
        """Packets in decode order from the keyframe at or before ``start`` (or the oldest) up to the first
        one shown after ``end``."""
        with self._lock:
            gops = list(self._gops)
            tmpl = self._template
        first = 0
        for i, g in enumerate(gops):
            if g.start <= start:
                first = i
        out = []
        for g in gops[first:]:
            for p in g.packets:
                if p.ts > end:  # contiguous in decode order: a reordered (B) frame needs the packets before it
                    return out, tmpl
                out.append(p)
        return out, tmpl

    def cut(self, start: dt.datetime, end: dt.datetime) -> PacketClip | None:
        """An MP4 of the packets covering [start, end] by stream copy, or None when the ring has none."""
        packets, tmpl = self._span(start, end)
        if not packets or tmpl is None:
            return None
        with tempfile.TemporaryDirectory(prefix="hallwatch-clip-") as tmp:
            path = Path(tmp) / "clip.mp4"  # faststart rewrites the file: it needs a real one
            self._write(path, packets, tmpl)
            data = path.read_bytes()
        return PacketClip(data, packets[0].ts, max(p.ts for p in packets), len(packets), tmpl.width, tmpl.height,
                          tmpl.codec)

    @staticmethod
    def _write(path: Path, packets: list[TimedPacket], tmpl: _Template) -> None:
        out = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            stream = out.add_stream_from_template(tmpl.stream)
            stream.time_base = CLIP_TIME_BASE
            base = packets[0].dts_s
            for p in packets:
                pkt = av.Packet(bytes(p.packet))
                pkt.dts = int(round((p.dts_s - base) * 90000))
                pkt.pts = max(pkt.dts, int(round((p.media_s - base) * 90000)))
                pkt.time_base = CLIP_TIME_BASE
                pkt.is_keyframe = p.keyframe
                pkt.stream = stream
                out.mux(pkt)
        finally:
            out.close()

    def picture_at(self, ts: dt.datetime) -> tuple[dt.datetime, np.ndarray] | None:
        """The picture shown at ``ts`` (the last frame at or before it; the ring's first one when ``ts`` is
        older) as BGR at the stream's resolution, decoded from the keyframe before it."""
        with self._lock:
            gops = [g for g in self._gops if g.start <= ts and g.packets]
            gop = gops[-1] if gops else (self._gops[0] if self._gops and self._gops[0].packets else None)
            packets = list(gop.packets) if gop is not None else []
            tmpl = self._template
        if not packets or tmpl is None:
            return None
        ctx = av.CodecContext.create(tmpl.codec, "r")
        extradata = tmpl.key[3]
        if extradata:
            ctx.extradata = extradata
        ctx.thread_count = 1
        when: dict[int, dt.datetime] = {}
        best: tuple[dt.datetime, av.VideoFrame] | None = None

        def consider(frames: list) -> bool:  # noqa: ANN001 - True once a frame after ``ts`` came out
            nonlocal best
            for f in frames:
                t = when.get(f.pts) if f.pts is not None else None
                if t is None:
                    continue
                if t > ts and best is not None:
                    return True
                if best is None or t <= ts:
                    best = (t, f)
            return False

        done = False
        for p in packets:  # decode order
            pkt = av.Packet(bytes(p.packet))
            pkt.pts, pkt.dts = int(round(p.media_s * 90000)), int(round(p.dts_s * 90000))
            pkt.time_base = CLIP_TIME_BASE
            when[pkt.pts] = p.ts
            if consider(ctx.decode(pkt)):
                done = True
                break
        if not done:
            consider(ctx.decode(None))  # the decoder's delayed frames
        if best is None:
            return None
        t, frame = best
        return t, upright(frame.to_ndarray(format="bgr24"), frame_rotation(frame))
