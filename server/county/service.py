"""Region tree: import from YAML, who sees which halls, and the roll-up figures of the county view."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge.site import Id
from edge.yamlconfig import load_yaml_model
from server.county.models import HallRegion, Region, UserRegion
from server.db import Alert, Camera, Edge, Hall, SafetyCheck, Sensor, User, Window

log = logging.getLogger(__name__)
OPEN_STATUSES = ("open", "acknowledged")
CAMERA_DOWN = ("offline", "frozen", "covered", "dark")


# ----------------------------------------------------------------------------------------------- config
class RegionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id = Field(description="Region id, e.g. 'lanling' (letters, digits, '_', '-', '.').")
    name: str = Field(min_length=1, max_length=200, description="Name, e.g. '兰陵县'.")
    kind: Literal["province", "city", "county", "township"] = Field(description="Level in the tree.")
    halls: list[Id] = Field(default_factory=list, description="Hall ids that belong directly to this region.")
    children: list[RegionConfig] = Field(default_factory=list, description="Regions below this one.")


class RegionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    regions: list[RegionConfig] = Field(min_length=1, description="Top-level regions (a city or a county).")


def load_regions(path: str | Path) -> RegionsFile:
    """Load and validate a regions file (errors name the YAML line)."""
    return load_yaml_model(path, RegionsFile)


def import_regions(session: Session, cfg: RegionsFile) -> dict[str, int]:
    """Create or update every region and hall link of ``cfg``; halls not (yet) in the database are skipped."""
    seen: set[str] = set()
    links = 0

    def walk(node: RegionConfig, parent: str | None) -> None:
        nonlocal links
        if node.id in seen:
            raise ValueError(f"region {node.id!r} appears twice")
        seen.add(node.id)
        row = session.get(Region, node.id)
        if row is None:
            row = Region(id=node.id)
            session.add(row)
        row.name, row.kind, row.parent_id = node.name, node.kind, parent
        session.flush()
        for hall in node.halls:
            if session.get(Hall, hall) is None:
                log.warning("regions: hall %r of %s is not imported yet; link skipped", hall, node.id)
                continue
            link = session.get(HallRegion, hall) or HallRegion(hall_id=hall)
            link.region_id = node.id
            session.add(link)
            links += 1
        for child in node.children:
            walk(child, node.id)

    for top in cfg.regions:
        walk(top, None)
    session.flush()
    return {"regions": len(seen), "halls": links}


# ----------------------------------------------------------------------------------------------- scope
def subtree(session: Session, region_id: str) -> set[str]:
    children: dict[str | None, list[str]] = {}
    for rid, parent in session.execute(select(Region.id, Region.parent_id)):
        children.setdefault(parent, []).append(rid)
    out, todo = set(), [region_id]
    while todo:
        r = todo.pop()
        if r not in out:
            out.add(r)
            todo += children.get(r, [])
    return out


def visible_halls(session: Session, user: User) -> list[str]:
    """Hall ids the user may see in the county view: a county user its region's subtree, a hall-bound user its
    hall, a global user every hall."""
    if user.role == "county":
        link = session.get(UserRegion, user.id)
        if link is None:
            return []
        regions = subtree(session, link.region_id)
        return sorted(session.scalars(select(HallRegion.hall_id).where(HallRegion.region_id.in_(regions))))
    if user.hall_id is not None:
        return [user.hall_id]
    return sorted(session.scalars(select(Hall.id)))


def tree(session: Session, halls: list[str]) -> list[dict[str, Any]]:
    """The region tree pruned to the branches holding these halls; halls without a region under ``None``."""
    regions = {r.id: r for r in session.scalars(select(Region))}
    hall_region = dict(session.execute(select(HallRegion.hall_id, HallRegion.region_id)
                                       .where(HallRegion.hall_id.in_(halls))).all())
    names = dict(session.execute(select(Hall.id, Hall.name).where(Hall.id.in_(halls))).all())
    keep: set[str] = set()
    for rid in hall_region.values():
        while rid is not None and rid not in keep:
            keep.add(rid)
            rid = regions[rid].parent_id if rid in regions else None
    nodes = {rid: {"id": rid, "name": regions[rid].name, "kind": regions[rid].kind, "children": [], "halls": []}
             for rid in keep}
    roots = []
    for rid in sorted(keep, key=lambda r: regions[r].name):
        parent = regions[rid].parent_id
        (nodes[parent]["children"] if parent in nodes else roots).append(nodes[rid])
    loose = []
    for h in halls:
        entry = {"id": h, "name": names.get(h, h)}
        (nodes[hall_region[h]]["halls"] if h in hall_region else loose).append(entry)
    if loose:
        roots.append({"id": None, "name": None, "kind": None, "children": [], "halls": loose})
    return roots


def region_path(session: Session, halls: list[str]) -> dict[str, list[str]]:
    """Each hall's region names from the top down."""
    regions = {r.id: r for r in session.scalars(select(Region))}
    out = {}
    for hall, rid in session.execute(select(HallRegion.hall_id, HallRegion.region_id)
                                     .where(HallRegion.hall_id.in_(halls))):
        path = []
        while rid is not None and rid in regions:
            path.append(regions[rid].name)
            rid = regions[rid].parent_id
        out[hall] = path[::-1]
    return out


