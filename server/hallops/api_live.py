"""Live pictures API: edges upload, the console lists and shows them."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import select

from server.console.permissions import check_hall
from server.console.views import iso
from server.db import Camera, Hall, utcnow
from server.deps import CurrentEdge, SessionDep, ViewerUser
from server.hallops.body import read_limited
from server.hallops.live import (
    BOUNDARY,
    FAST_INTERVAL_S,
    MAX_BYTES,
    WATCH_S,
    LiveError,
    first_boundary,
    is_watched,
    live_dir,
    mark_watched,
    part,
    picture_path,
    picture_time,
    read_new,
    save_picture,
)

router = APIRouter(prefix="/api/v1", tags=["console"])


def _root(request: Request):
    return live_dir(request.app.state.settings.data_dir)


def _camera(session: Any, hall_id: str, code: str) -> Camera:
    cam = session.scalars(select(Camera).where(Camera.hall_id == hall_id, Camera.code == code,
                                               Camera.active.is_(True))).first()
    if cam is None:
        raise HTTPException(404, f"camera {code!r} not configured in hall {hall_id!r}")
    return cam


@router.put("/edges/live/{camera_id}", status_code=204, summary="Edge: the latest low-resolution picture of a camera")
async def put_live(camera_id: str, request: Request, response: Response, edge: CurrentEdge,
                   session: SessionDep) -> None:
    """Stores the picture. While a console user watches the camera's live video the answer carries
    ``X-Live-Interval`` (seconds): the edge sends this camera's pictures that often until it is gone."""
    _camera(session, edge.hall_id, camera_id)
    data = await read_limited(request, MAX_BYTES, "picture")
    try:
        save_picture(_root(request), edge.hall_id, camera_id, data)
    except LiveError as exc:
        raise HTTPException(exc.status, exc.detail) from None
    if is_watched(_root(request), edge.hall_id, camera_id):
        response.headers["X-Live-Interval"] = f"{FAST_INTERVAL_S:g}"


def live_cameras(session: Any, root: Any, hall: Hall) -> list[dict[str, Any]]:
    now = utcnow()
    out = []
    for c in session.scalars(select(Camera).where(Camera.hall_id == hall.id, Camera.active.is_(True))
                             .order_by(Camera.code)):
        at = picture_time(root, hall.id, c.code)
        seats = sorted({z.get("window") for z in (c.zones or []) if isinstance(z, dict) and z.get("window")})
        out.append({"id": c.code, "name": c.name, "state": c.health, "fps": c.fps, "enabled": c.enabled,
                    "windows": seats, "picture_at": iso(at),
                    "age_s": round((now - at).total_seconds(), 1) if at else None})
    return out


@router.get("/console/halls/{hall_id}/live", summary="Cameras of a hall with the time of their latest picture")
def list_live(hall_id: str, request: Request, user: ViewerUser, session: SessionDep) -> list[dict[str, Any]]:
    hall = check_hall(user, session.get(Hall, hall_id), hall_id)
    return live_cameras(session, _root(request), hall)


@router.get("/console/halls/{hall_id}/live/{camera_id}.jpg", summary="The latest picture of a camera")
def live_picture(hall_id: str, camera_id: str, request: Request, user: ViewerUser, session: SessionDep):
    check_hall(user, session.get(Hall, hall_id), hall_id)
    _camera(session, hall_id, camera_id)
    path = picture_path(_root(request), hall_id, camera_id)
    if not path.exists():
        raise HTTPException(404, "no picture yet")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


POLL_S = 0.2


@router.get("/console/halls/{hall_id}/live/{camera_id}.mjpeg",
            summary="Live video of a camera: its pictures as they arrive (MJPEG), for at most `seconds`")
async def live_stream(hall_id: str, camera_id: str, request: Request, user: ViewerUser, session: SessionDep,
                      seconds: Annotated[float, Query(gt=0, le=600, description="Stream length; reopen to go on")]
                      = 300) -> StreamingResponse:
    check_hall(user, session.get(Hall, hall_id), hall_id)
    _camera(session, hall_id, camera_id)
    root = _root(request)
    path = picture_path(root, hall_id, camera_id)

    async def gen():
        end = time.monotonic() + seconds
        last, marked = None, 0.0
        yield first_boundary()
        while time.monotonic() < end:
            if time.monotonic() - marked >= WATCH_S / 3:
                mark_watched(root, hall_id, camera_id)
                marked = time.monotonic()
            last, data = read_new(path, last)
            if data is not None:
                yield part(data)
            await asyncio.sleep(POLL_S)
            if await request.is_disconnected():
                return

    return StreamingResponse(gen(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
