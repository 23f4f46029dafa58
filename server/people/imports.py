"""Import of approved absences from the hall's attendance system (考勤系统): CSV or XLSX, one record a row.

The layout (README "Approved absence"; example ``configs/examples/absences.csv``): a header row naming the
columns in Chinese or English, in any order —

=============  ===============  ==========================================================================
Chinese        English          value
=============  ===============  ==========================================================================
编号           id               record id in the attendance system; importing it again updates the record
工号           staff_id         staff id from the site config (required)
姓名           name             checked against the staff record when given
类型           kind             请假/事假/病假/年休假 (leave), 公出 (official), 培训 (training), 顶岗 (cover)
开始           start            ``2026-11-23 08:30`` or a date (from 00:00), hall time (required)
结束           end              ``2026-11-23 12:00`` or a date (through the end of that day) (required)
批准人         approver         who approved (required)
窗口           window           window id; required for 顶岗
被顶岗人       covers           staff id whose post the 顶岗 person covers
事由           reason           free text
状态           status           已批准 / approved (default), 已撤销 / cancelled (cancels record ``id``)
=============  ===============  ==========================================================================

Each row is applied in its own SAVEPOINT: a bad row is reported with its row number and reason and never
loses the others. ``dry_run`` checks everything and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.people.approvals import AbsenceIn, ApprovalError, record_absence, staff_by_code

MAX_ROWS = 5000
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "记录编号", "id", "external_id"),
    "staff_id": ("工号", "人员编号", "staff_id", "staff"),
    "name": ("姓名", "name"),
    "kind": ("类型", "请假类型", "kind", "type"),
    "start": ("开始", "开始时间", "start", "from"),
    "end": ("结束", "结束时间", "end", "to"),
    "approver": ("批准人", "审批人", "approver"),
    "window": ("窗口", "window", "window_id"),
    "covers": ("被顶岗人", "covers", "covers_staff_id"),
    "reason": ("事由", "原因", "reason"),
    "status": ("状态", "status"),
}
REQUIRED = ("staff_id", "kind", "start", "end", "approver")
KINDS = {
    "请假": "leave", "事假": "leave", "病假": "leave", "年休假": "leave", "年假": "leave", "婚假": "leave",
    "产假": "leave", "丧假": "leave", "调休": "leave", "leave": "leave",
    "公出": "official", "因公外出": "official", "外出": "official", "出差": "official", "official": "official",
    "培训": "training", "学习": "training", "training": "training",
    "顶岗": "cover", "代岗": "cover", "cover": "cover",
}
CANCELLED = {"已撤销", "撤销", "销假", "作废", "cancelled", "canceled", "cancel"}
APPROVED = {"", "已批准", "批准", "通过", "approved"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, missing columns, too many rows)."""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cancelled: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "cancelled": self.cancelled, "errors": self.errors, "dry_run": self.dry_run}


