"""``hallwatch models tune presence``: per-seat person thresholds from the supervisors' 空岗 decisions.

Input: the ``manifest.csv`` of ``hallwatch models dataset export``. Per seat zone, the 空岗 samples carry the best
person confidence the detector reported in the seat (``max_person_conf``, 0 when it reported none) and the
threshold in force (``min_person_conf``):

- dismissed (false positive) -> the seat was **occupied**: the threshold should be at most its confidence;
- confirmed -> the seat was **empty**: the threshold must stay above its confidence.

A seat's new threshold ``t`` is the largest value that turns every fixable occupied sample into a presence while
every empty one stays empty: ``t = min(occupied confidences >= lo) - margin``, at least ``lo`` = max(highest empty
confidence + margin, ``floor``), where ``floor`` is the detector's own reporting threshold (nothing below it ever
reaches the rule). Occupied samples below ``lo`` cannot be fixed by a threshold (the detector saw nothing person-like
there, or an empty sample looked more person-like); they are counted, not chased. A seat gets an override only with
at least ``min_samples`` occupied samples and only when ``t`` is below the threshold in force (the tuning only
lowers thresholds: a confirmed 空岗 never argues for raising one, since a seat above the threshold was staffed).

Output YAML (what ``PUT /api/v1/feedback/halls/{hall}/seat-tuning`` takes)::

    seat_overrides: {<seat zone id>: {min_person_conf: <t>}}
    note: ...
    seats: {<seat zone id>: {camera, occupied, empty, fixed, unfixable, old, new}}   # the evidence per seat
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

SEAT_RULE = "window_unstaffed"
FLOOR = 0.25
"""The edge's detector reporting threshold (``edge.agent.pipeline.DETECT_CONF``)."""
MARGIN = 0.02
"""Distance kept from the samples' confidences (a frame later, the same person scores a little differently)."""
DEFAULT_THRESHOLD = 0.4


@dataclass(frozen=True)
class SeatSamples:
    zone: str
    camera: str
    occupied: tuple[float, ...]
    empty: tuple[float, ...]
    current: float


@dataclass(frozen=True)
class SeatTuningResult:
    zone: str
    camera: str
    occupied: int
    empty: int
    old: float
    new: float | None  # None: no override for this seat
    fixed: int  # occupied samples judged occupied with the new (else the old) threshold
    unfixable: int  # occupied samples no threshold above ``lo`` can turn into a presence
    empty_kept: int  # empty samples still judged empty

    @property
    def threshold(self) -> float:
        return self.old if self.new is None else self.new


def tune_seat(s: SeatSamples, *, floor: float = FLOOR, margin: float = MARGIN, min_samples: int = 2) -> SeatTuningResult:
    lo = max(floor, max(s.empty, default=0.0) + margin)
    fixable = sorted(c for c in s.occupied if c >= lo)
    new: float | None = None
    if len(s.occupied) >= min_samples and fixable:
        t = round(max(lo, fixable[0] - margin), 3)
        if t < s.current:
            new = t
    thr = s.current if new is None else new
    return SeatTuningResult(
        zone=s.zone, camera=s.camera, occupied=len(s.occupied), empty=len(s.empty), old=s.current, new=new,
        fixed=sum(c >= thr for c in s.occupied), unfixable=len(s.occupied) - len(fixable),
        empty_kept=sum(c < thr for c in s.empty))


def read_manifest(dataset: str | Path) -> list[SeatSamples]:
    """The 空岗 samples of an exported dataset, grouped per seat zone."""
    path = Path(dataset) / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (run hallwatch models dataset export first)")
    groups: dict[str, dict] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("rule") != SEAT_RULE or not row.get("zone") or row.get("seat_state") not in ("occupied", "empty"):
                continue
            try:
                conf = float(row.get("max_person_conf") or 0.0)
            except ValueError:
                raise ValueError(f"{path}: sample {row.get('sample_id')}: max_person_conf {row['max_person_conf']!r} "
                                 "is not a number") from None
            g = groups.setdefault(row["zone"], {"camera": row.get("camera", ""), "occupied": [], "empty": [],
                                                "current": []})
            g[row["seat_state"]].append(conf)
            if row.get("min_person_conf"):
                g["current"].append((row.get("decided_at", ""), float(row["min_person_conf"])))
    out = []
    for zone, g in sorted(groups.items()):
        current = max(g["current"])[1] if g["current"] else DEFAULT_THRESHOLD  # the newest decision's threshold
        out.append(SeatSamples(zone, g["camera"], tuple(g["occupied"]), tuple(g["empty"]), current))
    return out


def tune_presence(dataset: str | Path, *, floor: float = FLOOR, margin: float = MARGIN,
                  min_samples: int = 2) -> tuple[dict, list[SeatTuningResult]]:
    """(override document, per-seat results) for an exported dataset."""
    results = [tune_seat(s, floor=floor, margin=margin, min_samples=min_samples) for s in read_manifest(dataset)]
    overrides = {r.zone: {"min_person_conf": r.new} for r in results if r.new is not None}
    doc = {
        "seat_overrides": overrides,
        "note": f"hallwatch models tune presence on {Path(dataset).resolve().name}: "
                f"{sum(r.occupied for r in results)} occupied / {sum(r.empty for r in results)} empty samples, "
                f"{len(overrides)} seat(s) changed",
        "seats": {r.zone: {k: v for k, v in asdict(r).items() if k != "zone"} for r in results},
    }
    return doc, results


def write_overrides(doc: dict, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# per-seat thresholds from the supervisors' decisions (hallwatch models tune presence)\n"
                   + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out
