"""People: approved absence, window pauses, appeals, staff logins, integration tokens, queue/evaluation events,
notification channels and their delivery outbox.

Revision ID: 0501_people
Revises: 0001_initial
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = '0501_people'
down_revision = '0001_initial'
branch_labels = ('people',)
depends_on = ('0101_assessment',)  # appeals.amendment_id references assessment_amendments


def upgrade() -> None:
    op.create_table('integration_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_integration_tokens_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_integration_tokens_token_hash'))
    )
    op.create_index(op.f('ix_integration_tokens_hall_id'), 'integration_tokens', ['hall_id'], unique=False)
    op.create_table('notification_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('secret', sa.String(length=500), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_notification_channels_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_channels'))
    )
    op.create_index(op.f('ix_notification_channels_hall_id'), 'notification_channels', ['hall_id'], unique=False)
    op.create_table('absences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=True),
    sa.Column('covers_staff_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approver', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['covers_staff_id'], ['staff.id'], name=op.f('fk_absences_covers_staff_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_absences_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_absences_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], name=op.f('fk_absences_window_id_windows'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absences')),
    sa.UniqueConstraint('hall_id', 'external_id', name=op.f('uq_absences_hall_id'))
    )
    op.create_index('ix_absences_hall_time', 'absences', ['hall_id', 'starts_at'], unique=False)
    op.create_index(op.f('ix_absences_staff_id'), 'absences', ['staff_id'], unique=False)
    op.create_table('notification_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('dedup_key', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['notification_channels.id'], name=op.f('fk_notification_deliveries_channel_id_notification_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    sa.UniqueConstraint('channel_id', 'dedup_key', name=op.f('uq_notification_deliveries_channel_id'))
    )
    op.create_index(op.f('ix_notification_deliveries_channel_id'), 'notification_deliveries', ['channel_id'], unique=False)
    op.create_index('ix_notification_deliveries_due', 'notification_deliveries', ['status', 'next_at'], unique=False)
    op.create_table('service_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=True),
    sa.Column('window_code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ticket', sa.String(length=32), nullable=True),
    sa.Column('waiting', sa.Integer(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_service_events_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], name=op.f('fk_service_events_window_id_windows'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_events')),
    sa.UniqueConstraint('hall_id', 'external_id', name=op.f('uq_service_events_hall_id'))
    )
    op.create_index('ix_service_events_window_at', 'service_events', ['hall_id', 'window_code', 'at'], unique=False)
    op.create_table('staff_accounts',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_accounts_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_staff_accounts')),
    sa.UniqueConstraint('staff_id', name=op.f('uq_staff_accounts_staff_id'))
    )
    op.create_table('window_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_window_pauses_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], name=op.f('fk_window_pauses_window_id_windows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_window_pauses'))
    )
    op.create_index('ix_window_pauses_hall_time', 'window_pauses', ['hall_id', 'starts_at'], unique=False)
    op.create_index(op.f('ix_window_pauses_window_id'), 'window_pauses', ['window_id'], unique=False)
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('filed_by', sa.Integer(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('amendment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['amendment_id'], ['assessment_amendments.id'], name=op.f('fk_appeals_amendment_id_assessment_amendments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['filed_by'], ['users.id'], name=op.f('fk_appeals_filed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_appeals_finding_id_findings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_appeals_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_appeals_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('finding_id', name=op.f('uq_appeals_finding_id'))
    )
    op.create_index(op.f('ix_appeals_hall_id'), 'appeals', ['hall_id'], unique=False)
    op.create_index(op.f('ix_appeals_staff_id'), 'appeals', ['staff_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_appeals_staff_id'), table_name='appeals')
    op.drop_index(op.f('ix_appeals_hall_id'), table_name='appeals')
    op.drop_table('appeals')
    op.drop_index(op.f('ix_window_pauses_window_id'), table_name='window_pauses')
    op.drop_index('ix_window_pauses_hall_time', table_name='window_pauses')
    op.drop_table('window_pauses')
    op.drop_table('staff_accounts')
    op.drop_index('ix_service_events_window_at', table_name='service_events')
    op.drop_table('service_events')
    op.drop_index('ix_notification_deliveries_due', table_name='notification_deliveries')
    op.drop_index(op.f('ix_notification_deliveries_channel_id'), table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    op.drop_index(op.f('ix_absences_staff_id'), table_name='absences')
    op.drop_index('ix_absences_hall_time', table_name='absences')
    op.drop_table('absences')
    op.drop_index(op.f('ix_notification_channels_hall_id'), table_name='notification_channels')
    op.drop_table('notification_channels')
    op.drop_index(op.f('ix_integration_tokens_hall_id'), table_name='integration_tokens')
    op.drop_table('integration_tokens')
