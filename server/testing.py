"""Pytest fixtures for server tests (import them into a test module: ``from server.testing import *``).

``db_session`` is the full-stack-fastapi-template pattern: one connection, an outer transaction
rolled back after the test, sessions joined with SAVEPOINTs — so tests on the shared PostgreSQL
``test`` database leave nothing behind. ``app``/``client`` use sessions bound to that connection.
Needs the ``database_url`` fixture from tests/conftest.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from edge.paths import PROJECT_ROOT
from edge.site import SiteConfig, load_site_config
from server.db import Hall, ProcessedMessage, User
from server.db.migrate import upgrade
from server.db.session import make_engine
from server.security import edge_token_hash, hash_password, sign_token
from server.settings import Settings

TEST_SECRET = "test-secret-" + "x" * 40
DEMO_CONFIG = PROJECT_ROOT / "configs" / "demo-hall.yaml"
_HASH_CACHE: dict[str, str] = {}


def unique_site(hall_id: str | None = None, path: Path = DEMO_CONFIG) -> SiteConfig:
    """The demo hall under a unique hall id (so tests sharing a database never collide)."""
    cfg = load_site_config(path)
    hid = hall_id or f"t{uuid.uuid4().hex[:10]}"
    return cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"id": hid})})


@pytest.fixture(scope="session")
def server_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db_connection(server_engine: Engine) -> Iterator[Connection]:
    conn = server_engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session_factory(db_connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def db_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "server", database_url=database_url, mqtt_enabled=False,
                    run_migrations=False, secret_key=TEST_SECRET, metrics_allow=["127.0.0.1", "::1", "testclient"])


@pytest.fixture
def app(server_settings: Settings, server_engine: Engine, session_factory):
    from server.app import create_app

    application = create_app(server_settings, engine=server_engine)
    application.state.sessionmaker = session_factory
    application.state.commands.factory = session_factory
    yield application
    application.state.commands.close()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    return TestClient(app)  # no lifespan: no migrations/MQTT, the per-test transaction is the database


@pytest.fixture
def seeded_hall(db_session: Session) -> SiteConfig:
    """The demo hall imported under a unique id (rolled back after the test)."""
    from server.siteimport import import_site

    cfg = unique_site()
    import_site(db_session, cfg, actor="test")
    db_session.commit()
    return cfg


def make_user(session: Session, role: str, username: str | None = None, password: str = "password-123") -> User:
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    user = User(username=username or f"{role}-{uuid.uuid4().hex[:8]}", password_hash=_HASH_CACHE[password],
                role=role)
    session.add(user)
    session.commit()
    return user


def auth_headers(user: User) -> dict[str, str]:
    return {"Authorization": "Bearer " + sign_token(TEST_SECRET, user.id, user.username, user.token_version, 3600)}


def make_edge_token(session: Session, hall_id: str, code: str) -> str:
    from sqlalchemy import select

    from server.db import Edge

    token = f"hwe_test_{uuid.uuid4().hex}"
    edge = session.scalars(select(Edge).filter_by(hall_id=hall_id, code=code)).first()
    if edge is None:
        edge = Edge(hall_id=hall_id, code=code)
        session.add(edge)
    edge.token_hash = edge_token_hash(token)
    session.commit()
    return token


def drop_hall(engine: Engine, hall_id: str) -> None:
    """Remove a committed test hall; the database cascades to everything hanging off it."""
    with Session(engine) as s:
        s.execute(delete(Hall).where(Hall.id == hall_id))
        s.execute(delete(ProcessedMessage).where(ProcessedMessage.hall_id == hall_id))
        s.commit()


@pytest.fixture(autouse=True, scope="session")
def _seal_key() -> None:
    """Sign-offs called without an app are sealed with the test secret (the app sets its own key)."""
    from server.assessment import signoff

    signoff.configure_seal_key(TEST_SECRET)
