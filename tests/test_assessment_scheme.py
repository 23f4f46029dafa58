"""Scheme loading (errors at their YAML line), JSON Schema, roster attribution table, trend chart."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from edge.contract import RULES
from edge.site import ConfigError
from server.assessment.attribution import Reassignment, RosterEntry, attribute, on_duty
from server.assessment.chart import trend_svg
from server.assessment.scheme import DEFAULT_SCHEME_PATH, json_schema, load_scheme


def test_default_scheme_matches_the_regulation():
    s = load_scheme()
    assert s.base_points == 100 and s.doubling.threshold == 3 and s.doubling.mode == "whole_month"
    expect = {"smoking": 1.0, "eating": 1.0, "sleeping": 0.5, "chatting": 0.5, "late_arrival": 0.5,
              "early_leave": 0.5, "power_left_on": 1.0, "phone_use": 1.0}
    assert {r: s.item_for_rule(r).points for r in expect} == expect
    leave = s.item_for_rule("window_unstaffed")
    assert [(t.from_s, t.over_s, t.points) for t in leave.tiers] == [(1800, None, 0.5), (None, 3600, 1.0)]
    assert s.deduction("absent_half_day").points == 1.0 and s.deduction("absent_half_day").rules == []
    assert s.item_for_rule("power_left_on").attribute_to == "window"
    assert set(s.unmapped_rules()) < set(RULES) and "exit_blocked" in s.unmapped_rules()


BASE = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "loc", "message", "line_text"),
    [
        ("rules: [smoking, eating]", "rules: [smoking, vaping]", "deductions.1.rules", "unknown rule id(s) ['vaping']",
         "rules: [smoking, vaping]"),
        ("    category: equipment\n", "    category: hardware\n", "deductions.8.category",
         "unknown category 'hardware'", "category: hardware"),
        ("{from_s: 1800, points: 0.5,", "{from_s: 1800, over_s: 1700, points: 0.5,", "deductions.0.tiers.0",
         "exactly one of", "over_s: 1700"),
        ("{over_s: 3600, points: 1.0,", "{over_s: 600, points: 1.0,", "deductions.0.tiers", "ordered by duration",
         "tiers:"),
        ("  threshold: 3\n", "  threshold: 1\n", "doubling.threshold", "greater than or equal to 2", "threshold: 1"),
        ("base_points: 100\n", "base_points: 100\nbonus_cap: 5\n", "bonus_cap", "Extra inputs are not permitted",
         "bonus_cap: 5"),
        # a cross-item check reports at the top of the document
        ("rules: [sleeping, chatting]", "rules: [sleeping, smoking]", "", "mapped by both", "version: 1"),
    ],
)
def test_scheme_errors_point_at_their_line(tmp_path, old, new, loc, message, line_text):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    p = tmp_path / "scheme.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_scheme(p)
    (problem,) = [pr for pr in exc.value.problems if pr[0] == loc]
    assert message in problem[2]
    assert line_text in text.splitlines()[problem[1] - 1]
    assert f"{p}:{problem[1]}: {loc or '<root>'}: " in exc.value.render()


def test_scheme_yaml_syntax_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_scheme(p)


def test_json_schema_documents_every_field():
    schema = json_schema()
    json.dumps(schema)
    tier = schema["$defs"]["Tier"]
    assert set(tier["properties"]) == {"from_s", "over_s", "points", "label", "label_en"}
    for name, d in schema["$defs"].items():
        for field, prop in d.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{field} has no description"


D = dt.date
ROSTER = [
    RosterEntry("W01", "S001", "A", D(2026, 1, 1), D(2026, 7, 9)),
    RosterEntry("W01", "S001", "A", D(2026, 7, 13)),  # A on leave 10–12 July
    RosterEntry("W01", "S002", "B", D(2026, 1, 1)),
    RosterEntry("W01", "S009", "substitute", D(2026, 7, 20), D(2026, 7, 20)),
]


@pytest.mark.parametrize(
    ("day", "edge_staff", "attribute_to", "reassigned", "expected"),
    [
        (D(2026, 7, 6), None, "staff", [], ("S001", "roster_a")),
        (D(2026, 7, 11), "S001", "staff", [], ("S002", "roster_b")),  # B covers while A is on leave
        (D(2026, 7, 20), None, "staff", [], ("S009", "substitute")),
        (D(2025, 12, 31), "S007", "staff", [], ("S007", "edge")),  # before any roster: what the edge saw
        (D(2025, 12, 31), None, "staff", [], (None, "none")),
        (D(2026, 7, 6), None, "window", [], (None, "window")),
        (D(2026, 7, 6), None, "staff", [("S005", 1), ("S006", 2)], ("S006", "reassigned")),  # latest wins
        (D(2026, 7, 6), None, "staff", [(None, 1)], (None, "reassigned")),  # to the window only
    ],
)
def test_attribution(day, edge_staff, attribute_to, reassigned, expected):
    base = dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc)
    re = [Reassignment("f1", sid, "复核", "sup", base + dt.timedelta(hours=h)) for sid, h in reassigned]
    re.append(Reassignment("other", "S012", "复核", "sup", base))
    assert attribute(finding_id="f1", window_id="W01", local_day=day, edge_staff_id=edge_staff,
                     attribute_to=attribute_to, roster=ROSTER, reassignments=re) == expected


def test_on_duty_other_window():
    assert on_duty("W02", D(2026, 7, 6), ROSTER) is None


def test_trend_svg():
    svg = trend_svg([{"month": "2026-07", "score": 98.5, "provisional": False},
                     {"month": "2026-08", "score": 100.0, "provisional": True}], title="W01 <2026Q3>")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}circle")) == 2 and root.find(f"{ns}polyline") is not None
    texts = [t.text for t in root.findall(f"{ns}text")]
    assert "W01 <2026Q3>" in texts and "98.5" in texts and "2026-08" in texts
