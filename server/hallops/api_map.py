"""Hall map API (电子地图): the floor plan image and the positions of windows, cameras, exits and sensors on it
(admins place them; everyone sees them with their live state and open alerts)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.audit import audit
from server.console.permissions import check_hall, require
from server.console.views import iso
from server.db import Hall, User, utcnow
from server.deps import SessionDep, ViewerUser
from server.hallops.api_roster import hall_tz, window_seats
from server.hallops.body import read_limited
from server.hallops.hallmap import MAX_IMAGE_BYTES, MapError, check_floor_plan, map_items, markers
from server.hallops.models import HallMap, MapMarker

router = APIRouter(prefix="/api/v1/console", tags=["console"])


class MarkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: float = Field(ge=0, le=1, description="Horizontal position as a fraction of the plan width.")
    y: float = Field(ge=0, le=1, description="Vertical position as a fraction of the plan height.")


def _display(session: Any, username: str) -> str:
    u = session.scalars(select(User).where(User.username == username)).first()
    return (u.display_name or u.username) if u else username


def _hall(session: Any, user: Any, hall_id: str) -> Hall:
    return check_hall(user, session.get(Hall, hall_id), hall_id)


@router.get("/halls/{hall_id}/map", summary="Hall map: floor plan, placed items, live state and open alerts")
def get_map(hall_id: str, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    hall = _hall(session, user, hall_id)
    plan = session.get(HallMap, hall_id)
    placed = markers(session, hall_id)
    items = map_items(session, hall)
    now = utcnow()
    seats = {w["id"]: w for w in window_seats(session, hall, now, now.astimezone(hall_tz(hall)).date())}
    for it in items:
        m = placed.get((it["kind"], it["ref"]))
        it["x"], it["y"] = (m.x, m.y) if m else (None, None)
        if it["kind"] == "window" and it["ref"] in seats:
            seat = seats[it["ref"]]
            it.update(seated=seat["seated"], post=seat["post"], staff_a=seat["staff_a"], staff_b=seat["staff_b"])
    return {"hall_id": hall_id, "has_plan": plan is not None,
            "plan": {"width": plan.width, "height": plan.height, "updated_at": iso(plan.updated_at),
                     "updated_by": _display(session, plan.updated_by)} if plan else None,
            "items": items}


@router.put("/halls/{hall_id}/map/plan", status_code=204, summary="Upload the floor plan (PNG or JPEG; admin)")
async def put_plan(hall_id: str, request: Request, user: ViewerUser, session: SessionDep) -> None:
    require(user, "configure")
    _hall(session, user, hall_id)
    data = await read_limited(request, MAX_IMAGE_BYTES, "floor plan")
    try:
        ctype, w, h = check_floor_plan(data)
    except MapError as exc:
        raise HTTPException(exc.status, exc.detail) from None
    plan = session.get(HallMap, hall_id)
    before = {"width": plan.width, "height": plan.height} if plan else None
    if plan is None:
        plan = HallMap(hall_id=hall_id, image=data, content_type=ctype, width=w, height=h, updated_by=user.username)
        session.add(plan)
    else:
        plan.image, plan.content_type, plan.width, plan.height = data, ctype, w, h
        plan.updated_by, plan.updated_at = user.username, utcnow()
    audit(session, actor=user.username, user_id=user.id, action="map.plan", entity_type="hall", entity_id=hall_id,
          before=before, after={"width": w, "height": h, "bytes": len(data)})


@router.get("/halls/{hall_id}/map/plan", summary="The floor plan image")
def get_plan(hall_id: str, user: ViewerUser, session: SessionDep) -> Response:
    _hall(session, user, hall_id)
    plan = session.get(HallMap, hall_id)
    if plan is None:
        raise HTTPException(404, "no floor plan uploaded")
    return Response(plan.image, media_type=plan.content_type, headers={"Cache-Control": "no-cache"})


@router.put("/halls/{hall_id}/map/markers/{kind}/{ref}", summary="Place an item on the floor plan (admin)")
def put_marker(hall_id: str, kind: Literal["window", "camera", "exit", "sensor"], ref: str, body: MarkerIn,
               user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    require(user, "configure")
    hall = _hall(session, user, hall_id)
    if session.get(HallMap, hall_id) is None:
        raise HTTPException(409, "upload a floor plan first")
    if not any(it["kind"] == kind and it["ref"] == ref for it in map_items(session, hall)):
        raise HTTPException(404, f"{kind} {ref!r} not configured in hall {hall_id!r}")
    m = markers(session, hall_id).get((kind, ref))
    before = {"x": m.x, "y": m.y} if m else None
    if m is None:
        m = MapMarker(hall_id=hall_id, kind=kind, ref=ref, x=body.x, y=body.y, updated_by=user.username)
        session.add(m)
    else:
        m.x, m.y, m.updated_by, m.updated_at = body.x, body.y, user.username, utcnow()
    audit(session, actor=user.username, user_id=user.id, action="map.place", entity_type="map_marker",
          entity_id=f"{hall_id}/{kind}/{ref}", before=before, after={"x": body.x, "y": body.y})
    return {"kind": kind, "ref": ref, "x": body.x, "y": body.y}


@router.delete("/halls/{hall_id}/map/markers/{kind}/{ref}", status_code=204, summary="Take an item off the plan")
def delete_marker(hall_id: str, kind: str, ref: str, user: ViewerUser, session: SessionDep) -> None:
    require(user, "configure")
    _hall(session, user, hall_id)
    m = markers(session, hall_id).get((kind, ref))
    if m is None:
        raise HTTPException(404, "not on the map")
    audit(session, actor=user.username, user_id=user.id, action="map.remove", entity_type="map_marker",
          entity_id=f"{hall_id}/{kind}/{ref}", before={"x": m.x, "y": m.y})
    session.delete(m)
