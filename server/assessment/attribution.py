"""Who is charged for a finding: the roster at the finding time, unless a supervisor reassigned it.

Order of precedence (the first that applies decides; the basis is stored on every sheet line):

1. ``reassigned`` — a supervisor's reassignment (latest wins, with its reason, audited). It may also
   clear the person (``staff_id`` None: the finding is charged to the window only).
2. ``window`` — the scheme item is charged to the window, never to a person (e.g. power left on).
3. the roster of the window on the finding's local date: a ``substitute`` entry valid that day wins,
   else the ``A`` post (主岗), else the ``B`` post (副岗) — so a B entry covers exactly the days the
   roster has no A (A on leave is entered by ending or interrupting A's validity).
4. ``edge`` — the staff id the edge put in the finding (from its copy of the site config).
5. ``none`` — nobody can be named; the finding still counts on the window's sheet.
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
    """(staff_id or None, basis) for one finding; see the module docstring for the order."""
    mine = [r for r in reassignments if r.finding_id == finding_id]
    if mine:
        latest = max(mine, key=lambda r: r.at)
        return latest.staff_id, "reassigned"
    if attribute_to == "window":
        return None, "window"
    if window_id is not None:
        duty = on_duty(window_id, local_day, roster)
        if duty is not None:
            return duty
    if edge_staff_id is not None:
        return edge_staff_id, "edge"
    return None, "none"
