"""Alembic environment using the app's metadata. Runs on a connection handed over in
``config.attributes['connection']`` (server.db.migrate.upgrade) or on ``sqlalchemy.url`` /
HALLWATCH_DATABASE_URL when run from the alembic command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import server.db  # noqa: F401  - registers every model
from server.db.base import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _configure(conn)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from server.settings import Settings

        url = Settings().db_url
    from server.db.session import make_engine

    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
