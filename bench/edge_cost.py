"""Edge cost: CPU cores, analysed fps, lag and memory per camera of the real agent, next to a plain loop.

Not a test. Prints a table. Each camera is a pair of files generated once into a cache (default
``~/.cache/hallwatch-bench/edge_cost``) from shared clips: a 1920x1080 25 fps H.264 main stream with a
keyframe every 50 frames (2 s, no B-frames, as IP cameras send), a 640x360 25 fps substream with the same GOP,
and the same substream at 10 fps (a keyframe every 20 frames; cameras' substreams run at 5-10 fps).
Each camera shows its clip from its own starting point (no two of 30 show the same moment); files are looped and
paced in real time, like live cameras. Every configuration runs in its own process
for a fixed time after a warm-up:

- ``agent, substream``: ``EdgeAgent`` as ``hallwatch edge run`` builds it (every default rule, a seat zone
  per camera so the phone crop pass runs, the change gate, evidence to the outbox; service hours around the
  clock, so the same rules work whatever the hour of the run); each camera has a
  ``detect`` input (the substream, decoded) and a ``record``+``stills`` input (the main stream, packets only);
  ``edge.inference_threads: 1``, one inference stream per core and two analysis threads, as the README advises
  for many cameras on a small box (``BENCH_INFERENCE_THREADS``, ``BENCH_INFERENCE_STREAMS``,
  ``BENCH_ANALYSIS_THREADS`` change them);
- ``agent, 1080p only``: the same agent with one input per camera (the main stream serves every role);
- ``agent, 10 fps substream``: as the first with the 10 fps substream as the ``detect`` input (less to decode);
- ``agent, substream, hand pass every 2 s``: as the first with ``rules.phone_use.hand_pass_s: 2``;
- ``agent, substream, letterboxed into 640x640``: as the first with ``edge.rect_input: false`` (the 640x360
  substream analysed in the exported square instead of at 640x384);
- ``agent, substream, phone crop pass off``: as the first with ``phone_use`` off (no pose + hand crops), the
  workload closest to the plain loop's;
- ``agent, substream, one inference stream``: as the first with ``edge.inference_streams: 1`` (one frame at a
  time on one thread);
- ``agent, substream, one analysis thread``: as the first with ``edge.analysis_threads: 1``;
- ``agent, substream, hand crops enlarged at most 2x``: as the first with
  ``rules.phone_use.hand_crop_max_upscale: 2`` (a small hand crop runs at a smaller input than 640x640);
- ``agent, substream, one inference stream on two threads``: as the first with ``edge.inference_streams: 1`` and
  ``edge.inference_threads: 2`` (each inference on both cores, none waiting for a free stream);
- ``agent, substream, rules before the next batch is measured``: as the first with ``EdgeAgent(overlap_rules=
  False)``: the detect job waits while the rules job applies its batch (the agent before the two overlapped);
- ``agent, substream, periodic passes of all cameras in step``: as the first with every camera's phase 0, so the
  seat pose, hand pass and change-gate re-confirmation come due for all cameras in the same batches once something
  (the start) aligned them (the agent before ``edge.agent.pipeline.camera_phases``);
- ``agent, substream, batches of at most 8 / 10 frames``: as the first with ``edge.batch_frames`` 8 or 10 instead
  of the default 15 (the cameras taken longest ago first); ``every waiting frame in one batch``: 0;
- ``agent, (10 fps) substream, cameras sampled in step``: as the first (the 10 fps one) with each camera's 2-fps
  sampling following its first frame (the agent before ``CameraReader(phase=...)``): cameras opened together are
  sampled at the same moments and their frames reach the analysis in bursts;
- ``agent, substream, seat regions enlarged at most 1.4x / not enlarged``: as the first with
  ``seats.region_max_upscale`` 1.4 or 1 (``bench/seat_upscale.py`` measures what it costs the seat decisions);
- ``agent, substream, periodic passes spaced in seconds only``: as the first with ``FramePipeline.pass_frames_share``
  0: the seat pose and the idle hand pass come due by frame time alone, on every frame of a camera analysed less
  often than their spacing (the agent before ``edge.agent.pipeline.PASS_FRAMES_SHARE``);
- ``agent, substream, full-frame detector only``: as the first with the seat-region pass and ``phone_use`` off:
  one detector pass per analysed frame, the plain loop's workload, what no scheduling of the crop passes gets under;
- ``capture alone``: readers and packet rings without models, 4 then 8 cameras (RSS per added camera);
- ``plain loop``: what a user would write: a PyAV decode thread per camera converting every frame to BGR,
  and ``ultralytics.YOLO(<same INT8 IR>).predict`` on each camera's newest frame every 1/fps seconds, on the 1080p
  main stream (``plain loop``, the issue's baseline) or on the 25 fps substream (``plain loop on the substream``).

CPU is the process's user+system time over the measured interval (``getrusage``), split per thread
from ``/proc/self/task``; memory per camera is the RSS growth from after the models are loaded to the
end, divided by the number of cameras.

    HALLWATCH_SHARED_DIR=../shared .venv/bin/python bench/edge_cost.py [--cameras 8] [--seconds 40] \\
        [--warmup 15] [--plain-cameras 4] [--single-cameras 4] [--configs agent-sub,agent-main,plain]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge import paths  # noqa: E402

CLIPS = ("intel-iot-devkit_one-by-one-person-detection.mp4", "1234hmehme_MINH7.mp4",
         "pgplarosa_resized_cctv_full_fast_cut.mov")
CLIP_SECONDS = 16
ROTATIONS = 10  # starting points per clip (camera_pairs)
FPS_OUT, GOP = 25, 50
# generated streams: (width, height, fps); every one has a keyframe every 2 s
SIZES = {"main": (1920, 1080, FPS_OUT), "sub": (640, 360, FPS_OUT), "sub10": (640, 360, 10)}
CACHE = Path(os.environ.get("HALLWATCH_BENCH_CACHE", Path.home() / ".cache" / "hallwatch-bench")) / "edge_cost"
TICK = os.sysconf("SC_CLK_TCK")
INFERENCE_THREADS = int(os.environ.get("BENCH_INFERENCE_THREADS", "1")) or None  # edge.inference_threads
INFERENCE_STREAMS = int(os.environ.get("BENCH_INFERENCE_STREAMS", str(os.cpu_count() or 1)))  # one per core
ANALYSIS_THREADS = int(os.environ.get("BENCH_ANALYSIS_THREADS", "2"))  # edge.analysis_threads


# --------------------------------------------------------------------------- media pairs
def camera_pairs(n: int = len(CLIPS)) -> list[dict[str, Path]]:
    """One set of generated streams per camera (``SIZES``), made once with PyAV's libx264 into the cache: camera
    i shows clip i % clips from ``(i // clips) % ROTATIONS`` x ``CLIP_SECONDS / ROTATIONS`` seconds in, so no two of
    30 cameras show the same moment (a hall's cameras do not see the same thing at the same time)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    clips = [name for name in CLIPS if (paths.media_dir() / "video" / name).exists()]
    if not clips:
        sys.exit(f"none of {CLIPS} in {paths.media_dir() / 'video'}")
    out = []
    for i in range(n):
        name, rot = clips[i % len(clips)], (i // len(clips)) % ROTATIONS
        stem = Path(name).stem + (f"_r{rot}" if rot else "")
        pair = {kind: CACHE / f"{stem}_{kind}.mp4" for kind in SIZES}
        if not all(p.exists() for p in pair.values()):
            t = time.perf_counter()
            _transcode(paths.media_dir() / "video" / name, pair, start=rot * CLIP_SECONDS / ROTATIONS)
            print(f"# generated {stem} main+sub in {time.perf_counter() - t:.0f}s", file=sys.stderr)
        out.append(pair)
    return out


def _transcode(src: Path, pair: dict[str, Path], start: float = 0.0) -> None:
    import av

    outs, streams = {}, {}
    tmp = {k: p.with_suffix(".part.mp4") for k, p in pair.items()}
    for kind, (w, h, fps) in SIZES.items():
        c = outs[kind] = av.open(str(tmp[kind]), "w", format="mp4", options={"movflags": "+faststart"})
        s = streams[kind] = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.thread_count = 2
        s.options = {"preset": "veryfast", "crf": "23" if kind == "main" else "26", "profile": "main",
                     "x264-params": f"keyint={2 * fps}:min-keyint={2 * fps}:scenecut=0:bframes=0"}
    frames = _looped(src)
    _, cur = next(frames)
    nxt_t, nxt = next(frames)
    for k in range(CLIP_SECONDS * FPS_OUT):  # output frame k shows the source frame on screen at start + k/25 s
        while nxt_t <= start + k / FPS_OUT:
            cur = nxt
            nxt_t, nxt = next(frames)
        _emit(outs, streams, cur, k)
    for kind, c in outs.items():
        for pkt in streams[kind].encode(None):
            c.mux(pkt)
        c.close()
        tmp[kind].rename(pair[kind])


def _looped(src: Path):  # noqa: ANN202 - (seconds, frame) forever, time continuing across passes
    import av

    offset = 0.0
    while True:
        t0 = last = None
        with av.open(str(src)) as c:
            vs = c.streams.video[0]
            dur = 1.0 / float(vs.average_rate or 25)
            for f in c.decode(vs):
                t = float(f.pts * vs.time_base) if f.pts is not None else (last or 0.0) + dur
                t0 = t if t0 is None else t0
                last = t
                yield offset + t - t0, f
        if t0 is None:
            raise RuntimeError(f"{src}: no frames")
        offset += last - t0 + dur


def _emit(outs: dict, streams: dict, frame, k: int) -> None:  # noqa: ANN001
    for kind, (w, h, fps) in SIZES.items():
        at = k * fps // FPS_OUT  # the stream's frame on screen at k/25 s
        if k and at == (k - 1) * fps // FPS_OUT:
            continue
        f = frame.reformat(width=w, height=h, format="yuv420p")
        f.pts, f.time_base = at, Fraction(1, fps)
        for pkt in streams[kind].encode(f):
            outs[kind].mux(pkt)


# --------------------------------------------------------------------------- measuring
def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread group: Python threads by name, native ones (OpenVINO, FFmpeg) by their comm."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = collections.Counter()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/self/task/{tid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        secs = (int(fields[11]) + int(fields[12])) / TICK
        name = names.get(int(tid))
        out[_group(name, comm)] += secs
    return dict(out)


def _group(name: str | None, comm: str) -> str:
    if name is None:
        return "native (OpenVINO/FFmpeg workers)"
    if name.startswith("capture-") and (":" in name):
        return "record/stills readers"
    if name.startswith(("capture-", "decode-")):
        return "detect readers (demux+decode)"
    if name in ("detect", "rules", "MainThread", "predict") or name.startswith("analysis"):
        return "analysis (python)"
    return "other python (outbox, evidence, mqtt)"


class Meter:
    def __init__(self) -> None:
        self.t, self.cpu, self.threads = time.monotonic(), cpu_s(), thread_cpu()

    def since(self, other: "Meter") -> tuple[float, float, dict[str, float]]:
        wall = self.t - other.t
        per = {k: (v - other.threads.get(k, 0.0)) / wall for k, v in self.threads.items()}
        return wall, (self.cpu - other.cpu) / wall, per


# --------------------------------------------------------------------------- configurations (child process)
def detect_stream(overrides: dict | None) -> str:
    """The generated stream (``SIZES`` key) a configuration analyses: its ``"detect"`` entry, default ``sub``."""
    return (overrides or {}).get("detect", "sub")


def site_config(pairs: list[dict[str, Path]], n: int, single: bool, data_dir: str,
                overrides: dict | None = None) -> object:
    """The bench's site with ``overrides`` (``{"rules": {...}, "edge": {...}}``, a configuration's ``VARIANTS``
    entry) merged into its ``rules`` and ``edge`` sections; ``"detect"`` names the generated stream of the
    ``detect`` input (default the 25 fps substream)."""
    from edge.site import SiteConfig

    overrides = overrides or {}

    cams = []
    for i in range(n):
        p = pairs[i % len(pairs)]
        cam = {"id": f"cam{i}", "name": f"c{i}", "fps": 2.0, "loop": True,
               "zones": [{"id": f"seat{i}", "kind": "seat", "window": f"W{i:02d}",
                          "polygon": [[0.05, 0.3], [0.95, 0.3], [0.95, 0.95], [0.05, 0.95]]}]}
        if single:
            cam["source"] = str(p["main"])
        else:
            cam["inputs"] = [{"path": str(p[detect_stream(overrides)]), "roles": ["detect"]},
                             {"path": str(p["main"]), "roles": ["record", "stills"]}]
        cams.append(cam)
    return SiteConfig.model_validate({
        "hall": {"id": "bench-edgecost", "name": "bench"},
        # service hours around the clock: the rules at work are the same whatever the hour the bench runs (after
        # hours the presence rule opened findings whose masked clips cost memory and CPU)
        "schedule": {"workdays": [0, 1, 2, 3, 4, 5, 6], "sessions": ["00:00-23:59"]},
        "windows": [{"id": f"W{i:02d}", "number": i + 1, "name": f"w{i}"} for i in range(n)],
        "cameras": cams,
        "rules": overrides.get("rules", {}),
        "seats": overrides.get("seats", {}),
        "mqtt": {"topic_prefix": f"bench{os.getpid()}"},
        "edge": {"data_dir": data_dir, "models_dir": str(paths.models_dir()), "server_url": "http://127.0.0.1:9",
                 "inference_threads": INFERENCE_THREADS, "inference_streams": INFERENCE_STREAMS,
                 "analysis_threads": ANALYSIS_THREADS,
                 **overrides.get("edge", {})},
    })


def run_agent(n: int, single: bool, seconds: float, warmup: float, overrides: dict | None = None) -> dict:
    from edge.agent.runtime import EdgeAgent

    overrides = overrides or {}
    pairs = camera_pairs(n)
    with tempfile.TemporaryDirectory(prefix="hallwatch-bench-") as tmp:
        cfg = site_config(pairs, n, single, tmp, overrides)
        agent = EdgeAgent(cfg, Path(tmp) / "site.yaml", sensors=False, **overrides.get("agent", {}))
        if overrides.get("aligned"):
            agent.pipeline.phases.clear()  # the change gate shares the dict
        if "pass_frames_share" in overrides:
            agent.pipeline.pass_frames_share = overrides["pass_frames_share"]
        if overrides.get("sampled_in_step"):
            for reader in agent.readers.values():
                reader.phase = None  # sampled from each camera's first frame: cameras opened together in step
        batches = record_batches(agent.pipeline)
        latency = record_latency(agent)
        base_rss = rss_mb()
        agent.start()
        try:
            time.sleep(warmup)
            c0, m0, r0 = dict(agent.pipeline.counters), Meter(), reader_counts(agent)
            batches.clear()
            latency.clear()
            h0 = getattr(agent.pipeline.hands, "crops", 0)
            ages = []  # the heartbeat's lag: the age of each camera's newest analysed frame, each second
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(1.0)
                ages += [h.lag_s for h in agent.camera_health()]
            m1, c1, r1 = Meter(), dict(agent.pipeline.counters), reader_counts(agent)
            hand_crops = getattr(agent.pipeline.hands, "crops", 0) - h0
            decoded = sum(r.counters["decoded"] for r in agent.all_readers())
            rss = rss_mb()
        finally:
            agent.stop()
    wall, cores, per = m1.since(m0)
    analysed = c1.get("analysed", 0) - c0.get("analysed", 0)
    d = {k: r1[k] - r0[k] for k in r0}
    sec = {k: v * wall for k, v in per.items()}  # CPU seconds per group
    detect_fps = SIZES["main" if single else detect_stream(overrides)][2]
    decode = sec.get("detect readers (demux+decode)", 0.0) / max(1e-9, d["detect_packets"] / detect_fps)
    record = (sec.get("record/stills readers", 0.0) / max(1e-9, d["record_packets"] / FPS_OUT)
              if d["record_packets"] else 0.0)
    frame = sum(v for k, v in sec.items() if "readers" not in k) / max(1, analysed)
    return {"cameras": n, "wall": wall, "cores": cores, "threads": per, "decode": decode, "record": record,
            "per_frame": frame, "projected": decode + record + 2.0 * frame,
            "realtime": d["detect_packets"] / detect_fps / wall / n,
            "fps": analysed / wall / n, "inferences": (c1.get("inferences", 0) - c0.get("inferences", 0)) / wall / n,
            "crops": c1.get("crop_passes", 0) - c0.get("crop_passes", 0), "hand_crops": hand_crops,
            **age_stats(ages), **lag_stats(latency),
            "rss_total": rss, "rss_per_camera": (rss - base_rss) / n, "decoded": decoded, "batches": list(batches)}


def record_latency(agent) -> list[tuple[float, float, float]]:
    """Wrap the agent's batch taking, measuring and per-frame rules to record, for each frame the rules applied,
    (seconds from its frame time to being taken into a batch, then to measured, then to applied by the rules) in
    the list returned: the frame's lag, measured as the plain loop's is (frame time to result)."""
    out: list[tuple[float, float, float]] = []
    pipeline, take = agent.pipeline, agent._take_batch
    measure, apply_one = pipeline.measure, pipeline._apply
    taken: dict[int, float] = {}
    done: dict[int, float] = {}

    def take_batch():
        frames = take()
        now = time.time()
        taken.update((id(f), now) for f in frames)
        return frames

    def measured(frames):
        res = measure(frames)
        now = time.time()
        done.update((id(f), now) for f in frames)
        return res

    def applied(f, m):
        res = apply_one(f, m)
        t_ts, t_taken, t_done = f.ts.timestamp(), taken.pop(id(f), None), done.pop(id(f), None)
        if t_taken is not None and t_done is not None:
            out.append((t_taken - t_ts, t_done - t_taken, time.time() - t_done))
        return res

    agent._take_batch, pipeline.measure, pipeline._apply = take_batch, measured, applied
    return out


def lag_stats(latency: list[tuple[float, ...]]) -> dict[str, object]:
    """Mean, p90 and max of the lag (the sum of each record) and the mean of each part."""
    total = sorted(sum(x) for x in latency) or [0.0]
    parts = [sum(x[k] for x in latency) / max(1, len(latency)) for k in range(len(latency[0]) if latency else 0)]
    return {"lag_mean": sum(total) / len(total), "lag_p90": total[int(0.9 * (len(total) - 1))], "lag_max": total[-1],
            "lag_parts": parts}


def age_stats(ages: list[float]) -> dict[str, float]:
    """Mean and max of the sampled ages of each camera's newest result (the heartbeat's figure)."""
    return {"age_mean": sum(ages) / max(1, len(ages)), "age_max": max(ages or [0.0])}


def record_batches(pipeline) -> list[tuple[float, int, int]]:  # noqa: ANN001
    """Wrap ``pipeline.measure`` to record each batch's (wall seconds, seat poses, hand crops) in the list returned."""
    out: list[tuple[float, int, int]] = []
    measure = pipeline.measure

    def timed(frames):  # noqa: ANN001, ANN202
        p0, h0, t0 = pipeline.counters["seat_poses"], getattr(pipeline.hands, "crops", 0), time.perf_counter()
        res = measure(frames)
        out.append((time.perf_counter() - t0, pipeline.counters["seat_poses"] - p0,
                    getattr(pipeline.hands, "crops", 0) - h0))
        return res

    pipeline.measure = timed
    return out


def run_capture_memory(single: bool, settle: float = 20.0) -> dict:
    """RSS per added camera of the capture alone (readers and packet rings, no models), from 4 to 8 cameras."""
    from edge.agent.runtime import limit_malloc_arenas
    from edge.capture.packets import PacketRing
    from edge.capture.reader import CameraReader, LatestFrame

    limit_malloc_arenas()
    pairs = camera_pairs(8)
    readers, rings, at = [], [], {}
    for i in range(8):
        p, slot, ring = pairs[i % len(pairs)], LatestFrame(), PacketRing(17)
        rings.append(ring)
        if single:
            readers.append(CameraReader(f"c{i}", str(p["main"]), 2.0, slot.put, packets=ring, loop=True).start())
        else:
            readers.append(CameraReader(f"c{i}", str(p["sub"]), 2.0, slot.put, loop=True).start())
            readers.append(CameraReader(f"c{i}", str(p["main"]), 2.0, None, detect=False, packets=ring, loop=True,
                                        name=f"c{i}:record").start())
        if i + 1 in (4, 8):
            time.sleep(settle)
            at[i + 1] = (rss_mb(), sum(r.nbytes() for r in rings) / len(rings) / 1e6)
    for r in readers:
        r.signal_stop()
    return {"per_camera": (at[8][0] - at[4][0]) / 4, "ring": at[8][1]}


def reader_counts(agent) -> dict[str, int]:  # noqa: ANN001
    return {"detect_packets": sum(r.counters["packets"] for r in agent.readers.values()),
            "record_packets": sum(r.counters["packets"] for r in agent.aux_readers)}


def run_plain(n: int, seconds: float, warmup: float, fps: float = 2.0, stream: str = "main") -> dict:
    import av
    from ultralytics import YOLO

    pairs = camera_pairs(n)
    model = YOLO(str(paths.models_dir() / "yolo11n_int8_openvino_model"), task="detect")
    import numpy as np

    model.predict(np.zeros((1080, 1920, 3), np.uint8), verbose=False)  # load + compile before the baseline
    base_rss = rss_mb()
    latest: dict[int, tuple[float, np.ndarray]] = {}
    decoded = [0] * n
    stop = threading.Event()

    def decode(i: int, path: Path) -> None:
        while not stop.is_set():
            with av.open(str(path)) as c:
                wall0 = time.monotonic()
                for frame in c.decode(video=0):
                    if stop.is_set():
                        return
                    delay = wall0 + float(frame.time or 0) - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    # stamped with its frame time (paced onto the wall clock), as the agent's readers stamp theirs
                    latest[i] = (wall0 + float(frame.time or 0), frame.to_ndarray(format="bgr24"))
                    decoded[i] += 1

    threads = [threading.Thread(target=decode, args=(i, pairs[i % len(pairs)][stream]), name=f"decode-{i}",
                                daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    count, lags, ages = 0, [], []
    result_of: dict[int, float] = {}  # per camera: frame time of its newest predicted frame

    def sample_ages() -> None:  # as the agent's heartbeat: the age of each camera's newest analysed frame, each second
        while not stop.wait(1.0):
            now = time.monotonic()
            ages.extend(now - t for t in list(result_of.values()))

    threading.Thread(target=sample_ages, name="ages", daemon=True).start()
    m0: Meter | None = None
    start = time.monotonic()
    nxt = start
    while True:
        now = time.monotonic()
        if m0 is None and now - start >= warmup:
            m0, count, lags, dec0 = Meter(), 0, [], sum(decoded)
            ages.clear()
        if m0 is not None and now - m0.t >= seconds:
            break
        nxt += 1.0 / fps
        for i in range(n):
            item = latest.get(i)
            if item is None:
                continue
            t0 = time.monotonic()
            model.predict(item[1], verbose=False, conf=0.25)
            count += 1
            lags.append((t0 - item[0], time.monotonic() - t0, 0.0))
            result_of[i] = item[0]
        time.sleep(max(0.0, nxt - time.monotonic()))
    m1 = Meter()
    rss = rss_mb()
    age_list = list(ages)
    stop.set()
    wall, cores, per = m1.since(m0)
    frames = sum(decoded) - dec0
    sec = {k: v * wall for k, v in per.items()}
    decode = sec.get("detect readers (demux+decode)", 0.0) / max(1e-9, frames / FPS_OUT)
    frame = sum(v for k, v in sec.items() if "readers" not in k) / max(1, count)
    return {"cameras": n, "wall": wall, "cores": cores, "threads": per, "fps": count / wall / n,
            "decode": decode, "record": 0.0, "per_frame": frame, "projected": decode + 2.0 * frame,
            "realtime": frames / FPS_OUT / wall / n,
            "inferences": count / wall / n, "crops": 0, **lag_stats(lags), **age_stats(age_list),
            "rss_total": rss, "rss_per_camera": (rss - base_rss) / n, "decoded": 0}


# --------------------------------------------------------------------------- parent
LABELS = {"agent-sub": "agent, substream detect + main record", "agent-main": "agent, 1080p only (one input)",
          "agent-sub-nocrop": "agent, substream, phone crop pass off",
          "agent-sub-hand2": "agent, substream, hand pass every 2 s",
          "agent-sub-square": "agent, substream, letterboxed into 640x640 (rect_input off)",
          "agent-sub-1stream": "agent, substream, one inference stream",
          "agent-sub-capcrops": "agent, substream, hand crops enlarged at most 2x",
          "agent-sub-1thread": "agent, substream, one analysis thread",
          "agent-sub10": "agent, 10 fps substream detect + main record",
          "agent-sub-serial": "agent, substream, rules before the next batch is measured",
          "agent-sub-2t": "agent, substream, one inference stream on two threads",
          "agent-sub-aligned": "agent, substream, periodic passes of all cameras in step",
          "agent-sub-batch8": "agent, substream, batches of at most 8 frames",
          "agent-sub-batch10": "agent, substream, batches of at most 10 frames",
          "agent-sub-batch-all": "agent, substream, every waiting frame in one batch",
          "agent-sub-sampled-in-step": "agent, substream, cameras sampled in step",
          "agent-sub10-sampled-in-step": "agent, 10 fps substream, cameras sampled in step",
          "agent-sub-seatcap14": "agent, substream, seat regions enlarged at most 1.4x",
          "agent-sub-seatcap1": "agent, substream, seat regions not enlarged",
          "agent-sub-passes-by-time": "agent, substream, periodic passes spaced in seconds only",
          "agent-sub-detect-only": "agent, substream, full-frame detector only (seat-region and phone passes off)",
          "plain": "plain loop: PyAV thread/camera + YOLO.predict",
          "plain-sub": "plain loop on the substream"}
VARIANTS = {  # site overrides of the agent configurations beside the defaults ("agent": EdgeAgent arguments)
    "agent-sub-nocrop": {"rules": {"phone_use": {"enabled": False}}},
    "agent-sub-hand2": {"rules": {"phone_use": {"hand_pass_s": 2.0}}},
    "agent-sub-square": {"edge": {"rect_input": False}},
    "agent-sub-1stream": {"edge": {"inference_streams": 1}},
    "agent-sub-capcrops": {"rules": {"phone_use": {"hand_crop_max_upscale": 2.0}}},
    "agent-sub-1thread": {"edge": {"analysis_threads": 1}},
    "agent-sub10": {"detect": "sub10"},
    "agent-sub-serial": {"agent": {"overlap_rules": False}},  # the rules of a batch before the next is measured
    "agent-sub-2t": {"edge": {"inference_streams": 1, "inference_threads": 2}},  # one stream on both cores
    "agent-sub-aligned": {"aligned": True},  # every camera's periodic passes in phase 0 (the agent before phases)
    "agent-sub-batch8": {"edge": {"batch_frames": 8}},
    "agent-sub-batch10": {"edge": {"batch_frames": 10}},
    "agent-sub-batch-all": {"edge": {"batch_frames": 0}},  # every waiting frame in one batch (before stop 28)
    "agent-sub-sampled-in-step": {"sampled_in_step": True},  # no sampling phases (the agent before stop 29)
    "agent-sub10-sampled-in-step": {"detect": "sub10", "sampled_in_step": True},
    "agent-sub-seatcap14": {"seats": {"region_max_upscale": 1.4}},
    "agent-sub-seatcap1": {"seats": {"region_max_upscale": 1.0}},
    # the periodic passes without their share of analysed frames (the agent before stop 30)
    "agent-sub-passes-by-time": {"pass_frames_share": 0.0},
    # the plain loop's workload in the agent: one full-frame detector pass per analysed frame, no crop passes
    "agent-sub-detect-only": {"rules": {"phone_use": {"enabled": False}}, "seats": {"region_pass": False}},
}


def child(args: argparse.Namespace) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    paths.export_defaults()
    if args.child in ("plain", "plain-sub"):
        res = run_plain(args.n, args.seconds, args.warmup, stream="sub" if args.child == "plain-sub" else "main")
    elif args.child.startswith("capture-"):
        res = run_capture_memory(args.child == "capture-main")
    else:
        res = run_agent(args.n, args.child == "agent-main", args.seconds, args.warmup, VARIANTS.get(args.child))
    print("RESULT " + json.dumps(res))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=8, help="cameras of the substream agent run")
    ap.add_argument("--single-cameras", type=int, default=4, help="cameras of the 1080p-only agent run")
    ap.add_argument("--plain-cameras", type=int, default=4, help="cameras of the plain loop")
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--configs", default="agent-sub,agent-main,plain", help="name[:cameras],...")
    ap.add_argument("--no-capture-memory", action="store_true", help="skip the capture-only memory runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    paths.export_defaults()
    from models.machine import describe

    runs = []
    for item in args.configs.split(","):  # name or name:cameras
        name, _, count = item.partition(":")
        runs.append((item, name, int(count) if count else {"agent-main": args.single_cameras,
                                                            "plain": args.plain_cameras,
                                                            "plain-sub": args.plain_cameras}.get(name, args.cameras)))
    pairs = camera_pairs(max(n for *_, n in runs))  # generated before any run is timed
    sizes = {k: sum(p[k].stat().st_size for p in pairs) * 8 / 1e6 / CLIP_SECONDS / len(pairs) for k in SIZES}
    rows = {}
    for item, name, n in runs:
        cmd = [sys.executable, __file__, "--child", name, "--n", str(n), "--seconds", str(args.seconds),
               "--warmup", str(args.warmup)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"{item} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", file=sys.stderr)
            continue
        rows[item] = dict(json.loads(line[7:]), config=name)
    print(f"# edge cost on {describe()}; load average {os.getloadavg()[0]:.1f} at the end (the machine is shared: "
          f"other jobs run beside this one). Cameras: looped real clips as 1920x1080 25 fps H.264 GOP {GOP} "
          f"(~{sizes['main']:.1f} Mbit/s) + 640x360 substream at 25 fps (~{sizes['sub']:.1f} Mbit/s; at 10 fps "
          f"~{sizes['sub10']:.1f}), 2 fps analysed, "
          f"{args.warmup:.0f} s warm-up then {args.seconds:.0f} s measured per configuration.")
    print("\nMeasured (what this run reached on the shared machine):\n")
    print("| configuration | cameras | cores | cores/camera | analysed fps/camera | inferences/s/camera "
          "| video decoded, x real time | lag mean / p90 / max s | newest result's age mean / max s | RSS MB/camera "
          "| RSS total MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows.values():
        print(f"| {LABELS[r['config']]} | {r['cameras']} | {r['cores']:.2f} | {r['cores'] / r['cameras']:.3f} | "
              f"{r['fps']:.2f} | {r['inferences']:.2f} | {r['realtime']:.2f} | {r['lag_mean']:.2f} / "
              f"{r['lag_p90']:.2f} / {r['lag_max']:.2f} | {r['age_mean']:.2f} / {r['age_max']:.2f} | "
              f"{r['rss_per_camera']:.1f} | {r['rss_total']:.0f} |")
    print("\nLag = a frame's time (when the camera showed it) to its result: the agent's rules applied, the plain "
          "loop's predict returned. Newest result's age = what the agent's heartbeat reports as a camera's lag: "
          "sampled each second, how old the newest analysed frame is (a lag plus up to one 0.5-s sampling period). "
          "Lag in parts, mean seconds: waiting to be taken into a batch (plain loop: for the predict call) / "
          "measured by the models / waiting for and applied by the rules:\n")
    print("| configuration | cameras | waiting | measured | rules |")
    print("|---|---|---|---|---|")
    for r in rows.values():
        parts = r.get("lag_parts") or [0.0, 0.0, 0.0]
        print(f"| {LABELS[r['config']]} | {r['cameras']} | " + " | ".join(f"{x:.2f}" for x in parts) + " |")
    print("\nCost per unit of work (CPU seconds, from the same run), and cores per camera projected at 2 analysed "
          "fps with the camera's video decoded in real time:\n")
    print("| configuration | cameras | decode, cores per camera in real time | record (demux only) | "
          "analysis CPU s per analysed frame | hand crops per inference | projected cores/camera at 2 fps | "
          "cameras per 2 cores |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows.values():
        inferred = r["inferences"] * r["wall"] * r["cameras"]
        crops = f"{r.get('hand_crops', 0) / inferred:.1f}" if inferred and not r["config"].startswith("plain") else "–"
        print(f"| {LABELS[r['config']]} | {r['cameras']} | {r['decode']:.3f} | {r['record']:.4f} | "
              f"{r['per_frame']:.3f} | {crops} | {r['projected']:.3f} | {2.0 / r['projected']:.0f} |")
    agents = [r for r in rows.values() if r.get("batches")]
    if agents:
        print("\nBatches measured by the agent's detect job (wall seconds each; seat poses and hand crops in one):\n")
        print("| configuration | cameras | batches | frames per batch | mean s | p90 s | longest s | most seat poses "
              "| most hand crops |")
        print("|---|---|---|---|---|---|---|---|---|")
    for r in agents:
        b = r["batches"]
        d = sorted(x[0] for x in b)
        print(f"| {LABELS[r['config']]} | {r['cameras']} | {len(b)} | "
              f"{r['fps'] * r['wall'] * r['cameras'] / len(b):.1f} | {sum(d) / len(d):.2f} | "
              f"{d[int(0.9 * (len(d) - 1))]:.2f} | {d[-1]:.2f} | {max(x[1] for x in b)} | {max(x[2] for x in b)} |")
    plain = [r for r in rows.values() if r["config"] == "plain"]
    for a in [r for r in rows.values() if r["config"] != "plain"] if plain else []:
        p = plain[0]
        print(f"\n{LABELS[a['config']]}, {a['cameras']} cameras: {p['projected'] / a['projected']:.1f}x less CPU per "
              f"camera at 2 fps than the plain loop (projected); measured cores per camera "
              f"{(p['cores'] / p['cameras']) / (a['cores'] / a['cameras']):.1f}x.")
    by_config: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows.values():
        by_config[r["config"]].append(r)
    for name, rs in by_config.items():
        if len(rs) >= 2:
            lo, hi = min(rs, key=lambda r: r["cameras"]), max(rs, key=lambda r: r["cameras"])
            added = (hi["rss_total"] - lo["rss_total"]) / (hi["cameras"] - lo["cameras"])
            print(f"{LABELS[name]}: RSS per added camera {added:.1f} MB ({lo['cameras']} -> {hi['cameras']} cameras)")
    if not args.no_capture_memory:
        print("\nCapture alone (readers + packet rings, no models), RSS per added camera from 4 to 8 cameras:\n")
        print("| cameras with | RSS MB per added camera | packet ring MB per camera |")
        print("|---|---|---|")
        for name, label in (("capture-sub", "substream decoded + main stream in the packet ring"),
                            ("capture-main", "1080p decoded + packet ring (one input)")):
            proc = subprocess.run([sys.executable, __file__, "--child", name, "--n", "8"], capture_output=True,
                                  text=True, env=os.environ.copy())
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", file=sys.stderr)
                continue
            m = json.loads(line[7:])
            print(f"| {label} | {m['per_camera']:.1f} | {m['ring']:.1f} |")
    print("\nCPU per thread group, cores/camera:")
    groups = sorted({g for r in rows.values() for g in r["threads"]})
    print("| thread group | " + " | ".join(f"{LABELS[r['config']]} ({r['cameras']})" for r in rows.values()) + " |")
    print("|---|" + "---|" * len(rows))
    for g in groups:
        print(f"| {g} | " + " | ".join(f"{r['threads'].get(g, 0.0) / r['cameras']:.3f}" for r in rows.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
