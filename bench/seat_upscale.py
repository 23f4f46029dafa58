"""Seat regions analysed near their own scale: accuracy and cost of ``seats.region_max_upscale``.

Not a test. Prints a table. A seat region cut from a 640x360 substream is at most 360 pixels; without a cap the
person detector and the pose model enlarge it to their whole 640x640 input (3.2x the pixels, 3x the CPU of a
384x384 input). With ``seats.region_max_upscale: k`` a region runs at the smallest square input (a multiple of
128) that holds it enlarged k times. This runs the seat decisions of ``make accuracy`` (``models/seats_eval.py``:
the labelled clips and stills of ``models/truth/seats/``, the agent's ``FramePipeline`` and
``WindowUnstaffedRule``) per cap, on the footage as labelled and scaled down to a 640-pixel-wide substream, and
prints precision, recall and uncertain calls per split, the occupied seats called empty (a false 空岗 in the
making) and the false 空岗 episodes, how many decisions differ from
the uncapped run of the same footage, and the CPU seconds of the whole run (the baseline decider included, the
same in every row).

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/seat_upscale.py [--caps 0,1.4,1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.crop_upscale import cpu_s
from models.media import SUB_WIDTH


class Capped:
    """Patches ``models.seats_eval``: its sites get ``seats.region_max_upscale: cap``."""

    def __init__(self, cap: float) -> None:
        self.cap, self.saved = cap, None

    def __enter__(self) -> "Capped":
        import models.seats_eval as se

        config = self.saved = se._config

        def capped(*a, **kw):
            cfg = config(*a, **kw)
            return cfg.model_copy(update={"seats": cfg.seats.model_copy(update={"region_max_upscale": self.cap})})

        se._config = capped
        return self

    def __exit__(self, *exc: object) -> None:
        import models.seats_eval as se

        se._config = self.saved


def seat_run(detector, pose, width: int | None) -> tuple[dict, dict[str, str], int, float]:
    """(tallies per 'clips'/'stills' and split; decision state per scored seat sample; false 空岗 episodes; CPU
    seconds) of one pass over the labelled seats, scaled down to ``width`` pixels wide when given."""
    from edge import paths
    from models import seats_eval as se

    decided: dict[str, str] = {}
    add = se.SeatTally.add

    def recording(self, occupied: bool, state: str, name: str) -> None:
        add(self, occupied, state, name)
        self.__dict__.setdefault("states", []).append((" ".join(name.split()[:2]), state))

    se.SeatTally.add = recording
    try:
        c0 = cpu_s()
        clips = se.load_truth("clips.yaml")
        boundary = float(clips.get("boundary_s", 1.0))
        results = [se.eval_clip(it, paths.media_dir(), detector, pose, boundary, width) for it in clips["items"]]
        stills = se.eval_stills(se.load_truth("stills.yaml")["items"], paths.media_dir(), detector, pose, width)
        cpu = cpu_s() - c0
    finally:
        se.SeatTally.add = add
    tallies = {("clips", split): se.clip_totals(results, split)[0] for split in {r.split for r in results}}
    for r in results:
        decided.update(r.seats.__dict__.get("states", []))
    for split, t in stills.seats.items():
        tallies[("stills", split)] = t
        decided.update(t.__dict__.get("states", []))
    return tallies, decided, sum(r.episodes for r in results), cpu


def main() -> int:
    from edge import paths

    paths.export_defaults()
    ap = argparse.ArgumentParser()
    ap.add_argument("--caps", default="0,1.4,1", help="region_max_upscale values; 0 = uncapped (enlarged to the input)")
    args = ap.parse_args()
    from edge.detect import load_detector
    from edge.detect.hands import POSE_MODEL
    from models.machine import describe

    detector, pose = load_detector("yolo11n-coco-int8"), load_detector(POSE_MODEL)
    rows = []
    for footage in ("as labelled", f"scaled to {SUB_WIDTH} px wide"):
        base: dict[str, str] | None = None
        for cap in [float(c) for c in args.caps.split(",")]:
            with Capped(cap):
                width = None if footage == "as labelled" else SUB_WIDTH
                tallies, decided, episodes, cpu = seat_run(detector, pose, width)
            base = decided if base is None else base
            changed = sum(decided.get(k) != v for k, v in base.items())
            rows.append((footage, cap or "none", tallies, episodes, len(decided), changed, cpu))
            print(f"# done: {footage}, cap {cap or 'none'} ({time.strftime('%H:%M:%S')})", file=sys.stderr, flush=True)
    print(f"# seat regions near their own scale, on {describe()}; P / R / U = precision / recall of staffed calls, "
          f"seats called uncertain (occupied + empty); 'differ' = decisions unlike the first cap's on the same "
          f"footage\n")
    cols = [("clips", "tune"), ("clips", "report"), ("stills", "tune"), ("stills", "report")]
    print("| footage | region_max_upscale | " + " | ".join(f"{a} {s} P / R / U" for a, s in cols)
          + " | occupied called empty | false 空岗 episodes | decisions | differ | CPU s |")
    print("|---|---|" + "---|" * len(cols) + "---|---|---|---|---|")
    for footage, cap, tallies, episodes, n, changed, cpu in rows:
        cells = [f"{t.precision:.2f} / {t.recall:.2f} / {t.unc_pos + t.unc_neg}" if (t := tallies.get(c)) else "–"
                 for c in cols]
        fn = sum(t.fn for t in tallies.values())
        print(f"| {footage} | {cap} | {' | '.join(cells)} | {fn} | {episodes} | {n} | {changed} | {cpu:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
