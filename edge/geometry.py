"""Zone geometry as small pure functions on numpy (supervision-style).

Conventions
-----------
- Zones are configured as normalised polygons (0..1, x right, y down); frames have ``shape = (height, width)``.
- Boxes are ``(N, 4)`` arrays ``x1, y1, x2, y2`` in pixels of the frame, as in ``edge.detections.Detections``.
- Points on a polygon's edge count as inside (so a box corner exactly on a zone border is "in the zone").
- No shapely: box ∩ polygon uses Sutherland–Hodgman clipping of the polygon by the (convex) box, which is exact
  for concave zones too; union coverage of a polygon by many boxes is rasterised on a small grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Anchor = Literal["bottom_center", "center", "top_center"]
Shape = tuple[int, int]  # (height, width)

# ---------------------------------------------------------------- polygons


def denormalize_polygon(polygon: Sequence[Sequence[float]], shape: Shape) -> np.ndarray:
    """Normalised polygon [[x, y], ...] -> (N, 2) float32 pixel polygon for a frame of ``shape = (h, w)``."""
    h, w = shape
    pts = np.asarray(polygon, dtype=np.float32).reshape(-1, 2)
    if len(pts) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(pts)}")
    return pts * np.array([w, h], dtype=np.float32)


def polygon_area(polygon: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula), always >= 0."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def polygon_bbox(polygon: np.ndarray) -> np.ndarray:
    """Bounding box ``[x1, y1, x2, y2]`` of a polygon."""
    p = np.asarray(polygon, dtype=np.float32).reshape(-1, 2)
    return np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()], dtype=np.float32)


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean (N,) mask: which points lie inside or on the edge of the polygon (even-odd rule)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return np.zeros((0,), dtype=bool)
    px, py = pts[:, 0:1], pts[:, 1:2]  # (N, 1)
    x1, y1 = poly[:, 0][None, :], poly[:, 1][None, :]  # (1, M)
    x2, y2 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    # crossing number: edges that straddle the horizontal line through the point, crossing to its right
    straddle = (y1 > py) != (y2 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
    inside = np.count_nonzero(straddle & (px < x_cross), axis=1) % 2 == 1
    # on-edge: collinear with an edge and within its extent
    cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
    within = (
        (px >= np.minimum(x1, x2) - 1e-9)
        & (px <= np.maximum(x1, x2) + 1e-9)
        & (py >= np.minimum(y1, y2) - 1e-9)
        & (py <= np.maximum(y1, y2) + 1e-9)
    )
    on_edge = np.any((np.abs(cross) <= 1e-9 * np.maximum(1.0, np.abs(x2 - x1) + np.abs(y2 - y1))) & within, axis=1)
    return inside | on_edge


def point_in_polygon(point: Sequence[float], polygon: np.ndarray) -> bool:
    """Is one point inside (or on the edge of) the polygon?"""
    return bool(points_in_polygon(np.asarray([point], dtype=np.float64), polygon)[0])


# ---------------------------------------------------------------- boxes


def box_anchors(xyxy: np.ndarray, anchor: Anchor = "bottom_center") -> np.ndarray:
    """(N, 2) anchor points of boxes: bottom-centre (feet), centre, or top-centre (head)."""
    b = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
    cx = (b[:, 0] + b[:, 2]) / 2
    if anchor == "bottom_center":
        y = b[:, 3]
    elif anchor == "center":
        y = (b[:, 1] + b[:, 3]) / 2
    elif anchor == "top_center":
        y = b[:, 1]
    else:
        raise ValueError(f"unknown anchor {anchor!r}")
    return np.stack([cx, y], axis=1)


def box_area(xyxy: np.ndarray) -> np.ndarray:
    """(N,) areas of boxes (0 for degenerate boxes)."""
    b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU matrix (N, M) of two box sets."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def boxes_intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise (N, M) boolean: do the boxes overlap with positive area?"""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return (
        (np.minimum(a[:, None, 2], b[None, :, 2]) > np.maximum(a[:, None, 0], b[None, :, 0]))
        & (np.minimum(a[:, None, 3], b[None, :, 3]) > np.maximum(a[:, None, 1], b[None, :, 1]))
    )


def clip_boxes(xyxy: np.ndarray, shape: Shape) -> np.ndarray:
    """Clip boxes to the frame ``shape = (h, w)``."""
    h, w = shape
    b = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4).copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, w)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, h)
    return b


