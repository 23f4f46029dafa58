"""Frames from the shared media for evaluations and benchmarks, sampled by presentation timestamp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

SUB_WIDTH = 640  # a camera's detect substream (640x360 for 16:9)


def fit_width(img: np.ndarray, width: int | None = SUB_WIDTH) -> np.ndarray:
    """``img`` scaled down to ``width`` pixels wide (an even height, area interpolation), as a camera's substream
    shows the scene; unchanged when it is no wider or ``width`` is None."""
    h, w = img.shape[:2]
    if width is None or w <= width:
        return img
    import cv2

    return cv2.resize(img, (width, round(h * width / w / 2) * 2), interpolation=cv2.INTER_AREA)


def sample_video(path: str | Path, fps: float, limit_s: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds from start, BGR frame) at ``fps`` using frame PTS (never frame counts)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        next_t = 0.0
        start: float | None = None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * stream.time_base)
            start = t if start is None else start
            t -= start
            if limit_s is not None and t > limit_s:
                break
            if t + 1e-6 >= next_t:
                yield t, frame.to_ndarray(format="bgr24")
                next_t += 1.0 / fps
