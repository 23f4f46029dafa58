"""Login throttling: failed logins counted per user name and per client address, with a lockout.

The counters live in the database (``login_throttle``), so every server process shares them and a restart does
not reset them. Failures and lockouts are written with their audit row in a transaction of their own, committed
before the 401/429 answer, so the request's rollback cannot erase them. Unknown user names cost a full password
hash like known ones, so answer times do not reveal which names exist.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from server.audit import audit
from server.db import utcnow
from server.db.security import LoginThrottle
from server.security import hash_password, verify_password

_DUMMY_HASH: list[str] = []


def dummy_hash() -> str:
    """A real scrypt hash of a random password, checked for unknown users (same cost as a real check)."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


@dataclass(frozen=True)
class Limits:
    max_failures: int
    window_s: float
    lockout_s: float


def keys(username: str, address: str | None) -> list[str]:
    out = [f"user:{username.strip().lower()}"[:200]]
    if address:
        out.append(f"addr:{address}"[:200])
    return out


def locked_for(session: Session, key_list: list[str], now: dt.datetime | None = None) -> float:
    """Seconds until every key is free again (0 when none is locked)."""
    now = now or utcnow()
    wait = 0.0
    for key in key_list:
        row = session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = max(wait, (row.locked_until - now).total_seconds())
    return wait


def check_password(password: str, stored: str | None) -> bool:
    """Constant work whether or not the user exists."""
    ok = verify_password(password, stored or dummy_hash())
    return ok and stored is not None


def record_failure(factory: sessionmaker[Session], limits: Limits, key_list: list[str], *, username: str,
                   address: str | None, user_id: int | None, locked: bool = False) -> float:
    """Count a failed (or refused) login in its own committed transaction; returns the lockout now in force."""
    for attempt in range(3):
        try:
            with factory() as s:
                now = utcnow()
                lock = 0.0
                if not locked:
                    for key in key_list:
                        row = s.get(LoginThrottle, key, with_for_update=True)
                        if row is None:
                            row = LoginThrottle(key=key, failures=0, window_start=now)
                            s.add(row)
                        if (now - row.window_start).total_seconds() > limits.window_s:
                            row.failures, row.window_start = 0, now
                        row.failures += 1
                        if row.failures >= limits.max_failures:
                            row.locked_until = now + dt.timedelta(seconds=limits.lockout_s)
                            row.failures, row.window_start = 0, now
                            lock = max(lock, limits.lockout_s)
                audit(s, actor=username[:100], user_id=user_id,
                      action="auth.login_locked" if locked else "auth.login_failed", entity_type="user",
                      entity_id=user_id if user_id is not None else username[:64],
                      after={"address": address, **({"locked_s": lock} if lock else {})})
                s.commit()
                return lock
        except IntegrityError:  # another failure created the same row first: count again
            if attempt == 2:
                raise
    return 0.0


def clear_user(session: Session, username: str) -> None:
    """A successful login resets its user name's counter (the address counter keeps running)."""
    row = session.get(LoginThrottle, keys(username, None)[0])
    if row is not None:
        row.failures, row.locked_until = 0, None
