"""Seat decisions: is a seat ``staffed``, ``empty`` or ``uncertain``, and why.

A hall is a fixed scene: the cameras and the seats do not move and an empty seat looks the same every evening.
Each seat zone's decision combines three cues, each kept in ``SeatDecision`` so an installer can read it:

- **person**: the highest confidence of a person box belonging to the zone (centre inside, or half the box
  inside), from the full-frame pass merged with the seat-region pass (``seat_regions``: padded squares around the
  seat zones, merged into as few squares as cover them, so a seated clerk fills the model input);
- **pose**: head and shoulder keypoints (nose, eyes, ears, shoulders) of a pose person inside the zone or just
  above it (a head sticks out above a drawn seat zone): a head and shoulders above the desk;
- **empty reference**: the seat crop compared with what it looks like when nobody is there (``EmptyReference``,
  learned from frames known to be empty: after hours or an installer's mark, refreshed slowly). Both crops are
  grey REF_SIZE squares; the current one is brought to the reference's mean and contrast (light changes cancel)
  and they are compared in BLOCKS x BLOCKS blocks: a block changed when its level moved, its pattern no longer
  correlates, or texture appeared or vanished (``changed_blocks``). A *person-like* change covers most of the
  seat's upper part, where a head and torso are (``ref_diff`` of the upper UPPER share), and a large share of the
  whole crop (``ref_area``); optionally it must bring texture (``ref_edges``: edge density now / empty, off by
  default: a dark shirt brings less texture than the chair it hides, a book on the desk more). A coat on the
  chair back, a bag on the seat, belongings on the desk or a moved chair change a smaller, lower part and stay
  below those shares: they are told apart by where and how much of the seat changed (measured on the by-eye
  labels, ``models/ACCURACY.md``). When the whole view moved since the reference (phase correlation of a
  whole-picture thumbnail beyond MAX_SHIFT: the camera was knocked or panned) the reference is not used.

State (``decide``), in this order:

1. ``uncertain`` when the seat crop is dark or flat (``dark_level``: camera dark or covered), or a person box much
   taller than the seat (``blocked_height``) covers half of it and reaches below it (a passer-by between the camera
   and the seat);
2. ``staffed`` when the person cue reaches ``min_person_confidence``, or a head/shoulders pose is in the zone, or
   the empty reference shows a person-like change;
3. ``uncertain`` when a weak person box (``weak_person_confidence`` up to the staffed threshold) is in the zone
   and the empty reference does not say the seat looks empty (none, or a sizeable change): cues disagree;
4. ``empty`` otherwise.

Temporal smoothing (seconds, never frames) is the rule's job (``edge.rules.window_unstaffed``): only a confident
``empty`` advances a 空岗 episode.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from edge import geometry as geo
from edge.detect.regions import square_region
from edge.detections import Detections
from edge.site import SeatsConfig, SiteConfig, ZoneConfig

log = logging.getLogger(__name__)

SeatStateName = Literal["staffed", "empty", "uncertain"]
HEAD_SHOULDERS = (0, 1, 2, 3, 4, 5, 6)  # COCO nose, eyes, ears, shoulders
REF_SIZE = 64  # side of the normalised grey seat crop compared with the empty reference
UPPER = 0.625  # the upper part of a seat crop (head and torso height)
BLOCKS = 8  # the crop is compared in BLOCKS x BLOCKS blocks
LEVEL = 18.0  # grey steps between block means (after matching light) that count as a change
PATTERN = 0.4  # correlation below which two textured blocks differ
TEXTURE = 2.0  # contrast ratio beyond which texture appeared or vanished
POSE_MIN_H = 0.35  # a pose person shorter than this fraction of the zone height is no one seated there
HEAD_ABOVE = 0.2  # pose keypoints count up to this fraction of the zone height above the zone
VIEW_W = 160  # width of the whole-view thumbnail kept with a camera's references
MAX_SHIFT = 0.015  # the view moved (fraction of its width) beyond which the empty references are not used
OVERRIDE_KEYS = ("min_person_conf", "weak_person_conf", "keypoint_conf", "ref_diff", "ref_area", "ref_edges")


# --------------------------------------------------------------------------- regions


def zone_box(polygon_px: np.ndarray) -> np.ndarray:
    """Bounding box (x1, y1, x2, y2) of a pixel polygon."""
    return geo.polygon_bbox(np.asarray(polygon_px, np.float64)).astype(np.float64)


def merge_regions(squares: np.ndarray | Sequence[Sequence[float]], gain: float = 1.0) -> list[np.ndarray]:
    """Merge squares (xyxy) pairwise into their bounding square while that costs no more pixels than running both
    (bounding square area <= ``gain`` x the sum of the two areas), until no pair qualifies: as few model inputs as
    cover the seats without shrinking a seated person in a huge square."""
    sq = [np.asarray(b, np.float64) for b in np.asarray(squares, np.float64).reshape(-1, 4)]
    merged = True
    while merged and len(sq) > 1:
        merged = False
        best: tuple[float, int, int, np.ndarray] | None = None
        for a in range(len(sq)):
            for b in range(a + 1, len(sq)):
                lo, hi = np.minimum(sq[a][:2], sq[b][:2]), np.maximum(sq[a][2:], sq[b][2:])
                side = float((hi - lo).max())
                cost = side * side / ((sq[a][2] - sq[a][0]) ** 2 + (sq[b][2] - sq[b][0]) ** 2)
                if cost <= gain and (best is None or cost < best[0]):
                    c = (lo + hi) / 2
                    best = (cost, a, b, np.concatenate([c - side / 2, c + side / 2]))
        if best is not None:
            _, a, b, box = best
            sq = [s for k, s in enumerate(sq) if k not in (a, b)] + [box]
            merged = True
    return sq


def seat_regions(boxes: np.ndarray | Sequence[Sequence[float]], frame_shape: tuple[int, ...], pad: float = 0.35,
                 min_size: int = 160) -> list[tuple[int, int, int, int]]:
    """As few squares as cover the padded seat boxes (frame pixels): each box grown by ``pad`` of its longer side
    becomes a square; squares merge into their bounding square where that costs no more pixels than both
    (``merge_regions``, Frigate's region idea); every square is then shifted (and if need be shrunk) into the
    frame. Duplicates are dropped."""
    arr = np.asarray(boxes, np.float64).reshape(-1, 4)
    squares = []
    for b in arr:
        side = max(b[2] - b[0], b[3] - b[1]) * (1 + 2 * pad)
        side = max(side, float(min_size))
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        squares.append([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
    out: list[tuple[int, int, int, int]] = []
    for sq in merge_regions(squares):
        r = square_region(sq, frame_shape, pad=0.0, min_size=min_size)
        if r is not None and r not in out:
            out.append(r)
    return out


# --------------------------------------------------------------------------- empty reference


def seat_crop(frame: np.ndarray, box: Sequence[float]) -> np.ndarray | None:
    """The seat's box cut from ``frame`` as a REF_SIZE x REF_SIZE grey uint8 picture (None when off-frame)."""
    h, w = frame.shape[:2]
    x1, y1 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x2, y2 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    crop = frame[y1:y2, x1:x2]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return cv2.resize(grey, (REF_SIZE, REF_SIZE), interpolation=cv2.INTER_AREA)


def _matched(now: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both crops blurred a little, ``now`` brought to the reference's mean and contrast (light changes cancel)."""
    a = cv2.GaussianBlur(now.astype(np.float32), (3, 3), 0)
    b = cv2.GaussianBlur(ref.astype(np.float32), (3, 3), 0)
    a = (a - a.mean()) * (b.std() + 1.0) / (a.std() + 1.0) + b.mean()
    return a, b


def _edges(grey: np.ndarray) -> np.ndarray:
    g = grey.astype(np.float32)
    return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))


