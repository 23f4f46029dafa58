"""Bounded per-device reading history and the PNG chart attached to sensor findings as evidence."""

from __future__ import annotations

import datetime as dt
import functools
import io
import threading
from collections import deque

from edge.sensors.readings import Reading

# state kinds drawn as 0/1 steps, with the label of the "1" level
STATE_LEVELS: dict[str, tuple[object, str]] = {
    "switch": ("on", "on"), "contact": ("open", "open"), "occupancy": (True, "occupied"),
    "smoke": (True, "smoke"), "lock": ("locked", "locked"), "availability": ("offline", "offline"),
}
# the chart's words in Chinese (the console's language, as the snapshot captions), used when a CJK font is
# installed; English otherwise (no missing-glyph boxes)
ZH: dict[str, str] = {
    "W": "功率 (W)", "limit": "限值", "no_readings": "该时段无读数",
    "switch": "开关", "contact": "门磁", "occupancy": "人体感应", "smoke": "烟雾", "lock": "门锁",
    "availability": "在线状态", "on": "通电", "open": "打开", "occupied": "有人", "locked": "上锁",
    "offline": "离线",
}
EN: dict[str, str] = {"W": "W", "limit": "limit", "no_readings": "no readings in this period"}


@functools.cache
def chart_font() -> str | None:
    """Family name of the CJK font for charts (registered with matplotlib once), or None."""
    from edge.evidence.annotate import cjk_font_path

    path = cjk_font_path()
    if path is None:
        return None
    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path).get_name()
    except (OSError, RuntimeError, ValueError):
        return None


def chart_words() -> tuple[dict[str, str], str | None]:
    """(the chart's words, the font family drawing them)."""
    family = chart_font()
    return (ZH, family) if family else (EN, None)


class History:
    """The last ``per_device`` readings of every device (thread-safe, bounded memory)."""

    def __init__(self, per_device: int = 2000):
        self.per_device = per_device
        self._data: dict[str, deque[Reading]] = {}
        self._lock = threading.Lock()

    def add(self, rd: Reading) -> None:
        with self._lock:
            self._data.setdefault(rd.device, deque(maxlen=self.per_device)).append(rd)

    def around(self, device: str, start: dt.datetime, end: dt.datetime) -> list[Reading]:
        """Readings in [start, end], plus the last one before start (the value holding at start)."""
        with self._lock:
            items = sorted(self._data.get(device, ()), key=lambda r: r.at)
        out, before = [], {}
        for r in items:
            if r.at < start:
                before[r.kind] = r
            elif r.at <= end:
                out.append(r)
        return list(before.values()) + out

    def latest(self, device: str, kind: str) -> Reading | None:
        with self._lock:
            for r in reversed(self._data.get(device, ())):
                if r.kind == kind:
                    return r
        return None


def chart_png(history: History, device: str, title: str, around: dt.datetime, *, before_s: float = 1800,
              after_s: float = 600, tz: dt.tzinfo | None = None, mark_w: float | None = None) -> bytes:
    """A PNG of the device's readings from ``before_s`` before to ``after_s`` after ``around``.

    Power is a step line in watts (with an optional threshold line); states are 0/1 steps. The finding
    moment is a vertical red line. Times on the x axis in the hall's time zone. Words in Chinese when a CJK
    font is installed (``chart_words``).
    """
    import matplotlib

    words, family = chart_words()
    fonts = {"font.family": [family, "DejaVu Sans"]} if family else {}
    with matplotlib.rc_context(fonts):
        return _draw(history, device, title, around, before_s, after_s, tz, mark_w, words)


def _draw(history: History, device: str, title: str, around: dt.datetime, before_s: float, after_s: float,
          tz: dt.tzinfo | None, mark_w: float | None, words: dict[str, str]) -> bytes:
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure  # no pyplot: thread-safe, no global figure registry

    def w(key: str) -> str:
        return words.get(key, key)

    start, end = around - dt.timedelta(seconds=before_s), around + dt.timedelta(seconds=after_s)
    readings = history.around(device, start, end)
    kinds = [k for k in ("power", *STATE_LEVELS) if any(r.kind == k for r in readings)]
    fig = Figure(figsize=(8, 1.2 + 1.6 * max(1, len(kinds))))
    axes = fig.subplots(max(1, len(kinds)), 1, sharex=True, squeeze=False)
    for ax, kind in zip(axes[:, 0], kinds or ["power"]):
        pts = [r for r in readings if r.kind == kind]
        xs = [max(r.at, start) for r in pts]
        if kind == "power":
            ys = [float(r.value) for r in pts]  # type: ignore[arg-type]
            ax.set_ylabel(w("W"))
            if mark_w is not None:
                ax.axhline(mark_w, color="red", linestyle="--", linewidth=1, label=f"{w('limit')} {mark_w:,g} W")
                ax.legend(loc="upper left", fontsize=8)
            if ys:  # every reading a dot, the peak labelled beside its point (not under the finding marker)
                ax.plot(xs, ys, "o", color="tab:blue", markersize=3, zorder=3)
                top = max(range(len(ys)), key=ys.__getitem__)
                ax.annotate(f"{ys[top]:,.0f} W", (xs[top], ys[top]), xytext=(8, -4), textcoords="offset points",
                            fontsize=8, color="tab:blue", zorder=4)
                ax.set_ylim(0, max(max(ys), mark_w or 0) * 1.15 + 1)
        else:
            one, label = STATE_LEVELS[kind]
            ys = [1.0 if r.value == one else 0.0 for r in pts]
            ax.set_yticks([0, 1], ["", w(label)])
            ax.set_ylim(-0.2, 1.2)
            ax.set_ylabel(w(kind))
        if xs:  # hold the last value to the end of the window
            xs.append(min(end, max(max(xs), around)))
            ys.append(ys[-1])
            ax.step(xs, ys, where="post", color="tab:blue")
        ax.axvline(around, color="red", linewidth=1, zorder=1)  # below the readings: a spike stays visible
        ax.grid(True, alpha=0.3)
    if not readings:
        axes[0, 0].text(0.5, 0.5, w("no_readings"), ha="center", va="center",
                        transform=axes[0, 0].transAxes)
    last = axes[-1, 0]
    last.set_xlim(start, end)
    last.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
