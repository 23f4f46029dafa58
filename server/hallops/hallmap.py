"""The hall map (电子地图): what can be placed on the floor plan, where it is, and its live state.

Items are the hall's active windows, cameras, exit zones (from the cameras' ``exit`` zones) and sensors; each
item's state is the one the board shows (window state, camera health, sensor online), and its open alerts are
the hall's open or acknowledged alerts whose finding names that window, camera, exit zone or sensor.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import RULES
from server.db import Alert, Camera, Finding, Hall, Sensor
from server.hallops.models import MapMarker

MAX_IMAGE_BYTES = 8 * 1024 * 1024
IMAGE_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}
SEVERITY_RANK = {"critical": 3, "major": 2, "minor": 1}


class MapError(ValueError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def check_floor_plan(data: bytes) -> tuple[str, int, int]:
    """(content type, width, height) of an uploaded floor plan; PNG or JPEG that decodes, at most 8 MiB."""
    if not data:
        raise MapError(422, "empty file")
    if len(data) > MAX_IMAGE_BYTES:
        raise MapError(413, f"floor plan larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    ctype = next((t for magic, t in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if ctype is None:
        raise MapError(415, "floor plan must be a PNG or JPEG image")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MapError(422, "floor plan image cannot be decoded")
    return ctype, int(img.shape[1]), int(img.shape[0])


def map_items(session: Session, hall: Hall) -> list[dict[str, Any]]:
    """Every placeable item of the hall with its live state and open alerts (most severe first)."""
    items: list[dict[str, Any]] = []
    alerts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    cams = list(session.scalars(select(Camera).where(Camera.hall_id == hall.id, Camera.active.is_(True))
                                .order_by(Camera.code)))
    sensors = list(session.scalars(select(Sensor).where(Sensor.hall_id == hall.id, Sensor.active.is_(True))
                                   .order_by(Sensor.code)))
    win_code = {w.id: w.code for w in hall.windows}
    cam_code = {c.id: c.code for c in cams}
    sen_code = {s.id: s.code for s in sensors}
    exits = {z["id"]: (c, z) for c in cams for z in (c.zones or []) if isinstance(z, dict) and z.get("kind") == "exit"}
    q = (select(Alert.id, Alert.status, Finding.rule, Finding.severity, Finding.window_id, Finding.camera_id,
                Finding.sensor_id, Finding.zone_code)
         .join(Finding, Alert.finding_id == Finding.id)
         .where(Alert.hall_id == hall.id, Alert.status.in_(("open", "acknowledged"))))
    for aid, status, rule, severity, wid, cid, sid, zone in session.execute(q):
        a = {"id": aid, "status": status, "rule": rule, "rule_name": RULES.get(rule, rule), "severity": severity}
        if zone in exits:
            alerts.setdefault(("exit", zone), []).append(a)
        elif wid in win_code:
            alerts.setdefault(("window", win_code[wid]), []).append(a)
        elif sid in sen_code:
            alerts.setdefault(("sensor", sen_code[sid]), []).append(a)
        elif cid in cam_code:
            alerts.setdefault(("camera", cam_code[cid]), []).append(a)

    def add(kind: str, ref: str, name: str, state: str, **extra: Any) -> None:
        found = sorted(alerts.get((kind, ref), []), key=lambda a: (-SEVERITY_RANK.get(a["severity"], 0), -a["id"]))
        items.append({"kind": kind, "ref": ref, "name": name, "state": state, "alerts": found, **extra})

    for w in hall.windows:
        if w.active:
            add("window", w.code, w.name, "closed" if w.closed else w.live_state, number=w.number,
                persons=w.live_persons)
    for c in cams:
        add("camera", c.code, c.name, c.health)
    for zid, (c, z) in exits.items():
        add("exit", zid, z.get("name") or zid, "ok", camera=c.code)
    for s in sensors:
        lv = s.last_value or {}
        add("sensor", s.code, s.name, "unknown" if s.online is None else ("ok" if s.online else "offline"),
            sensor_kind=s.kind, value=lv.get("value"), unit=lv.get("unit"))
    return items


def markers(session: Session, hall_id: str) -> dict[tuple[str, str], MapMarker]:
    return {(m.kind, m.ref): m for m in session.scalars(select(MapMarker).where(MapMarker.hall_id == hall_id))}
