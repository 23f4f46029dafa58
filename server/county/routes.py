"""County view API (``/api/v1/county``): the region tree, the roll-up board, rankings by deductions, drill-down.

Who sees what: a ``county`` user every hall in its region's subtree (and nothing else: the role passes no other
route's role check); a hall-bound user its own hall; a global viewer and above every hall. The regions file
(``HALLWATCH_REGIONS_CONFIG``) is imported when the app starts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.county import service
from server.county.models import HallRegion, Region, UserRegion
from server.db import Hall, User, utcnow
from server.db.session import unit_of_work
from server.deps import ROLE_RANK, AdminUser, CurrentUser, SessionDep


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    path = getattr(app.state.settings, "regions_config", "")
    if path:
        cfg = service.load_regions(path)
        with unit_of_work(app.state.sessionmaker) as session:
            service.import_regions(session, cfg)
    yield


router = APIRouter(prefix="/api/v1/county", tags=["county"], lifespan=lifespan)


def county_reader(user: CurrentUser) -> User:
    if user.role != "county" and ROLE_RANK.get(user.role, -99) < ROLE_RANK["viewer"]:
        raise HTTPException(403, "requires the county role or viewer and above")
    return user


Reader = Annotated[User, Depends(county_reader)]


def _halls(session: Any, user: User, region: str | None) -> list[str]:
    halls = service.visible_halls(session, user)
    if region is not None:
        if session.get(Region, region) is None:
            raise HTTPException(404, f"unknown region {region!r}")
        inside = set(session.scalars(select(HallRegion.hall_id).where(
            HallRegion.region_id.in_(service.subtree(session, region)))))
        halls = [h for h in halls if h in inside]
    return halls


@router.get("/tree", summary="Region tree (city → county → township) with the halls the user may see")
def get_tree(user: Reader, session: SessionDep) -> list[dict[str, Any]]:
    return service.tree(session, service.visible_halls(session, user))


@router.get("/board", summary="Roll-up: each hall's open alerts, staffed windows, devices offline, today's safety "
            "check")
def get_board(user: Reader, session: SessionDep,
              region: Annotated[str | None, Query(max_length=64, description="Only halls under this region.")] = None
              ) -> dict[str, Any]:
    halls = _halls(session, user, region)
    rows = service.board(session, halls, utcnow())
    totals = {k: sum(r[k] for r in rows) for k in ("open_alerts", "escalated_alerts", "windows", "staffed_windows",
                                                   "devices_offline")}
    totals["halls"] = len(rows)
    totals["safety_failed"] = sum(1 for r in rows if r["safety_check"] and r["safety_check"]["status"] == "failed")
    totals["safety_missing"] = sum(1 for r in rows if r["safety_check"] is None)
    return {"at": utcnow().isoformat(), "totals": totals, "halls": rows}


@router.get("/ranking", summary="Halls and windows ranked by assessment deductions (most first)")
def get_ranking(request: Request, user: Reader, session: SessionDep,
                period: Annotated[str | None, Query(pattern=r"^\d{4}(-\d{2}|Q[1-4])$",
                                                    description="Month '2026-07' or quarter '2026Q3'; "
                                                    "default this month.")] = None,
                region: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    from server.assessment.routes import get_scheme

    period = period or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m")
    try:
        out = service.ranking(session, get_scheme(request), _halls(session, user, region), period)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"period": period, **out}


@router.get("/halls/{hall_id}", summary="Drill-down into one hall: windows, open alerts, devices not online")
def get_hall(hall_id: str, user: Reader, session: SessionDep) -> dict[str, Any]:
    if hall_id not in service.visible_halls(session, user) or session.get(Hall, hall_id) is None:
        raise HTTPException(404, "not found")
    return service.drill(session, hall_id, utcnow())


class RegionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region_id: str = Field(min_length=1, max_length=64, description="Region the county user oversees.")


@router.put("/users/{user_id}/region", summary="Bind a county user to the region it oversees (global admin)")
def set_user_region(user_id: int, body: RegionIn, admin: AdminUser, session: SessionDep) -> dict[str, Any]:
    if admin.hall_id is not None:
        raise HTTPException(403, "a hall-bound admin cannot grant county scope")
    target = session.get(User, user_id)
    region = body.region_id
    if target is None or target.role != "county":
        raise HTTPException(404, "no county user with that id")
    if not region or session.get(Region, region) is None:
        raise HTTPException(422, f"unknown region {region!r}")
    link = session.get(UserRegion, user_id) or UserRegion(user_id=user_id)
    link.region_id = region
    session.add(link)
    from server.audit import audit

    audit(session, actor=admin.username, user_id=admin.id, action="county.user_region", entity_type="user",
          entity_id=user_id, after={"region_id": region})
    return {"user_id": user_id, "region_id": region}
