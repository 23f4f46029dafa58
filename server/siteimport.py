"""Import a site config (edge.site.SiteConfig) into hall/window/staff/roster/camera/sensor/edge rows.

Idempotent upsert keyed by the config ids: importing the same file twice changes nothing;
removed windows/cameras/sensors/staff are marked inactive (history keeps its references);
a changed A/B post closes the old roster assignment (valid_to = yesterday) and opens a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.site import SiteConfig, load_site_config
from server.audit import audit
from server.db import Camera, Edge, Hall, RosterAssignment, Sensor, Staff, Window, utcnow

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    hall_id: str
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)

    def bump(self, what: str, kind: str) -> None:
        d = getattr(self, what)
        d[kind] = d.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


def _upsert(session: Session, model: type, report: ImportReport, kind: str, key: dict[str, Any],
            values: dict[str, Any]) -> Any:
    row = session.scalars(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **values)
        session.add(row)
        report.bump("created", kind)
        return row
    changed = False
    for k, v in values.items():
        if getattr(row, k) != v:
            setattr(row, k, v)
            changed = True
    if changed:
        report.bump("updated", kind)
    return row


def _deactivate(session: Session, model: type, hall_id: str, keep: set[str], report: ImportReport,
                kind: str) -> None:
    for row in session.scalars(select(model).where(model.hall_id == hall_id, model.active.is_(True))):
        if row.code not in keep:
            row.active = False
            report.bump("deactivated", kind)


def import_site(session: Session, cfg: SiteConfig, *, actor: str = "system", today: dt.date | None = None) -> ImportReport:
    today = today or dt.datetime.now(cfg.tz).date()
    h = cfg.hall
    report = ImportReport(h.id)
    raw = cfg.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    hall = _upsert(session, Hall, report, "hall", {"id": h.id},
                   {"name": h.name, "timezone": h.timezone, "address": h.address, "config": raw,
                    "config_sha256": digest})
    session.flush()
    staff = {s.id: _upsert(session, Staff, report, "staff", {"hall_id": h.id, "code": s.id},
                           {"name": s.name, "department": s.department, "active": True}) for s in cfg.staff}
    _deactivate(session, Staff, h.id, set(staff), report, "staff")
    windows = {w.id: _upsert(session, Window, report, "window", {"hall_id": h.id, "code": w.id},
                             {"number": w.number, "name": w.name, "business": w.business,
                              "midday_duty": w.midday_duty, "closed": w.closed, "active": True})
               for w in cfg.windows}
    _deactivate(session, Window, h.id, set(windows), report, "window")
    session.flush()
    for w in cfg.windows:
        for role, code in (("A", w.staff_a), ("B", w.staff_b)):
            _sync_roster(session, report, windows[w.id], staff[code] if code else None, role, today)
    cams = {c.id for c in cfg.cameras}
    for c in cfg.cameras:
        _upsert(session, Camera, report, "camera", {"hall_id": h.id, "code": c.id},
                {"name": c.name, "enabled": c.enabled, "zones": [z.model_dump(mode="json") for z in c.zones],
                 "active": True})
    _deactivate(session, Camera, h.id, cams, report, "camera")
    for s in cfg.sensors:
        win = windows.get(s.guards.window) if s.guards.window else None
        _upsert(session, Sensor, report, "sensor", {"hall_id": h.id, "code": s.id},
                {"name": s.name, "kind": s.kind, "adapter": s.adapter, "guards": s.guards.model_dump(mode="json"),
                 "window_id": win.id if win else None, "active": True})
    _deactivate(session, Sensor, h.id, {s.id for s in cfg.sensors}, report, "sensor")
    if session.scalars(select(Edge).filter_by(hall_id=h.id, code=cfg.edge.id)).first() is None:
        session.add(Edge(hall_id=h.id, code=cfg.edge.id))
        report.bump("created", "edge")
    if report.changed:
        hall.imported_at = utcnow()
        session.flush()
        audit(session, actor=actor, action="site.import", entity_type="hall", entity_id=h.id,
              after={"created": report.created, "updated": report.updated, "deactivated": report.deactivated,
                     "config_sha256": digest})
    return report


def _sync_roster(session: Session, report: ImportReport, window: Window, staff: Staff | None, role: str,
                 today: dt.date) -> None:
    current = session.scalars(select(RosterAssignment).where(
        RosterAssignment.window_id == window.id, RosterAssignment.role == role,
        RosterAssignment.source == "site", RosterAssignment.valid_to.is_(None))).all()
    keep = False
    for a in current:
        if staff is not None and a.staff_id == staff.id:
            keep = True
            continue
        a.valid_to = today - dt.timedelta(days=1) if a.valid_from < today else a.valid_from
        report.bump("updated", "roster")
    if staff is not None and not keep:
        session.add(RosterAssignment(window_id=window.id, staff_id=staff.id, role=role, valid_from=today,
                                     source="site"))
        report.bump("created", "roster")


def import_site_file(session: Session, path: str | Path, *, actor: str = "system") -> ImportReport:
    """Load, validate and import one file (raises edge.site.ConfigError with every problem)."""
    cfg = load_site_config(path)
    report = import_site(session, cfg, actor=actor)
    log.info("imported site %s from %s: created %s updated %s deactivated %s", report.hall_id, path,
             report.created, report.updated, report.deactivated)
    return report
