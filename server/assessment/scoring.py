"""Scoring engine: pure functions from confirmed findings and supervisor entries to assessment sheets.

Nothing here touches the database; ``server.assessment.store`` loads the plain records below.

A sheet scores one assessed party (a window, or a staff member) over one period (a calendar month or
a quarter, in the hall's time zone):

    score = base_points + bonus − deductions                  (实得分 = 总分 + 实得加分 − 实际扣分)

- only findings whose alert is ``confirmed`` count; any other status (dismissed, open, …) never does;
- a finding becomes a deduction through the scheme item that maps its rule; tiered items use the
  finding's ``duration_s`` (highest matching tier; none matching → listed as *not deducted*);
- the monthly doubling counts deducted occurrences of one item per party per calendar month;
- every line keeps the finding (or entry) id and the SHA-256 of its evidence, so the sheet explains
  every point and records every file it relies on;
- a finding an approval suppressed (a window paused by a supervisor, 暂停服务) stays on the sheet as
  *not deducted* with zero points and the approval next to it, when it was confirmed or excused by it;
  an approval that changed who is charged (A on leave → B) is shown on the deduction line.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Literal
from zoneinfo import ZoneInfo

from server.assessment.scheme import Scheme

SubjectKind = Literal["window", "staff"]
COUNTED_STATUS = "confirmed"
EXCUSED_STATUS = "excused"
"""Status of a finding whose alert the server dismissed because an approval suppressed it."""


# --------------------------------------------------------------------------- input records


@dataclass(frozen=True)
class EvidenceRecord:
    """An evidence file a finding refers to (stored by its SHA-256)."""

    sha256: str
    kind: str = "snapshot"
    content_type: str | None = None


@dataclass(frozen=True)
class FindingRecord:
    """A finding with its alert status and its attribution already decided (see ``attribution``)."""

    id: str
    rule: str
    started_at: dt.datetime
    status: str
    window_id: str | None = None
    staff_id: str | None = None
    duration_s: float | None = None
    evidence: tuple[EvidenceRecord, ...] = ()
    attribution: str = ""
    """How staff_id was decided: roster_a, roster_b, substitute, edge, reassigned, window, cover, stand_in,
    absent_no_cover, none."""
    approval: dict[str, Any] | None = None
    """The approval that suppressed the finding (``effect`` suppressed) or changed who is charged
    (``effect`` reattributed), as shown on the sheet."""


@dataclass(frozen=True)
class ManualEntry:
    """A supervisor's bonus or deduction entry (e.g. 旷工 from the attendance record, 领导检查 +0.1)."""

    id: str
    item_id: str
    at: dt.datetime
    window_id: str | None = None
    staff_id: str | None = None
    count: int = 1
    note: str = ""
    entered_by: str = ""


