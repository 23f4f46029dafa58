"""Edges: admins create them and receive the API token once; users see their status."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from edge.contract import ID_PATTERN
from server.db import Edge
from server.deps import AdminUser, SessionDep, ViewerUser, ensure_hall_visible, hall_scope
from server.edges import EdgeError, issue_edge_token

router = APIRouter(prefix="/api/v1/edges", tags=["edges"])


class EdgeOut(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    id: int = Field(description="Row id.")
    hall_id: str = Field(description="Hall.")
    code: str = Field(description="Edge id.")
    online: bool | None = Field(description="Last reported online state.")
    version: str | None = Field(description="Software version.")
    last_seen: dt.datetime | None = Field(description="Last message time.")
    outbox_pending: int | None = Field(description="Messages not yet acknowledged at the edge.")
    has_token: bool = Field(description="An API token was issued.")


class EdgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hall_id: str = Field(description="Hall.")
    code: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN,
                      description="Edge id (as in the site config): letters, digits, '_', '-', '.'.")


class EdgeTokenOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edge: EdgeOut = Field(description="The edge.")
    token: str = Field(description="API token, shown only now; only its hash is stored.")


def edge_out(e: Edge) -> EdgeOut:
    return EdgeOut(id=e.id, hall_id=e.hall_id, code=e.code, online=e.online, version=e.version,
                   last_seen=e.last_seen, outbox_pending=e.outbox_pending, has_token=e.token_hash is not None)


@router.get("", response_model=list[EdgeOut], summary="Edges")
def list_edges(user: ViewerUser, session: SessionDep, hall: str | None = None) -> list[EdgeOut]:
    q = select(Edge).order_by(Edge.hall_id, Edge.code)
    hall = hall_scope(user, hall)
    if hall:
        q = q.where(Edge.hall_id == hall)
    return [edge_out(e) for e in session.scalars(q)]


@router.post("", response_model=EdgeTokenOut, status_code=201,
             summary="Create an edge (or rotate its token) and return the token once")
def create_edge(body: EdgeIn, admin: AdminUser, session: SessionDep) -> EdgeTokenOut:
    ensure_hall_visible(admin, body.hall_id)
    try:
        edge, token = issue_edge_token(session, body.hall_id, body.code, actor=admin.username, actor_id=admin.id)
    except EdgeError as exc:
        raise HTTPException(422, str(exc)) from None
    return EdgeTokenOut(edge=edge_out(edge), token=token)
