"""Approved absence and pauses as pure rules: who is judged (A on leave → B, 顶岗 cover, nobody), which findings
a pause suppresses and how the sheet shows it, the edge's pause plan, and the import's cell parsing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from edge.agent.commands import PausePlan
from edge.contract import Command, WindowPauseSpec
from server.assessment.attribution import AbsenceEntry, Reassignment, RosterEntry, resolve
from server.assessment.scheme import load_scheme
from server.assessment.scoring import FindingRecord, Period, score_sheet
from server.people.approvals import ApprovalError
from server.people.imports import parse_time
from server.people.texts import approval_text

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date
ROSTER = [RosterEntry("W01", "S001", "A", D(2026, 1, 1)), RosterEntry("W01", "S002", "B", D(2026, 1, 1)),
          RosterEntry("W02", "S003", "A", D(2026, 1, 1))]
AT = dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


def span(h0: int, h1: int, day: int = 23) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(2026, 11, day, h0, 0, tzinfo=TZ), dt.datetime(2026, 11, day, h1, 0, tzinfo=TZ)


def absence(ref: str, staff: str, kind: str = "leave", hours: tuple[int, int] = (8, 12),
            window: str | None = None) -> AbsenceEntry:
    return AbsenceEntry(ref, staff, kind, *span(*hours), window_id=window)


@pytest.mark.parametrize(
    ("window", "edge_staff", "absences", "expected"),
    [
        ("W01", "S001", [], ("S001", "roster_a", [])),
        ("W01", "S001", [absence("1", "S001")], ("S002", "stand_in", ["1"])),  # A on leave: judged on B
        ("W01", "S001", [absence("1", "S001", hours=(13, 17))], ("S001", "roster_a", [])),  # leave in the afternoon
        ("W01", "S001", [absence("1", "S001", "official"), absence("2", "S002", "training")],
         (None, "absent_no_cover", ["1", "2"])),  # A and B away, nobody covers: the window only
        ("W01", "S001", [absence("1", "S001"), absence("3", "S009", "cover", window="W01")],
         ("S009", "cover", ["3"])),  # a 顶岗 record names who is judged
        ("W01", "S001", [absence("3", "S009", "cover", window="W02")], ("S001", "roster_a", [])),  # another window
        ("W01", "S001", [absence("3", "S009", "cover", window="W01"), absence("4", "S009")],
         ("S001", "roster_a", [])),  # the cover person is away themself: the roster decides
        ("W01", "S001", [absence("1", "S002")], ("S001", "roster_a", [])),  # B's leave changes nothing for A
        ("W09", "S007", [absence("1", "S007")], (None, "absent_no_cover", ["1"])),  # no roster: the edge's person
        ("W09", "S007", [], ("S007", "edge", [])),
        (None, None, [absence("1", "S001")], (None, "none", [])),
    ],
)
def test_who_is_judged(window, edge_staff, absences, expected):
    a = resolve(finding_id="f", window_id=window, local_day=AT.date(), edge_staff_id=edge_staff,
                attribute_to="staff", roster=ROSTER, at=AT, absences=absences)
    assert (a.staff_id, a.basis, [x.ref for x in a.absences]) == expected


def test_reassignment_and_window_items_win_over_absences():
    leave = [absence("1", "S001")]
    re = [Reassignment("f", "S005", "录像复核", "sup", AT)]
    assert resolve(finding_id="f", window_id="W01", local_day=AT.date(), edge_staff_id=None, attribute_to="staff",
                   roster=ROSTER, reassignments=re, at=AT, absences=leave).basis == "reassigned"
    assert resolve(finding_id="f", window_id="W01", local_day=AT.date(), edge_staff_id=None, attribute_to="window",
                   roster=ROSTER, at=AT, absences=leave).basis == "window"


def test_absence_bounds_are_half_open():
    a = absence("1", "S001", hours=(8, 10))
    assert a.active(span(8, 9)[0]) and not a.active(AT)  # ends at 10:00: 10:00 itself is not covered


PAUSE = {"effect": "suppressed", "items": [{"kind": "pause", "id": 4, "window_id": "W01", "from": "2026-11-23T09:00",
                                            "to": "2026-11-23T11:00", "approver": "sup", "reason": "系统升级"}]}
LEAVE = {"effect": "reattributed", "items": [{"kind": "leave", "id": 7, "staff_id": "S001", "window_id": None,
                                              "from": "2026-11-23T08:30", "to": "2026-11-23T12:00",
                                              "approver": "李科长", "reason": ""}]}


@pytest.mark.parametrize(
    ("status", "approval", "kind", "points"),
    [
        ("confirmed", None, "deduction", 1.0),
        ("confirmed", PAUSE, "not_deducted", 0.0),  # confirmed before the pause was entered: stays, zero points
        ("excused", PAUSE, "not_deducted", 0.0),  # the server dismissed it because of the pause
        ("excused", None, None, None),  # excused without a suppressing approval never shows
        ("dismissed", PAUSE, None, None),  # a false positive stays off the sheet
        ("withdrawn", None, None, None),  # withdrawn on appeal: off the sheet
        ("confirmed", LEAVE, "deduction", 1.0),  # re-attributed: still deducted, the approval shown
    ],
)
def test_sheet_lines_of_approved_findings(status, approval, kind, points):
    scheme = load_scheme()
    f = FindingRecord(id="f1", rule="phone_use" if approval is not PAUSE else "window_unstaffed",
                      started_at=AT, status=status, window_id="W01", staff_id="S002", duration_s=4000,
                      attribution="stand_in" if approval is LEAVE else "roster_b", approval=approval)
    sheet = score_sheet(scheme, "window", "W01", Period(2026, 11, 1), [f], tz=TZ)
    if kind is None:
        assert sheet.lines == []
        return
    (line,) = sheet.lines
    assert (line.kind, line.points, line.approval) == (kind, points, approval)
    assert sheet.score == 100 - points


def test_approval_text_in_both_languages():
    assert approval_text(PAUSE, "zh") == "已批准，不扣分：暂停服务 #4 W01 2026-11-23 09:00–2026-11-23 11:00 系统升级（批准：sup）"
    assert approval_text(LEAVE, "en").startswith("charged per approval: leave #7 S001 2026-11-23 08:30–")
    assert approval_text(None) == ""


def test_pause_plan_closes_and_reopens_windows_on_the_edge_clock():
    plan = PausePlan()
    calls: list[tuple[str, bool]] = []
    configured = {"W01": False, "W02": False, "W08": True}  # W08 is closed in the site config
    start, end = span(9, 11)
    plan.replace(Command(type="command.window_pauses", hall_id="h", edge_id="e", pauses=[
        WindowPauseSpec(window_id="W01", start=start, end=end, reason="系统升级"),
        WindowPauseSpec(window_id="W08", start=start, end=end),
        WindowPauseSpec(window_id="W99", start=start, end=end)]))  # unknown to this edge: ignored
    setter = lambda w, closed: calls.append((w, closed))
    assert plan.apply(span(8, 9)[0], setter, configured) == []
    assert plan.apply(start, setter, configured) == [("W01", True), ("W08", True)]
    assert plan.apply(start + dt.timedelta(minutes=1), setter, configured) == []  # no change, no call
    assert plan.apply(end, setter, configured) == [("W01", False), ("W08", False)]
    assert calls[-2:] == [("W01", False), ("W08", True)]  # W08 goes back to its configured 'closed'
    plan.replace(Command(type="command.window_pauses", hall_id="h", edge_id="e", pauses=[
        WindowPauseSpec(window_id="W02", start=start, end=end)]))
    plan.apply(start, setter, configured)
    plan.replace(Command(type="command.window_pauses", hall_id="h", edge_id="e", pauses=[]))  # withdrawn
    assert plan.apply(start, setter, configured) == [("W02", False)]


@pytest.mark.parametrize(
    ("cell", "end", "expected"),
    [
        ("2026-11-23 08:30", False, dt.datetime(2026, 11, 23, 8, 30, tzinfo=TZ)),
        ("2026/11/23 8:30", False, dt.datetime(2026, 11, 23, 8, 30, tzinfo=TZ)),  # as spreadsheets export it
        ("23.11.2026 08:30", False, None),  # refused with the expected format
        ("2026-11-23", False, dt.datetime(2026, 11, 23, tzinfo=TZ)),
        ("2026-11-23", True, dt.datetime(2026, 11, 24, tzinfo=TZ)),  # an end date includes that whole day
        ("2026/1/5", True, dt.datetime(2026, 1, 6, tzinfo=TZ)),
        (dt.datetime(2026, 11, 23, 14, 0), False, dt.datetime(2026, 11, 23, 14, 0, tzinfo=TZ)),  # XLSX cell
        (dt.date(2026, 11, 23), True, dt.datetime(2026, 11, 24, tzinfo=TZ)),
        ("2026-11-23T08:30:00+00:00", False, dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC)),
        ("", False, None),
        ("明天", False, None),
    ],
)
def test_import_time_cells(cell, end, expected):
    if expected is None:
        with pytest.raises(ApprovalError):
            parse_time(cell, TZ, end=end)
    else:
        assert parse_time(cell, TZ, end=end) == expected
