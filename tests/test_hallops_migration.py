"""Migration 0701_hallops creates exactly the tables of the hall operations models (fresh SQLite and the test
database)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import server.hallops.models as hm
from server.db import Base
from server.db.migrate import upgrade
from server.db.session import make_engine

MINE = {m.local_table.name for m in Base.registry.mappers if m.class_.__module__ == hm.__name__}


def _mine(obj, name, type_, reflected, compare_to) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in MINE


def test_hallops_tables_match_their_models(tmp_path, server_engine):
    assert MINE == {"hall_maps", "map_markers", "duty_shifts"}
    fresh = make_engine(f"sqlite:///{tmp_path}/m.db")
    for engine in (fresh, server_engine):
        upgrade(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": _mine})
            assert compare_metadata(ctx, Base.metadata) == []
    fresh.dispose()
