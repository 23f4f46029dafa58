"""Security bookkeeping: which halls an evidence file belongs to, and login throttling state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class EvidenceHall(Base):
    """A hall whose edge (or patrol) stored the file: users bound to that hall may read it."""

    __tablename__ = "evidence_halls"
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence.sha256", ondelete="CASCADE"), primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), primary_key=True, index=True)


class LoginThrottle(Base):
    """Failed logins of one key (``user:<name>`` or ``addr:<ip>``) in the current window, and its lockout."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]
