"""Who is charged for a finding: the roster at the finding time, unless a supervisor reassigned it.

Order of precedence (the first that applies decides; the basis is stored on every sheet line):

1. ``reassigned`` — a supervisor's reassignment (latest wins, with its reason, audited). It may also
   clear the person (``staff_id`` None: the finding is charged to the window only).
2. ``window`` — the scheme item is charged to the window, never to a person (e.g. power left on).
3. ``cover`` — an approved 顶岗 record: the person named covers this window at the finding's time.
4. the roster of the window on the finding's local date: a ``substitute`` entry valid that day wins,
   else the ``A`` post (主岗), else the ``B`` post (副岗) — so a B entry covers exactly the days the
   roster has no A. A person on approved absence (请假/公出/培训) at the finding's time is skipped:
   the next post is judged instead (``stand_in``: A on leave → B, who must then be at the seat).
5. ``edge`` — the staff id the edge put in the finding (from its copy of the site config), unless
   that person is on approved absence.
6. ``absent_no_cover`` — everyone the roster or the edge names is on approved absence and nobody
   covers: the finding is charged to the window only (the rule books forbid leave without a 顶岗
   person, "没有顶岗人员不得离岗").
7. ``none`` — nobody can be named; the finding still counts on the window's sheet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Literal

Role = Literal["A", "B", "substitute"]
_PRIORITY: dict[str, int] = {"substitute": 0, "A": 1, "B": 2}
_BASIS = {"substitute": "substitute", "A": "roster_a", "B": "roster_b"}


@dataclass(frozen=True)
class RosterEntry:
    window_id: str
    staff_id: str
    role: str
    valid_from: dt.date
    valid_to: dt.date | None = None  # inclusive; None = open-ended

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class AbsenceEntry:
    """An approved absence (kind leave/official/training) or a 顶岗 cover record (kind cover, for ``window_id``)
    over [start, end)."""

    ref: str
    staff_id: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    window_id: str | None = None

    def active(self, at: dt.datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Attribution:
    staff_id: str | None
    basis: str
    absences: tuple[AbsenceEntry, ...] = ()
    """The approved absences (or the cover record) that decided it, for the sheet to show."""


@dataclass(frozen=True)
class Reassignment:
    finding_id: str
    staff_id: str | None
    reason: str
    by: str
    at: dt.datetime


def on_duty(window_id: str, day: dt.date, roster: Iterable[RosterEntry]) -> tuple[str, str] | None:
    """(staff_id, basis) of the person the roster puts at the window that day, or None."""
    valid = [r for r in roster if r.window_id == window_id and r.valid_on(day) and r.role in _PRIORITY]
    if not valid:
        return None
    best = min(valid, key=lambda r: (_PRIORITY[r.role], -r.valid_from.toordinal(), r.staff_id))
    return best.staff_id, _BASIS[best.role]


def posts(window_id: str, day: dt.date, roster: Iterable[RosterEntry]) -> list[tuple[str, str]]:
    """(staff_id, basis) of everyone the roster puts at the window that day, in the order of ``on_duty``."""
    valid = [r for r in roster if r.window_id == window_id and r.valid_on(day) and r.role in _PRIORITY]
    valid.sort(key=lambda r: (_PRIORITY[r.role], -r.valid_from.toordinal(), r.staff_id))
    out: list[tuple[str, str]] = []
    for r in valid:
        if r.staff_id not in [s for s, _ in out]:
            out.append((r.staff_id, _BASIS[r.role]))
    return out


def resolve(
    *,
    finding_id: str,
    window_id: str | None,
    local_day: dt.date,
    edge_staff_id: str | None,
    attribute_to: str,
    roster: Iterable[RosterEntry],
    reassignments: Iterable[Reassignment] = (),
    at: dt.datetime | None = None,
    absences: Iterable[AbsenceEntry] = (),
) -> Attribution:
    """Who is charged for one finding, and which approvals decided it; see the module docstring for the order.
    ``at`` (the finding's start) is needed for absences and cover records to apply."""
    mine = [r for r in reassignments if r.finding_id == finding_id]
    if mine:
        latest = max(mine, key=lambda r: r.at)
        return Attribution(latest.staff_id, "reassigned")
    if attribute_to == "window":
        return Attribution(None, "window")
    active = [a for a in absences if at is not None and a.active(at)]
    away = {a.staff_id: a for a in active if a.kind != "cover"}
    if window_id is not None:
        covers = sorted((a for a in active if a.kind == "cover" and a.window_id == window_id
                         and a.staff_id not in away), key=lambda a: (-a.start.timestamp(), a.ref))
        if covers:
            return Attribution(covers[0].staff_id, "cover", (covers[0],))
    skipped: list[AbsenceEntry] = []
    candidates = posts(window_id, local_day, roster) if window_id is not None else []
    if not candidates and edge_staff_id is not None:
        candidates = [(edge_staff_id, "edge")]
    for staff_id, basis in candidates:
        if staff_id in away:
            skipped.append(away[staff_id])
            continue
        return Attribution(staff_id, "stand_in" if skipped else basis, tuple(skipped))
    if skipped:
        return Attribution(None, "absent_no_cover", tuple(skipped))
    return Attribution(None, "none")


def attribute(
    *,
    finding_id: str,
    window_id: str | None,
    local_day: dt.date,
    edge_staff_id: str | None,
    attribute_to: str,
    roster: Iterable[RosterEntry],
    reassignments: Iterable[Reassignment] = (),
) -> tuple[str | None, str]:
    """(staff_id or None, basis) for one finding without absences; see ``resolve``."""
    a = resolve(finding_id=finding_id, window_id=window_id, local_day=local_day, edge_staff_id=edge_staff_id,
                attribute_to=attribute_to, roster=roster, reassignments=reassignments)
    return a.staff_id, a.basis
