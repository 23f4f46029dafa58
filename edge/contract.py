"""The edge ↔ server contract: typed, versioned messages and their MQTT topics.

Light on purpose (pydantic only) so both the edge agent and the server import it.

Every message is a JSON object with ``schema_version``, a ``type`` discriminator,
an edge-generated UUID ``id`` (the server stores a message id once, so a message
delivered twice lands once), the ``hall_id`` and ``edge_id`` that sent it, and
``sent_at``. All times are ISO-8601 with a UTC offset.

Topics (``<p>`` = topic prefix, default ``hallwatch``)::

    <p>/<hall>/<edge>/finding     finding.opened | finding.updated | finding.closed   (QoS 1)
    <p>/<hall>/<edge>/window      window.state                                        (QoS 1)
    <p>/<hall>/<edge>/sensor      sensor.reading (sampled, for charts)                (QoS 0/1)
    <p>/<hall>/<edge>/status      edge.status online/offline, retained, also the last will
    <p>/<hall>/<edge>/heartbeat   edge.heartbeat                                      (QoS 0)
    <p>/<hall>/<edge>/result      duty_check.result | safety_check.result             (QoS 1)
    <p>/<hall>/<edge>/command     server → edge: command.duty_check | command.safety_check
                                  | command.window_pauses | command.seat_tuning (both retained)
    <p>/<hall>/<edge>/receipt     server → edge: receipt (ids the server has stored or rejected for good)
    <p>/_server/<id>/status       server → edges: server.status online/offline, retained, also the last will

The broker's PUBACK only says the *broker* has a message. An edge keeps each message until the server's
receipt names it, and publishes it again when a server comes online or after a back-off, so nothing is lost
even when the broker drops queued messages (e.g. Mosquitto does not keep shared-subscription queues across
its own restart); the server stores each message id once, so the repeats are harmless.

The server subscribes with a shared subscription ``$share/hallwatch-server/<p>/+/+/+``
so several server processes split the load.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
import uuid
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic import AwareDatetime as _AwareDatetime

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 256 * 1024
"""Largest message the server accepts; evidence files travel separately over HTTP."""

Severity = Literal["info", "warning", "major", "critical"]
EvidenceKind = Literal["snapshot", "frame", "clip", "chart"]
WindowStateName = Literal["staffed", "empty", "closed", "off_duty", "unknown", "uncertain"]

# Rule ids known to the whole system (the assessment scheme maps them to items).
RULES: dict[str, str] = {
    "window_unstaffed": "空岗/离岗",
    "late_arrival": "迟到",
    "early_leave": "早退",
    "phone_use": "玩手机",
    "smoking": "抽烟",
    "sleeping": "睡岗/打瞌睡",
    "chatting": "串岗聊天",
    "eating": "吃东西",
    "after_hours_presence": "下班后有人",
    "exit_blocked": "安全出口堵塞",
    "exit_locked_during_hours": "工作时间安全出口上锁",
    "door_open_after_hours": "下班后门未关",
    "power_left_on": "下班未关电源",
    "high_power_appliance": "违规使用大功率电器",
    "smoke_detected": "烟雾报警",
    "sensor_offline": "传感器离线",
    "camera_offline": "摄像头离线",
    "camera_frozen": "画面冻结",
    "camera_covered": "摄像头遮挡/过暗",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def _iso_only(value: Any) -> Any:
    """Times travel as ISO-8601 text: a number (read as seconds since 1970 by a lax parser) is refused."""
    if isinstance(value, (bool, int, float)):
        raise ValueError("expected an ISO-8601 time string, not a number")
    return value


AwareDatetime = Annotated[_AwareDatetime, BeforeValidator(_iso_only),
                          Field(description="ISO-8601 time with offset (naive times and numbers are refused).")]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Hall and edge ids become MQTT topic levels: letters, digits, '_', '-', '.' only (no '/', '+', '#', controls)."""
TopicId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]

