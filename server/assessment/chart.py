"""A dependency-free SVG line chart of a monthly score series (for the console and reports)."""

from __future__ import annotations

from html import escape
from typing import Any

W, H, PAD = 420, 180, 36


def trend_svg(series: list[dict[str, Any]], title: str = "", floor: float | None = None) -> str:
    """Scores per month as a polyline with labelled points; provisional months are drawn hollow."""
    scores = [float(p["score"]) for p in series]
    lo = min(scores + [floor if floor is not None else min(scores, default=90.0) - 1.0], default=90.0)
    hi = max(scores + [100.0], default=100.0)
    span = max(hi - lo, 1.0)
    n = max(len(series) - 1, 1)

    def xy(i: int, s: float) -> tuple[float, float]:
        return PAD + i * (W - 2 * PAD) / n, H - PAD - (s - lo) * (H - 2 * PAD) / span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
             f'font-family="sans-serif" font-size="11">',
             f'<text x="{PAD}" y="16">{escape(title)}</text>',
             f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#999"/>']
    pts = [xy(i, s) for i, s in enumerate(scores)]
    if len(pts) > 1:
        parts.append('<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
    for (x, y), p in zip(pts, series):
        fill = "white" if p.get("provisional") else "#1f6feb"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="#1f6feb"/>')
        parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{p["score"]:g}</text>')
        parts.append(f'<text x="{x:.1f}" y="{H - PAD + 16}" text-anchor="middle">{escape(str(p["month"]))}</text>')
    parts.append("</svg>")
    return "".join(parts)
