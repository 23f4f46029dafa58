"""Console: two-party handover (drawn signatures, incoming officer's acceptance, idempotency key, summary).

Revision ID: 0401_console_handover
Revises: 0610_feedback
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0401_console_handover'
down_revision = '0610_feedback'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handovers') as batch:
        batch.add_column(sa.Column('status', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('to_user_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('from_signature', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('to_signature', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('received_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('idempotency_key', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('summary', sa.JSON(), nullable=True))
        batch.create_foreign_key(batch.f('fk_handovers_to_user_id_users'), 'users', ['to_user_id'], ['id'],
                                 ondelete='SET NULL')
        batch.create_unique_constraint(batch.f('uq_handovers_idempotency_key'), ['idempotency_key'])


def downgrade() -> None:
    with op.batch_alter_table('handovers') as batch:
        batch.drop_constraint(batch.f('uq_handovers_idempotency_key'), type_='unique')
        batch.drop_constraint(batch.f('fk_handovers_to_user_id_users'), type_='foreignkey')
        for col in ('summary', 'idempotency_key', 'received_at', 'to_signature', 'from_signature', 'to_user_id',
                    'status'):
            batch.drop_column(col)
