"""After-hours safety check (下班安全检查): which items a hall must pass, and how each is judged.

Pure functions only: the route/scheduler code gathers the edge's ``SafetyCheckResult`` items,
the latest sensor readings and the health of cameras and sensors, and this module merges them
into one list of items, each passed / failed / undetermined with its evidence.

Items (issue 5): every monitored power device off or in standby (``power_off``), exits clear
(``exit_clear``) and unlocked (``exit_unlocked``), doors closed (``door_closed``), nobody present
(``nobody_present``), smoke sensors normal (``smoke_normal``), cameras and sensors online
(``camera_online``, ``sensor_online``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

from edge.contract import SafetyItem
from edge.site import SensorConfig, SiteConfig

ITEMS: dict[str, tuple[str, str]] = {
    "power_off": ("电源已关闭或待机", "Power off or in standby"),
    "exit_clear": ("安全出口畅通", "Exit clear"),
    "exit_unlocked": ("安全出口未上锁", "Exit unlocked"),
    "door_closed": ("门已关闭", "Door closed"),
    "nobody_present": ("大厅无人", "Nobody present"),
    "smoke_normal": ("烟感正常", "Smoke sensor normal"),
    "camera_online": ("摄像头在线", "Camera online"),
    "sensor_online": ("传感器在线", "Sensor online"),
}

# how serious a failed item is: the alert it opens for the duty officer
ITEM_SEVERITY: dict[str, str] = {
    "smoke_normal": "critical",
    "exit_clear": "major",
    "exit_unlocked": "major",
    "power_off": "major",
    "door_closed": "major",
    "nobody_present": "major",
    "camera_online": "warning",
    "sensor_online": "warning",
}

# alert rule id a failed item maps to (contract RULES)
ITEM_RULE: dict[str, str] = {
    "power_off": "power_left_on",
    "exit_clear": "exit_blocked",
    "exit_unlocked": "exit_locked_during_hours",
    "door_closed": "door_open_after_hours",
    "nobody_present": "after_hours_presence",
    "smoke_normal": "smoke_detected",
    "camera_online": "camera_offline",
    "sensor_online": "sensor_offline",
}

Outcome = Literal["passed", "failed", "incomplete"]


@dataclass(frozen=True)
class Reading:
    """The latest normalised reading of one sensor quantity (from the ingest)."""

    sensor_id: str
    kind: str
    value: float | bool | str | None
    at: dt.datetime


@dataclass
class CheckedItem:
    """One line of the safety-check sheet."""

    item: str
    subject: str
    subject_name: str
    passed: bool | None
    detail: str = ""
    value: Any = None
    source: Literal["edge", "server", "none"] = "none"
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.item, self.subject)

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item, "subject": self.subject, "subject_name": self.subject_name, "passed": self.passed,
            "detail": self.detail, "value": self.value, "source": self.source, "evidence": self.evidence,
        }


def expected_items(cfg: SiteConfig) -> list[CheckedItem]:
    """Every item the hall's configuration says must be checked, all undetermined."""
    out: list[CheckedItem] = []
    for s in cfg.sensors:
        if s.kind in ("plug", "power_meter"):
            out.append(CheckedItem("power_off", s.id, s.name, None))
        elif s.kind == "lock":
            out.append(CheckedItem("exit_unlocked", s.id, s.name, None))
        elif s.kind == "contact":
            out.append(CheckedItem("door_closed", s.id, s.name, None))
        elif s.kind == "smoke":
            out.append(CheckedItem("smoke_normal", s.id, s.name, None))
    for c in cfg.cameras:
        for z in c.zones:
            if z.kind == "exit":
                out.append(CheckedItem("exit_clear", z.id, z.name or z.id, None))
    out.append(CheckedItem("nobody_present", cfg.hall.id, cfg.hall.name, None))
    for c in cfg.cameras:
        if c.enabled:
            out.append(CheckedItem("camera_online", c.id, c.name, None))
    for s in cfg.sensors:
        out.append(CheckedItem("sensor_online", s.id, s.name, None))
    return out


