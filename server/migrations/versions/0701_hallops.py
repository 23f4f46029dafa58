"""Hall operations: floor plan, positions on it, duty roster.

Revision ID: 0701_hallops
Revises: 0402_console_alert_search
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0701_hallops'
down_revision = '0402_console_alert_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hall_maps',
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_hall_maps_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('hall_id', name=op.f('pk_hall_maps'))
    )
    op.create_table('map_markers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('x', sa.Float(), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_map_markers_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_map_markers')),
    sa.UniqueConstraint('hall_id', 'kind', 'ref', name=op.f('uq_map_markers_hall_id'))
    )
    op.create_index(op.f('ix_map_markers_hall_id'), 'map_markers', ['hall_id'], unique=False)
    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('window_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_duty_shifts_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_duty_shifts_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], name=op.f('fk_duty_shifts_window_id_windows'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts'))
    )
    op.create_index('ix_duty_shifts_hall_day', 'duty_shifts', ['hall_id', 'day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_duty_shifts_hall_day', table_name='duty_shifts')
    op.drop_table('duty_shifts')
    op.drop_index(op.f('ix_map_markers_hall_id'), table_name='map_markers')
    op.drop_table('map_markers')
    op.drop_table('hall_maps')
