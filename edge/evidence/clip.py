"""Browser-playable evidence clips: H.264 (yuv420p) in MP4 with the index up front (faststart).

Frames come from a camera's ring buffer with their real timestamps, so the clip plays at true speed
even though frames were kept at a few per second (variable frame rate, millisecond time base).
The PyAV wheel ships libx264; ``pick_encoder`` falls back to other H.264 encoders (openh264, ...) if
a build lacks it.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np

H264_ENCODERS = ("libx264", "libopenh264", "h264_v4l2m2m")


@functools.lru_cache(maxsize=1)
def pick_encoder() -> str:
    """The first H.264 encoder this PyAV build can open."""
    for name in H264_ENCODERS:
        try:
            codec = av.codec.Codec(name, "w")
        except Exception:
            continue
        try:
            ctx = av.codec.CodecContext.create(codec)
            ctx.width, ctx.height, ctx.pix_fmt = 64, 64, "yuv420p"
            ctx.time_base = Fraction(1, 25)
            ctx.open()
            return name
        except Exception:
            continue
    raise RuntimeError(f"no H.264 encoder available in PyAV (tried {', '.join(H264_ENCODERS)})")


def encode_mp4(
    frames: Iterable[tuple[dt.datetime, np.ndarray]],
    path: str | os.PathLike[str],
    crf: int = 28,
    preset: str = "veryfast",
) -> Path:
    """Write BGR frames with their timestamps to an H.264 MP4 at ``path``; return the path.

    Width and height are rounded down to even numbers (yuv420p); frames of another size are resized. ``frames``
    may be a generator: each frame is encoded as it comes, so a long 1080p clip is never held whole.
    """
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError("no frames for the clip")
    import cv2

    path = Path(path)
    h0, w0 = first[1].shape[:2]
    w, h = w0 // 2 * 2, h0 // 2 * 2
    t0 = first[0]
    encoder = pick_encoder()
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        stream = container.add_stream(encoder, rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)  # variable frame rate: millisecond timestamps
        if encoder == "libx264":
            stream.options = {"crf": str(crf), "preset": preset, "profile": "high"}
        last_pts = -1
        for ts, image in itertools.chain([first], it):
            if image.shape[0] != h or image.shape[1] != w:
                image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
            pts = int(round((ts - t0).total_seconds() * 1000))
            if pts <= last_pts:
                pts = last_pts + 1
            last_pts = pts
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            vf.pts, vf.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path


def encode_mp4_bytes(frames: Iterable[tuple[dt.datetime, np.ndarray]], **kw: object) -> bytes:
    """Like ``encode_mp4`` but returns the file's bytes (faststart needs a real, seekable file)."""
    fd, name = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        encode_mp4(frames, name, **kw)  # type: ignore[arg-type]
        return Path(name).read_bytes()
    finally:
        os.unlink(name)