def standby_threshold(cfg: SiteConfig, sensor: SensorConfig) -> float:
    if sensor.standby_w is not None:
        return sensor.standby_w
    if sensor.guards.equipment == "printer":
        return cfg.rules.power_left_on.printer_standby_w
    return cfg.rules.power_left_on.standby_w


def _truthy(value: Any, true_words: Iterable[str], false_words: Iterable[str]) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        v = value.strip().lower()
        if v in true_words:
            return True
        if v in false_words:
            return False
    return None


@dataclass(frozen=True)
class _BinaryItem:
    """How a two-state sensor's reading is read and judged."""

    true_words: tuple[str, ...]
    false_words: tuple[str, ...]
    safe_when_true: bool
    true_label: str
    false_label: str
    unknown: str


_BINARY: dict[str, _BinaryItem] = {
    "lock": _BinaryItem(("lock", "locked", "true", "1"), ("unlock", "unlocked", "false", "0"), False,
                        "locked", "unlocked", "unknown lock state"),
    # zigbee2mqtt: contact true = closed
    "contact": _BinaryItem(("closed", "true", "1"), ("open", "false", "0"), True, "closed", "open",
                           "unknown contact state"),
    "smoke": _BinaryItem(("true", "1", "alarm", "smoke"), ("false", "0", "normal", "clear"), False, "SMOKE", "normal",
                         "unknown smoke state"),
    "occupancy": _BinaryItem(("true", "1", "occupied"), ("false", "0", "clear"), False, "occupied", "clear",
                             "unknown occupancy"),
}


def judge_reading(cfg: SiteConfig, sensor: SensorConfig, readings: dict[str, Reading]) -> tuple[bool | None, str, Any]:
    """Judge one sensor's safety item from its latest readings: (passed, detail, value)."""
    if sensor.kind in ("plug", "power_meter"):
        limit = standby_threshold(cfg, sensor)
        r = readings.get("power")
        if r is not None and isinstance(r.value, (int, float)) and not isinstance(r.value, bool):
            ok = float(r.value) <= limit
            return ok, f"{float(r.value):.1f} W {'≤' if ok else '>'} {limit:g} W", r.value
        st = readings.get("state") or readings.get("switch")
        if st is not None:
            on = _truthy(st.value, ("on", "true", "1"), ("off", "false", "0"))
            if on is not None:
                return (not on), ("switched on" if on else "switched off"), st.value
        return None, "no power reading", None
    spec = _BINARY.get(sensor.kind)
    if spec is not None:
        r = readings.get(sensor.kind)
        if r is None:
            return None, f"no {sensor.kind} reading", None
        state = _truthy(r.value, spec.true_words, spec.false_words)
        if state is None:
            return None, f"{spec.unknown} {r.value!r}", r.value
        passed = state if spec.safe_when_true else not state
        return passed, (spec.true_label if state else spec.false_label), r.value
    return None, f"sensor kind {sensor.kind} not judged", None


def sensor_is_online(cfg: SiteConfig, sensor: SensorConfig, last_seen: dt.datetime | None,
                     reported: bool | None, now: dt.datetime) -> tuple[bool | None, str]:
    """Online when the edge says so and the last reading is no older than the expected interval + grace."""
    if reported is False:
        return False, "edge reports offline"
    if last_seen is None:
        return (None, "never seen") if reported is None else (reported, "edge reports online")
    age = (now - last_seen).total_seconds()
    limit = sensor.expected_interval_s + cfg.rules.sensors.offline_grace_s
    if age > limit:
        return False, f"silent for {age:.0f} s > {limit:.0f} s"
    return True, f"last reading {age:.0f} s ago"