# ----------------------------------------------------------------------------------------------- figures
def _grouped(session: Session, stmt) -> dict[str, int]:
    return {h: n for h, n in session.execute(stmt).all()}


def board(session: Session, halls: list[str], now: dt.datetime) -> list[dict[str, Any]]:
    """One row per hall: open alerts, staffed windows, devices offline, today's (hall-local) safety check."""
    if not halls:
        return []
    rows = {h.id: h for h in session.scalars(select(Hall).where(Hall.id.in_(halls)))}
    open_alerts = _grouped(session, select(Alert.hall_id, func.count()).where(
        Alert.hall_id.in_(halls), Alert.status.in_(OPEN_STATUSES)).group_by(Alert.hall_id))
    escalated = _grouped(session, select(Alert.hall_id, func.count()).where(
        Alert.hall_id.in_(halls), Alert.status.in_(OPEN_STATUSES), Alert.escalated.is_(True)).group_by(Alert.hall_id))
    windows = _grouped(session, select(Window.hall_id, func.count()).where(
        Window.hall_id.in_(halls), Window.active.is_(True)).group_by(Window.hall_id))
    staffed = _grouped(session, select(Window.hall_id, func.count()).where(
        Window.hall_id.in_(halls), Window.active.is_(True), Window.live_state == "staffed").group_by(Window.hall_id))
    edges_off = _grouped(session, select(Edge.hall_id, func.count()).where(
        Edge.hall_id.in_(halls), Edge.online.is_not(True)).group_by(Edge.hall_id))
    sensors_off = _grouped(session, select(Sensor.hall_id, func.count()).where(
        Sensor.hall_id.in_(halls), Sensor.online.is_(False)).group_by(Sensor.hall_id))
    cams_off = _grouped(session, select(Camera.hall_id, func.count()).where(
        Camera.hall_id.in_(halls), Camera.active.is_(True), Camera.health.in_(CAMERA_DOWN)).group_by(Camera.hall_id))
    earliest = now - dt.timedelta(days=1, hours=14)  # covers every time zone's "today"
    checks: dict[str, SafetyCheck] = {}
    for chk in session.scalars(select(SafetyCheck).where(SafetyCheck.hall_id.in_(halls),
                                                         SafetyCheck.requested_at >= earliest)
                               .order_by(SafetyCheck.requested_at)):
        tz = ZoneInfo(rows[chk.hall_id].timezone) if chk.hall_id in rows else dt.timezone.utc
        if chk.requested_at.astimezone(tz).date() == now.astimezone(tz).date():
            checks[chk.hall_id] = chk  # the latest of today wins
    paths = region_path(session, halls)
    out = []
    for h in halls:
        hall = rows.get(h)
        if hall is None:
            continue
        chk = checks.get(h)
        out.append({
            "hall_id": h, "name": hall.name, "region": paths.get(h, []),
            "open_alerts": open_alerts.get(h, 0), "escalated_alerts": escalated.get(h, 0),
            "windows": windows.get(h, 0), "staffed_windows": staffed.get(h, 0),
            "devices_offline": edges_off.get(h, 0) + sensors_off.get(h, 0) + cams_off.get(h, 0),
            "edges_offline": edges_off.get(h, 0), "sensors_offline": sensors_off.get(h, 0),
            "cameras_offline": cams_off.get(h, 0),
            "safety_check": None if chk is None else {"id": chk.id, "status": chk.status, "trigger": chk.trigger,
                                                      "requested_at": chk.requested_at.isoformat()},
        })
    return out


