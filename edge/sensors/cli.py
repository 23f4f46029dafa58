"""``hallwatch sensors``: the installer's and the demo's tools.

    hallwatch sensors simulate --config FILE --scenario NAME [--broker mqtt://host:port] [--speed X]
                               [--date YYYY-MM-DD] [--namespace NS] [--dry-run]
    hallwatch sensors simulate --list
    hallwatch sensors tail --config FILE [--broker mqtt://host:port] [--namespace NS] [--seconds S] [--count N]

``simulate`` publishes a scenario in each device's firmware format (``--speed 0``: as fast as possible with
the firmware timestamps; ``--speed 60``: one simulated minute per second, announced on
``hallwatch-sim/clock`` for hubs running with a SimClock). ``tail`` prints every normalised reading,
rejected message and sensor finding live, so an installer can see a device arrive with the right values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import threading
import time
from urllib.parse import urlparse

from edge.site import ConfigError, SiteConfig, load_site_config


def _broker(value: str | None, cfg: SiteConfig) -> tuple[str, int]:
    if not value:
        return cfg.mqtt.host, cfg.mqtt.port
    u = urlparse(value if "://" in value else f"mqtt://{value}")
    return u.hostname or "127.0.0.1", u.port or 1883


def _broker_login(value: str | None) -> tuple[str | None, str | None]:
    """User name and password given in the broker URL (``mqtt://user:password@host:port``), if any."""
    if not value:
        return None, None
    u = urlparse(value if "://" in value else f"mqtt://{value}")
    return u.username, u.password


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hallwatch sensors", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sim = sub.add_parser("simulate", help="publish a scenario in each device's firmware format")
    sim.add_argument("--config", help="site config YAML")
    sim.add_argument("--scenario", default="normal_day", help="scenario name (see --list)")
    sim.add_argument("--list", action="store_true", help="list the scenarios and exit")
    sim.add_argument("--broker", help="mqtt://[user:password@]host:port (default: the config's mqtt section)")
    sim.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second; 0 = no pacing")
    sim.add_argument("--date", type=dt.date.fromisoformat, help="day to simulate (default: next workday)")
    sim.add_argument("--namespace", default="", help="topic prefix before the device topics (tests, bridges)")
    sim.add_argument("--seed", type=int, default=7, help="random seed of the value jitter")
    sim.add_argument("--dry-run", action="store_true", help="print the messages instead of publishing")
    tail = sub.add_parser("tail", help="print normalised readings live")
    tail.add_argument("--config", required=True, help="site config YAML")
    tail.add_argument("--broker", help="mqtt://host:port (default: the config's mqtt section)")
    tail.add_argument("--namespace", default="", help="topic prefix before the device topics")
    tail.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0 = until Ctrl-C)")
    tail.add_argument("--count", type=int, default=0, help="stop after this many readings (0 = no limit)")
    tail.add_argument("--sim-clock", action="store_true",
                      help="run rules on the clock announced by 'simulate --speed X' (demos), not the wall clock")
    return p


def simulate(args: argparse.Namespace) -> int:
    from edge.sensors import simclock, simulator

    if args.list:
        for s in simulator.SCENARIOS.values():
            print(f"{s.name:<18} {s.start:%H:%M}-{s.end:%H:%M}  {s.description}")
        return 0
    if not args.config:
        print("hallwatch sensors simulate: --config is required", file=sys.stderr)
        return 2
    cfg = load_site_config(args.config)
    scenario = simulator.SCENARIOS.get(args.scenario)
    if scenario is None:
        print(f"unknown scenario {args.scenario!r}; one of: {', '.join(simulator.SCENARIOS)}", file=sys.stderr)
        return 2
    today = dt.datetime.now(cfg.tz).date()
    day = args.date if args.date else simulator.first_workday(cfg, today)
    msgs = simulator.build(cfg, scenario, day, seed=args.seed)
    if args.dry_run:
        for m in msgs:
            print(f"{m.at.astimezone(cfg.tz):%H:%M:%S} {'R' if m.retain else ' '} {args.namespace}{m.topic} "
                  f"{m.payload.decode(errors='replace')}")
        return 0
    host, port = _broker(args.broker, cfg)
    user, password = _broker_login(args.broker)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.speed > 0 and msgs:
        from paho.mqtt import publish

        ns = args.namespace.strip("/") + "/" if args.namespace.strip("/") else ""
        publish.single(ns + simclock.TOPIC, simclock.announcement(msgs[0].at, args.speed), qos=1, retain=True,
                       hostname=host, port=port, auth={"username": user, "password": password} if user else None)
    print(f"{scenario.name} on {day} ({scenario.start:%H:%M}-{scenario.end:%H:%M}): {len(msgs)} messages to "
          f"{host}:{port} at speed {args.speed:g}", file=sys.stderr)

    shown: set[str] = set()

    def progress(m) -> None:  # one line per simulated 10 minutes
        mark = m.at.astimezone(cfg.tz).strftime("%H:%M")[:4]
        if mark not in shown:
            shown.add(mark)
            print(f"  simulated {mark}0", file=sys.stderr, flush=True)

    n = simulator.publish(msgs, host, port, namespace=args.namespace, speed=args.speed, on_sent=progress,
                          stop=stop.is_set, username=user, password=password)
    print(f"published {n} messages", file=sys.stderr)
    return 0


def tail(args: argparse.Namespace) -> int:
    from edge.sensors.hub import SensorHub

    cfg = load_site_config(args.config)
    host, port = _broker(args.broker, cfg)
    cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"host": host, "port": port})})
    done = threading.Event()
    count = 0

    def on_reading(r):
        nonlocal count
        unit = f" {r.unit}" if r.unit else ""
        print(f"{r.at.astimezone(cfg.tz):%Y-%m-%d %H:%M:%S}  {r.sensor_id:<24} {r.kind:<12} {r.value}{unit}",
              flush=True)
        count += 1
        if args.count and count >= args.count:
            done.set()

    def on_event(e):
        print(f"** {e.rule} {e.kind} sensor={e.sensor_id} at {e.at.astimezone(cfg.tz):%H:%M:%S}"
              + (f" duration {e.duration_s:.0f} s" if e.duration_s is not None else ""), flush=True)

    logging.basicConfig(level=logging.WARNING, format="!! %(message)s", stream=sys.stdout)
    from edge.sensors.hub import wall_clock
    from edge.sensors.simclock import SimClock

    hub = SensorHub(cfg, on_event=on_event, on_reading=on_reading, namespace=args.namespace, reading_every_s=0,
                    clock=SimClock() if args.sim_clock else wall_clock, client_id=f"hallwatch-tail-{int(time.time())}")
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    hub.start()
    if not hub.subscribed.wait(30):
        print(f"no MQTT connection to {host}:{port}", file=sys.stderr)
        hub.stop()
        return 1
    print(f"tailing {len(cfg.sensors)} sensors on {host}:{port}: {', '.join(hub.subscriptions())}",
          file=sys.stderr, flush=True)
    done.wait(args.seconds or None)
    hub.stop()
    rejected = {k: v for k, v in hub.counters.items() if k.startswith("rejected")}
    print(f"{count} readings; rejected: {rejected or 'none'}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        return simulate(args) if args.cmd == "simulate" else tail(args)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
