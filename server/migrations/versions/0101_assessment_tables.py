"""Assessment: reassignments, supervisor entries, signed-off sheets, amendments.

Revision ID: 0101_assessment
Revises: 0001_initial
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0101_assessment'
down_revision = '0001_initial'
branch_labels = ('assessment',)
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_reassignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_assessment_reassignments_finding_id_findings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_assessment_reassignments_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_reassignments'))
    )
    op.create_index(op.f('ix_assessment_reassignments_finding_id'), 'assessment_reassignments', ['finding_id'], unique=False)
    op.create_table('assessment_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_assessment_entries_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_assessment_entries_staff_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], name=op.f('fk_assessment_entries_window_id_windows'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_entries'))
    )
    op.create_index(op.f('ix_assessment_entries_hall_id'), 'assessment_entries', ['hall_id'], unique=False)
    op.create_table('assessment_signoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('scheme_id', sa.String(length=64), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_assessment_signoffs_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_signoffs')),
    sa.UniqueConstraint('hall_id', 'period', name=op.f('uq_assessment_signoffs_hall_id'))
    )
    op.create_index(op.f('ix_assessment_signoffs_hall_id'), 'assessment_signoffs', ['hall_id'], unique=False)
    op.create_table('assessment_amendments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signoff_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('prev_sha256', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['signoff_id'], ['assessment_signoffs.id'], name=op.f('fk_assessment_amendments_signoff_id_assessment_signoffs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_amendments')),
    sa.UniqueConstraint('signoff_id', 'seq', name=op.f('uq_assessment_amendments_signoff_id'))
    )
    op.create_index(op.f('ix_assessment_amendments_signoff_id'), 'assessment_amendments', ['signoff_id'], unique=False)


def downgrade() -> None:
    op.drop_table('assessment_amendments')
    op.drop_table('assessment_signoffs')
    op.drop_table('assessment_entries')
    op.drop_table('assessment_reassignments')
