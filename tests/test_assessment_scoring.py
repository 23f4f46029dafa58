"""Scoring engine table tests: tiers, monthly doubling, statuses, attribution to window/staff, bonuses."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from server.assessment.scheme import load_scheme
from server.assessment.scoring import EvidenceRecord, FindingRecord, ManualEntry, Period, rank, score_sheet, trend

TZ = ZoneInfo("Asia/Shanghai")
SCHEME = load_scheme()


def at(day: str, hm: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=TZ)


def finding(i: int, rule: str, when: dt.datetime, duration_s: float | None = None, status: str = "confirmed",
            window: str = "W01", staff: str | None = "S001") -> FindingRecord:
    return FindingRecord(id=f"f{i}", rule=rule, started_at=when, status=status, window_id=window, staff_id=staff,
                         duration_s=duration_s, evidence=(EvidenceRecord(f"{i:064x}"),), attribution="roster_a")


@pytest.mark.parametrize(
    ("duration_s", "points", "tier"),
    [
        (0, 0.0, None),
        (1799.9, 0.0, None),  # 29:59.9 — not a violation of "达30分钟以上"
        (1800, 0.5, "达30分钟以上"),  # exactly 30:00 counts (inclusive)
        (3599, 0.5, "达30分钟以上"),
        (3600, 0.5, "达30分钟以上"),  # exactly 60:00 is not "超过一小时"
        (3601, 1.0, "超过一小时"),  # 60:01
        (8 * 3600, 1.0, "超过一小时"),
        (None, 0.0, None),  # an episode without a duration cannot be tiered
    ],
)
def test_leave_post_tiers(duration_s, points, tier):
    s = score_sheet(SCHEME, "staff", "S001", Period.parse("2026-07"),
                    [finding(1, "window_unstaffed", at("2026-07-06"), duration_s)], tz=TZ)
    assert s.deduction_total == points
    assert s.score == 100 - points
    (line,) = s.lines
    assert line.kind == ("deduction" if points else "not_deducted")
    assert line.tier == tier
    assert line.ref_id == "f1" and line.evidence == [f"{1:064x}"]


@pytest.mark.parametrize(
    ("status", "counted"),
    [("confirmed", True), ("dismissed", False), ("open", False), ("acknowledged", False), ("closed", False)],
)
def test_only_confirmed_findings_count(status, counted):
    s = score_sheet(SCHEME, "window", "W01", Period.parse("2026Q3"),
                    [finding(1, "smoking", at("2026-07-06"), status=status)], tz=TZ)
    assert s.deduction_total == (1.0 if counted else 0.0)
    assert s.evidence == ([f"{1:064x}"] if counted else [])


# (days of occurrences of one item, mode) -> points per occurrence in order
@pytest.mark.parametrize(
    ("rule", "days", "mode", "expected"),
    [
        ("late_arrival", ["2026-07-01", "2026-07-02"], "whole_month", [0.5, 0.5]),
        ("late_arrival", ["2026-07-01", "2026-07-02", "2026-07-03"], "whole_month", [1.0, 1.0, 1.0]),
        ("late_arrival", ["2026-07-01", "2026-07-02", "2026-07-03"], "from_threshold", [0.5, 0.5, 1.0]),
        ("late_arrival", ["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-04"], "from_threshold",
         [0.5, 0.5, 1.0, 1.0]),
        # the same item: late arrival and early leave are one clause (迟到、早退)
        ("late_arrival|early_leave", ["2026-07-01", "2026-07-02", "2026-07-03"], "whole_month", [1.0, 1.0, 1.0]),
        # across a month boundary the count restarts: 2 in July + 1 in August never double
        ("late_arrival", ["2026-07-30", "2026-07-31", "2026-08-03"], "whole_month", [0.5, 0.5, 0.5]),
        # month boundary in hall time: 2026-07-31 23:30 Shanghai is 15:30 UTC on the 31st, still July
        ("smoking", ["2026-07-31T23:30", "2026-08-01T00:10", "2026-08-01T08:00", "2026-08-02"], "whole_month",
         [1.0, 2.0, 2.0, 2.0]),
    ],
)
def test_monthly_doubling(rule, days, mode, expected):
    scheme = SCHEME.model_copy(update={"doubling": SCHEME.doubling.model_copy(update={"mode": mode})})
    rules = rule.split("|")
    fs = []
    for i, d in enumerate(days):
        day, _, hm = d.partition("T")
        fs.append(finding(i, rules[i % len(rules)], at(day, hm or "09:00")))
    s = score_sheet(scheme, "staff", "S001", Period.parse("2026Q3"), fs, tz=TZ)
    assert [ln.points for ln in s.lines] == expected
    assert s.deduction_total == pytest.approx(sum(expected))


def test_short_episodes_do_not_count_towards_doubling():
    fs = [finding(1, "window_unstaffed", at("2026-07-01"), 600), finding(2, "window_unstaffed", at("2026-07-02"), 1900),
          finding(3, "window_unstaffed", at("2026-07-03"), 4000)]
    s = score_sheet(SCHEME, "staff", "S001", Period.parse("2026-07"), fs, tz=TZ)
    assert [(ln.kind, ln.points) for ln in s.lines] == [("not_deducted", 0.0), ("deduction", 0.5), ("deduction", 1.0)]


@pytest.mark.parametrize(
    ("subject_kind", "subject_id", "expected"),
    [
        ("window", "W01", 1.0 + 1.0 + 0.5),  # the window carries its staff's deductions and its own
        ("staff", "S001", 1.0),  # A's smoking
        ("staff", "S002", 0.5),  # B's dozing while covering
        ("window", "W02", 0.0),
        ("staff", "S003", 0.0),
    ],
)
def test_window_and_staff_sheets(subject_kind, subject_id, expected):
    fs = [
        finding(1, "smoking", at("2026-07-06"), staff="S001"),
        finding(2, "sleeping", at("2026-07-07"), staff="S002"),
        finding(3, "power_left_on", at("2026-07-07", "19:00"), staff=None),  # window item, no person
    ]
    s = score_sheet(SCHEME, subject_kind, subject_id, Period.parse("2026Q3"), fs, tz=TZ)
    assert s.deduction_total == expected


def test_window_item_is_not_charged_to_a_person_even_if_the_edge_named_one():
    fs = [finding(1, "power_left_on", at("2026-07-06", "19:00"), staff="S001")]
    assert score_sheet(SCHEME, "staff", "S001", Period.parse("2026-07"), fs, tz=TZ).deduction_total == 0
    w = score_sheet(SCHEME, "window", "W01", Period.parse("2026-07"), fs, tz=TZ)
    assert w.deduction_total == 1.0 and w.lines[0].staff_id is None and w.lines[0].attribution == "window"


@pytest.mark.parametrize(
    ("entries", "bonus"),
    [
        ([("leader_visit", "2026-07-01", 1)], 0.1),
        ([("leader_visit", "2026-07-01", 4)], 0.3),  # capped at 0.3 per month
        ([("leader_visit", "2026-07-01", 3), ("leader_visit", "2026-08-01", 3)], 0.6),
        ([("praised", "2026-07-01", 2), ("praised", "2026-08-01", 1)], 5.0),  # capped at 5 per period
        ([("info_adopted", "2026-07-01", 3)], 0.3),  # 0.1 × 3 exactly, no float drift
    ],
)
def test_bonus_entries_and_caps(entries, bonus):
    es = [ManualEntry(id=f"e{i}", item_id=item, at=at(day), window_id="W01", staff_id="S001", count=n)
          for i, (item, day, n) in enumerate(entries)]
    s = score_sheet(SCHEME, "window", "W01", Period.parse("2026Q3"), [], es, tz=TZ)
    assert s.bonus_total == bonus
    assert s.score == round(100 + bonus, 2)


def test_manual_deduction_and_breakdown():
    es = [ManualEntry(id="e1", item_id="absent_half_day", at=at("2026-07-08"), window_id="W01", staff_id="S001",
                      note="考勤记录 7/8 上午", entered_by="sup")]
    fs = [finding(1, "phone_use", at("2026-07-06")), finding(2, "window_unstaffed", at("2026-07-09"), 3700)]
    s = score_sheet(SCHEME, "staff", "S001", Period.parse("2026Q3"), fs, es, tz=TZ)
    assert s.score == 97.0
    assert s.by_category == {"discipline": -3.0}
    assert s.by_item == {"absent_half_day": {"count": 1, "points": -1.0}, "leave_post": {"count": 1, "points": -1.0},
                         "phone_use": {"count": 1, "points": -1.0}}


def test_unmapped_rules_and_other_periods_are_ignored():
    fs = [finding(1, "exit_blocked", at("2026-07-06")), finding(2, "smoking", at("2026-06-30", "23:59")),
          finding(3, "smoking", at("2026-10-01", "00:00"))]
    assert score_sheet(SCHEME, "window", "W01", Period.parse("2026Q3"), fs, tz=TZ).lines == []


@pytest.mark.parametrize(
    ("text", "label", "first", "last"),
    [("2026Q3", "2026Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
     ("2026-q1", "2026Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
     ("2028-02", "2028-02", dt.date(2028, 2, 1), dt.date(2028, 2, 29))],
)
def test_period_parse(text, label, first, last):
    p = Period.parse(text)
    assert (p.label, p.first_day(), p.last_day()) == (label, first, last)


@pytest.mark.parametrize("text", ["2026Q5", "2026-13", "Q3", ""])
def test_period_rejects(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_rank_and_trend_and_provisional():
    fs = [finding(1, "smoking", at("2026-07-06"), window="W01"), finding(2, "smoking", at("2026-08-06"), window="W01"),
          finding(3, "sleeping", at("2026-07-06"), window="W02", staff="S003")]
    q = Period.parse("2026Q3")
    sheets = [score_sheet(SCHEME, "window", w, q, fs, tz=TZ) for w in ("W01", "W02", "W03", "W04")]
    assert [(r["subject_id"], r["rank"]) for r in rank(sheets)] == [("W03", 1), ("W04", 1), ("W02", 3), ("W01", 4)]
    series = trend(SCHEME, "window", "W01", q.months(), fs, [], tz=TZ, as_of=at("2026-08-15"))
    assert [(m["month"], m["score"], m["provisional"]) for m in series] == [
        ("2026-07", 99.0, False), ("2026-08", 99.0, True), ("2026-09", 100.0, True)]
