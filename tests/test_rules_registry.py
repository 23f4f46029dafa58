"""build_frame_rules: ids match the contract, disabled rules are left out, the demo hall builds, errors are contained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edge.rules as rules_pkg
from edge.contract import RULES
from edge.detections import Detections
from edge.rules import WindowUnstaffedRule, build_frame_rules, find_rule, safe_update
from edge.site import load_site_config
from tests.test_rules_support import MONDAY, ctx, dets, local, site

DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo-hall.yaml"


def emitted_ids(rule) -> tuple[str, ...]:
    return getattr(rule, "rule_ids", (rule.rule_id,))


def test_all_rules_built_with_contract_ids():
    rules = build_frame_rules(site())
    ids = [i for r in rules for i in emitted_ids(r)]
    for expected in ("window_unstaffed", "late_arrival", "early_leave", "phone_use", "after_hours_presence",
                     "exit_blocked"):
        assert expected in ids
    assert set(ids) <= set(RULES)


@pytest.mark.parametrize(
    "disabled, missing",
    [("window_unstaffed", "window_unstaffed"), ("attendance", "late_arrival"), ("phone_use", "phone_use"),
     ("after_hours_presence", "after_hours_presence"), ("exit_blocked", "exit_blocked")],
)
def test_disabled_rules_are_not_built(disabled, missing):
    ids = [i for r in build_frame_rules(site(**{disabled: {"enabled": False}})) for i in emitted_ids(r)]
    assert missing not in ids


def test_optional_rules_missing_are_skipped(monkeypatch):
    monkeypatch.setattr(rules_pkg, "_OPTIONAL", (("edge.rules.no_such_rule", "NoSuchRule", "smoking"),))
    ids = [r.rule_id for r in build_frame_rules(site())]
    assert "smoking" not in ids and "window_unstaffed" in ids


def test_demo_hall_rules_run_on_an_empty_frame():
    cfg = load_site_config(DEMO)
    rules = build_frame_rules(cfg)
    assert find_rule(rules, WindowUnstaffedRule) is not None
    assert {"smoking", "sleeping"} <= {r.rule_id for r in rules}  # helper A's rules are picked up
    frame = np.zeros((360, 640, 3), np.uint8)
    before = sum(rules_pkg.errors.values())
    for cam in cfg.cameras:
        c = ctx(cam.id, local(f"{MONDAY} 10:00:00"), Detections.empty({0: "person"}), frame=frame, shape=(360, 640))
        for r in rules:
            assert safe_update(r, c) == []
    assert sum(rules_pkg.errors.values()) == before


def test_safe_update_contains_and_counts_errors():
    class Broken:
        rule_id = "phone_use"

        def update(self, ctx):
            raise RuntimeError("boom")

    before = rules_pkg.errors["phone_use"]
    assert safe_update(Broken(), ctx("camA", local(f"{MONDAY} 10:00:00"), dets())) == []
    assert rules_pkg.errors["phone_use"] == before + 1


@pytest.mark.parametrize(
    "name, boxes",
    [
        ("NaN box", [("person", (np.nan, 10, 50, 90), 0.9), ("cell phone", (45, np.nan, 55, 60), 0.9)]),
        ("inverted and zero boxes", [("person", (70, 90, 30, 20), 0.9), ("cell phone", (50, 50, 50, 50), 0.9)]),
        ("boxes outside the frame", [("person", (-500, -500, -400, -400), 0.9), ("suitcase", (900, 900, 990, 990), 0.9)]),
    ],
)
def test_odd_detections_do_not_break_any_rule(name, boxes):
    rules = build_frame_rules(site())
    frame = np.zeros((100, 200, 3), np.uint8)
    for cam in ("camA", "camB", "camX"):
        for sec in range(0, 30, 5):
            c = ctx(cam, local(f"{MONDAY} 10:00:{sec:02d}"), dets(*boxes), small=dets(*boxes), frame=frame)
            for r in rules:
                r.update(c)  # must not raise


@pytest.mark.parametrize("disabled, missing", [("chatting", "chatting"), ("eating", "eating")])
def test_chatting_and_eating_are_built_unless_disabled(disabled, missing):
    assert {"chatting", "eating"} <= {r.rule_id for r in build_frame_rules(site())}
    assert missing not in {r.rule_id for r in build_frame_rules(site(**{disabled: {"enabled": False}}))}


def test_pauses_reach_every_pausable_rule():
    from edge.rules import pausable

    ids = {r.rule_id for r in pausable(build_frame_rules(site()))}
    assert {"window_unstaffed", "chatting", "eating"} <= ids