MAX_DETAILS_DEPTH = 8
MAX_DETAILS_BYTES = 16 * 1024


def _bounded_details(value: dict[str, Any]) -> dict[str, Any]:
    """Rule details stay small and shallow (checked without recursion, so any depth is refused safely)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_DETAILS_DEPTH:
                raise ValueError(f"details nested deeper than {MAX_DETAILS_DEPTH} levels")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValueError("details hold a non-finite number")
    size = len(json.dumps(value, default=str))
    if size > MAX_DETAILS_BYTES:
        raise ValueError(f"details take {size} bytes > {MAX_DETAILS_BYTES}")
    return value


Details = Annotated[dict[str, Any], AfterValidator(_bounded_details)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Contract version.")
    id: uuid.UUID = Field(default_factory=new_id, description="Edge-generated message id; deduplicates redelivery.")
    hall_id: TopicId = Field(description="Hall that sent the message (letters, digits, '_', '-', '.').")
    edge_id: TopicId = Field(description="Edge agent that sent the message (letters, digits, '_', '-', '.').")
    sent_at: AwareDatetime = Field(default_factory=utcnow, description="When the edge created the message.")


class EvidenceRef(BaseModel):
    """A file uploaded separately (``PUT /api/v1/evidence/{sha256}``) and referenced by hash."""

    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file content.")
    kind: EvidenceKind = Field(description="snapshot (annotated JPEG), frame (raw JPEG), clip (H.264 MP4), chart (PNG).")
    content_type: str = Field(description="MIME type, e.g. image/jpeg, video/mp4, image/png.")
    size: int = Field(ge=0, description="Size in bytes.")
    captured_at: AwareDatetime | None = Field(default=None, description="Time of the picture or clip start.")


class _FindingBase(_Msg):
    finding_id: uuid.UUID = Field(description="Edge-generated id of the finding (one episode of a rule).")
    rule: str = Field(min_length=1, max_length=64, description="Rule id, see RULES.")


class FindingOpened(_FindingBase):
    type: Literal["finding.opened"] = "finding.opened"
    severity: Severity = Field(description="How urgent.")
    started_at: AwareDatetime = Field(description="When the violation began (not when it was confirmed).")
    window_id: str | None = Field(default=None, description="Window concerned, if any.")
    camera_id: str | None = Field(default=None, description="Camera that saw it, if any.")
    sensor_id: str | None = Field(default=None, description="Sensor that measured it, if any.")
    zone_id: str | None = Field(default=None, description="Zone concerned, if any.")
    staff_id: str | None = Field(default=None, description="Staff on duty by the roster, when the edge knows.")
    confidence: float | None = Field(default=None, ge=0, le=1, description="Detector/rule confidence.")
    details: Details = Field(default_factory=dict, description="Rule-specific facts (thresholds, readings).")
    evidence: list[EvidenceRef] = Field(default_factory=list, description="Evidence files.")


class FindingUpdated(_FindingBase):
    type: Literal["finding.updated"] = "finding.updated"
    at: AwareDatetime = Field(description="Time of the update.")
    details: Details = Field(default_factory=dict, description="Changed/added details.")
    evidence: list[EvidenceRef] = Field(default_factory=list, description="Additional evidence (e.g. the clip).")


class FindingClosed(_FindingBase):
    type: Literal["finding.closed"] = "finding.closed"
    ended_at: AwareDatetime = Field(description="When the violation ended.")
    duration_s: float = Field(ge=0, description="Length of the episode in seconds (for 30/60 min tiers).")
    details: Details = Field(default_factory=dict, description="Closing facts.")
    evidence: list[EvidenceRef] = Field(default_factory=list, description="Additional evidence.")


class WindowState(_Msg):
    type: Literal["window.state"] = "window.state"
    window_id: str = Field(description="Window.")
    state: WindowStateName = Field(description="staffed, empty, closed, off_duty (outside hours), unknown, or "
                                   "uncertain (camera dark, view blocked or cues disagree: not counted as empty).")
    since: AwareDatetime = Field(description="Since when the window is in this state.")
    persons: int = Field(default=0, ge=0, description="Persons seen in the seat zone.")
    camera_id: str | None = Field(default=None, description="Camera that observes the seat.")


class SensorReading(_Msg):
    type: Literal["sensor.reading"] = "sensor.reading"
    sensor_id: str = Field(description="Device id from the site config.")
    kind: str = Field(description="power, energy, contact, occupancy, smoke, lock, availability, …")
    value: float | bool | str | None = Field(description="Normalised value.")
    unit: str | None = Field(default=None, description="Unit, e.g. W, kWh.")
    at: AwareDatetime = Field(description="Measurement time.")


class CameraHealth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    camera_id: str
    state: Literal["ok", "offline", "frozen", "covered", "dark", "starting"]
    fps: float = Field(ge=0, description="Analysed frames per second over the last interval.")
    lag_s: float = Field(ge=0, description="Age of the newest analysed frame.")


class SensorHealth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sensor_id: str
    online: bool
    last_seen: AwareDatetime | None = None


class EdgeStatus(_Msg):
    type: Literal["edge.status"] = "edge.status"
    online: bool = Field(description="False when published as the last will.")
    version: str | None = Field(default=None, description="Edge software version.")


class EdgeAccel(BaseModel):
    """The accelerators an edge agent runs on (what runs, after falling back from what was configured)."""

    model_config = ConfigDict(extra="forbid")
    device: str = Field(description="OpenVINO device of the detector: CPU, GPU, AUTO, ...")
    hwaccel: str = Field(description="Hardware video decode of the detect inputs: none, vaapi, qsv, cuda.")
    device_wanted: str | None = Field(default=None, description="The configured OpenVINO device.")
    hwaccel_wanted: str | None = Field(default=None, description="The configured hardware decode.")
    streams: int | None = Field(default=None, ge=1, description="Frames the detector infers at once (OpenVINO "
                                "inference streams; 1 where the device is not the CPU).")


class Heartbeat(_Msg):
    type: Literal["edge.heartbeat"] = "edge.heartbeat"
    cameras: list[CameraHealth] = Field(default_factory=list)
    sensors: list[SensorHealth] = Field(default_factory=list)
    outbox_pending: int = Field(default=0, ge=0, description="Messages and files not yet acknowledged.")
    uptime_s: float = Field(default=0, ge=0)
    accel: EdgeAccel | None = Field(default=None, description="Accelerators in use (absent from older edges).")


class WindowSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window_id: str
    state: WindowStateName
    persons: int = 0
    camera_id: str | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list)


class DutyCheckResult(_Msg):
    """Answer to command.duty_check (一键查岗): every window's state with a fresh picture."""

    type: Literal["duty_check.result"] = "duty_check.result"
    request_id: uuid.UUID = Field(description="id of the command answered.")
    taken_at: AwareDatetime
    windows: list[WindowSnapshot] = Field(default_factory=list)


class SafetyItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(description="power_off, exit_clear, exit_unlocked, door_closed, nobody_present, smoke_normal, "
                      "camera_online, sensor_online")
    subject: str = Field(description="What was checked: a sensor, camera, exit zone or the hall.")
    passed: bool | None = Field(description="None when it could not be determined.")
    detail: str | None = None
    value: float | bool | str | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list)


class SafetyCheckResult(_Msg):
    """Answer to command.safety_check (下班安全检查): the edge's view of every item."""

    type: Literal["safety_check.result"] = "safety_check.result"
    request_id: uuid.UUID
    taken_at: AwareDatetime
    items: list[SafetyItem] = Field(default_factory=list)


class Receipt(BaseModel):
    """Server → edge: these message ids are stored (or rejected for good); stop resending them."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Contract version.")
    type: Literal["receipt"] = "receipt"
    ids: list[uuid.UUID] = Field(min_length=1, max_length=1000, description="Message ids.")
    status: Literal["accepted", "duplicate", "rejected"] = Field(description="What the server did with them.")


class ServerStatus(BaseModel):
    """Server → edges, retained: a server process is online (or went away: its last will)."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Contract version.")
    type: Literal["server.status"] = "server.status"
    server_id: str = Field(min_length=1, max_length=64, description="Server process (MQTT client id).")
    online: bool = Field(description="False when published as the last will.")
    at: AwareDatetime = Field(default_factory=utcnow, description="When it was published.")


