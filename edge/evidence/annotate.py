"""Annotated evidence pictures: zones, boxes with labels, and a caption (rule, window, camera, time).

A snapshot shows what its alert claims: ``focus(rule, zones, window, zone_id)`` says which zones the alert is
about (drawn thick in red and named, the others thin) and which object classes matter (phone use: people and
phones, not cups or laptops); boxes of one class that overlap are drawn once; labels are Chinese
(``lang="en"`` for English).

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
HIGHLIGHT = (0, 0, 255)
CLASS_ZH = {"person": "人员", "cell phone": "手机", "cigarette": "香烟", "laptop": "笔记本电脑", "cup": "杯子",
            "bottle": "瓶子", "chair": "椅子", "dining table": "桌子", "backpack": "背包", "handbag": "手提包",
            "suitcase": "行李箱", "book": "书本", "keyboard": "键盘", "tv": "显示器", "mouse": "鼠标"}
ZONE_KIND_ZH = {"seat": "座位区", "counter": "柜台区", "public": "等候区", "exit": "安全出口", "equipment": "设备区"}
ZONE_KIND_EN = {"seat": "seat", "counter": "counter", "public": "waiting area", "exit": "exit",
                "equipment": "equipment"}
# what each rule's picture must show: the object classes that matter (None: every class) and the zone kinds
# the alert is about
RULE_FOCUS: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...]]] = {
    "window_unstaffed": (("person",), ("seat",)),
    "late_arrival": (("person",), ("seat",)),
    "early_leave": (("person",), ("seat",)),
    "phone_use": (("person", "cell phone"), ("seat",)),
    "sleeping": (("person",), ("seat",)),
    "smoking": (("person", "cigarette"), ()),
    "after_hours_presence": (("person",), ()),
    "exit_blocked": (None, ("exit",)),
}
DUPLICATE_IOU = 0.6
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


def focus(rule: str, zones: Sequence[ZoneConfig], window: str | None = None,
          zone_id: str | None = None) -> tuple[tuple[str, ...] | None, list[str]]:
    """(classes to draw, ids of the zones the alert is about) for a finding of ``rule``: the named zone, else
    the zones of the rule's kinds that belong to the finding's window (all of them when it names no window)."""
    classes, kinds = RULE_FOCUS.get(rule, (None, ()))
    if zone_id and any(z.id == zone_id for z in zones):
        return classes, [zone_id]
    ids = [z.id for z in zones if z.kind in kinds and (window is None or z.window is None or z.window == window)]
    return classes, ids


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def boxes_to_draw(sets: Sequence[Detections | None], classes: Sequence[str] | None = None
                  ) -> list[tuple[np.ndarray, str, float]]:
    """The boxes of ``sets`` (e.g. the full-frame pass and a crop pass) of the wanted classes, each object once:
    of two same-class boxes overlapping by IoU > DUPLICATE_IOU the more confident one stays."""
    boxes: list[tuple[np.ndarray, str, float]] = []
    for dets in sets:
        if dets is None:
            continue
        for i in range(len(dets)):
            if classes is None or dets.labels[i] in classes:
                boxes.append((np.asarray(dets.xyxy[i], float), dets.labels[i], float(dets.confidence[i])))
    boxes.sort(key=lambda b: -b[2])
    kept: list[tuple[np.ndarray, str, float]] = []
    for box in boxes:
        if not any(k[1] == box[1] and _iou(k[0], box[0]) > DUPLICATE_IOU for k in kept):
            kept.append(box)
    return kept


def class_label(name: str, conf: float, lang: str = "zh") -> str:
    return f"{CLASS_ZH.get(name, name) if lang == 'zh' else name} {conf:.0%}"


def zone_label(z: ZoneConfig, lang: str = "zh") -> str:
    kind = (ZONE_KIND_ZH if lang == "zh" else ZONE_KIND_EN).get(z.kind, z.kind)
    return f"{kind} {z.name or z.window or z.id}"


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
    highlight: Sequence[str] = (),
    classes: Sequence[str] | None = None,
    lang: str = "zh",
) -> np.ndarray:
    """Return a copy of ``image`` with zones, boxes and a caption block drawn on it. ``highlight``: ids of the
    zones the alert is about (thick red outline, named); ``classes``: the object classes drawn (None: all)."""
    out = image.copy()
    h, w = out.shape[:2]
    thick = max(1, round(min(h, w) / 360))
    overlay = out.copy()
    labels: list[tuple[str, tuple[int, int], tuple[int, int, int]]] = []
    for z in zones:
        pts = zone_pixels(z, (h, w))
        if z.id in highlight:
            cv2.fillPoly(overlay, [pts], HIGHLIGHT)
        else:
            colour = ZONE_COLOURS.get(z.kind, (255, 255, 255))
            cv2.polylines(out, [pts], True, colour, 1 if highlight else thick)
    out = cv2.addWeighted(overlay, 0.22, out, 0.78, 0)
    for z in zones:
        if z.id in highlight:
            pts = zone_pixels(z, (h, w))
            cv2.polylines(out, [pts], True, HIGHLIGHT, thick * 3)
            x, y = int(pts[:, 0].min()), int(pts[:, 1].max())
            labels.append((zone_label(z, lang), (x + 4, min(h - 4, y - 4)), HIGHLIGHT))
    for xyxy, name, conf in boxes_to_draw((detections, extra), classes):
        x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
        colour = CLASS_COLOURS.get(name, (255, 255, 0))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick + 1)
        labels.append((class_label(name, conf, lang), (x1, max(0, y1 - 4)), colour))
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
