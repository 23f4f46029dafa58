"""Halls, windows (with live state and roster), staff, cameras, sensors; site import by admins."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select

from server.db import Camera, Hall, RosterAssignment, Sensor, Staff, User, Window
from server.deps import SessionDep, ViewerUser, ensure_hall_visible

router = APIRouter(prefix="/api/v1/halls", tags=["site"])


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class HallOut(_Out):
    id: str = Field(description="Hall id.")
    name: str = Field(description="Display name.")
    timezone: str = Field(description="IANA time zone.")
    address: str | None = Field(description="Address.")
    imported_at: dt.datetime | None = Field(description="Last site import that changed something.")


class RosterOut(_Out):
    role: str = Field(description="A | B | substitute.")
    staff_id: int = Field(description="Staff row id.")
    staff_code: str = Field(description="Staff id from the site config.")
    staff_name: str = Field(description="Name.")
    valid_from: dt.date = Field(description="First day.")
    valid_to: dt.date | None = Field(description="Last day, None = open-ended.")


class WindowOut(_Out):
    id: int = Field(description="Window row id.")
    code: str = Field(description="Window id from the site config.")
    number: int = Field(description="Number above the counter.")
    name: str = Field(description="Window name.")
    business: str | None = Field(description="Services handled.")
    midday_duty: bool = Field(description="Midday duty desk.")
    closed: bool = Field(description="Marked closed.")
    live_state: str = Field(description="staffed | empty | closed | off_duty | unknown | uncertain.")
    live_since: dt.datetime | None = Field(description="Since when.")
    live_persons: int = Field(description="Persons in the seat zone.")
    roster: list[RosterOut] = Field(default_factory=list, description="Assignments valid today.")


class StaffOut(_Out):
    id: int = Field(description="Staff row id.")
    code: str = Field(description="Staff id from the site config.")
    name: str = Field(description="Name.")
    department: str | None = Field(description="Department.")
    active: bool = Field(description="Still in the site config.")


class DeviceOut(_Out):
    id: int = Field(description="Row id.")
    code: str = Field(description="Id from the site config.")
    name: str = Field(description="Display name.")
    kind: str = Field(description="'camera' or the sensor kind.")
    health: str = Field(description="Camera health or sensor online/offline/unknown.")
    last_seen: dt.datetime | None = Field(description="Last report.")
    last_value: dict[str, Any] | None = Field(default=None, description="Sensor's last reading.")


def _hall(session: Any, hall_id: str, user: User) -> Hall:
    ensure_hall_visible(user, hall_id)
    hall = session.get(Hall, hall_id)
    if hall is None:
        raise HTTPException(404, f"no hall {hall_id!r}")
    return hall


@router.get("", response_model=list[HallOut], summary="List halls")
def list_halls(user: ViewerUser, session: SessionDep) -> list[Hall]:
    q = select(Hall).order_by(Hall.id)
    if user.hall_id is not None:
        q = q.where(Hall.id == user.hall_id)
    return list(session.scalars(q))


@router.get("/{hall_id}", response_model=HallOut, summary="One hall")
def get_hall(hall_id: str, user: ViewerUser, session: SessionDep) -> Hall:
    return _hall(session, hall_id, user)


@router.get("/{hall_id}/windows", response_model=list[WindowOut], summary="Windows with live state and roster")
def list_windows(hall_id: str, user: ViewerUser, session: SessionDep, on: dt.date | None = None) -> list[WindowOut]:
    hall = _hall(session, hall_id, user)
    day = on or dt.datetime.now(ZoneInfo(hall.timezone)).date()
    windows = session.scalars(select(Window).where(Window.hall_id == hall_id, Window.active.is_(True))
                              .order_by(Window.number)).all()
    rows = session.execute(
        select(RosterAssignment, Staff).join(Staff, RosterAssignment.staff_id == Staff.id)
        .where(RosterAssignment.window_id.in_([w.id for w in windows]), RosterAssignment.valid_from <= day,
               or_(RosterAssignment.valid_to.is_(None), RosterAssignment.valid_to >= day))
        .order_by(RosterAssignment.role)).all()
    roster: dict[int, list[RosterOut]] = {}
    for a, s in rows:
        roster.setdefault(a.window_id, []).append(RosterOut(role=a.role, staff_id=s.id, staff_code=s.code,
                                                            staff_name=s.name, valid_from=a.valid_from,
                                                            valid_to=a.valid_to))
    out = []
    for w in windows:
        item = WindowOut.model_validate(w, from_attributes=True)
        item.roster = roster.get(w.id, [])
        out.append(item)
    return out


@router.get("/{hall_id}/staff", response_model=list[StaffOut], summary="Staff of the hall")
def list_staff(hall_id: str, user: ViewerUser, session: SessionDep) -> list[Staff]:
    _hall(session, hall_id, user)
    return list(session.scalars(select(Staff).where(Staff.hall_id == hall_id).order_by(Staff.code)))


@router.get("/{hall_id}/devices", response_model=list[DeviceOut], summary="Cameras and sensors with health")
def list_devices(hall_id: str, user: ViewerUser, session: SessionDep) -> list[DeviceOut]:
    _hall(session, hall_id, user)
    out = [DeviceOut(id=c.id, code=c.code, name=c.name, kind="camera", health=c.health, last_seen=c.last_seen)
           for c in session.scalars(select(Camera).where(Camera.hall_id == hall_id, Camera.active.is_(True))
                                    .order_by(Camera.code))]
    for s in session.scalars(select(Sensor).where(Sensor.hall_id == hall_id, Sensor.active.is_(True))
                             .order_by(Sensor.code)):
        health = "unknown" if s.online is None else ("online" if s.online else "offline")
        out.append(DeviceOut(id=s.id, code=s.code, name=s.name, kind=s.kind, health=health, last_seen=s.last_seen,
                             last_value=s.last_value))
    return out
