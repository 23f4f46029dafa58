"""Ingest load: a mixed edge stream from many halls into one and into two server processes.

Not a test. Prints a table. Each scenario starts its own Mosquitto (``max_queued_messages 0``: the broker
never drops a queued QoS 1 message) and N server processes (uvicorn, the real app with its console and
people packages, MQTT on the shared subscription) on PostgreSQL, imports the demo hall under ``--halls``
fresh ids, and publishes, as fast as the broker takes them, a mixed stream: per 100 messages 2 finding
messages (opened, then updated, then closed, spread so each step follows the previous one by many
messages), 20 window states, 60 sensor readings and 18 heartbeats, spread over the halls.

Measured:

- ``stored msg/s``: messages stored / (last row stored - first publish);
- ``p50/p95 pub→row``: the broker's PUBACK of the message (it is in the broker) to
  ``processed_messages.received_at`` (same machine clock), and the p95 of ``finding.opened`` alone (the urgent
  lane) from its publish call;
- ``alert p50/p95 pub→SSE``: ``finding.opened`` publish call to the ``alert`` event on a console SSE stream
  (one stream per process, an admin; the first arrival counts).

The finding messages come, as from the edges of halls of their own, from a second MQTT client in a process of its
own, one every ``--finding-interval-ms`` (the flood's 2 % share at about 5,000 messages a second) while the flood
runs; their clock is the publish call. (Timed by the flood's own PUBACKs they read up to ~70 ms early: the
flooding client handles its acknowledgements late.)
- ``lost``: published, neither stored nor rejected; ``dup``: rows stored twice (readings rows beyond those
  published, findings per finding id beyond one); ``rejected``: the servers' rejection counters.

- ``cores``: CPU seconds per second of the run (first publish to last row) of the server processes (their
  bulk ingest workers included), of PostgreSQL (all its processes) and of the rest (the broker and the two
  publishers), all on the same machine.

A ``b`` after a process count (``--processes 1,1b``) runs each server with ``HALLWATCH_INGEST_BULK_PROCESS``:
its bulk lane (window states, readings, heartbeats) in a worker process of its own.

``BENCH_NO_SSE=1`` runs without the console streams (the server's cost of live events shows in the difference).

    .venv/bin/python bench/ingest_load.py --db postgresql+psycopg://postgres@127.0.0.1:5432/hw_scale \\
        [--messages 20000] [--processes 1,1b,2] [--halls 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import multiprocessing.synchronize
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from sqlalchemy import delete, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from edge import contract as c  # noqa: E402
from edge.site import load_site_config  # noqa: E402
from server.db import Finding, Hall, ProcessedMessage, SensorReadingRow  # noqa: E402
from server.db.migrate import upgrade  # noqa: E402
from server.db.session import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from server.siteimport import import_site  # noqa: E402

PREFIX = "hwbench"
ADMIN, PASSWORD = "bench-admin", "bench-password-123"
FINDING_GAP = 40  # a finding's next step comes this many finding slots (x50 messages) after the previous one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# ------------------------------------------------------------------------------------------- the stream
def build_stream(halls: list[str], cfg, n: int, seed: int = 7) -> list[c._Msg]:
    rng = random.Random(seed)
    pattern = ["finding"] * 2 + ["window"] * 20 + ["reading"] * 60 + ["heartbeat"] * 18
    windows = [w.id for w in cfg.windows]
    sensors = [s.id for s in cfg.sensors]
    cameras = [cam.id for cam in cfg.cameras]
    edge = cfg.edge.id if getattr(cfg, "edge", None) and getattr(cfg.edge, "id", None) else "zhegou-edge-1"
    t = now()
    finding_steps: list[c._Msg] = []
    n_findings = n * 2 // 100 + 3
    lifecycles = []
    for i in range(n_findings // 3 + 1):
        hall = halls[i % len(halls)]
        fid = uuid.uuid4()
        started = t - dt.timedelta(minutes=10)
        common = dict(hall_id=hall, edge_id=edge, finding_id=fid, rule="window_unstaffed")
        lifecycles.append([
            c.FindingOpened(**common, severity="warning", started_at=started, window_id=windows[i % len(windows)],
                            details={"bench": str(fid)}),
            c.FindingUpdated(**common, at=started + dt.timedelta(minutes=2), details={"absent_s": 240.0}),
            c.FindingClosed(**common, ended_at=started + dt.timedelta(minutes=5), duration_s=300.0),
        ])
    # slot k of the finding sequence: step (k // FINDING_GAP) % 3 of lifecycle ...; spread steps apart
    order: list[c._Msg] = []
    for block in range(0, len(lifecycles), FINDING_GAP):
        group = lifecycles[block:block + FINDING_GAP]
        for step in range(3):
            order += [lc[step] for lc in group]
    finding_steps = order
    out: list[c._Msg] = []
    fi = 0
    while len(out) < n:
        rng.shuffle(pattern)
        for kind in pattern:
            hall = halls[rng.randrange(len(halls))]
            if kind == "finding":
                if fi >= len(finding_steps):
                    kind = "reading"
                else:
                    out.append(finding_steps[fi])
                    fi += 1
                    continue
            if kind == "window":
                out.append(c.WindowState(hall_id=hall, edge_id=edge, window_id=rng.choice(windows),
                                         camera_id=rng.choice(cameras), state=rng.choice(["staffed", "empty"]),
                                         since=t - dt.timedelta(seconds=rng.randrange(600)), persons=1))
            elif kind == "reading":
                out.append(c.SensorReading(hall_id=hall, edge_id=edge, sensor_id=rng.choice(sensors), kind="power",
                                           value=round(rng.uniform(0, 200), 1), unit="W", at=t))
            else:
                out.append(c.Heartbeat(hall_id=hall, edge_id=edge, uptime_s=rng.randrange(10**6), outbox_pending=0,
                                       cameras=[c.CameraHealth(camera_id=cam, state="ok", fps=2.0, lag_s=0.3)
                                                for cam in cameras[:2]]))
    return out[:n]


# ------------------------------------------------------------------------------------------- processes
class Broker:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "max_queued_messages 0\nmax_inflight_messages 0\n")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Server:
    def __init__(self, tmp: Path, i: int, db: str, broker: Broker, extra_env: dict[str, str]) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HALLWATCH_DATABASE_URL": db,
               "HALLWATCH_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}", "HALLWATCH_MQTT_TOPIC_PREFIX": PREFIX,
               "HALLWATCH_MQTT_CLIENT_ID": f"bench-server-{i}-{uuid.uuid4().hex[:6]}",
               "HALLWATCH_MQTT_SESSION_EXPIRY_S": "0", "HALLWATCH_DATA_DIR": str(tmp / f"server{i}"),
               "HALLWATCH_SECRET_KEY": "b" * 48, "HALLWATCH_ADMIN_USER": ADMIN, "HALLWATCH_ADMIN_PASSWORD": PASSWORD,
               "HALLWATCH_RUN_MIGRATIONS": "false", "HALLWATCH_CONSOLE_BACKGROUND": "false",
               "HALLWATCH_PEOPLE_BACKGROUND": "false", "HALLWATCH_RETENTION_ENABLED": "false", **extra_env}
        self.log = open(tmp / f"server{i}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "server.app:create_app",
                                      "--port", str(self.port), "--log-level", "warning"], env=env, cwd=str(ROOT),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).json().get("mqtt") == "connected":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited; see {self.log.name}")
            time.sleep(0.2)
        raise SystemExit("server did not come up")

    def rejected(self) -> int:
        text = httpx.get(self.url + "/metrics", timeout=30).text
        return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith("hallwatch_ingest_rejected_total{")))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _listen(url: str, token: str, ready: mp.synchronize.Event, stop: mp.synchronize.Event, out: mp.Queue) -> None:
    """A console: records the arrival time of each ``alert`` event by the bench marker in its summary."""
    headers = {"Authorization": f"Bearer {token}"}
    arrivals: dict[str, float] = {}
    with httpx.stream("GET", url + "/api/v1/events/stream", headers=headers, timeout=None) as r:
        event = None
        for line in r.iter_lines():
            ready.set()
            if stop.is_set():
                break
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "alert":
                t = time.time()
                marker = (json.loads(line[5:]).get("summary") or "").split(" ")[0]
                arrivals.setdefault(marker, t)
    out.put(arrivals)


def _publish_findings(port: int, items: list[tuple[str, bytes, str]], interval: float, ready: mp.synchronize.Event,
                      go: mp.synchronize.Event, out: mp.Queue) -> None:
    """The halls' edges sending findings: one client of their own, one message every ``interval`` seconds once
    ``go`` is set, each message's clock read at its publish call."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-edges-{uuid.uuid4().hex[:6]}",
                         protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    ready.set()
    go.wait(300)
    sent: dict[str, float] = {}
    infos = []
    due = time.monotonic()
    for topic, body, mid in items:
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # pacing: the findings are spread over the flood, as halls send them
        due += interval
        sent[mid] = time.time()
        infos.append(client.publish(topic, body, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    client.loop_stop()
    client.disconnect()
    out.put(sent)


class FindingPublisher:
    def __init__(self, port: int, items: list[tuple[str, bytes, str]], interval: float) -> None:
        ctx = mp.get_context("spawn")
        self.ready, self.go, self._out = ctx.Event(), ctx.Event(), ctx.Queue()
        self.proc = ctx.Process(target=_publish_findings, args=(port, items, interval, self.ready, self.go,
                                                                self._out), daemon=True)
        self.proc.start()

    def result(self) -> dict[str, float]:
        try:
            return self._out.get(timeout=300)
        finally:
            self.proc.join(10)


class SseListener:
    """A console SSE stream read in a process of its own, so the publisher's GIL never delays its clock."""

    def __init__(self, url: str, token: str) -> None:
        ctx = mp.get_context("spawn")
        self.ready, self._stop, self._out = ctx.Event(), ctx.Event(), ctx.Queue()
        self.proc = ctx.Process(target=_listen, args=(url, token, self.ready, self._stop, self._out), daemon=True)

    def start(self) -> None:
        self.proc.start()

    def stop(self) -> dict[str, float]:
        """Stop at the next line of the stream (the server's keep-alive at the latest) and return the arrivals."""
        self._stop.set()
        try:
            return self._out.get(timeout=60)
        finally:
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.terminate()


# ------------------------------------------------------------------------------------------- one scenario
def _finding(m: c._Msg) -> bool:
    return m.type.startswith("finding.")


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def process_groups(servers: list[Server], broker: Broker, publishers: list[int]) -> dict[str, list[psutil.Process]]:
    """The processes whose CPU the table reports, by group (a server's bulk worker counts as the server)."""
    srv = [psutil.Process(s.proc.pid) for s in servers]
    srv += [child for p in srv for child in p.children(recursive=True)]
    pg = [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")]
    rest = [psutil.Process(broker.proc.pid), psutil.Process(), *(psutil.Process(pid) for pid in publishers)]
    return {"server": srv, "postgresql": pg, "rest": rest}


def scenario(db: str, n_proc: int, n_msgs: int, n_halls: int, tmp: Path, bulk_process: bool = False,
             finding_interval: float = 0.01) -> dict:
    engine = make_engine(db)
    cfg0 = load_site_config(ROOT / "configs" / "demo-hall.yaml")
    run = uuid.uuid4().hex[:4]
    halls = [f"bench{run}{i:02d}" for i in range(n_halls)]
    with unit_of_work(make_sessionmaker(engine)) as s:
        for h in halls:
            import_site(s, cfg0.model_copy(update={"hall": cfg0.hall.model_copy(update={"id": h})}), actor="bench")
    broker = Broker(tmp)
    extra = {"HALLWATCH_INGEST_BULK_PROCESS": "true"} if bulk_process else {}
    servers = [Server(tmp, i, db, broker, extra) for i in range(n_proc)]
    try:
        for srv in servers:
            srv.wait()
        token = httpx.post(servers[0].url + "/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD},
                           timeout=30).json()["access_token"]
        arrivals: dict[str, float] = {}
        listeners = [] if os.environ.get("BENCH_NO_SSE") else [SseListener(srv.url, token)
                                                               for srv in servers]
        for li in listeners:
            li.start()
            li.ready.wait(30)
        stream = build_stream(halls, cfg0, n_msgs)
        payloads = [(c.topic_for(m, PREFIX), c.encode(m), str(m.id)) for m in stream if not _finding(m)]
        findings = FindingPublisher(broker.port, [(c.topic_for(m, PREFIX), c.encode(m), str(m.id))
                                                  for m in stream if _finding(m)], finding_interval)
        findings.ready.wait(60)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{run}", protocol=mqtt.MQTTv5)
        acked: dict[int, float] = {}  # packet id → when the broker acknowledged it (the message is in the broker)
        pub.on_publish = lambda client, userdata, mid, rc, props: acked.__setitem__(mid, time.time())
        pub.max_inflight_messages_set(1000)
        pub.max_queued_messages_set(0)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        time.sleep(1.0)  # subscriptions settle (the servers said connected; their SUBACK follows at once)
        sent: dict[str, float] = {}
        infos = []
        groups = process_groups(servers, broker, [findings.proc.pid])
        cpu0 = {k: cpu_seconds(v) for k, v in groups.items()}
        t_first = time.time()
        findings.go.set()
        for topic, body, mid in payloads:
            infos.append((mid, pub.publish(topic, body, qos=1)))
        for mid, info in infos:
            info.wait_for_publish(120)
        t_published = time.time()
        for mid, info in infos:  # packet ids are unique below 65,535 messages per run
            sent[mid] = acked.get(info.mid, t_published)
        sent.update(findings.result())
        t_published = time.time()  # both publishers done
        expected = set(sent)
        with Session(engine) as s:
            last, stall = -1, time.monotonic()
            while True:
                stored = s.scalar(select(func.count()).select_from(ProcessedMessage)
                                  .where(ProcessedMessage.hall_id.in_(halls)))
                rejected = sum(srv.rejected() for srv in servers)
                if stored + rejected >= len(expected):
                    break
                if stored != last:
                    last, stall = stored, time.monotonic()
                elif time.monotonic() - stall > 30:
                    break
                time.sleep(0.5)
            t_done = time.time()
            cpu = {k: cpu_seconds(v) - cpu0[k] for k, v in groups.items()}
            rows = s.execute(select(ProcessedMessage.message_id, ProcessedMessage.received_at)
                             .where(ProcessedMessage.hall_id.in_(halls))).all()
            readings = s.scalar(select(func.count()).select_from(SensorReadingRow)
                                .where(SensorReadingRow.hall_id.in_(halls)))
            finding_dups = s.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id.in_(halls))) - \
                len({str(m.finding_id) for m in stream if m.type == "finding.opened"
                     and str(m.id) in {r[0] for r in rows}})
        time.sleep(1.0)  # the last alerts reach SSE
        for li in listeners:
            for marker, t in li.stop().items():
                arrivals[marker] = min(t, arrivals.get(marker, t))
        pub.loop_stop()
        pub.disconnect()
        got = {mid: at.timestamp() for mid, at in rows}
        lat = [got[m] - sent[m] for m in got if m in sent]
        opened_ids = {str(m.id) for m in stream if m.type == "finding.opened"}
        f_lat = [got[m] - sent[m] for m in opened_ids if m in got]
        t_last = max(got.values()) if got else t_first
        alert_lat = [arrivals[str(m.details["bench"])] - sent[str(m.id)] for m in stream
                     if m.type == "finding.opened" and str(m.details["bench"]) in arrivals]
        n_readings = sum(1 for m in stream if m.type == "sensor.reading" and str(m.id) in got)
        span = max(1e-9, t_done - t_first)
        return {"processes": f"{n_proc}{' + bulk worker' if bulk_process else ''}",
                "cores": {k: v / span for k, v in cpu.items()}, "messages": len(stream), "stored": len(got),
                "rejected": rejected,
                "lost": len(expected) - len(got) - rejected, "dup": max(0, readings - n_readings) + finding_dups,
                "publish_s": t_published - t_first, "rate": len(got) / max(1e-9, t_last - t_first),
                "p50": pct(lat, 0.5) * 1000, "p95": pct(lat, 0.95) * 1000,
                "f95": pct(f_lat, 0.95) * 1000,
                "alerts": f"{len(alert_lat)}/{sum(1 for m in stream if m.type == 'finding.opened')}",
                "a50": pct(alert_lat, 0.5) * 1000, "a95": pct(alert_lat, 0.95) * 1000}
    finally:
        for srv in servers:
            srv.stop()
        broker.stop()
        with Session(engine) as s:
            s.execute(delete(Hall).where(Hall.id.in_(halls)))
            s.execute(delete(ProcessedMessage).where(ProcessedMessage.hall_id.in_(halls)))
            s.commit()
        settle(engine)
        engine.dispose()


def settle(engine) -> None:
    """Vacuum what a scenario deleted and checkpoint, so its cleanup (autovacuum, a checkpoint's writes) does not
    run during the next scenario."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        conn.exec_driver_sql("CHECKPOINT")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=os.environ.get("HALLWATCH_BENCH_DATABASE_URL"),
                    help="PostgreSQL URL (a database of your own; halls are created and dropped)")
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--halls", type=int, default=50)
    ap.add_argument("--processes", default="1,2")
    ap.add_argument("--finding-interval-ms", type=float, default=10.0,
                    help="one finding message this often from the findings' own client (default 10)")
    a = ap.parse_args()
    if not a.db:
        sys.exit("give --db postgresql+psycopg://… (or HALLWATCH_BENCH_DATABASE_URL)")
    if shutil.which("mosquitto") is None:
        sys.exit("mosquitto binary not found")
    engine = make_engine(a.db)
    upgrade(engine)
    settle(engine)
    engine.dispose()
    results = []
    for spec in a.processes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(scenario(a.db, int(spec.rstrip("b")), a.messages, a.halls, Path(tmp),
                                    bulk_process=spec.endswith("b"), finding_interval=a.finding_interval_ms / 1000))
    print(f"\nmixed stream, {a.halls} halls, {a.messages} messages, PostgreSQL, {os.cpu_count()} CPUs")
    head = ("processes", "stored msg/s", "pub→row p50 ms", "p95 ms", "finding pub→row p95 ms", "alert pub→SSE p50 ms",
            "p95 ms", "alerts seen",
            "stored", "rejected", "lost", "dup", "publish s", "cores: server", "PostgreSQL", "rest")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        print(f"| {r['processes']} | {r['rate']:,.0f} | {r['p50']:,.0f} | {r['p95']:,.0f} | {r['f95']:,.0f} | "
              f"{r['a50']:,.0f} | "
              f"{r['a95']:,.0f} | {r['alerts']} | {r['stored']:,} | {r['rejected']} | {r['lost']} | {r['dup']} | "
              f"{r['publish_s']:.1f} | {r['cores']['server']:.2f} | {r['cores']['postgresql']:.2f} | "
              f"{r['cores']['rest']:.2f} |")
    for r in results[1:]:
        print(f"{r['processes']} / {results[0]['processes']}: {r['rate'] / results[0]['rate']:.2f}x")


if __name__ == "__main__":
    main()
