"""Region tree tables. Kept apart from the core tables: a hall's region and a user's region are link rows."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base

REGION_KINDS = ("province", "city", "county", "township")


class Region(Base):
    """A node of the administrative tree (市 → 县/区 → 乡镇/街道)."""

    __tablename__ = "regions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), doc="province | city | county | township")
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)


class HallRegion(Base):
    """The region a hall belongs to (its township, or its county for the county's own service centre)."""

    __tablename__ = "hall_regions"
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)


class UserRegion(Base):
    """The region a ``county`` user oversees: every hall in its subtree."""

    __tablename__ = "user_regions"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