# --------------------------------------------------------------------------- periods

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_RE = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A calendar month ('2026-07') or quarter ('2026Q3') in the hall's local time."""

    year: int
    first_month: int
    months_n: int  # 1 or 3

    @classmethod
    def parse(cls, text: str) -> "Period":
        if m := _MONTH_RE.match(text.strip()):
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError(f"invalid month in period {text!r}")
            return cls(year, month, 1)
        if m := _QUARTER_RE.match(text.strip()):
            return cls(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 3)
        raise ValueError(f"period must look like '2026Q3' or '2026-07', got {text!r}")

    @property
    def kind(self) -> Literal["month", "quarter"]:
        return "month" if self.months_n == 1 else "quarter"

    @property
    def label(self) -> str:
        if self.months_n == 1:
            return f"{self.year}-{self.first_month:02d}"
        return f"{self.year}Q{(self.first_month - 1) // 3 + 1}"

    def months(self) -> list["Period"]:
        return [Period(self.year, m, 1) for m in range(self.first_month, self.first_month + self.months_n)]

    def quarter(self) -> "Period":
        return Period(self.year, 3 * ((self.first_month - 1) // 3) + 1, 3)

    def first_day(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    def last_day(self) -> dt.date:
        last = self.first_month + self.months_n - 1
        return dt.date(self.year, last, calendar.monthrange(self.year, last)[1])

    def bounds(self, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware datetimes in the hall's zone."""
        start = dt.datetime.combine(self.first_day(), dt.time(), tz)
        end = dt.datetime.combine(self.last_day() + dt.timedelta(days=1), dt.time(), tz)
        return start, end

    def contains(self, when: dt.datetime, tz: ZoneInfo) -> bool:
        start, end = self.bounds(tz)
        return start <= when < end


def month_of(when: dt.datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    return f"{local.year}-{local.month:02d}"


# --------------------------------------------------------------------------- output


def _d(x: float) -> Decimal:
    return Decimal(str(x))


def _f(x: Decimal) -> float:
    return float(x.quantize(Decimal("0.01")))


@dataclass
class Line:
    """One row of a sheet: a deduction, a bonus, or a confirmed finding that is not deducted."""

    kind: Literal["deduction", "bonus", "not_deducted"]
    item_id: str
    category_id: str
    source: Literal["finding", "manual"]
    ref_id: str
    at: str  # ISO-8601, hall time
    month: str
    window_id: str | None
    staff_id: str | None
    rule: str | None = None
    duration_s: float | None = None
    tier: str | None = None
    base_points: float = 0.0
    multiplier: float = 1.0
    points: float = 0.0  # positive; a deduction lowers the score by this, a bonus raises it
    occurrence: int = 0  # nth deducted occurrence of this item for this party in this month
    month_count: int = 0  # deducted occurrences of this item for this party in this month
    evidence: list[str] = field(default_factory=list)
    attribution: str = ""
    note: str = ""
    approval: dict[str, Any] | None = None


@dataclass
class Sheet:
    """The score of one window or staff member over one period, with every line that explains it."""

    scheme_id: str
    subject_kind: SubjectKind
    subject_id: str
    period: str
    base_points: float
    bonus_total: float
    deduction_total: float
    score: float
    provisional: bool
    lines: list[Line]
    by_category: dict[str, float]
    by_item: dict[str, dict[str, float]]
    evidence: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sheet":
        d = dict(data)
        d["lines"] = [Line(**ln) for ln in d["lines"]]
        return cls(**d)


# --------------------------------------------------------------------------- scoring


def _concerns(subject_kind: SubjectKind, subject_id: str, window_id: str | None, staff_id: str | None,
              attribute_to: str) -> bool:
    if subject_kind == "window":
        return window_id == subject_id
    return attribute_to == "staff" and staff_id == subject_id


def score_sheet(
    scheme: Scheme,
    subject_kind: SubjectKind,
    subject_id: str,
    period: Period,
    findings: Iterable[FindingRecord],
    entries: Iterable[ManualEntry] = (),
    *,
    tz: ZoneInfo,
    as_of: dt.datetime | None = None,
) -> Sheet:
    """Score one party over one period. ``as_of`` (aware) marks the sheet provisional while the period
    (and so the monthly doubling) is not over yet."""
    pending: list[Line] = []  # deduction candidates, before doubling
    lines: list[Line] = []

    for f in findings:
        suppressed = f.approval is not None and f.approval.get("effect") == "suppressed"
        if not period.contains(f.started_at, tz):
            continue
        if f.status != COUNTED_STATUS and not (suppressed and f.status == EXCUSED_STATUS):
            continue
        item = scheme.item_for_rule(f.rule)
        if item is None or not _concerns(subject_kind, subject_id, f.window_id, f.staff_id, item.attribute_to):
            continue
        staff = f.staff_id if item.attribute_to == "staff" else None
        line = Line(
            kind="deduction", item_id=item.id, category_id=item.category, source="finding", ref_id=f.id,
            at=f.started_at.astimezone(tz).isoformat(), month=month_of(f.started_at, tz), window_id=f.window_id,
            staff_id=staff, rule=f.rule, duration_s=f.duration_s, evidence=sorted({e.sha256 for e in f.evidence}),
            attribution=f.attribution if item.attribute_to == "staff" else "window", approval=f.approval,
        )
        if suppressed:
            line.kind, line.note = "not_deducted", "approved"
            lines.append(line)
            continue
        if item.tiers:
            tier = item.tier_for(f.duration_s)
            if tier is None:
                line.kind = "not_deducted"
                line.note = "duration unknown" if f.duration_s is None else "below the shortest tier"
                lines.append(line)
                continue
            line.tier, line.base_points = tier.label, tier.points
        else:
            line.base_points = item.points or 0.0
        pending.append(line)

    bonus_lines: list[Line] = []
    for e in entries:
        if not period.contains(e.at, tz):
            continue
        ded, bon = scheme.deduction(e.item_id), scheme.bonus(e.item_id)
        item_any = ded or bon
        if item_any is None:
            continue
        attribute_to = ded.attribute_to if ded else "staff"
        if not _concerns(subject_kind, subject_id, e.window_id, e.staff_id, attribute_to):
            continue
        common = dict(item_id=e.item_id, source="manual", ref_id=e.id, at=e.at.astimezone(tz).isoformat(),
                      month=month_of(e.at, tz), window_id=e.window_id, staff_id=e.staff_id,
                      attribution=f"entered:{e.entered_by}", note=e.note)
        for _ in range(max(1, e.count)):
            if ded is not None:
                pending.append(Line(kind="deduction", category_id=ded.category, base_points=ded.points or 0.0,
                                    **common))  # type: ignore[arg-type]
            else:
                assert bon is not None
                bonus_lines.append(Line(kind="bonus", category_id="bonus", base_points=bon.points, **common))  # type: ignore[arg-type]

    _apply_doubling(scheme, pending)
    _apply_bonus_caps(scheme, bonus_lines)
    lines.extend(pending)
    lines.extend(bonus_lines)
    lines.sort(key=lambda ln: (ln.at, ln.item_id, ln.ref_id))

    deductions = sum((_d(ln.points) for ln in lines if ln.kind == "deduction"), Decimal(0))
    bonus = sum((_d(ln.points) for ln in lines if ln.kind == "bonus"), Decimal(0))
    by_category: dict[str, Decimal] = defaultdict(Decimal)
    by_item: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"count": Decimal(0), "points": Decimal(0)})
    for ln in lines:
        if ln.kind == "not_deducted":
            continue
        sign = -1 if ln.kind == "deduction" else 1
        by_category[ln.category_id] += sign * _d(ln.points)
        by_item[ln.item_id]["count"] += 1
        by_item[ln.item_id]["points"] += sign * _d(ln.points)
    _, end = period.bounds(tz)
    return Sheet(
        scheme_id=scheme.id, subject_kind=subject_kind, subject_id=subject_id, period=period.label,
        base_points=scheme.base_points, bonus_total=_f(bonus), deduction_total=_f(deductions),
        score=_f(_d(scheme.base_points) + bonus - deductions),
        provisional=as_of is not None and as_of < end,
        lines=lines,
        by_category={k: _f(v) for k, v in sorted(by_category.items())},
        by_item={k: {"count": int(v["count"]), "points": _f(v["points"])} for k, v in sorted(by_item.items())},
        evidence=sorted({h for ln in lines for h in ln.evidence}),
    )


def _apply_doubling(scheme: Scheme, pending: list[Line]) -> None:
    groups: dict[tuple[str, str], list[Line]] = defaultdict(list)
    for ln in sorted(pending, key=lambda x: (x.at, x.ref_id)):
        groups[(ln.item_id, ln.month)].append(ln)
    rule = scheme.doubling
    for (item_id, _), group in groups.items():
        item = scheme.deduction(item_id)
        doubles = item is not None and item.doubling and len(group) >= rule.threshold
        for n, ln in enumerate(group, start=1):
            ln.occurrence, ln.month_count = n, len(group)
            hit = doubles and (rule.mode == "whole_month" or n >= rule.threshold)
            ln.multiplier = rule.factor if hit else 1.0
            ln.points = _f(_d(ln.base_points) * _d(ln.multiplier))


def _apply_bonus_caps(scheme: Scheme, bonus_lines: list[Line]) -> None:
    month_sum: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    period_sum: dict[str, Decimal] = defaultdict(Decimal)
    for ln in sorted(bonus_lines, key=lambda x: (x.at, x.ref_id)):
        item = scheme.bonus(ln.item_id)
        assert item is not None
        room = _d(ln.base_points)
        if item.max_per_month is not None:
            room = min(room, _d(item.max_per_month) - month_sum[(ln.item_id, ln.month)])
        if item.max_per_period is not None:
            room = min(room, _d(item.max_per_period) - period_sum[ln.item_id])
        room = max(room, Decimal(0))
        if room < _d(ln.base_points):
            ln.note = (ln.note + "; " if ln.note else "") + "capped"
        ln.points = _f(room)
        month_sum[(ln.item_id, ln.month)] += room
        period_sum[ln.item_id] += room


# --------------------------------------------------------------------------- ranking and trend


def rank(sheets: list[Sheet]) -> list[dict[str, Any]]:
    """Standard competition ranking by score (1, 2, 2, 4); ties listed by subject id."""
    ordered = sorted(sheets, key=lambda s: (-s.score, s.subject_id))
    out: list[dict[str, Any]] = []
    for i, s in enumerate(ordered):
        r = out[-1]["rank"] if out and out[-1]["score"] == s.score else i + 1
        out.append({"rank": r, "subject_kind": s.subject_kind, "subject_id": s.subject_id, "score": s.score,
                    "deduction_total": s.deduction_total, "bonus_total": s.bonus_total})
    return out


def trend(scheme: Scheme, subject_kind: SubjectKind, subject_id: str, months: list[Period],
          findings: list[FindingRecord], entries: list[ManualEntry], *, tz: ZoneInfo,
          as_of: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Monthly series (score, deductions, bonus, count of deductions) for a chart."""
    series = []
    for m in months:
        s = score_sheet(scheme, subject_kind, subject_id, m, findings, entries, tz=tz, as_of=as_of)
        series.append({"month": m.label, "score": s.score, "deduction_total": s.deduction_total,
                       "bonus_total": s.bonus_total, "deductions": sum(1 for ln in s.lines if ln.kind == "deduction"),
                       "provisional": s.provisional})
    return series
