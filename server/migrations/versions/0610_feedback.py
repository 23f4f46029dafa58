"""Feedback: labelled samples from confirmed / dismissed alerts, and the per-seat thresholds pushed to the edges.

Revision ID: 0610_feedback
Revises: 0302_regions
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0610_feedback'
down_revision = '0302_regions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seat_tunings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_seat_tunings_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_tunings'))
    )
    op.create_index(op.f('ix_seat_tunings_hall_id'), 'seat_tunings', ['hall_id'], unique=False)
    op.create_table('feedback_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('finding_uuid', sa.String(length=36), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('camera_code', sa.String(length=64), nullable=True),
    sa.Column('zone_code', sa.String(length=64), nullable=True),
    sa.Column('window_code', sa.String(length=64), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.Column('zone_polygon', sa.JSON(), nullable=True),
    sa.Column('boxes', sa.JSON(), nullable=False),
    sa.Column('cues', sa.JSON(), nullable=False),
    sa.Column('crop_xyxy', sa.JSON(), nullable=True),
    sa.Column('frame_size', sa.JSON(), nullable=True),
    sa.Column('crop_jpeg', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_feedback_samples_finding_id_findings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_feedback_samples_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_samples')),
    sa.UniqueConstraint('finding_uuid', name=op.f('uq_feedback_samples_finding_uuid'))
    )
    op.create_index('ix_feedback_samples_hall_decided', 'feedback_samples', ['hall_id', 'decided_at'], unique=False)
    op.create_index(op.f('ix_feedback_samples_rule'), 'feedback_samples', ['rule'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_feedback_samples_rule'), table_name='feedback_samples')
    op.drop_index('ix_feedback_samples_hall_decided', table_name='feedback_samples')
    op.drop_table('feedback_samples')
    op.drop_index(op.f('ix_seat_tunings_hall_id'), table_name='seat_tunings')
    op.drop_table('seat_tunings')
