"""Frames from the shared media for evaluations and benchmarks, sampled by presentation timestamp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


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
