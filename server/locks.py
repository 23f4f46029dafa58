"""Cluster-wide mutual exclusion for periodic jobs that several server processes run.

``exclusive(session, name)`` makes the caller's transaction the only one holding ``name`` until it ends:
a PostgreSQL transaction-level advisory lock (``pg_advisory_xact_lock``), released at commit or rollback.
A second process's pass waits, then sees what the first one committed (an automatic safety check already
created, alerts already escalated) and does nothing twice. SQLite needs nothing: its write transactions
(``BEGIN IMMEDIATE``) already run one at a time.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def exclusive(session: Session, name: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
