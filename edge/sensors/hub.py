"""SensorHub: the hall broker's device messages → readings → sensor rules → RuleEvents.

    hub = SensorHub(cfg, on_event=agent.sensor_event, on_reading=agent.sensor_reading)
    hub.start()            # paho-mqtt 2.x client + tick thread
    hub.health(); hub.safety_items(now); hub.chart_png("plug-w01-pc", around)
    hub.stop()

Rule and device state live in the hub, not in the MQTT connection: the client reconnects by itself
(persistent session, fixed client id) and resubscribes in on_connect, and nothing is lost in between.
Every message goes through ``handle_message`` (also callable directly, e.g. from tests or a replay), which
never raises: a bad message is counted under its reason (``hub.counters``), logged, and dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable

from edge.contract import SafetyItem, SensorHealth, SensorReading
from edge.rules.base import RuleEvent
from edge.sensors import adapters, charts, safety
from edge.sensors.offline import OfflineTracker
from edge.sensors.readings import Reading, Rejected
from edge.sensors.rules import ConditionEngine
from edge.site import SensorConfig, SiteConfig

log = logging.getLogger("hallwatch.sensors")
UTC = dt.UTC
Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(UTC)


class SensorHub:
    def __init__(self, cfg: SiteConfig, on_event: Callable[[RuleEvent], None] | None = None,
                 on_reading: Callable[[SensorReading], None] | None = None, clock: Clock = wall_clock, *,
                 namespace: str = "", tick_s: float = 1.0, max_payload: int = 64 * 1024,
                 max_skew_s: float = 900.0, reading_every_s: float = 60.0, history_per_device: int = 2000,
                 client_id: str | None = None):
        """``namespace`` is prepended to every device topic (test isolation on a shared broker, or a
        bridged broker that mounts devices under a prefix). ``max_skew_s``: a firmware timestamp further
        than this from the hub clock (Tasmota without NTP says 1970) is replaced by the receipt time and
        counted as ``clock_skew``. ``reading_every_s``: on_reading gets a device's value when it changes
        or at least this often."""
        self.cfg = cfg
        self.on_event = on_event
        self.on_reading = on_reading
        self.clock = clock
        self.namespace = namespace.strip("/") + "/" if namespace.strip("/") else ""
        self.tick_s = tick_s
        self.max_payload = max_payload
        self.max_skew_s = max_skew_s
        self.reading_every_s = reading_every_s
        self.client_id = client_id or f"hallwatch-sensors-{cfg.hall.id}-{cfg.edge.id}"
        self.counters: Counter[str] = Counter()
        self.history = charts.History(history_per_device)
        self.engine = ConditionEngine(cfg)
        self.offline = OfflineTracker(cfg, clock())
        self._routes: dict[str, list[tuple[SensorConfig, adapters.Parser]]] = {}
        for s in cfg.sensors:
            for topic, parser in adapters.device_topics(s).items():
                self._routes.setdefault(topic, []).append((s, parser))
        self._lock = threading.RLock()
        self._forwarded: dict[tuple[str, str], tuple[dt.datetime, object]] = {}
        self._logged: Counter[tuple[str, str]] = Counter()
        self._client = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # the broker acknowledged this connection's subscriptions

    # ------------------------------------------------------------------ topics
    def subscriptions(self) -> list[str]:
        from paho.mqtt.client import topic_matches_sub

        wild = [self.namespace + t for t in adapters.family_subscriptions(self.cfg.sensors)]
        exact = [self.namespace + t for t in self._routes if not any(topic_matches_sub(w, self.namespace + t)
                                                                   for w in wild)]
        extra = [self.namespace + self.clock.topic] if hasattr(self.clock, "topic") else []  # SimClock (demos)
        return wild + sorted(exact) + extra

    # ------------------------------------------------------------------ message path
    def handle_message(self, topic: str, payload: bytes, retained: bool = False) -> list[Reading]:
        """Route, parse, check and apply one MQTT message. Never raises; returns the accepted readings."""
        received = self.clock()
        try:
            with self._lock:
                return self._handle(topic, payload, received)
        except Rejected as exc:
            self._reject(exc.reason, topic, exc.detail, retained)
        except Exception:
            self.counters["rejected"] += 1
            self.counters["rejected:handler_error"] += 1
            log.exception("sensor message on %s could not be handled", topic)
        return []

    def _handle(self, topic: str, payload: bytes, received: dt.datetime) -> list[Reading]:
        self.counters["messages"] += 1
        if len(payload) > self.max_payload:
            raise Rejected("oversized", f"{len(payload)} bytes > {self.max_payload}")
        if self.namespace:
            if not topic.startswith(self.namespace):
                raise Rejected("unknown_device", f"topic outside namespace {self.namespace!r}")
            topic = topic[len(self.namespace):]
        routes = self._routes.get(topic)
        if not routes:
            raise Rejected("unknown_device", "no configured sensor publishes on this topic")
        accepted: list[Reading] = []
        for sensor, parser in routes:
            ctx = adapters.Ctx(sensor, received, self.cfg.tz)
            for rd in parser(payload, ctx):
                accepted.append(self._apply(self._checked_time(rd, received), received))
        if not accepted:
            self.counters["ignored"] += 1  # a valid message without state (Shelly NotifyEvent, wifi change …)
        return accepted

    def _checked_time(self, rd: Reading, received: dt.datetime) -> Reading:
        if rd.source_time and abs((rd.at - received).total_seconds()) > self.max_skew_s:
            self.counters["clock_skew"] += 1
            if self._logged[("clock_skew", rd.device)] == 0:
                log.warning("sensor %s: firmware time %s is %.0f s off the hub clock; using receipt time",
                            rd.device, rd.at.isoformat(), (rd.at - received).total_seconds())
            self._logged[("clock_skew", rd.device)] += 1
            return Reading(rd.device, rd.kind, rd.value, rd.unit, received, source_time=False)
        return rd

    def _apply(self, rd: Reading, received: dt.datetime) -> Reading:
        self.counters["readings"] += 1
        self.history.add(rd)
        events = self.offline.on_reading(rd, received) + self.engine.on_reading(rd)
        self._forward(rd)
        self._emit(events)
        return rd

    def _reject(self, reason: str, topic: str, detail: str, retained: bool) -> None:
        self.counters["rejected"] += 1
        self.counters[f"rejected:{reason}"] += 1
        n = self._logged[(reason, topic)]
        self._logged[(reason, topic)] += 1
        if n < 3 or n % 100 == 0:  # every reason and topic is logged, floods are thinned
            log.warning("rejected %s message on %s (%s): %s%s", reason, topic, "retained" if retained else "live",
                        detail[:200], f" [{n + 1} so far]" if n else "")

    def _forward(self, rd: Reading) -> None:
        if self.on_reading is None:
            return
        key = (rd.device, rd.kind)
        prev = self._forwarded.get(key)
        if prev is not None and prev[1] == rd.value and (rd.at - prev[0]).total_seconds() < self.reading_every_s:
            return
        self._forwarded[key] = (rd.at, rd.value)
        try:
            self.on_reading(rd.to_message(self.cfg.hall.id, self.cfg.edge.id))
        except Exception:
            self.counters["callback_error"] += 1
            log.exception("on_reading callback failed for %s", rd.device)

    def _emit(self, events: list[RuleEvent]) -> None:
        for ev in events:
            self.counters[f"event:{ev.rule}:{ev.kind}"] += 1
            log.info("%s %s sensor=%s at=%s %s", ev.rule, ev.kind, ev.sensor_id, ev.at.isoformat(),
                     f"duration={ev.duration_s:.0f}s" if ev.duration_s is not None else "")
            if self.on_event is None:
                continue
            try:
                self.on_event(ev)
            except Exception:
                self.counters["callback_error"] += 1
                log.exception("on_event callback failed for %s", ev.rule)

    def tick(self, now: dt.datetime | None = None) -> list[RuleEvent]:
        """Advance durations and silence checks to ``now`` (hub clock by default)."""
        now = now or self.clock()
        with self._lock:
            events = self.offline.tick(now) + self.engine.tick(now)
            self._emit(events)
        return events

    # ------------------------------------------------------------------ queries
    def _last_seen(self, sid: str) -> dt.datetime | None:
        return self.offline.devices[sid].last_seen

    def health(self, now: dt.datetime | None = None) -> list[SensorHealth]:
        now = now or self.clock()
        with self._lock:
            return safety.health(self.cfg, lambda sid: self.offline.online(sid, now), self._last_seen)

    def safety_items(self, now: dt.datetime | None = None) -> list[SafetyItem]:
        now = now or self.clock()
        with self._lock:
            return safety.safety_items(self.cfg, self.history.latest, lambda sid: self.offline.online(sid, now),
                                       self._last_seen)

    def chart_png(self, sensor_id: str, around: dt.datetime, before_s: float = 1800, after_s: float = 600,
                  rule: str | None = None) -> bytes:
        """The reading chart of a sensor finding; the line drawn is the limit the ``rule`` judged by (a
        high-power appliance: its watt limit; power left on: the standby threshold)."""
        s = next((x for x in self.cfg.sensors if x.id == sensor_id), None)
        if s is None:
            raise KeyError(f"unknown sensor {sensor_id!r}")
        mark = None
        if rule == "high_power_appliance":
            mark = s.high_power_w or self.cfg.rules.high_power_appliance.watts
        elif s.kind in ("plug", "power_meter"):
            mark = safety.standby_w(self.cfg, s)
        local = around.astimezone(self.cfg.tz)
        title = (f"{s.name}（{s.id}）{local:%Y-%m-%d %H:%M} 前后读数" if charts.chart_font()
                 else f"{s.id} ({s.adapter} {s.kind}) around {local:%Y-%m-%d %H:%M}")
        return charts.chart_png(self.history, sensor_id, title, around, before_s=before_s, after_s=after_s,
                                tz=self.cfg.tz, mark_w=mark)

    # ------------------------------------------------------------------ MQTT
    def start(self) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
                        protocol=mqtt.MQTTv311)
        m = self.cfg.mqtt
        if m.username:
            c.username_pw_set(m.username, os.environ.get(m.password_env or "", None))
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = lambda *a: self.subscribed.set()
        c.reconnect_delay_set(min_delay=1, max_delay=15)
        self._client = c
        self._stop.clear()
        c.connect_async(m.host, m.port, keepalive=m.keepalive_s)
        c.loop_start()
        self._ticker = threading.Thread(target=self._tick_loop, name="sensor-hub-tick", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        if self._ticker is not None:
            self._ticker.join(5)
            self._ticker = None
        self.connected.clear()
        self.subscribed.clear()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:
                self.counters["tick_error"] += 1
                log.exception("sensor tick failed")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("sensor hub: broker refused connection: %s", reason_code)
            return
        subs = self.subscriptions()
        if subs:  # subscribe here so that every reconnect resubscribes
            client.subscribe([(t, 1) for t in subs])
        self.counters["connects"] += 1
        self.connected.set()
        log.info("sensor hub connected to %s:%s, %d subscriptions (session present: %s)",
                 self.cfg.mqtt.host, self.cfg.mqtt.port, len(subs), flags.session_present)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            self.counters["disconnects"] += 1
            log.warning("sensor hub disconnected (%s); paho reconnects", reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        if hasattr(self.clock, "topic") and msg.topic == self.namespace + self.clock.topic:
            if not self.clock.update(msg.payload):  # type: ignore[attr-defined]
                log.warning("ignored malformed simulator clock announcement")
            else:
                with self._lock:  # silence of never-heard devices counts from the simulated start
                    self.offline.started = self.clock()
            return
        if not getattr(self.clock, "anchored", True):
            # demo only: a retained device state delivered before the simulator's clock would be stamped with
            # the wall clock, days after the simulated day, and every later reading would then look stale
            self.counters["before_sim_clock"] += 1
            return
        self.handle_message(msg.topic, msg.payload, bool(msg.retain))
