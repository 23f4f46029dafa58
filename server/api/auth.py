"""Login (bearer token + cookie for the console), logout, who am I."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server import login_guard as guard
from server.audit import audit
from server.db import User
from server.deps import COOKIE_NAME, CurrentUser, SessionDep, SettingsDep
from server.security import sign_token

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, description="User name.")
    password: str = Field(min_length=1, max_length=200, description="Password.")


class UserOut(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    id: int = Field(description="User id.")
    username: str = Field(description="User name.")
    display_name: str | None = Field(description="Display name.")
    role: str = Field(description="admin | supervisor | inspector | viewer.")
    active: bool = Field(description="Can log in.")
    hall_id: str | None = Field(description="Home hall, None = all halls.")


class TokenOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    access_token: str = Field(description="Bearer token (also set as an HttpOnly cookie).")
    token_type: str = Field(default="bearer", description="Always 'bearer'.")
    expires_in: int = Field(description="Seconds until the token expires.")
    user: UserOut = Field(description="The logged-in user.")


@router.post("/login", response_model=TokenOut, summary="Log in with user name and password",
             responses={401: {"description": "wrong user name or password"},
                        429: {"description": "too many failed logins for this user name or address"}})
def login(body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> TokenOut:
    factory = request.app.state.sessionmaker
    address = request.client.host if request.client else None
    key_list = guard.keys(body.username, address)
    limits = guard.Limits(settings.login_max_failures, settings.login_window_s, settings.login_lockout_s)
    with factory() as check:  # read-only; the request's session stays unused until the login succeeded
        wait = guard.locked_for(check, key_list)
        user = check.scalars(select(User).where(User.username == body.username)).first()
        user_id = user.id if user is not None else None
        ok = guard.check_password(body.password, user.password_hash if user is not None else None)
        ok = ok and user is not None and user.active
    if wait:
        guard.record_failure(factory, limits, key_list, username=body.username, address=address, user_id=user_id,
                             locked=True)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins; try again later",
                            headers={"Retry-After": str(int(wait) + 1)})
    if not ok:
        guard.record_failure(factory, limits, key_list, username=body.username, address=address, user_id=user_id)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    user = session.get(User, user_id)
    guard.clear_user(session, body.username)
    token = sign_token(request.app.state.secret, user.id, user.username, user.token_version, settings.token_ttl_s)
    response.set_cookie(COOKIE_NAME, token, max_age=settings.token_ttl_s, httponly=True, samesite="lax",
                        secure=settings.production)
    audit(session, actor=user.username, user_id=user.id, action="auth.login", entity_type="user", entity_id=user.id)
    return TokenOut(access_token=token, expires_in=settings.token_ttl_s, user=UserOut.model_validate(user))


@router.post("/logout", status_code=204, summary="Log out (clears the cookie, revokes all tokens of the user)")
def logout(user: CurrentUser, session: SessionDep, response: Response) -> Response:
    user.token_version += 1
    audit(session, actor=user.username, user_id=user.id, action="auth.logout", entity_type="user", entity_id=user.id)
    response.delete_cookie(COOKIE_NAME)
    response.status_code = 204
    return response


@router.get("/me", response_model=UserOut, summary="The current user")
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