def ranking(session: Session, scheme: Any, halls: list[str], period: str) -> dict[str, list[dict[str, Any]]]:
    """Halls and windows ranked by assessment deductions in the period (most first), from each hall's sheet."""
    from server.assessment.signoff import sheet_for

    hall_rows, window_rows = [], []
    for h in halls:
        sheet = sheet_for(session, scheme, h, period)
        total = 0.0
        for w in sheet["windows"]:
            d = float(w["sheet"]["deduction_total"])
            total += d
            window_rows.append({"hall_id": h, "hall_name": sheet["hall"]["name"], "window_id": w["id"],
                                "window_name": w["name"], "deductions": d, "score": w["sheet"]["score"]})
        hall_rows.append({"hall_id": h, "name": sheet["hall"]["name"], "deductions": round(total, 2),
                          "windows": len(sheet["windows"])})
    hall_rows.sort(key=lambda r: (-r["deductions"], r["hall_id"]))
    window_rows.sort(key=lambda r: (-r["deductions"], r["hall_id"], r["window_id"]))
    for i, r in enumerate(hall_rows, 1):
        r["rank"] = i
    for i, r in enumerate(window_rows, 1):
        r["rank"] = i
    return {"halls": hall_rows, "windows": window_rows}


def drill(session: Session, hall_id: str, now: dt.datetime) -> dict[str, Any]:
    """One hall in detail: its board row, windows with live state, open alerts, devices not online."""
    (row,) = board(session, [hall_id], now)
    windows = [{"id": w.code, "number": w.number, "name": w.name, "state": w.live_state,
                "since": w.live_since.isoformat() if w.live_since else None}
               for w in session.scalars(select(Window).where(Window.hall_id == hall_id, Window.active.is_(True))
                                        .order_by(Window.number))]
    alerts = [{"id": a.id, "status": a.status, "escalated": a.escalated, "rule": a.finding.rule,
               "severity": a.finding.severity, "created_at": a.created_at.isoformat()}
              for a in session.scalars(select(Alert).where(Alert.hall_id == hall_id, Alert.status.in_(OPEN_STATUSES))
                                       .order_by(Alert.created_at.desc()).limit(50))]
    devices = ([{"kind": "edge", "id": e.code, "last_seen": e.last_seen.isoformat() if e.last_seen else None}
                for e in session.scalars(select(Edge).where(Edge.hall_id == hall_id, Edge.online.is_not(True)))] +
               [{"kind": "sensor", "id": s.code, "name": s.name,
                 "last_seen": s.last_seen.isoformat() if s.last_seen else None}
                for s in session.scalars(select(Sensor).where(Sensor.hall_id == hall_id, Sensor.online.is_(False)))] +
               [{"kind": "camera", "id": cam.code, "health": cam.health}
                for cam in session.scalars(select(Camera).where(Camera.hall_id == hall_id, Camera.active.is_(True),
                                                                Camera.health.in_(CAMERA_DOWN)))])
    return {**row, "window_list": windows, "alerts": alerts, "devices": devices}
