"""``hallwatch demo``: the whole system on one machine, on embedded defaults.

Starts, with progress output: an MQTT broker (the ``mosquitto`` binary when installed, with a password file
and ACL so every client logs in and the edge reaches only its own topics; else the embedded Python broker with
persistent sessions, anonymous), the server on SQLite, one edge agent for the demo hall playing
real footage in a loop through the real model, and the sensor simulator replaying hall days. Prints the
console URL and a demo login. Ctrl-C stops everything; running it again reuses ``data/demo``.

The demo hall's clock: video rules only act in service hours, so when it is not service time in
Asia/Shanghai the demo hall gets a fixed-offset time zone in which it is 09:30 on a working day now.
Sensor rules follow the simulator's clock (60x), which replays recent hall days from 08:00 to 18:45.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from edge import assets, paths
from edge.site import load_site_config

DEMO_USER, DEMO_PASSWORD = "demo", "hallwatch-demo"
HALL_ID, EDGE_ID = "zhegou", "zhegou-edge-1"


def say(step: str, text: str) -> None:
    print(f"[{step}] {text}", flush=True)


def port_free(port: int) -> bool:
    """Can a server listen on the port? SO_REUSEADDR as uvicorn and Mosquitto set it: a port whose last
    connections linger in TIME_WAIT after a restart counts as free (it is, for them)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(preferred: int) -> int:
    if preferred and port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --------------------------------------------------------------------------- the demo hall's config


def hall_clock(now_utc: dt.datetime, cfg_tz: str, sessions: list[tuple[dt.time, dt.time]]) -> str:
    """The hall's time zone for the demo: the real one when it is service time there now, else a fixed
    offset zone in which it is about 09:30 now (so video rules are active while you watch)."""
    local = now_utc.astimezone(ZoneInfo(cfg_tz))
    if local.weekday() < 5 and any(a <= local.time() < b for a, b in sessions) and local.time() < dt.time(16, 30):
        return cfg_tz
    minutes = (9 * 60 + 30) - (now_utc.hour * 60 + now_utc.minute)
    hours = round(minutes / 60)
    hours = (hours + 12) % 24 - 12  # -12 … +11
    return f"Etc/GMT{-hours:+d}" if hours else "UTC"  # Etc/GMT-8 is UTC+8


