"""Time series: sensor readings and window states partitioned by day on PostgreSQL (plain tables on SQLite).

Revision ID: 0301_timeseries
Revises: 0201_security
Create Date: 2026-12-02
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0301_timeseries'
down_revision = '0201_security'
branch_labels = None
depends_on = None

READINGS_COLUMNS = """
    hall_id VARCHAR(64) NOT NULL REFERENCES halls (id) ON DELETE CASCADE,
    sensor_code VARCHAR(64) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    value_num DOUBLE PRECISION,
    value_text VARCHAR(200),
    unit VARCHAR(16),
    at TIMESTAMP WITH TIME ZONE NOT NULL"""
STATES_COLUMNS = """
    hall_id VARCHAR(64) NOT NULL REFERENCES halls (id) ON DELETE CASCADE,
    window_code VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    persons INTEGER,
    camera_code VARCHAR(64),
    since TIMESTAMP WITH TIME ZONE NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL"""


def _partitioned(table: str, columns: str, index: str, index_cols: str) -> None:
    op.execute(f"CREATE SEQUENCE {table}_id_seq AS BIGINT")
    op.execute(f"CREATE TABLE {table} (id BIGINT NOT NULL DEFAULT nextval('{table}_id_seq'),{columns},\n"
               f"    CONSTRAINT pk_{table} PRIMARY KEY (id, at)) PARTITION BY RANGE (at)")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"CREATE INDEX {index} ON {table} ({index_cols})")
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")


def _days(first: dt.date | None, ahead: int = 7) -> list[dt.date]:
    today = dt.datetime.now(dt.timezone.utc).date()
    first = max(first or today, today - dt.timedelta(days=400))
    return [first + dt.timedelta(days=i) for i in range((today - first).days + ahead + 1)]


def _create_days(table: str, days: list[dt.date]) -> None:
    for d in days:
        lo = dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc)
        hi = lo + dt.timedelta(days=1)
        op.execute(f"CREATE TABLE {table}_p{d:%Y%m%d} PARTITION OF {table} "
                   f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_table('window_states',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hall_id', sa.String(length=64), nullable=False),
        sa.Column('window_code', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=True),
        sa.Column('camera_code', sa.String(length=64), nullable=True),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_window_states_hall_id_halls'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_window_states'))
        )
        with op.batch_alter_table('window_states', schema=None) as batch_op:
            batch_op.create_index('ix_window_states_window_at', ['hall_id', 'window_code', 'at'], unique=False)
        return
    bind = op.get_bind()
    first = bind.execute(sa.text("SELECT min(at) FROM sensor_readings")).scalar()
    op.execute("ALTER TABLE sensor_readings RENAME TO sensor_readings_old")
    op.execute("ALTER SEQUENCE IF EXISTS sensor_readings_id_seq RENAME TO sensor_readings_old_id_seq")
    op.execute("ALTER INDEX ix_sensor_readings_sensor_at RENAME TO ix_sensor_readings_old_sensor_at")
    op.execute("ALTER TABLE sensor_readings_old RENAME CONSTRAINT pk_sensor_readings TO pk_sensor_readings_old")
    op.execute("ALTER TABLE sensor_readings_old RENAME CONSTRAINT fk_sensor_readings_hall_id_halls "
               "TO fk_sensor_readings_old_hall_id_halls")
    _partitioned("sensor_readings", READINGS_COLUMNS, "ix_sensor_readings_sensor_at", "hall_id, sensor_code, at")
    op.execute("ALTER TABLE sensor_readings RENAME CONSTRAINT sensor_readings_hall_id_fkey "
               "TO fk_sensor_readings_hall_id_halls")
    _create_days("sensor_readings", _days(first.date() if first else None))
    op.execute("INSERT INTO sensor_readings (id, hall_id, sensor_code, kind, value_num, value_text, unit, at) "
               "SELECT id, hall_id, sensor_code, kind, value_num, value_text, unit, at FROM sensor_readings_old")
    op.execute("SELECT setval('sensor_readings_id_seq', GREATEST(1, (SELECT coalesce(max(id), 0) + 1 "
               "FROM sensor_readings)), false)")
    op.execute("DROP TABLE sensor_readings_old")
    _partitioned("window_states", STATES_COLUMNS, "ix_window_states_window_at", "hall_id, window_code, at")
    op.execute("ALTER TABLE window_states RENAME CONSTRAINT window_states_hall_id_fkey "
               "TO fk_window_states_hall_id_halls")
    _create_days("window_states", _days(None))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table('window_states', schema=None) as batch_op:
            batch_op.drop_index('ix_window_states_window_at')
        op.drop_table('window_states')
        return
    op.execute("DROP TABLE window_states")
    op.execute("ALTER TABLE sensor_readings RENAME TO sensor_readings_part")
    op.execute("ALTER SEQUENCE sensor_readings_id_seq RENAME TO sensor_readings_part_id_seq")
    op.execute("ALTER INDEX ix_sensor_readings_sensor_at RENAME TO ix_sensor_readings_part_sensor_at")
    op.execute("ALTER TABLE sensor_readings_part RENAME CONSTRAINT fk_sensor_readings_hall_id_halls "
               "TO fk_sensor_readings_part_hall_id_halls")
    op.execute("ALTER TABLE sensor_readings_part RENAME CONSTRAINT pk_sensor_readings TO pk_sensor_readings_part")
    op.create_table('sensor_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('sensor_code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value_num', sa.Double(), nullable=True),
    sa.Column('value_text', sa.String(length=200), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_sensor_readings_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_readings'))
    )
    op.create_index('ix_sensor_readings_sensor_at', 'sensor_readings', ['hall_id', 'sensor_code', 'at'])
    op.execute("INSERT INTO sensor_readings (hall_id, sensor_code, kind, value_num, value_text, unit, at) "
               "SELECT hall_id, sensor_code, kind, value_num, value_text, unit, at FROM sensor_readings_part")
    op.execute("DROP TABLE sensor_readings_part CASCADE")
