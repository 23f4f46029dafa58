"""Seat decisions against the by-eye truth in ``models/truth/seats/`` (clips and stills).

Everything goes through the agent's own path: ``FramePipeline`` (full-frame pass + seat-region pass + pose) and
``WindowUnstaffedRule`` (``SeatJudge``: person, pose, empty reference). The baseline is the same pipeline without
the seat-region pass, pose and references (a person box >= the presence threshold from the full-frame pass alone,
the behaviour before seat decisions).

    python -m models.seats_eval            # prints the tables (what models/accuracy.py puts in ACCURACY.md)
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from edge import geometry as geo
from edge.agent.pipeline import ChangeGate, FramePipeline
from edge.capture.reader import CameraFrame
from edge.rules.window_unstaffed import WindowUnstaffedRule
from edge.seats import ReferenceStore, SeatDecision
from edge.site import SiteConfig, load_site_config
from models.media import SUB_WIDTH, fit_width, sample_video

ROOT = Path(__file__).resolve().parent.parent
TRUTH = Path(__file__).resolve().parent / "truth" / "seats"
TZ_START = dt.datetime(2026, 11, 23, 10, 0, 0)  # a Monday 10:00 hall time: within service hours
CLIP_FPS = 2.0
EPISODE_RULE = {"absent_s": 3.0, "return_s": 1.0}  # 空岗 thresholds scaled to the 12-17 s clips


@dataclass
class SeatTally:
    """Occupied (positive) versus empty seats; uncertain decisions counted apart (never a hit, never a 空岗)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unc_pos: int = 0  # occupied seat called uncertain
    unc_neg: int = 0  # empty seat called uncertain
    wrong: list[str] = field(default_factory=list)

    def add(self, occupied: bool, state: str, name: str) -> None:
        if state == "uncertain":
            if occupied:
                self.unc_pos += 1
            else:
                self.unc_neg += 1
            return
        staffed = state == "staffed"
        self.tp += occupied and staffed
        self.fp += staffed and not occupied
        self.fn += occupied and not staffed
        self.tn += not occupied and not staffed
        if occupied != staffed:
            self.wrong.append(f"{name} ({'missed' if occupied else 'false staffed'})")

    @property
    def positives(self) -> int:
        return self.tp + self.fn + self.unc_pos

    @property
    def negatives(self) -> int:
        return self.fp + self.tn + self.unc_neg

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else 1.0


def load_truth(name: str) -> dict[str, Any]:
    return yaml.safe_load((TRUTH / name).read_text(encoding="utf-8"))


def _config(path: str, episode: bool = False) -> SiteConfig:
    cfg = load_site_config(ROOT / path)
    if episode:
        wu = cfg.rules.window_unstaffed.model_copy(update=EPISODE_RULE)
        cfg = cfg.model_copy(update={"rules": cfg.rules.model_copy(update={"window_unstaffed": wu})})
    return cfg


def _polys(cfg: SiteConfig, camera: str, shape: tuple[int, int]) -> dict[str, Any]:
    return {z.id: (z, geo.denormalize_polygon(z.polygon, shape)) for z in cfg.camera(camera).zones if z.kind == "seat"}


def make_pipeline(cfg: SiteConfig, detector: Any, pose: Any, store: ReferenceStore, seats: bool = True
                  ) -> tuple[FramePipeline, WindowUnstaffedRule]:
    rule = WindowUnstaffedRule(cfg, references=store)
    pipe = FramePipeline(cfg, detector, rules=[rule], gate=ChangeGate(threshold=0), phone_pass=False,
                         pose=pose if seats else None, seat_pass=seats)
    return pipe, rule


def decide_frame(pipe: FramePipeline, rule: WindowUnstaffedRule, camera: str, ts: dt.datetime, image: np.ndarray
                 ) -> tuple[dict[str, SeatDecision], list]:
    (a,) = pipe.analyse([CameraFrame(camera, ts, image, 1)])
    zones = [z.id for z in pipe.cfg.camera(camera).zones if z.kind == "seat"]
    return {z: rule.judge.last[z] for z in zones if z in rule.judge.last}, a.events


def _occupied(intervals: list[list[float]], t: float, boundary: float) -> bool | None:
    """True/False, or None within ``boundary`` seconds of a change (an interval start after 0 or an end before
    the clip's end, written as 99)."""
    changes = [a for a, _ in intervals if a > 0] + [b for _, b in intervals if b < 90]
    if any(abs(t - c) < boundary for c in changes):
        return None
    return any(a <= t <= b for a, b in intervals)