def evaluate(
    cfg: SiteConfig,
    edge_items: Iterable[SafetyItem],
    readings: dict[str, dict[str, Reading]],
    now: dt.datetime,
    camera_states: dict[str, str] | None = None,
    sensor_reported: dict[str, bool] | None = None,
    sensor_seen: dict[str, dt.datetime | None] | None = None,
) -> list[CheckedItem]:
    """Merge the edge's answers with the server's own readings and health into the check sheet.

    - An edge item decides its (item, subject) line; items the edge reports that the config does not
      list are kept too (the edge may know more, e.g. several exits on one camera).
    - Lines the edge left undetermined are judged from the latest readings / health the server holds.
    - Exit occupancy sensors also vote on ``exit_clear`` of the exit zone they guard.
    """
    camera_states = camera_states or {}
    sensor_reported = sensor_reported or {}
    sensor_seen = sensor_seen or {}
    sheet = {it.key: it for it in expected_items(cfg)}
    sensors = {s.id: s for s in cfg.sensors}

    for e in edge_items:
        line = sheet.get((e.item, e.subject))
        if line is None:
            line = CheckedItem(e.item, e.subject, e.subject, None)
            sheet[line.key] = line
        line.passed = e.passed
        line.detail = e.detail or ""
        line.value = e.value
        line.source = "edge"
        line.evidence = [ev.model_dump(mode="json") for ev in e.evidence]

    for line in sheet.values():
        if line.passed is not None:
            continue
        if line.item == "sensor_online" and line.subject in sensors:
            s = sensors[line.subject]
            seen = max([r.at for r in readings.get(s.id, {}).values()]
                       + [t for t in (sensor_seen.get(s.id),) if t is not None], default=None)
            line.passed, line.detail = sensor_is_online(cfg, s, seen, sensor_reported.get(s.id), now)
            line.source = "server" if line.passed is not None else "none"
        elif line.item == "camera_online":
            state = camera_states.get(line.subject)
            if state is not None:
                line.passed = state == "ok"
                line.detail, line.source = f"camera state {state}", "server"
        elif line.subject in sensors:
            passed, detail, value = judge_reading(cfg, sensors[line.subject], readings.get(line.subject, {}))
            line.passed, line.detail, line.value = passed, detail, value
            line.source = "server" if passed is not None else "none"

    # occupancy sensors at exits: an occupied exit fails exit_clear even if the camera saw it clear
    for s in cfg.sensors:
        if s.kind != "occupancy" or s.guards.exit_zone is None:
            continue
        line = sheet.get(("exit_clear", s.guards.exit_zone))
        if line is None:
            continue
        passed, detail, value = judge_reading(cfg, s, readings.get(s.id, {}))
        if passed is None:
            continue
        if line.passed is None or (line.passed and not passed):
            line.passed, line.value, line.source = passed, value, "server" if line.source == "none" else line.source
            line.detail = "; ".join(x for x in (line.detail, f"{s.name}: {detail}") if x)
    return list(sheet.values())


def outcome(items: Iterable[CheckedItem]) -> Outcome:
    """failed when any item failed, incomplete when some could not be determined, else passed."""
    states = [i.passed for i in items]
    if any(p is False for p in states):
        return "failed"
    if any(p is None for p in states):
        return "incomplete"
    return "passed"


def due_at(cfg: SiteConfig, day: dt.date) -> dt.datetime | None:
    """When the automatic check of a (local) day is due, as an aware datetime: closing + grace, None on closed days."""
    closing = cfg.schedule.closing(day)
    if closing is None:
        return None
    local = closing + dt.timedelta(minutes=cfg.schedule.closing_grace_min)
    return local.replace(tzinfo=cfg.tz)


def pending_auto_check(cfg: SiteConfig, now: dt.datetime, done_days: set[dt.date]) -> dt.date | None:
    """The hall-local day whose automatic check is due now and not yet run (today only; missed days are not replayed)."""
    day = cfg.local(now).date()
    due = due_at(cfg, day)
    if due is None or now < due or day in done_days:
        return None
    return day
