"""County view: region tree, hall and user links to it.

Revision ID: 0302_regions
Revises: 0301_timeseries
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0302_regions'
down_revision = '0301_timeseries'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('regions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['regions.id'], name=op.f('fk_regions_parent_id_regions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regions'))
    )
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regions_parent_id'), ['parent_id'], unique=False)
    op.create_table('hall_regions',
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('region_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_hall_regions_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_hall_regions_region_id_regions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('hall_id', name=op.f('pk_hall_regions'))
    )
    with op.batch_alter_table('hall_regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hall_regions_region_id'), ['region_id'], unique=False)
    op.create_table('user_regions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_user_regions_region_id_regions'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_regions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_regions'))
    )
    with op.batch_alter_table('user_regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_regions_region_id'), ['region_id'], unique=False)


def downgrade() -> None:
    op.drop_table('user_regions')
    op.drop_table('hall_regions')
    op.drop_table('regions')