def receipt_topic(hall_id: str, edge_id: str, prefix: str = "hallwatch") -> str:
    return f"{prefix}/{hall_id}/{edge_id}/receipt"


def server_status_topic(server_id: str = "+", prefix: str = "hallwatch") -> str:
    return f"{prefix}/_server/{server_id}/status"


class WindowPauseSpec(BaseModel):
    """One window paused by a supervisor (暂停服务) over [start, end)."""

    model_config = ConfigDict(extra="forbid")
    window_id: str = Field(min_length=1, max_length=64, description="Window id from the site config.")
    start: AwareDatetime = Field(description="Pause begins.")
    end: AwareDatetime = Field(description="Pause ends (exclusive).")
    reason: str = Field(default="", max_length=500, description="Why, as entered by the supervisor.")


SeatOverrides = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=64)],
    dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], Annotated[float, Field(allow_inf_nan=False)]],
]
"""Per-seat thresholds: seat zone id -> {threshold name: value}, e.g. ``{"seat-w01": {"min_person_conf": 0.3}}``."""


class Command(_Msg):
    """Server → edge request. ``command.window_pauses`` carries the hall's whole pause plan (current and
    coming pauses) and is published retained, so an edge that (re)connects gets the plan in force.
    ``command.seat_tuning`` carries the hall's per-seat thresholds learned from the supervisors' decisions,
    also retained; it replaces the previous set (seats not listed go back to the configured thresholds)."""

    type: Literal["command.duty_check", "command.safety_check", "command.window_pauses", "command.seat_tuning"]
    pauses: list[WindowPauseSpec] | None = Field(
        default=None, max_length=1000, description="command.window_pauses: every current and coming pause "
        "of the hall; windows not listed are not paused.")
    seat_overrides: SeatOverrides | None = Field(
        default=None, max_length=1000, description="command.seat_tuning: per seat zone id, the thresholds that "
        "replace the configured ones for that seat (e.g. min_person_conf).")


EdgeMessage = Annotated[
    Union[
        FindingOpened,
        FindingUpdated,
        FindingClosed,
        WindowState,
        SensorReading,
        EdgeStatus,
        Heartbeat,
        DutyCheckResult,
        SafetyCheckResult,
    ],
    Field(discriminator="type"),
]
_edge_adapter: TypeAdapter[Any] = TypeAdapter(EdgeMessage)

# topic leaf for each message type
TOPIC_OF: dict[str, str] = {
    "finding.opened": "finding",
    "finding.updated": "finding",
    "finding.closed": "finding",
    "window.state": "window",
    "sensor.reading": "sensor",
    "edge.status": "status",
    "edge.heartbeat": "heartbeat",
    "duty_check.result": "result",
    "safety_check.result": "result",
    "command.duty_check": "command",
    "command.safety_check": "command",
    "command.window_pauses": "command",
    "command.seat_tuning": "command",
}
SERVER_TO_EDGE = ("command", "receipt")
"""Topic leaves the server publishes under an edge's branch; the server ignores them in its subscription."""


