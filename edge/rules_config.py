"""Rule thresholds of the site configuration (the ``rules:`` section of a hall's YAML).

Every duration is seconds of wall-clock time (frame timestamps or reading times), never frames.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowUnstaffedRule(_Model):
    """空岗/离岗: nobody in a window's seat zone during service hours."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    absent_s: float = Field(default=120, gt=0, description="Seconds without a person before the finding opens.")
    return_s: float = Field(default=10, ge=0, description="Seconds of presence before the finding closes (hysteresis).")
    person_min_confidence: float = Field(
        default=0.4, gt=0, lt=1, description="Person detection threshold for seat and hall presence."
    )
    placard_ocr: bool = Field(
        default=True,
        description="When an empty seat opens a finding, read the window's counter (its counter zones, else the seat "
                    "zone and around it) with an OCR model and note a 暂停服务 sign on the finding as a hint for the "
                    "supervisor (never a silent excuse: the finding opens all the same). Needs the 'rapidocr' package "
                    "(make install); without it the agent warns once.",
    )
    placard_words: list[str] = Field(
        default_factory=lambda: ["暂停服务", "暂停办理", "暂停受理", "暂停窗口", "暂停营业", "暂离", "临时离开",
                                 "暂时离开", "稍候", "稍等"],
        description="Words that make a counter sign a pause notice (matched in the recognised text, spaces ignored).",
    )


class AttendanceRule(_Model):
    """Late arrival (迟到) and early leave (早退) per window and day."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    late_grace_min: float = Field(default=5, ge=0, description="Minutes after opening before arrival counts as late.")
    early_leave_min: float = Field(
        default=15, ge=0, description="Minutes before closing an empty seat must last to count as early leave."
    )


class PhoneUseRule(_Model):
    """玩手机: a phone in a seat zone with the clerk there."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    min_s: float = Field(default=10, gt=0, description="Seconds the phone must be seen (over the sliding window).")
    window_s: float = Field(default=15, gt=0, description="Length of the sliding window in seconds.")
    ratio: float = Field(default=0.6, gt=0, le=1, description="Fraction of samples in the window that must show a phone.")
    min_confidence: float = Field(
        default=0.2, gt=0, lt=1,
        description="Phone detection confidence threshold (the phone must also be in the clerk's hand, not at the ear).",
    )
    cooldown_s: float = Field(default=300, ge=0, description="Seconds after a finding before the next one for the window.")
    hand_pass_s: float = Field(
        default=0, ge=0, le=60,
        description="Seconds between hand passes of a camera (the COCO detector on crops around the clerks' hands, "
                    "the costliest part of analysis); between them the last pass's result stands, as for an "
                    "unchanged frame. One pass in each slot of this many seconds, the cameras' slots staggered so "
                    "that their passes do not all fall in one batch, and at most one in 0.75 x this x the camera's "
                    "fps of its analysed frames (a box analysing fewer frames than configured thins the passes "
                    "with them). 0: every inferred frame. Raise it (e.g. 2) to "
                    "fit more cameras on a box; phone detection then follows a phone more coarsely.",
    )
    hand_pass_idle_s: float = Field(
        default=2.0, ge=0, le=60,
        description="Seconds between hand passes of a camera while none of its passes has seen a phone (or, with "
                    "the eating rule, food or a drink) in the last window_s seconds; once one is seen the pass runs "
                    "as hand_pass_s says again, so a phone in use is followed on every inferred frame and a start "
                    "of use is seen at most this late. Slots as for hand_pass_s. 0: no idle spacing. Not applied "
                    "while the smoking analyser runs (its look-alike check needs every pass).",
    )
    hand_crop_max_upscale: float = Field(
        default=0, ge=0, le=16,
        description="A hand crop smaller than the detector's input is enlarged at most this many times (e.g. 2: a "
                    "150-pixel crop of a substream runs at 384x384 instead of 640x640, about a third of the CPU of "
                    "that crop; OpenVINO). bench/crop_upscale.py measures the labelled phone footage with it: the "
                    "same precision and recall at 2. Each input size it adds is another compiled network, 80-130 MB "
                    "of memory. 0: every crop enlarged to the detector's whole input.",
    )


class AfterHoursPresenceRule(_Model):
    """Outsiders / anyone in the hall after hours (下班后无关人员)."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    min_s: float = Field(default=30, gt=0, description="Seconds a person must be seen before the finding opens.")


class ExitBlockedRule(_Model):
    """安全出口堵塞: an exit zone obstructed (camera or occupancy sensor)."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    min_s: float = Field(default=300, gt=0, description="Seconds of obstruction before the finding opens.")
    min_cover: float = Field(default=0.25, gt=0, le=1, description="Fraction of the exit zone that must be covered.")


class CameraHealthRule(_Model):
    """Camera offline, frozen picture, covered or too dark (tampering)."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    offline_s: float = Field(default=60, gt=0, description="Seconds without frames before 'offline'.")
    frozen_s: float = Field(default=120, gt=0, description="Seconds of identical pictures before 'frozen'.")
    dark_level: float = Field(default=20, ge=0, le=255, description="Mean brightness below which the picture is 'dark'.")
    covered_s: float = Field(default=60, gt=0, description="Seconds of dark/featureless picture before 'covered'.")


class SmokingRule(_Model):
    """抽烟: a cigarette at a person's head or hand."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    min_s: float = Field(default=3, gt=0, description="Seconds of evidence before the finding opens.")
    min_confidence: float = Field(
        default=0.35, gt=0, lt=1,
        description="Cigarette detection threshold (the cigarette must also be at a hand or the mouth, of a cigarette's size).",
    )
    cooldown_s: float = Field(default=300, ge=0, description="Seconds between findings for the same place.")