@dataclass
class ClipResult:
    media: str
    split: str
    samples: int
    seats: SeatTally
    base: SeatTally
    episodes: int  # false 空岗 episodes opened (seat labelled occupied while the rule called it absent)
    base_episodes: int
    opened: int
    reasons: dict[str, int]
    objects: dict[str, tuple[int, int]] = field(default_factory=dict)  # seat with belongings -> (samples, staffed)


def eval_clip(item: dict[str, Any], media: Path, detector: Any, pose: Any, boundary: float,
              width: int | None = None) -> ClipResult:
    """One labelled clip; ``width``: its frames scaled down to that many pixels wide first (a substream)."""
    cfg = _config(item["config"], episode=True)
    cam, occ = item["camera"], item.get("occupied", {}) or {}
    store = ReferenceStore(None)
    frames = [(t, fit_width(img, width)) for t, img in sample_video(media / item["media"], CLIP_FPS)]
    refs = item.get("empty_reference_s", {}) or {}
    if refs:
        judge = WindowUnstaffedRule(cfg, references=store).judge
        polys = _polys(cfg, cam, frames[0][1].shape[:2])
        for zid, (a, b) in refs.items():
            z, poly = polys[zid]
            judge.mark_empty(cam, z, poly, [img for t, img in frames if a <= t <= b], dt.datetime.now(dt.UTC))
    seat, base = SeatTally(), SeatTally()
    ep = {"seat": [], "base": []}
    reasons: dict[str, int] = {}
    objects = {z: [0, 0] for z in (item.get("objects", {}) or {})}
    runs = {"seat": make_pipeline(cfg, detector, pose, store, True),
            "base": make_pipeline(cfg, detector, pose, ReferenceStore(None), False)}
    for t, img in frames:
        ts = TZ_START.replace(tzinfo=cfg.tz).astimezone(dt.UTC) + dt.timedelta(seconds=t)
        for kind, (pipe, rule) in runs.items():
            ds, events = decide_frame(pipe, rule, cam, ts, img)
            tally = seat if kind == "seat" else base
            for zid, d in ds.items():
                truth = _occupied(occ.get(zid, []), t, boundary)
                if truth is None:
                    continue
                tally.add(truth, d.state, f"{Path(item['media']).stem}@{t:.1f}s {zid} {d.reason}")
                if kind == "seat":
                    reasons[f"{d.state}/{d.reason}"] = reasons.get(f"{d.state}/{d.reason}", 0) + 1
                    if zid in objects and not truth:
                        objects[zid][0] += 1
                        objects[zid][1] += d.state == "staffed"
            for e in events:
                if e.kind == "opened":
                    ep[kind].append((e, t))
    false_eps = {}
    for kind, opened in ep.items():
        n = 0
        for e, t_emit in opened:
            zid = e.zone_id or ""
            t0 = (e.at - (TZ_START.replace(tzinfo=cfg.tz).astimezone(dt.UTC))).total_seconds()
            ts_in = [t for t, _ in frames if t0 <= t <= t_emit]
            if any(_occupied(occ.get(zid, []), t, boundary) for t in ts_in):
                n += 1
        false_eps[kind] = n
    return ClipResult(item["media"], item["split"], len(frames), seat, base, false_eps["seat"], false_eps["base"],
                      len(ep["seat"]), reasons, {z: (a, b) for z, (a, b) in objects.items()})


@dataclass
class StillResult:
    seats: dict[str, SeatTally] = field(default_factory=dict)  # per split
    base: dict[str, SeatTally] = field(default_factory=dict)
    objects: list[tuple[str, str]] = field(default_factory=list)  # (name, state) of seats with belongings
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (name, state) of seats hidden by a passer-by
    rows: list[tuple[str, str, str, SeatDecision]] = field(default_factory=list)  # (still, split, label, decision)


