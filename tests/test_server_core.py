"""Server core without HTTP: migrations, time storage, site import, passwords/tokens, production guard."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from server.db import Base, Finding, Hall, RosterAssignment, Staff, Window
from server.db.migrate import upgrade
from server.db.session import make_engine
from server.security import hash_password, read_token, sign_token, verify_password
from server.settings import InsecureSettings, Settings
from server.siteimport import import_site
from server.testing import *  # noqa: F401,F403 - fixtures
from server.testing import unique_site

# the core's own tables (console/assessment register models on the same Base with their own migrations)
CORE_TABLES = {m.local_table.name for m in Base.registry.mappers if m.class_.__module__.startswith("server.db.")}


def _core_only(name, type_, parent_names) -> bool:
    if type_ == "table":
        return name in CORE_TABLES
    return parent_names.get("table_name") in CORE_TABLES if parent_names.get("table_name") else True


# expression indexes a migration creates in raw SQL on PostgreSQL only (no model can declare them portably)
RAW_SQL_INDEXES = {"ix_findings_details_trgm"}


def _core_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "index" and name in RAW_SQL_INDEXES:
        return False
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or table in CORE_TABLES


def test_migrations_match_models_and_are_idempotent(tmp_path, server_engine):
    fresh = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(fresh)
    upgrade(fresh)  # second run is a no-op
    for engine in (fresh, server_engine):  # and the test database (SQLite or the shared PostgreSQL)
        upgrade(engine)
        with engine.connect() as conn:
            # only the core's tables: console/assessment migrations add theirs with their own models
            ctx = MigrationContext.configure(conn, opts={"include_name": _core_only, "include_object": _core_object})
            assert compare_metadata(ctx, Base.metadata) == []
    fresh.dispose()


def test_times_are_stored_aware_utc(db_session, seeded_hall):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    local = dt.datetime(2026, 11, 23, 9, 15, tzinfo=shanghai)
    f = Finding(finding_id="00000000-0000-0000-0000-0000000000aa", hall_id=seeded_hall.hall.id, edge_code="e",
                rule="smoking", severity="major", started_at=local)
    db_session.add(f)
    db_session.commit()
    db_session.expire_all()
    got = db_session.get(Finding, f.id).started_at
    assert got == local and got.utcoffset() == dt.timedelta(0)
    with pytest.raises(Exception, match="naive"):
        db_session.add(Finding(finding_id="00000000-0000-0000-0000-0000000000ab", hall_id=seeded_hall.hall.id,
                               edge_code="e", rule="smoking", severity="major", started_at=dt.datetime(2026, 1, 1)))
        db_session.flush()


def test_site_import_is_idempotent_and_tracks_roster_changes(db_session):
    cfg = unique_site()
    day1, day2 = dt.date(2026, 11, 2), dt.date(2026, 11, 9)
    first = import_site(db_session, cfg, today=day1)
    assert first.created["window"] == 8 and first.created["roster"] == 16 and first.created["edge"] == 1
    again = import_site(db_session, cfg, today=day1)
    assert not again.changed
    # W01's A post changes to S003 and W08 is removed from the config
    windows = [w.model_copy(update={"staff_a": "S003"}) if w.id == "W01" else w for w in cfg.windows if w.id != "W08"]
    changed = import_site(db_session, cfg.model_copy(update={"windows": windows}), today=day2)
    assert changed.updated.get("roster") == 1 and changed.created.get("roster") == 1
    assert changed.deactivated == {"window": 1}
    hall = cfg.hall.id
    rows = db_session.execute(
        select(RosterAssignment.valid_from, RosterAssignment.valid_to, Staff.code)
        .join(Staff, RosterAssignment.staff_id == Staff.id).join(Window, RosterAssignment.window_id == Window.id)
        .where(Window.hall_id == hall, Window.code == "W01", RosterAssignment.role == "A")
        .order_by(RosterAssignment.valid_from)).all()
    assert rows == [(day1, day2 - dt.timedelta(days=1), "S001"), (day2, None, "S003")]
    assert db_session.get(Hall, hall).name == cfg.hall.name
    w8 = db_session.scalars(select(Window).where(Window.hall_id == hall, Window.code == "W08")).one()
    assert w8.active is False


@pytest.mark.parametrize("password, candidate, ok", [
    ("correct horse", "correct horse", True), ("correct horse", "correct hors", False), ("密码很长很长", "密码很长很长", True),
])
def test_password_hashing(password, candidate, ok):
    stored = hash_password(password)
    assert stored.startswith("scrypt$") and password not in stored
    assert verify_password(candidate, stored) is ok


@pytest.mark.parametrize("mutate, valid", [
    (lambda t: t, True), (lambda t: t[:-3] + "abc", False), (lambda t: "v2" + t[2:], False), (lambda t: "x.y", False),
])
def test_tokens(mutate, valid):
    token = sign_token("k" * 40, 7, "wang", 0, 60)
    claims = read_token("k" * 40, mutate(token))
    assert (claims is not None) is valid
    if valid:
        assert (claims.user_id, claims.username) == (7, "wang")
        assert read_token("k" * 40, token, now=claims.expires_at + 1) is None
        assert read_token("other" * 10, token) is None


@pytest.mark.parametrize("kwargs, problem", [
    ({}, "SECRET_KEY"),
    ({"secret_key": "short"}, "SECRET_KEY"),
    ({"secret_key": "s" * 40, "admin_user": "root", "admin_password": "admin"}, "weak"),
    ({"secret_key": "s" * 40, "admin_user": "root"}, "both"),
    ({"secret_key": "s" * 40, "admin_user": "root", "admin_password": "long-enough-pw"}, None),
])
def test_production_refuses_insecure_defaults(tmp_path, kwargs, problem):
    s = Settings(mode="production", data_dir=tmp_path, **kwargs)
    if problem is None:
        s.check()
        return
    with pytest.raises(InsecureSettings, match=problem):
        s.check()
    Settings(mode="development", data_dir=tmp_path, **kwargs).check()  # development accepts it


def test_production_never_creates_default_admin(db_session, tmp_path):
    from server.users import ensure_initial_admin

    prod = Settings(mode="production", data_dir=tmp_path, secret_key="s" * 40)
    assert ensure_initial_admin(db_session, prod) is None
    env = Settings(mode="production", data_dir=tmp_path, secret_key="s" * 40, admin_user="chief",
                   admin_password="a-long-password")
    user = ensure_initial_admin(db_session, env)
    assert user is not None and (user.username, user.role) == ("chief", "admin")
    assert verify_password("a-long-password", user.password_hash)