def pad_boxes(xyxy: np.ndarray, pad: float, shape: Shape | None = None, relative: bool = True) -> np.ndarray:
    """Grow boxes on every side by ``pad`` (a fraction of each box's width/height, or pixels when
    ``relative=False``), then clip to the frame when ``shape`` is given."""
    b = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
    if relative:
        dx = (b[:, 2] - b[:, 0]) * pad
        dy = (b[:, 3] - b[:, 1]) * pad
    else:
        dx = dy = np.full(len(b), pad, dtype=np.float32)
    out = np.stack([b[:, 0] - dx, b[:, 1] - dy, b[:, 2] + dx, b[:, 3] + dy], axis=1)
    return clip_boxes(out, shape) if shape is not None else out


# ---------------------------------------------------------------- boxes vs polygons


def _clip_half_plane(points: list[tuple[float, float]], axis: int, bound: float,
                     keep_ge: bool) -> list[tuple[float, float]]:
    """One Sutherland–Hodgman step: keep the part of the polygon with ``p[axis] >= bound`` (or ``<=``)."""

    def inside(p: tuple[float, float]) -> bool:
        return p[axis] >= bound if keep_ge else p[axis] <= bound

    def cut(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
        t = (bound - p[axis]) / (q[axis] - p[axis])
        return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))

    out: list[tuple[float, float]] = []
    for i, cur in enumerate(points):
        prev = points[i - 1]
        if inside(cur):
            if not inside(prev):
                out.append(cut(prev, cur))
            out.append(cur)
        elif inside(prev):
            out.append(cut(prev, cur))
    return out


def clip_polygon_to_box(polygon: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """Sutherland–Hodgman: the part of ``polygon`` inside the axis-aligned ``box`` (may be empty, shape (0, 2))."""
    x1, y1, x2, y2 = (float(v) for v in box)
    out = [(float(p[0]), float(p[1])) for p in np.asarray(polygon, dtype=np.float64).reshape(-1, 2)]
    for axis, bound, keep_ge in ((0, x1, True), (0, x2, False), (1, y1, True), (1, y2, False)):
        if not out:
            break
        out = _clip_half_plane(out, axis, bound, keep_ge)
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def box_fraction_in_polygon(xyxy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) fraction of each box's area that lies inside the polygon (0 for degenerate boxes)."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    areas = box_area(boxes)
    out = np.zeros(len(boxes), dtype=np.float64)
    for i, (b, a) in enumerate(zip(boxes, areas)):
        if a > 0:
            out[i] = min(1.0, polygon_area(clip_polygon_to_box(polygon, b)) / a)
    return out


def boxes_touching_polygons(xyxy: np.ndarray, polygons: Sequence[np.ndarray]) -> np.ndarray:
    """(N,) bool: each box has some area inside at least one of the polygons."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    out = np.zeros(len(boxes), dtype=bool)
    for poly in polygons:
        out |= box_fraction_in_polygon(boxes, poly) > 0
    return out


def polygon_fraction_in_box(polygon: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """(N,) fraction of the polygon's area covered by each box separately."""
    area = polygon_area(polygon)
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    if area <= 0:
        return np.zeros(len(boxes))
    return np.array([polygon_area(clip_polygon_to_box(polygon, b)) / area for b in boxes], dtype=np.float64)


def polygon_mask(polygon: np.ndarray, shape: Shape) -> np.ndarray:
    """Boolean (h, w) mask of the pixels whose centres lie in the polygon (pixel coordinates)."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    pts = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    return points_in_polygon(pts, polygon).reshape(h, w)


def points_in_boxes(points: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """(N,) bool: which points (N, 2) lie inside (edges included) any of the boxes (M, 4)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    inside = np.zeros(len(p), dtype=bool)
    for b in np.asarray(xyxy, dtype=np.float64).reshape(-1, 4):
        inside |= (p[:, 0] >= b[0]) & (p[:, 0] <= b[2]) & (p[:, 1] >= b[1]) & (p[:, 1] <= b[3])
    return inside


def polygon_coverage(polygon: np.ndarray, xyxy: np.ndarray, grid: int = 96) -> float:
    """Fraction of the polygon covered by the union of boxes, rasterised on a ``grid`` x ``grid`` sampling of the
    polygon's bounding box (error about 1/grid of the zone size; overlapping boxes are not double-counted)."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return 0.0
    x1, y1, x2, y2 = polygon_bbox(polygon).astype(np.float64)
    if x2 <= x1 or y2 <= y1:
        return 0.0
    xs = x1 + (np.arange(grid) + 0.5) * (x2 - x1) / grid
    ys = y1 + (np.arange(grid) + 0.5) * (y2 - y1) / grid
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    inside = points_in_polygon(pts, polygon)
    if not inside.any():
        return 0.0
    return float(points_in_boxes(pts[inside], boxes).mean())