def demo_config(source: Path, out: Path, *, mqtt_port: int, server_url: str, data_dir: Path,
                now_utc: dt.datetime | None = None, mqtt_username: str | None = None) -> Path:
    """Write the demo hall's config: the example hall with demo-friendly thresholds and clock."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    cfg = load_site_config(source)
    now_utc = now_utc or dt.datetime.now(dt.timezone.utc)
    tz = hall_clock(now_utc, cfg.hall.timezone, [(s.start, s.end) for s in cfg.schedule.sessions])
    raw["hall"]["timezone"] = tz
    today = now_utc.astimezone(ZoneInfo(tz)).date()
    sched = raw.setdefault("schedule", {})
    # today and the days the sensor simulator replays are working days in the demo hall
    replay_days = [today - dt.timedelta(days=d) for d in range(0, 4)]
    sched["holidays"] = [d for d in sched.get("holidays", []) if d not in replay_days]
    sched["makeup_workdays"] = sorted({*sched.get("makeup_workdays", []),
                                       *(d for d in replay_days if d.weekday() >= 5)})
    rules = raw.setdefault("rules", {})
    rules["window_unstaffed"] = {"absent_s": 60, "return_s": 3}
    rules["phone_use"] = {"min_s": 4, "window_s": 8, "ratio": 0.5, "cooldown_s": 120}
    rules["after_hours_presence"] = {"min_s": 10}
    rules["camera_health"] = {"frozen_s": 600}
    raw["mqtt"] = {**raw.get("mqtt", {}), "host": "127.0.0.1", "port": mqtt_port}
    if mqtt_username:  # the edge logs in with its API token as password
        raw["mqtt"] |= {"username": mqtt_username, "password_env": "HALLWATCH_EDGE_TOKEN"}
    raw["edge"] = {**raw.get("edge", {}), "server_url": server_url, "data_dir": str(data_dir / "edge")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# generated by `hallwatch demo` from " + str(source) + "\n"
                   + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_site_config(out)  # the derived file must still validate
    return out


def demo_broker_auth(cfg, folder: Path, token: str) -> tuple[Path, str, str]:
    """Password file and ACL for the demo's Mosquitto: the server (everything), the demo edge (its own topics, and
    reading the sensor bridges' topics) and the sensor simulator (writing only those). Returns (the folder holding
    ``passwd`` and ``acl``, the server's 'user:password', the simulator's 'user:password')."""
    from edge.sensors import adapters, simclock
    from server.mqtt_auth import SERVER_ACL, BrokerAuth, edge_acl, edge_username, mosquitto_hash, write_auth_files

    levels = {t.split("/", 1)[0] for s in cfg.sensors for t in adapters.device_topics(s)}
    levels |= {t.split("/", 1)[0] for t in adapters.family_subscriptions(cfg.sensors)}
    bridge = sorted(f"{level}/#" for level in levels if level and level != cfg.mqtt.topic_prefix)
    bridge.append(simclock.TOPIC)
    server_pw, sim_pw = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    users = [("hallwatch-server", mosquitto_hash(server_pw), SERVER_ACL),
             (edge_username(HALL_ID, EDGE_ID), mosquitto_hash(token),
              edge_acl(cfg.mqtt.topic_prefix, HALL_ID, EDGE_ID, bridge)[1:]),
             ("sensor-simulator", mosquitto_hash(sim_pw), [f"topic write {t}" for t in bridge])]
    write_auth_files(BrokerAuth(folder / "passwd", folder / "acl"), users)
    return folder, f"hallwatch-server:{server_pw}", f"sensor-simulator:{sim_pw}"


# --------------------------------------------------------------------------- processes


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    restart: bool = True
    proc: subprocess.Popen | None = None
    restarts: int = 0
    _log: object = field(default=None, repr=False)

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def hallwatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge.cli", *args]


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data = Path(args.data_dir).resolve()
        self.children: list[Child] = []
        self.broker = None  # EmbeddedBroker when used
        self._sim_day: dt.date | None = None
        self._site: tuple[Path, object] | None = None
        self._sim_broker = ""

    # -- steps
    def start(self) -> int:
        a = self.args
        say("1/6", "models and footage")
        try:
            models, media = assets.ensure_demo_assets()
        except assets.AssetsUnavailable as exc:
            print(f"hallwatch demo: {exc}", file=sys.stderr)
            return 2
        print(f"      models: {models}\n      media:  {media}")
        (self.data / "logs").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HALLWATCH_MODELS_DIR": str(models), "HALLWATCH_MEDIA_DIR": str(media),
               "PYTHONUNBUFFERED": "1"}

        token_file = self.data / "edge-token"
        if not token_file.exists():
            token_file.write_text(secrets.token_urlsafe(32))
            token_file.chmod(0o600)
        token = token_file.read_text().strip()

        say("2/6", "MQTT broker")
        mqtt_port = pick_port(a.mqtt_port)
        server_login = sim_login = ""
        embedded = a.embedded_broker or shutil.which("mosquitto") is None
        if embedded:
            from server.embedded_broker import EmbeddedBroker

            self.broker = EmbeddedBroker("127.0.0.1", mqtt_port, self.data / "broker")
            self.broker.start()
            print(f"      embedded Python broker (amqtt) on 127.0.0.1:{mqtt_port}, sessions in {self.data / 'broker'}")
        else:
            conf = self.data / "mosquitto.conf"
            (self.data / "mosquitto").mkdir(exist_ok=True)
            auth, server_login, sim_login = demo_broker_auth(
                load_site_config(paths.PROJECT_ROOT / "configs" / "demo-hall.yaml"), self.data / "mosquitto-auth",
                token)
            conf.write_text(f"listener {mqtt_port} 127.0.0.1\nallow_anonymous false\npersistence true\n"
                            f"password_file {auth / 'passwd'}\nacl_file {auth / 'acl'}\n"
                            f"persistence_location {self.data / 'mosquitto'}/\nautosave_interval 10\n"
                            + ("user root\n" if os.geteuid() == 0 else ""))
            self.children.append(Child("mosquitto", ["mosquitto", "-c", str(conf)], env,
                                       self.data / "logs" / "mosquitto.log"))
            self.children[-1].start()
            if not wait_port(mqtt_port, 10):
                print("hallwatch demo: mosquitto did not start:\n" + self.children[-1].tail(), file=sys.stderr)
                return 1
            print(f"      mosquitto on 127.0.0.1:{mqtt_port} (each client logs in; ACL in {auth / 'acl'})")

        say("3/6", "demo hall config")
        http_port = pick_port(a.port)
        server_url = f"http://127.0.0.1:{http_port}"
        site = demo_config(paths.PROJECT_ROOT / "configs" / "demo-hall.yaml", self.data / "demo-hall.yaml",
                           mqtt_port=mqtt_port, server_url=server_url, data_dir=self.data,
                           mqtt_username=f"{HALL_ID}/{EDGE_ID}" if server_login else None)
        cfg = load_site_config(site)
        local_now = dt.datetime.now(cfg.tz)
        print(f"      {site}\n      {cfg.hall.name}: {len(cfg.windows)} windows, {len(cfg.cameras)} cameras, "
              f"{len(cfg.sensors)} sensors; hall clock {local_now:%a %H:%M} ({cfg.hall.timezone})")

        say("4/6", f"server on {server_url} (SQLite in {self.data / 'server'})")
        server_env = {**env, "HALLWATCH_MODE": "development", "HALLWATCH_DATA_DIR": str(self.data / "server"),
                      "HALLWATCH_MQTT_URL": f"mqtt://{server_login}{'@' if server_login else ''}127.0.0.1:{mqtt_port}",
                      "HALLWATCH_SITE_CONFIGS": str(site),
                      "HALLWATCH_ADMIN_USER": DEMO_USER, "HALLWATCH_ADMIN_PASSWORD": DEMO_PASSWORD,
                      "HALLWATCH_EDGE_TOKENS": f"{HALL_ID}/{EDGE_ID}={token}",
                      "HALLWATCH_MQTT_CLIENT_ID": "hallwatch-demo-server"}
        server_env.pop("HALLWATCH_DATABASE_URL", None)
        if embedded:
            server_env |= {"HALLWATCH_MQTT_PROTOCOL": "3.1.1", "HALLWATCH_MQTT_SHARE_GROUP": ""}
        server = Child("server", hallwatch("server", "run", "--port", str(http_port)), server_env,
                       self.data / "logs" / "server.log")
        self.children.append(server)
        server.start()
        if not self._wait_http(f"{server_url}/healthz", a.start_timeout, server):
            print("hallwatch demo: the server did not come up:\n" + server.tail(), file=sys.stderr)
            return 1

        say("5/6", "edge agent (real model on real footage)")
        edge_env = {**env, "HALLWATCH_EDGE_TOKEN": token, "HALLWATCH_SIM_CLOCK": "1"}
        self.children.append(Child("edge", hallwatch("edge", "run", "--config", str(site)), edge_env,
                                   self.data / "logs" / "edge.log"))
        self.children[-1].start()

        say("6/6", "sensor simulator (hall days at 60x)")
        self._site = (site, cfg)
        self._sim_broker = f"mqtt://{sim_login + '@' if sim_login else ''}127.0.0.1:{mqtt_port}"
        self.children.append(Child("sensors", self._simulator_argv(site, cfg), env,
                                   self.data / "logs" / "sensors.log", restart=True))
        self.children[-1].start()

        print(f"\nHallWatch demo is running.\n  console:  {server_url}/console\n  API docs: {server_url}/docs\n"
              f"  login:    {DEMO_USER} / {DEMO_PASSWORD}\n  logs:     {self.data / 'logs'}\n"
              "Findings appear within a few minutes. Ctrl-C stops everything.\n", flush=True)
        return 0

    def _simulator_argv(self, site: Path, cfg) -> list[str]:  # noqa: ANN001
        """The next hall day to replay: three days ago first, then one day further each time."""
        self._sim_day = (self._sim_day + dt.timedelta(days=1) if self._sim_day
                         else dt.datetime.now(cfg.tz).date() - dt.timedelta(days=3))
        day = self._sim_day
        return hallwatch("sensors", "simulate", "--config", str(site), "--scenario", "day_in_the_hall",
                         "--speed", str(self.args.speed), "--date", day.isoformat(), "--broker", self._sim_broker)

    def _wait_http(self, url: str, timeout: float, child: Child) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (loopback)
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.3)
        return False

    def supervise(self, run_for: float | None) -> None:
        """Restart a child that exits (at most 5 times each); stop after ``run_for`` seconds if given."""
        started = time.monotonic()
        while run_for is None or time.monotonic() - started < run_for:
            time.sleep(1)
            for c in self.children:
                if c.alive() or not c.restart:
                    continue
                code = c.proc.returncode if c.proc else None
                if c.name == "sensors" and code == 0 and self._site:  # a replayed day ended: replay the next
                    c.argv = self._simulator_argv(*self._site)
                    c.start()
                    continue
                if c.restarts >= 5:
                    continue
                c.restarts += 1
                print(f"[watchdog] {c.name} exited ({code}); restarting ({c.restarts}/5). Last log lines:\n"
                      f"{c.tail(8)}", flush=True)
                c.start()

    def stop(self) -> None:
        print("stopping …", flush=True)
        for c in reversed(self.children):
            c.stop()
        if self.broker is not None:
            self.broker.stop()
        print("stopped.", flush=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="hallwatch demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default="data/demo", help="where the demo keeps its state (reused)")
    ap.add_argument("--port", type=int, default=8000, help="console/API port (another free one if taken)")
    ap.add_argument("--mqtt-port", type=int, default=18830, help="broker port (another free one if taken)")
    ap.add_argument("--speed", type=float, default=60, help="sensor simulator speed (simulated s per real s)")
    ap.add_argument("--embedded-broker", action="store_true", help="use the Python broker even with mosquitto")
    ap.add_argument("--run-for", type=float, help="stop by itself after this many seconds (tests)")
    ap.add_argument("--start-timeout", type=float, default=90, help="seconds to wait for the server")
    args = ap.parse_args(argv)
    demo = Demo(args)
    def on_signal(signum, frame):  # noqa: ANN001 - SIGTERM stops the demo like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        code = demo.start()
        if code == 0:
            demo.supervise(args.run_for)
    except KeyboardInterrupt:
        code = 0
    finally:
        demo.stop()
    return code