class ContractError(ValueError):
    """A message that is not a valid contract message. ``reason`` is a short counter label."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def topic_for(msg: _Msg, prefix: str = "hallwatch") -> str:
    return f"{prefix}/{msg.hall_id}/{msg.edge_id}/{TOPIC_OF[msg.type]}"  # type: ignore[attr-defined]


def command_topic(hall_id: str, edge_id: str = "+", prefix: str = "hallwatch") -> str:
    return f"{prefix}/{hall_id}/{edge_id}/command"


def server_subscription(prefix: str = "hallwatch", group: str = "hallwatch-server") -> str:
    """The server's subscription: shared by ``group`` (several processes split the load), plain without one."""
    return f"$share/{group}/{prefix}/+/+/+" if group else f"{prefix}/+/+/+"


def jsonable(value: Any) -> Any:
    """Plain JSON from rule details and audit snapshots: numpy numbers and arrays, datetimes, tuples, sets,
    UUIDs and enums; NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if type(value).__module__ == "numpy":  # ndarray or numpy scalar, without importing numpy here
        return jsonable(value.tolist() if hasattr(value, "shape") and value.shape else value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def encode(msg: BaseModel) -> bytes:
    return msg.model_dump_json().encode("utf-8")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# bytes that could decode to a NUL or a lone surrogate (json.loads decodes bytes with "surrogatepass"): without any
# of them the decoded message holds neither, and the walk of _unstorable_text is skipped
_MAYBE_UNSTORABLE = re.compile(rb"\\u|\x00|\xed[\xa0-\xbf]")
_EDGE_TYPES = frozenset(k for k in TOPIC_OF if not k.startswith("command."))


def _unstorable_text(data: Any) -> str | None:
    """The path of the first key or string value that no database text column can hold (NUL, which PostgreSQL
    refuses, or a lone surrogate, which has no UTF-8 form), or None. Iterative, so any depth is safe."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _UNSTORABLE.search(node):
                return path or "(message)"
        elif isinstance(node, dict):
            for key, child in node.items():
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    return f"{path or '(message)'} key"
                stack.append((child, where))
        elif isinstance(node, list):
            stack.extend((child, f"{path}.{i}") for i, child in enumerate(node))
    return None


def parse_message(raw: bytes | str | dict[str, Any]) -> Any:
    """Validate an incoming edge message. Raises ContractError(reason, detail) on any problem.

    Reasons: ``oversized``, ``not_json``, ``not_object``, ``schema_version``, ``unknown_type``, ``invalid``.
    """
    plain = False
    if isinstance(raw, (bytes, str)):
        if isinstance(raw, bytes):
            plain = _MAYBE_UNSTORABLE.search(raw) is None
        size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
        if size > MAX_MESSAGE_BYTES:
            raise ContractError("oversized", f"{size} bytes > {MAX_MESSAGE_BYTES}")
        try:
            data = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ContractError("not_json", str(exc)[:200]) from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise ContractError("not_object", f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ContractError("schema_version", f"unsupported schema_version {data.get('schema_version')!r}")
    mtype = data.get("type")
    if not isinstance(mtype, str) or mtype not in _EDGE_TYPES:
        raise ContractError("unknown_type", f"unknown message type {data.get('type')!r}")
    bad = None if plain else _unstorable_text(data)
    if bad is not None:
        raise ContractError("invalid", f"{bad}: text holds a NUL character or a lone UTF-16 surrogate")
    try:
        return _edge_adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ContractError("invalid", f"{loc}: {first['msg']} ({exc.error_count()} error(s))") from None


def parse_command(raw: bytes | str) -> Command:
    try:
        return Command.model_validate_json(raw)
    except ValidationError as exc:
        raise ContractError("invalid", str(exc.errors()[0]["msg"])) from None


def json_schema() -> dict[str, Any]:
    schema = TypeAdapter(EdgeMessage).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://hallwatch.example/schema/edge-message.json"
    schema["title"] = f"HallWatch edge message v{SCHEMA_VERSION}"
    return schema


def command_json_schema() -> dict[str, Any]:
    schema = Command.model_json_schema()
    schema["$id"] = "https://hallwatch.example/schema/command.json"
    return schema