def changed_blocks(now: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """BLOCKS x BLOCKS booleans: which blocks of the seat crop differ from the empty reference, by level
    (means differ by LEVEL grey steps), by pattern (both textured and correlating below PATTERN) or by texture
    appearing or vanishing (contrast ratio beyond TEXTURE)."""
    a, b = _matched(now, ref)
    k = REF_SIZE // BLOCKS
    ab = a.reshape(BLOCKS, k, BLOCKS, k).transpose(0, 2, 1, 3).reshape(BLOCKS, BLOCKS, -1)
    bb = b.reshape(BLOCKS, k, BLOCKS, k).transpose(0, 2, 1, 3).reshape(BLOCKS, BLOCKS, -1)
    ma, mb = ab.mean(-1), bb.mean(-1)
    sa, sb = ab.std(-1), bb.std(-1)
    ncc = ((ab - ma[..., None]) * (bb - mb[..., None])).mean(-1) / (sa * sb + 1e-6)
    level = np.abs(ma - mb) >= LEVEL
    pattern = (sa >= 4.0) & (sb >= 4.0) & (ncc < PATTERN)
    ratio = (sa + 2.0) / (sb + 2.0)
    texture = (ratio >= TEXTURE) | (ratio <= 1 / TEXTURE)
    return level | pattern | texture


@dataclass(frozen=True)
class RefCues:
    """How a seat crop differs from its empty reference."""

    area: float  # changed fraction of the whole crop
    upper: float  # changed fraction of the upper part (head/torso height)
    top: float  # highest changed row (0 top .. 1 bottom; 1 when nothing changed)
    edges: float  # edge density of the changed part, now / empty reference (1 when nothing changed)


def compare_reference(now: np.ndarray, ref: np.ndarray) -> RefCues:
    """Compare two REF_SIZE grey crops block by block (see ``changed_blocks`` and the module doc)."""
    changed = changed_blocks(now, ref)
    split = round(BLOCKS * UPPER)
    rows = np.flatnonzero(changed.mean(axis=1) >= 0.25)
    edges = 1.0
    if changed.any():
        mask = np.kron(changed, np.ones((REF_SIZE // BLOCKS, REF_SIZE // BLOCKS), bool))
        edges = float((_edges(now)[mask].mean() + 1.0) / (_edges(ref)[mask].mean() + 1.0))
    return RefCues(area=float(changed.mean()), upper=float(changed[:split].mean()),
                   top=float(rows[0] / BLOCKS) if len(rows) else 1.0, edges=edges)


def view_thumb(frame: np.ndarray) -> np.ndarray:
    """A grey VIEW_W-wide thumbnail of the whole picture (for noticing that the camera moved)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    h = max(round(grey.shape[0] * VIEW_W / grey.shape[1]), 8)
    return cv2.resize(grey, (VIEW_W, h), interpolation=cv2.INTER_AREA)


def view_shift(now: np.ndarray, ref: np.ndarray) -> float:
    """How far the view moved between two thumbnails, as a fraction of their width (phase correlation)."""
    if now.shape != ref.shape:
        return 1.0
    win = cv2.createHanningWindow((now.shape[1], now.shape[0]), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(ref.astype(np.float32), now.astype(np.float32), win)
    return float(np.hypot(dx, dy) / now.shape[1])


@dataclass
class EmptyReference:
    """What one seat looks like when nobody is there (grey REF_SIZE crop, float for slow refreshes)."""

    image: np.ndarray
    updated: dt.datetime
    source: str = "mark"  # "mark" (installer), "after_hours" (learned), "file"
    frames: int = 1

    def refresh(self, crop: np.ndarray, ts: dt.datetime, rate: float) -> None:
        self.image = (1 - rate) * self.image + rate * crop.astype(np.float32)
        self.updated, self.frames = ts, self.frames + 1

    def grey(self) -> np.ndarray:
        return np.clip(self.image, 0, 255).astype(np.uint8)


class ReferenceStore:
    """Empty references of every seat zone, kept as ``<dir>/<camera>/<zone>.png`` + ``.json`` (reloaded on start)."""

    def __init__(self, directory: str | os.PathLike[str] | None):
        self.dir = Path(directory) if directory else None
        self.refs: dict[tuple[str, str], EmptyReference] = {}
        self.views: dict[str, np.ndarray] = {}  # camera -> view thumbnail when its references were taken
        if self.dir is not None and self.dir.is_dir():
            self._load()

    @classmethod
    def for_site(cls, cfg: SiteConfig) -> ReferenceStore:
        from edge.yamlconfig import expand_env

        base = cfg.seats.references_dir or str(Path(expand_env(cfg.edge.data_dir)) / "seat_refs")
        return cls(expand_env(base))

    def _load(self) -> None:
        assert self.dir is not None
        for png in sorted(self.dir.glob("*/_view.png")):
            img = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
            if img is not None:
                self.views[png.parent.name] = img
        for png in sorted(self.dir.glob("*/*.png")):
            if png.name.startswith("_"):
                continue
            img = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
            if img is None or img.shape != (REF_SIZE, REF_SIZE):
                log.warning("ignoring unreadable seat reference %s", png)
                continue
            meta: dict[str, Any] = {}
            side = png.with_suffix(".json")
            if side.is_file():
                try:
                    meta = json.loads(side.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    log.warning("ignoring unreadable %s", side)
            updated = dt.datetime.fromisoformat(meta["updated"]) if "updated" in meta else dt.datetime.now(dt.UTC)
            self.refs[(png.parent.name, png.stem)] = EmptyReference(img.astype(np.float32), updated,
                                                                    str(meta.get("source", "file")),
                                                                    int(meta.get("frames", 1)))

    def get(self, camera_id: str, zone_id: str) -> EmptyReference | None:
        return self.refs.get((camera_id, zone_id))

    def put(self, camera_id: str, zone_id: str, crop: np.ndarray, ts: dt.datetime, source: str = "mark",
            rate: float | None = None, save: bool = True) -> EmptyReference:
        """Set (``rate`` None) or refresh (blend with weight ``rate``) the empty reference of a seat."""
        ref = self.refs.get((camera_id, zone_id))
        if ref is None or rate is None:
            ref = EmptyReference(crop.astype(np.float32), ts, source)
            self.refs[(camera_id, zone_id)] = ref
        else:
            ref.refresh(crop, ts, rate)
            ref.source = source
        if save:
            self.save(camera_id, zone_id)
        return ref

    def set_view(self, camera_id: str, frame: np.ndarray) -> None:
        """Remember the whole view the references of ``camera_id`` were taken from."""
        self.views[camera_id] = view_thumb(frame)
        if self.dir is not None:
            (self.dir / camera_id).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(self.dir / camera_id / "_view.png"), self.views[camera_id])

    def save(self, camera_id: str, zone_id: str) -> None:
        ref = self.refs.get((camera_id, zone_id))
        if self.dir is None or ref is None:
            return
        folder = self.dir / camera_id
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{zone_id}.tmp.png"
        cv2.imwrite(str(tmp), ref.grey())
        os.replace(tmp, folder / f"{zone_id}.png")
        meta = {"updated": ref.updated.isoformat(), "source": ref.source, "frames": ref.frames}
        (folder / f"{zone_id}.json").write_text(json.dumps(meta), encoding="utf-8")


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class SeatParams:
    """Thresholds of one seat's decision (defaults from ``seats:``; per-seat overrides by the same names)."""

    min_person_conf: float = 0.4
    weak_person_conf: float = 0.25
    keypoint_conf: float = 0.5
    ref_diff: float = 0.6
    ref_area: float = 0.45
    ref_edges: float = 0.0
    dark_level: float = 25.0
    blocked_height: float = 1.5

    @classmethod
    def of(cls, cfg: SiteConfig) -> SeatParams:
        s: SeatsConfig = cfg.seats
        mpc = s.min_person_confidence or float(cfg.rules.window_unstaffed.person_min_confidence)
        return cls(min_person_conf=mpc, weak_person_conf=min(s.weak_person_confidence, mpc),
                   keypoint_conf=s.keypoint_confidence, ref_diff=s.ref_diff, ref_area=s.ref_area,
                   ref_edges=s.ref_edges, dark_level=s.dark_level, blocked_height=s.blocked_height)

    def with_overrides(self, values: dict[str, float] | None) -> SeatParams:
        if not values:
            return self
        unknown = set(values) - set(OVERRIDE_KEYS)
        if unknown:
            raise ValueError(f"unknown seat override(s) {sorted(unknown)}; known: {list(OVERRIDE_KEYS)}")
        return SeatParams(**(asdict(self) | {k: float(v) for k, v in values.items()}))


@dataclass(frozen=True)
class SeatDecision:
    """One seat's state in one frame with every cue that led to it."""

    zone_id: str
    camera_id: str
    state: SeatStateName
    reason: str  # person | pose | reference | dark | blocked | disagree | looks_empty | no_cue
    person_conf: float = 0.0  # best person box in the zone
    persons: int = 0  # person boxes in the zone at the staffed threshold (what the rules count)
    pose_conf: float = 0.0  # mean visibility of the head/shoulder keypoints in the zone (0: none)
    pose_points: int = 0  # how many head/shoulder keypoints are in the zone
    has_reference: bool = False
    ref_area: float | None = None
    ref_upper: float | None = None
    ref_top: float | None = None
    ref_edges: float | None = None
    person_like: bool = False  # the reference change looks like a person
    brightness: float = 0.0  # mean grey of the seat crop
    blocked_by: float = 0.0  # confidence of the person box blocking the view (0: none)
    view_shift: float | None = None  # how far the view moved since the reference was taken (fraction of its width)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}

    def reference_text(self) -> str:
        if self.view_moved:
            return f"ref unused: view moved {100 * (self.view_shift or 0):.1f}% (mark again)"
        if not self.has_reference:
            return "ref -"
        return f"ref area {self.ref_area:.2f} upper {self.ref_upper:.2f} edges {self.ref_edges:.2f}"

    @property
    def view_moved(self) -> bool:
        return self.view_shift is not None and self.view_shift > MAX_SHIFT

    def cues_text(self) -> str:
        ref = self.reference_text()
        return (f"{self.state} ({self.reason}) person {self.person_conf:.2f} pose {self.pose_conf:.2f}/"
                f"{self.pose_points} {ref} grey {self.brightness:.0f}")


def pose_cue(pose: Detections | None, polygon_px: np.ndarray, box: np.ndarray, kp_conf: float) -> tuple[float, int]:
    """(mean visibility, count) of the best pose person's head/shoulder keypoints inside the zone or up to
    HEAD_ABOVE of its height above it; (0, 0) without one. Two keypoints are needed (one may be a stray), and the
    pose box must be at least POSE_MIN_H of the zone's height (a tiny 'person' on a shelf behind is not seated)
    with its centre in the zone (or the band above it)."""
    if pose is None or pose.keypoints is None or not len(pose):
        return 0.0, 0
    h = box[3] - box[1]
    above = np.array([[box[0], box[1] - HEAD_ABOVE * h], [box[2], box[1] - HEAD_ABOVE * h],
                      [box[2], box[1]], [box[0], box[1]]])
    best = (0.0, 0)
    for kpts, pbox in zip(pose.keypoints, pose.xyxy):
        if pbox[3] - pbox[1] < POSE_MIN_H * h:
            continue
        centre = np.array([[(pbox[0] + pbox[2]) / 2, (pbox[1] + pbox[3]) / 2]])
        if not (geo.points_in_polygon(centre, polygon_px) | geo.points_in_polygon(centre, above)).any():
            continue  # someone at the next seat whose shoulder reaches into this zone
        pts = kpts[list(HEAD_SHOULDERS)]
        vis = pts[:, 2] >= kp_conf
        if vis.sum() < 2:
            continue
        xy = pts[vis, :2].astype(np.float64)
        inside = geo.points_in_polygon(xy, polygon_px) | geo.points_in_polygon(xy, above)
        n = int(inside.sum())
        if n >= 2:
            cand = (float(pts[vis][inside, 2].mean()), n)
            if (cand[1], cand[0]) > (best[1], best[0]):
                best = cand
    return best


def blocked_cue(people: Detections, box: np.ndarray, ratio: float, frame_h: float | None = None) -> float:
    """Confidence of a person box between the camera and the seat: at least ``ratio`` seat heights tall, covering
    half of the seat box and reaching half a seat height below it (or the frame's bottom); 0 when none."""
    if not len(people):
        return 0.0
    bh, bw = box[3] - box[1], box[2] - box[0]
    ix = np.clip(np.minimum(people.xyxy[:, 2], box[2]) - np.maximum(people.xyxy[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(people.xyxy[:, 3], box[3]) - np.maximum(people.xyxy[:, 1], box[1]), 0, None)
    cover = ix * iy / max(bw * bh, 1.0)
    tall = (people.xyxy[:, 3] - people.xyxy[:, 1]) >= ratio * bh
    low = box[3] + 0.5 * bh if frame_h is None else min(box[3] + 0.5 * bh, 0.98 * frame_h)
    below = people.xyxy[:, 3] >= low
    hit = (cover >= 0.5) & tall & below
    return float(people.confidence[hit].max()) if hit.any() else 0.0


def decide(zone_id: str, camera_id: str, polygon_px: np.ndarray, people: Detections, pose: Detections | None,
           frame: np.ndarray | None, ref: EmptyReference | None, p: SeatParams, shift: float | None = None
           ) -> SeatDecision:
    """The decision for one seat zone in one frame (see the module doc). ``people``: person boxes of the frame (any
    confidence; full frame merged with the seat regions), frame pixels. ``shift``: how far the view moved since the
    reference was taken (fraction of the width); beyond MAX_SHIFT the reference is not used."""
    if shift is not None and shift > MAX_SHIFT:
        ref = None
    polygon_px = np.asarray(polygon_px, np.float64)
    box = zone_box(polygon_px)
    inzone = np.zeros(len(people), bool)
    if len(people):
        centre = geo.points_in_polygon(geo.box_anchors(people.xyxy, "center"), polygon_px)
        inzone = centre | (geo.box_fraction_in_polygon(people.xyxy, polygon_px) >= 0.5)
    confs = people.confidence[inzone]
    person = float(confs.max()) if len(confs) else 0.0
    n = int((confs >= p.min_person_conf).sum())
    pconf, ppts = pose_cue(pose, polygon_px, box, p.keypoint_conf)
    blocked = blocked_cue(people.above(p.min_person_conf), box, p.blocked_height,
                          None if frame is None else float(frame.shape[0]))
    crop = seat_crop(frame, box) if frame is not None else None
    bright = float(crop.mean()) if crop is not None else 0.0
    flat = crop is not None and float(crop.std()) < 3.0
    rc = compare_reference(crop, ref.grey()) if (crop is not None and ref is not None) else None
    person_like = rc is not None and rc.area >= p.ref_area and rc.upper >= p.ref_diff and rc.edges >= p.ref_edges
    base: dict[str, Any] = {"zone_id": zone_id, "camera_id": camera_id, "person_conf": person, "persons": n,
                            "pose_conf": pconf, "pose_points": ppts, "has_reference": rc is not None,
                            "person_like": person_like, "brightness": bright, "blocked_by": blocked, "view_shift": shift}
    if rc is not None:
        base |= {"ref_area": rc.area, "ref_upper": rc.upper, "ref_top": rc.top, "ref_edges": rc.edges}
    if crop is not None and (bright < p.dark_level or flat):
        return SeatDecision(state="uncertain", reason="dark", **base)
    if blocked > 0:
        return SeatDecision(state="uncertain", reason="blocked", **base)
    if person >= p.min_person_conf:
        return SeatDecision(state="staffed", reason="person", **base)
    if ppts >= 2:
        return SeatDecision(state="staffed", reason="pose", **base)
    if person_like:
        return SeatDecision(state="staffed", reason="reference", **base)
    if person >= p.weak_person_conf and (rc is None or rc.area >= p.ref_area):
        return SeatDecision(state="uncertain", reason="disagree", **base)
    return SeatDecision(state="empty", reason="looks_empty" if rc is not None else "no_cue", **base)


@dataclass
class SeatJudge:
    """Decisions of every seat zone of a site, with their empty references and per-seat overrides."""

    cfg: SiteConfig
    store: ReferenceStore
    params: SeatParams = field(init=False)
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    last: dict[str, SeatDecision] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.params = SeatParams.of(self.cfg)
        self._per_zone: dict[str, SeatParams] = {}
        self._shift_key: tuple[str, int] | None = None
        self._shift_val: float | None = None

    def set_overrides(self, overrides: dict[str, dict[str, float]]) -> None:
        """Replace the per-seat overrides ({zone id: {name: value}}, names in ``OVERRIDE_KEYS``); checked first."""
        per_zone = {zid: self.params.with_overrides(vals) for zid, vals in overrides.items()}
        self.overrides = {k: dict(v) for k, v in overrides.items()}
        self._per_zone = per_zone

    def params_for(self, zone_id: str) -> SeatParams:
        return self._per_zone.get(zone_id, self.params)

    def shift(self, camera_id: str, frame: np.ndarray | None) -> float | None:
        """How far the camera's view moved since its references were taken (once per frame); None if unknown."""
        view = self.store.views.get(camera_id)
        if frame is None or view is None:
            return None
        key = (camera_id, id(frame))
        if self._shift_key != key:
            self._shift_key, self._shift_val = key, view_shift(view_thumb(frame), view)
        return self._shift_val

    def decide(self, camera_id: str, zone: ZoneConfig, polygon_px: np.ndarray, people: Detections,
               pose: Detections | None, frame: np.ndarray | None) -> SeatDecision:
        ref = self.store.get(camera_id, zone.id)
        d = decide(zone.id, camera_id, polygon_px, people, pose, frame, ref, self.params_for(zone.id),
                   self.shift(camera_id, frame) if ref is not None else None)
        self.last[zone.id] = d
        return d

    def learn(self, camera_id: str, zone: ZoneConfig, polygon_px: np.ndarray, frame: np.ndarray, ts: dt.datetime,
              decision: SeatDecision) -> bool:
        """Refresh a seat's empty reference from a frame known to be empty (after hours) when no cue says a person
        is there; at most every ``seats.learn_every_s``. True when the reference changed."""
        s = self.cfg.seats
        if decision.person_conf >= self.params.weak_person_conf or decision.pose_points or decision.reason in (
                "dark", "blocked"):
            return False
        ref = self.store.get(camera_id, zone.id)
        if ref is not None and (ts - ref.updated).total_seconds() < s.learn_every_s:
            return False
        if ref is not None and (self.shift(camera_id, frame) or 0.0) > MAX_SHIFT:
            return False  # the view moved: a new reference needs the installer (edge calibrate --mark-empty)
        crop = seat_crop(frame, zone_box(polygon_px))
        if crop is None:
            return False
        if camera_id not in self.store.views:
            self.store.set_view(camera_id, frame)
        self.store.put(camera_id, zone.id, crop, ts, source="after_hours", rate=None if ref is None else s.learn_rate)
        return True

    def mark_empty(self, camera_id: str, zone: ZoneConfig, polygon_px: np.ndarray, frames: Sequence[np.ndarray],
                   ts: dt.datetime) -> EmptyReference | None:
        """Installer's mark: the seat is empty in ``frames``; their median crop becomes the reference."""
        crops = [c for c in (seat_crop(f, zone_box(polygon_px)) for f in frames) if c is not None]
        if not crops:
            return None
        med = np.median(np.stack(crops).astype(np.float32), axis=0)
        self.store.set_view(camera_id, frames[0])
        return self.store.put(camera_id, zone.id, med, ts, source="mark")