def read_table(data: bytes, filename: str) -> list[list[Any]]:
    """Rows of cells from an XLSX (first sheet) or a CSV (UTF-8, UTF-8 with BOM or GB18030)."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - zip/xml errors of a broken file
            raise ImportFileError(f"not a readable XLSX file: {exc}") from None
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
        wb.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("the CSV file is neither UTF-8 nor GB18030 text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _header(row: list[Any]) -> dict[str, int]:
    index: dict[str, int] = {}
    names = [str(c).strip().lower() if c is not None else "" for c in row]
    for key, aliases in COLUMNS.items():
        for i, name in enumerate(names):
            if name in {a.lower() for a in aliases}:
                index[key] = i
                break
    missing = [COLUMNS[k][0] + "/" + COLUMNS[k][2] for k in REQUIRED if k not in index]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)}")
    return index


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _datetime(s: str) -> dt.datetime:
    """ISO-8601, or the way spreadsheets write it (``2026-11-23 8:30``, seconds optional)."""
    try:
        return dt.datetime.fromisoformat(s)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ValueError(s)


def parse_time(v: Any, tz: ZoneInfo, *, end: bool) -> dt.datetime:
    """A cell as an aware time: datetimes as given (hall time when naive); a date alone (also a spreadsheet date
    cell, read as midnight) is the start of that day, or for an end the start of the next day (the whole day is
    included)."""
    if isinstance(v, dt.datetime) and v.tzinfo is None and v.time() == dt.time():
        v = v.date()  # a spreadsheet date cell comes back as a datetime at midnight
    if isinstance(v, dt.datetime):
        t = v
    elif isinstance(v, dt.date):
        t = dt.datetime.combine(v + dt.timedelta(days=1 if end else 0), dt.time(), tz)
        return t
    else:
        s = _text(v).replace("/", "-").replace("T", " ")
        if not s:
            raise ApprovalError("time missing")
        try:
            if len(s) <= 10:
                d = dt.date.fromisoformat("-".join(p.zfill(2) for p in s.split("-")))
                return dt.datetime.combine(d + dt.timedelta(days=1 if end else 0), dt.time(), tz)
            t = _datetime(s)
        except ValueError:
            raise ApprovalError(f"cannot read time {s!r} (use 2026-11-23 08:30 or 2026-11-23)") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return t


def parse_row(cells: list[Any], index: dict[str, int], tz: ZoneInfo) -> tuple[AbsenceIn, str]:
    """(record, name as written) of one row; ApprovalError for a bad cell."""
    def cell(key: str) -> Any:
        i = index.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    kind_text = _text(cell("kind"))
    kind = KINDS.get(kind_text.lower()) or KINDS.get(kind_text)
    if kind is None:
        raise ApprovalError(f"unknown kind {kind_text!r} (请假, 公出, 培训, 顶岗)")
    status = _text(cell("status")).lower()
    if status not in CANCELLED and status not in APPROVED:
        raise ApprovalError(f"unknown status {status!r} (已批准 or 已撤销)")
    record = AbsenceIn(
        staff_id=_text(cell("staff_id")), kind=kind, start=parse_time(cell("start"), tz, end=False),
        end=parse_time(cell("end"), tz, end=True), approver=_text(cell("approver")), reason=_text(cell("reason")),
        window_id=_text(cell("window")) or None, covers_staff_id=_text(cell("covers")) or None,
        external_id=_text(cell("id"))[:100] or None, cancelled=status in CANCELLED)
    if not record.staff_id:
        raise ApprovalError("staff id (工号) missing")
    return record, _text(cell("name"))


def import_absences(session: Session, hall_id: str, tz: ZoneInfo, data: bytes, filename: str, *, actor: str,
                    user_id: int | None = None, dry_run: bool = False) -> ImportReport:
    """Apply every row of the file (each in a SAVEPOINT); ImportFileError when the file cannot be read at all."""
    table = [r for r in read_table(data, filename) if any(_text(c) for c in r)]
    if not table:
        raise ImportFileError("the file is empty")
    if len(table) - 1 > MAX_ROWS:
        raise ImportFileError(f"more than {MAX_ROWS} rows; split the file")
    index = _header(table[0])
    report = ImportReport(rows=len(table) - 1, dry_run=dry_run)
    outer = session.begin_nested() if dry_run else None
    for n, cells in enumerate(table[1:], start=2):
        try:
            with session.begin_nested():
                record, name = parse_row(list(cells), index, tz)
                if name and staff_by_code(session, hall_id, record.staff_id).name != name:
                    raise ApprovalError(f"name {name!r} does not match staff {record.staff_id!r}")
                _, what = record_absence(session, hall_id, record, source="import", actor=actor, user_id=user_id)
        except ApprovalError as exc:
            report.errors.append({"row": n, "error": str(exc)})
            continue
        setattr(report, what, getattr(report, what) + 1)
    if outer is not None:
        outer.rollback()
    return report
