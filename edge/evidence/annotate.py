"""Annotated evidence pictures: zones, boxes with labels, and a caption (rule, window, camera, time).

Text is drawn with PIL when a CJK-capable font is installed (so 空岗 or window names show in Chinese),
otherwise with OpenCV's Hershey font in ASCII (rule ids, window ids). ``HALLWATCH_CJK_FONT`` points at a
font file explicitly.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from edge.detections import Detections
from edge.site import ZoneConfig

log = logging.getLogger(__name__)

ZONE_COLOURS = {"seat": (0, 200, 255), "counter": (255, 200, 0), "public": (200, 200, 200), "exit": (0, 0, 255),
                "equipment": (255, 0, 255)}
CLASS_COLOURS = {"person": (0, 220, 0), "cell phone": (0, 0, 255), "cigarette": (0, 128, 255)}
_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    env = os.environ.get("HALLWATCH_CJK_FONT")
    for cand in ([env] if env else []) + list(_FONT_CANDIDATES):
        if cand and Path(cand).is_file():
            return cand
    return None


def zone_pixels(zone: ZoneConfig, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    return np.array([[x * w, y * h] for x, y in zone.polygon], np.int32)


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def annotate(
    image: np.ndarray,
    detections: Detections | None = None,
    zones: Sequence[ZoneConfig] = (),
    caption: Sequence[str] = (),
    ts: dt.datetime | None = None,
    tz: dt.tzinfo | None = None,
    extra: Detections | None = None,
) -> np.ndarray:
    """Return a copy of ``image`` with zones, boxes and a caption block drawn on it."""
    out = image.copy()
    h, w = out.shape[:2]
    thick = max(1, round(min(h, w) / 360))
    overlay = out.copy()
    for z in zones:
        pts = zone_pixels(z, (h, w))
        colour = ZONE_COLOURS.get(z.kind, (255, 255, 255))
        cv2.fillPoly(overlay, [pts], colour)
        cv2.polylines(out, [pts], True, colour, thick)
    out = cv2.addWeighted(overlay, 0.15, out, 0.85, 0)
    labels: list[tuple[str, tuple[int, int], tuple[int, int, int]]] = []
    for dets in (detections, extra):
        if dets is None:
            continue
        for i in range(len(dets)):
            x1, y1, x2, y2 = (int(round(v)) for v in dets.xyxy[i])
            name = dets.labels[i]
            colour = CLASS_COLOURS.get(name, (255, 255, 0))
            cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick + 1)
            labels.append((f"{name} {float(dets.confidence[i]):.2f}", (x1, max(0, y1 - 4)), colour))
    lines = list(caption)
    if ts is not None:
        local = ts.astimezone(tz) if tz else ts
        lines.append(local.strftime("%Y-%m-%d %H:%M:%S %z"))
    scale = max(0.4, min(h, w) / 900)
    font_path = cjk_font_path()
    if font_path:
        return _text_pil(out, labels, lines, font_path, scale)
    for text, (x, y), colour in labels:
        cv2.putText(out, _ascii(text), (x, max(12, y)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
    y = int(28 * scale) + 4
    for line in lines:
        text = _ascii(line)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        cv2.rectangle(out, (4, y - th - 4), (10 + tw, y + 4), (0, 0, 0), -1)
        cv2.putText(out, text, (7, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
        y += th + 10
    return out


def _text_pil(out: np.ndarray, labels, lines, font_path: str, scale: float) -> np.ndarray:  # noqa: ANN001
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(font_path, max(12, int(26 * scale)))
    for text, (x, y), colour in labels:
        draw.text((x, max(0, y - int(26 * scale))), text, font=font, fill=colour[::-1])
    y = 4
    for line in lines:
        box = draw.textbbox((6, y), line, font=font)
        draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=(0, 0, 0))
        draw.text((6, y), line, font=font, fill=(255, 255, 255))
        y = box[3] + 8
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def jpeg(image: np.ndarray, quality: int = 88) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
