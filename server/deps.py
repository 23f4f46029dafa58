"""FastAPI dependencies: one session per request (committed here, once), the current user,
role checks and edge-token authentication.

Use them as ``Annotated`` aliases::

    @router.post("/x")
    def handler(session: SessionDep, user: Annotated[User, Depends(require_role("supervisor"))]): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import Edge, User
from server.db.session import unit_of_work
from server.security import edge_token_hash, read_token
from server.settings import Settings

COOKIE_NAME = "hallwatch_session"
ROLE_RANK = {"staff": -1, "county": -1, "viewer": 0, "inspector": 1, "supervisor": 2, "admin": 3}
"""``staff`` (a clerk, linked to one staff record) ranks below viewer: it passes no role check and reaches only
the routes written for it (``server.people.routes``: its own sheet, findings and appeals). ``county`` (a county or
city office, bound to a region) likewise reaches only ``server.county.routes``: the halls of its region."""


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: commit after the handler returns, roll back if it raises. The session's
    ``info["evidence_store"]`` is the app's evidence store (hooks that read evidence files use it)."""
    with unit_of_work(request.app.state.sessionmaker) as session:
        session.info["evidence_store"] = getattr(request.app.state, "store", None)
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


def get_current_user(request: Request, session: SessionDep) -> User:
    token = _bearer(request) or request.cookies.get(COOKIE_NAME)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not logged in", headers={"WWW-Authenticate": "Bearer"})
    claims = read_token(request.app.state.secret, token)
    user = session.get(User, claims.user_id) if claims else None
    if user is None or not user.active or claims is None or claims.token_version != user.token_version:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(minimum: str) -> Callable[[User], User]:
    """Dependency: the current user must have at least ``minimum`` (viewer < inspector < supervisor < admin)."""
    if minimum not in ROLE_RANK or ROLE_RANK[minimum] < 0:
        raise ValueError(f"unknown role {minimum!r}")

    def check(user: CurrentUser) -> User:
        if ROLE_RANK.get(user.role, -99) < ROLE_RANK[minimum]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {minimum} or higher")
        return user

    check.__name__ = f"require_{minimum}"
    return check


ViewerUser = Annotated[User, Depends(require_role("viewer"))]
InspectorUser = Annotated[User, Depends(require_role("inspector"))]
SupervisorUser = Annotated[User, Depends(require_role("supervisor"))]
AdminUser = Annotated[User, Depends(require_role("admin"))]


def get_current_edge(request: Request, session: SessionDep) -> Edge:
    """Edge authentication by its API token (``Authorization: Bearer hwe_…``)."""
    token = _bearer(request) or request.headers.get("x-edge-token")
    edge = None
    if token:
        edge = session.scalars(select(Edge).where(Edge.token_hash == edge_token_hash(token))).first()
    if edge is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid edge token", headers={"WWW-Authenticate": "Bearer"})
    return edge


CurrentEdge = Annotated[Edge, Depends(get_current_edge)]


def may_see_hall(user: User, hall_id: str) -> bool:
    """Users bound to a home hall see only that hall; others see all. A ``county`` user sees halls only through
    the county view (``server.county``), never through the hall routes."""
    if user.role == "county":
        return False
    return user.hall_id is None or user.hall_id == hall_id


def hall_scope(user: User, hall: str | None) -> str | None:
    """The hall filter of a list request: a user bound to a home hall sees only that hall (403 for another)."""
    if user.role == "county":
        raise HTTPException(403, "the county role reads halls through /api/v1/county")
    if hall is not None and not may_see_hall(user, hall):
        raise HTTPException(403, f"user {user.username!r} may only see hall {user.hall_id!r}")
    return hall if user.hall_id is None else user.hall_id


def ensure_hall_visible(user: User, hall_id: str) -> None:
    """404 (not 403: do not reveal that it exists) for a row of another hall than the user's home hall."""
    if not may_see_hall(user, hall_id):
        raise HTTPException(404, "not found")
