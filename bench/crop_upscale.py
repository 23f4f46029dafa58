"""Hand crops analysed near their own scale: accuracy and cost of ``HandAnalyser(max_upscale=...)``.

Not a test. Prints a table. A hand crop cut from a 640x360 substream (or an SD clip) is 100-300 pixels; without
a cap the COCO detector enlarges it to its whole 640x640 input (up to 6x), a full-size inference per crop. With
``max_upscale: k`` it runs at the smallest square input (a multiple of 128) holding it enlarged k times. This runs
the phone-use decisions of ``make accuracy`` (``models/truth/actions/phone.yaml``: pose around the labelled seat,
the hand pass, ``phone_evidence``) per cap, on the footage as labelled and scaled down to a 640-pixel-wide
substream, and prints precision and recall per split, how many decisions differ from the uncapped run of the same
footage, and the CPU seconds of the whole run.

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/crop_upscale.py [--caps 0,2,1.5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.evaluate import Tally  # noqa: E402
from models.media import SUB_WIDTH  # noqa: E402


def cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def phone_run(cap: float, pose, width: int | None) -> tuple[dict[str, Tally], dict[str, bool], float]:  # noqa: ANN001
    """(tally per split; decision per person-frame; CPU seconds) with hand crops enlarged at most ``cap`` times
    (0: to the detector's whole input), on the footage scaled down to ``width`` pixels wide when given."""
    from edge import paths
    from edge.detect import load_detector
    from models.evaluate import load_truth, phone_decisions

    coco = load_detector("yolo11n-coco-int8")
    tallies: dict[str, Tally] = defaultdict(Tally)
    decided: dict[str, bool] = {}
    c0 = cpu_s()
    for split, name, truth, ev in phone_decisions(load_truth("phone"), paths.media_dir(), coco, pose,
                                                    max_upscale=cap, width=width):
        decided[name] = ev.state == "use"
        tallies[split].add(truth, decided[name], name)
    return dict(tallies), decided, cpu_s() - c0


def main() -> int:
    from edge import paths

    paths.export_defaults()
    ap = argparse.ArgumentParser()
    ap.add_argument("--caps", default="0,2,1.5", help="max_upscale values; 0 = uncapped (enlarged to the input)")
    args = ap.parse_args()
    from edge.detect import load_detector
    from edge.detect.hands import POSE_MODEL
    from models.machine import describe

    pose = load_detector(POSE_MODEL)
    rows = []
    for footage in ("as labelled", f"scaled to {SUB_WIDTH} px wide"):
        base: dict[str, bool] | None = None
        for cap in [float(c) for c in args.caps.split(",")]:
            tallies, decided, cpu = phone_run(cap, pose, None if footage == "as labelled" else SUB_WIDTH)
            base = decided if base is None else base
            changed = sum(decided.get(k) != v for k, v in base.items())
            rows.append((footage, cap or "none", tallies, len(decided), changed, cpu))
            print(f"# done: {footage}, cap {cap or 'none'} ({time.strftime('%H:%M:%S')})", file=sys.stderr, flush=True)
    print(f"# hand crops near their own scale, on {describe()}; P / R = precision / recall of phone 'use' per "
          f"person-frame; 'differ' = decisions unlike the first cap's on the same footage\n")
    print("| footage | max_upscale | tune P / R | report P / R | decisions | differ | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for footage, cap, tallies, n, changed, cpu in rows:
        cells = [f"{tallies[s].precision:.2f} / {tallies[s].recall:.2f}" if s in tallies else "–"
                 for s in ("tune", "report")]
        print(f"| {footage} | {cap} | {' | '.join(cells)} | {n} | {changed} | {cpu:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