def eval_stills(items: list[dict[str, Any]], media: Path, detector: Any, pose: Any,
                width: int | None = None) -> StillResult:
    """The labelled stills; ``width``: each scaled down to that many pixels wide first (a substream)."""
    res = StillResult()
    for item in items:
        cfg = _config(item["config"])
        cam = item["camera"]
        img = cv2.imread(str(media / item["media"]), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(media / item["media"])
        img = fit_width(img, width)
        store = ReferenceStore(None)
        if item.get("reference", "none") != "none":
            ref = fit_width(cv2.imread(str(media / item["reference"]), cv2.IMREAD_COLOR), width)
            judge = WindowUnstaffedRule(cfg, references=store).judge
            for zid, (z, poly) in _polys(cfg, cam, ref.shape[:2]).items():
                judge.mark_empty(cam, z, poly, [ref], dt.datetime.now(dt.UTC))
        ts = TZ_START.replace(tzinfo=cfg.tz).astimezone(dt.UTC)
        ds, _ = decide_frame(*make_pipeline(cfg, detector, pose, store, True), cam, ts, img)
        bs, _ = decide_frame(*make_pipeline(cfg, detector, pose, ReferenceStore(None), False), cam, ts, img)
        split = item["split"]
        for zid, label in item["labels"].items():
            name = f"{Path(item['media']).stem} {zid}"
            d = ds[zid]
            res.rows.append((Path(item["media"]).name, split, label, d))
            if label == "blocked":
                res.blocked.append((name, d.state))
                continue
            if label == "object":
                res.objects.append((name, d.state))
            res.seats.setdefault(split, SeatTally()).add(label == "occupied", d.state, name)
            res.base.setdefault(split, SeatTally()).add(label == "occupied", bs[zid].state, name)
    return res


def clip_totals(results: list[ClipResult], split: str) -> tuple[SeatTally, SeatTally]:
    """(seats, baseline) tallies of the clips of one split added up."""
    tot, base = SeatTally(), SeatTally()
    for r in (r for r in results if r.split == split):
        for src, dst in ((r.seats, tot), (r.base, base)):
            for k in ("tp", "fp", "fn", "tn", "unc_pos", "unc_neg"):
                setattr(dst, k, getattr(dst, k) + getattr(src, k))
            dst.wrong += src.wrong
    return tot, base


def _row(split: str, what: str, t: SeatTally) -> str:
    return (f"| {split} | {what} | {t.positives} | {t.negatives} | {t.tp} | {t.fp} | {t.fn} | {t.unc_pos} | "
            f"{t.unc_neg} | {t.precision:.2f} | {t.recall:.2f} |")


def seats_section(media: Path, detector: Any, pose: Any, machine: str) -> list[str]:
    clips = load_truth("clips.yaml")
    boundary = float(clips.get("boundary_s", 1.0))
    results = [eval_clip(it, media, detector, pose, boundary) for it in clips["items"]]
    still_items = load_truth("stills.yaml")["items"]
    stills = eval_stills(still_items, media, detector, pose)
    head = ("| split | decider | occupied | empty | TP | FP | FN | occupied→uncertain | empty→uncertain | "
            "precision | recall |")
    lines = [
        "## Seat decisions (window_unstaffed: staffed / empty / uncertain)",
        "",
        f"By-eye truth in `models/truth/seats/` (seat zones in `configs/seats/`), run on {machine}. *seats* = full",
        "frame + seat-region pass (person + pose) + empty reference (`edge.seats`); *baseline* = full-frame person box",
        ">= 0.40 only. Precision and recall count staffed/empty calls; uncertain calls are listed apart (never a hit,",
        "never a 空岗). tune = MINH7 and library stills 1-3 (thresholds chosen on them); report = the rest.",
        "",
        f"### Clips, per seat and sample ({CLIP_FPS:g} fps; samples within {boundary:g} s of a change not scored)",
        "",
        head, "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for split in ("tune", "report"):
        tot, base = clip_totals(results, split)
        lines += [_row(split, "seats", tot), _row(split, "baseline", base)]
    lines += ["", ("| clip | split | samples | false 空岗 episodes (seats) | (baseline) | episodes opened (seats) | "
                   "seats recall | decisions by reason |"), "|---|---|---|---|---|---|---|---|"]
    for r in results:
        why = ", ".join(f"{k} {v}" for k, v in sorted(r.reasons.items()))
        lines.append(f"| `{r.media}` | {r.split} | {r.samples} | {r.episodes} | {r.base_episodes} | {r.opened} | "
                     f"{r.seats.recall:.2f} | {why} |")
    wrong = [w for r in results for w in r.seats.wrong]
    objs = [f"`{Path(r.media).name}` {z}: {b} of {a} empty samples" for r in results for z, (a, b) in r.objects.items()]
    lines += ["", (f"Episodes replay the rule with absent_s {EPISODE_RULE['absent_s']:g} s and return_s "
                   f"{EPISODE_RULE['return_s']:g} s (the clips last 12-17 s); an episode is false when its seat is "
                   "labelled"),
              "occupied at a scored sample between the absence start and the opening.",
              "", "Seats with belongings in the clips (a coat on the chair), called staffed: " + ("; ".join(objs) or "none")
              + ".",
              "", "Wrong seat calls (seats): " + ("; ".join(wrong[:20]) or "none") + ("; …" if len(wrong) > 20 else ""),
              "", "### Stills, per seat", "", head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for split in ("tune", "report"):
        if split in stills.seats:
            lines += [_row(split, "seats", stills.seats[split]), _row(split, "baseline", stills.base[split])]
    obj_staffed = [n for n, s in stills.objects if s == "staffed"]
    blk_empty = [n for n, s in stills.blocked if s == "empty"]
    lines += [
        "",
        f"Belongings (books, a phone, a bag left on the desk or seat): {len(stills.objects)} seats, called staffed "
        f"{len(obj_staffed)}" + (f" ({'; '.join(obj_staffed)})" if obj_staffed else "") + ". Passer-by blocking the "
        f"view: {len(stills.blocked)} seats, called empty {len(blk_empty)}" +
        (f" ({'; '.join(blk_empty)})" if blk_empty else "") + ".",
        "",
        "Wrong seat calls (seats): " + ("; ".join(w for t in stills.seats.values() for w in t.wrong) or "none"),
        "",
        "| still | split | seat | label | decision | cues |",
        "|---|---|---|---|---|---|",
    ]
    for name, split, label, d in stills.rows:
        lines.append(f"| {name} | {split} | {d.zone_id} | {label} | {d.state} | {d.cues_text()} |")
    lines.append("")
    return lines + substream_lines(media, detector, pose, clips["items"], still_items, boundary, results, stills)


def substream_lines(media: Path, detector: Any, pose: Any, clip_items: list[dict[str, Any]],
                    still_items: list[dict[str, Any]], boundary: float, results: list[ClipResult],
                    stills: StillResult) -> list[str]:
    """The seat decisions again on the clips and stills scaled down to a ``SUB_WIDTH`` substream (what the agent
    analyses when a camera's ``detect`` input is its substream), next to the footage as labelled."""
    sub = [eval_clip(it, media, detector, pose, boundary, SUB_WIDTH) for it in clip_items]
    sub_stills = eval_stills(still_items, media, detector, pose, SUB_WIDTH)
    lines = [f"### The same seats on a {SUB_WIDTH}-pixel substream", "",
             f"The clips and stills scaled down to {SUB_WIDTH} pixels wide (area interpolation), as a camera's "
             "`detect` substream shows them; the",
             "rest as above. The agent's person and pose passes on the seat regions then enlarge each region to the "
             "models' input.", "",
             "| split | footage (seats decider) | occupied | empty | TP | FP | FN | occupied→uncertain | "
             "empty→uncertain | precision | recall |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for split in ("tune", "report"):
        for what, res in (("clips, as labelled", results), (f"clips, {SUB_WIDTH} px", sub)):
            lines.append(_row(split, what, clip_totals(res, split)[0]))
        for what, st in (("stills, as labelled", stills), (f"stills, {SUB_WIDTH} px", sub_stills)):
            if split in st.seats:
                lines.append(_row(split, what, st.seats[split]))
    episodes = sum(r.episodes for r in sub)
    lines += ["", f"Occupied seats called empty (clips and stills, every split): "
              f"{sum(t.fn for t in _all_seats(results, stills))} as labelled, "
              f"{sum(t.fn for t in _all_seats(sub, sub_stills))} on the substream; false 空岗 episodes on the "
              f"substream: {episodes}. `bench/seat_upscale.py` runs both with capped seat regions "
              "(`seats.region_max_upscale`).", ""]
    return lines


def _all_seats(results: list[ClipResult], stills: StillResult) -> list[SeatTally]:
    return [r.seats for r in results] + list(stills.seats.values())


def main() -> int:
    from edge.detect import load_detector
    from edge.detect.hands import POSE_MODEL
    from edge.paths import export_defaults, media_dir
    from models.machine import describe

    export_defaults()
    lines = seats_section(media_dir(), load_detector("yolo11n-coco-int8"), load_detector(POSE_MODEL), describe())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