class SleepingRule(_Model):
    """睡岗/打瞌睡: head dropped, little motion, in a seat zone."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    min_s: float = Field(default=300, gt=0, description="Seconds of sleeping posture before the finding opens.")
    max_motion: float = Field(default=0.02, gt=0, description="Largest normalised keypoint motion counted as still.")


class ChattingRule(_Model):
    """串岗聊天: a second member of staff in a window's staff area for minutes (see edge.rules.chatting)."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    min_s: float = Field(default=300, gt=0, description="Seconds two staff must share a window's staff area.")
    gap_s: float = Field(
        default=20, gt=0, description="Dropouts shorter than this (a person hidden for a moment) do not end a visit."
    )
    cooldown_s: float = Field(
        default=300, ge=0, description="Seconds after a finding before the next one for the window."
    )


EATING_ITEMS: tuple[str, ...] = (
    "cup", "bowl", "bottle", "wine glass", "fork", "spoon", "banana", "apple", "orange", "sandwich", "hot dog",
    "pizza", "donut", "cake", "carrot", "broccoli",
)


class EatingRule(_Model):
    """吃东西/用餐: food or a drink held or brought to the mouth at the seat (see edge.rules.eating)."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    items: list[str] = Field(
        default_factory=lambda: list(EATING_ITEMS), min_length=1,
        description="COCO classes that count as food or drink (a cup on the desk alone is never eating).",
    )
    min_confidence: float = Field(default=0.3, gt=0, lt=1, description="Food/drink detection threshold.")
    min_s: float = Field(default=10, gt=0, description="Seconds from first to last positive frame in the window.")
    window_s: float = Field(default=30, gt=0, description="Length of the sliding window in seconds.")
    ratio: float = Field(default=0.4, gt=0, le=1, description="Fraction of the window's frames that must be positive.")
    min_frames: int = Field(default=3, ge=1, description="Positive frames needed in the window (several frames).")
    cooldown_s: float = Field(
        default=600, ge=0, description="Seconds after a finding before the next one for the window."
    )


class PowerLeftOnRule(_Model):
    """下班未关电源: equipment above standby after closing."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    standby_w: float = Field(default=10, ge=0, description="Default standby threshold in watts.")
    printer_standby_w: float = Field(default=30, ge=0, description="Standby threshold for printers.")
    min_s: float = Field(default=600, gt=0, description="Seconds above standby after closing+grace before a finding.")


class HighPowerApplianceRule(_Model):
    """违规使用大功率电器: heaters, kettles."""

    enabled: bool = Field(default=True, description="Rule on/off.")
    watts: float = Field(default=800, gt=0, description="Power at or above which an appliance counts as high-power.")
    min_s: float = Field(default=60, gt=0, description="Seconds sustained before the finding opens.")


class SensorRules(_Model):
    """Exit, door, smoke and sensor-health rules."""

    exit_blocked_min_s: float = Field(default=300, gt=0, description="Seconds an exit occupancy sensor stays active.")
    door_open_after_hours_s: float = Field(default=60, gt=0, description="Seconds a door may stay open after hours.")
    offline_grace_s: float = Field(default=60, ge=0, description="Extra seconds over a device's expected interval.")


class RulesConfig(_Model):
    """Thresholds of every rule. All durations are seconds of wall-clock (frame timestamps), never frames."""

    window_unstaffed: WindowUnstaffedRule = Field(default_factory=WindowUnstaffedRule, description="空岗/离岗.")
    attendance: AttendanceRule = Field(default_factory=AttendanceRule, description="迟到/早退.")
    phone_use: PhoneUseRule = Field(default_factory=PhoneUseRule, description="玩手机.")
    after_hours_presence: AfterHoursPresenceRule = Field(default_factory=AfterHoursPresenceRule, description="下班后有人.")
    exit_blocked: ExitBlockedRule = Field(default_factory=ExitBlockedRule, description="安全出口堵塞 (camera).")
    camera_health: CameraHealthRule = Field(default_factory=CameraHealthRule, description="摄像头离线/冻结/遮挡.")
    smoking: SmokingRule = Field(default_factory=SmokingRule, description="抽烟.")
    sleeping: SleepingRule = Field(default_factory=SleepingRule, description="睡岗.")
    chatting: ChattingRule = Field(default_factory=ChattingRule, description="串岗聊天.")
    eating: EatingRule = Field(default_factory=EatingRule, description="吃东西.")
    power_left_on: PowerLeftOnRule = Field(default_factory=PowerLeftOnRule, description="下班未关电源.")
    high_power_appliance: HighPowerApplianceRule = Field(
        default_factory=HighPowerApplianceRule, description="大功率电器."
    )
    sensors: SensorRules = Field(default_factory=SensorRules, description="Exit/door/smoke/health sensor rules.")
