"""Video hall rules: small pure state machines fed one ``FrameContext`` per analysed frame.

``build_frame_rules(cfg)`` returns the enabled rules of a site, in a stable order:

=========================  ====================================  ==========================================
rule (module)              rule ids emitted (edge.contract.RULES)  extra API for the agent
=========================  ====================================  ==========================================
WindowUnstaffedRule        window_unstaffed                      ``window_states(now) -> list[WindowStatus]``,
(window_unstaffed)                                               ``set_window_closed(window_id, closed)``
AttendanceRule             late_arrival, early_leave
PhoneUseRule               phone_use                             uses ``FrameContext.pose`` + ``small_objects`` (hands)
AfterHoursPresenceRule     after_hours_presence
ExitBlockedRule            exit_blocked                          needs ``FrameContext.frame``;
                                                                 ``set_reference(camera, zone, clear_frame)``
SmokingRule (helper A)     smoking                               included when edge.rules.smoking imports
SleepingRule (helper A)    sleeping                              included when edge.rules.sleeping imports
ChattingRule (chatting)    chatting                              ``set_window_closed(window_id, closed)``
EatingRule (eating)        eating                                uses ``FrameContext.pose`` + ``small_objects``;
                                                                 ``set_window_closed(window_id, closed)``
=========================  ====================================  ==========================================

Usage in the agent::

    rules = build_frame_rules(cfg)
    for ctx in frames:                                   # any camera, in timestamp order per camera
        for rule in rules:
            for event in rule.update(ctx):               # RuleEvent opened / updated / closed
                handle(event)
    staffing = find_rule(rules, WindowUnstaffedRule)
    for status in staffing.window_states(now):           # for window.state messages and duty checks
        publish(status.to_message(cfg.hall.id, cfg.edge.id))

Rules never raise on odd detections of one frame by design; ``safe_update`` wraps a call for the agent loop so
an unexpected error in one rule is logged and counted and never stops the others.
"""

from __future__ import annotations

import importlib
import logging
from collections import Counter
from typing import TypeVar

from edge.rules.after_hours import AfterHoursPresenceRule
from edge.rules.attendance import AttendanceRule
from edge.rules.base import FrameContext, FrameRule, RuleEvent
from edge.rules.chatting import ChattingRule
from edge.rules.eating import EatingRule
from edge.rules.exit_blocked import ExitBlockedRule
from edge.rules.phone_use import PhoneUseRule
from edge.rules.window_unstaffed import WindowStatus, WindowUnstaffedRule
from edge.site import SiteConfig

log = logging.getLogger(__name__)
T = TypeVar("T")
errors: Counter[str] = Counter()
"""Rule errors caught by ``safe_update``, by rule id (the agent reports them in heartbeats/logs)."""

__all__ = [
    "AfterHoursPresenceRule",
    "AttendanceRule",
    "ChattingRule",
    "EatingRule",
    "ExitBlockedRule",
    "PhoneUseRule",
    "WindowStatus",
    "WindowUnstaffedRule",
    "build_frame_rules",
    "errors",
    "find_rule",
    "pausable",
    "safe_update",
]

_OPTIONAL = (("edge.rules.smoking", "SmokingRule", "smoking"), ("edge.rules.sleeping", "SleepingRule", "sleeping"))


def build_frame_rules(cfg: SiteConfig) -> list[FrameRule]:
    """The enabled video rules of a site (helper A's SmokingRule/SleepingRule when their modules import)."""
    r = cfg.rules
    rules: list[FrameRule] = []
    if r.window_unstaffed.enabled:
        rules.append(WindowUnstaffedRule(cfg))
    if r.attendance.enabled:
        rules.append(AttendanceRule(cfg))
    if r.phone_use.enabled:
        rules.append(PhoneUseRule(cfg))
    if r.after_hours_presence.enabled:
        rules.append(AfterHoursPresenceRule(cfg))
    if r.exit_blocked.enabled:
        rules.append(ExitBlockedRule(cfg))
    if r.chatting.enabled:
        rules.append(ChattingRule(cfg))
    if r.eating.enabled:
        if not r.phone_use.enabled:
            log.warning("eating needs the pose and hand pass that phone_use turns on: it will find nothing")
        rules.append(EatingRule(cfg))
    for module, cls, key in _OPTIONAL:
        if not getattr(r, key).enabled:
            continue
        try:
            rule_cls = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as exc:
            log.warning("rule %s not available (%s): skipped", key, exc)
            continue
        rules.append(rule_cls(cfg))
    return rules


def find_rule(rules: list[FrameRule], cls: type[T]) -> T | None:
    """The first rule of a class, e.g. ``find_rule(rules, WindowUnstaffedRule)``."""
    return next((x for x in rules if isinstance(x, cls)), None)


def pausable(rules: list[FrameRule]) -> list:
    """The rules that take a window pause (暂停服务) at runtime through ``set_window_closed(window_id, closed)``."""
    return [x for x in rules if callable(getattr(x, "set_window_closed", None))]


def safe_update(rule: FrameRule, ctx: FrameContext) -> list[RuleEvent]:
    """``rule.update(ctx)``, but an exception is logged with the camera and time, counted in ``errors`` and
    turned into no events, so one bad frame or rule bug never stops the loop or the other rules."""
    try:
        return rule.update(ctx)
    except Exception:
        errors[rule.rule_id] += 1
        log.exception("rule %s failed on camera %s at %s", rule.rule_id, ctx.camera_id, ctx.ts.isoformat())
        return []
