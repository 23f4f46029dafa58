"""Security: evidence hall ownership, login throttling, HMAC seals of signed sheets, edge broker passwords.

Revision ID: 0201_security
Revises: 0501_people
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0201_security'
down_revision = '0501_people'
branch_labels = None
depends_on = ('0101_assessment',)


def upgrade() -> None:
    op.create_table('evidence_halls',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['evidence.sha256'], name=op.f('fk_evidence_halls_sha256_evidence'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_evidence_halls_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256', 'hall_id', name=op.f('pk_evidence_halls'))
    )
    op.create_index(op.f('ix_evidence_halls_hall_id'), 'evidence_halls', ['hall_id'], unique=False)
    op.execute("INSERT INTO evidence_halls (sha256, hall_id) SELECT DISTINCT fe.sha256, f.hall_id "
               "FROM finding_evidence fe JOIN findings f ON f.id = fe.finding_id")
    op.execute("INSERT INTO evidence_halls (sha256, hall_id) SELECT DISTINCT p.photo_sha256, p.hall_id "
               "FROM patrol_findings p WHERE p.photo_sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM evidence_halls e "
               "WHERE e.sha256 = p.photo_sha256 AND e.hall_id = p.hall_id)")
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    with op.batch_alter_table('edges') as batch:
        batch.add_column(sa.Column('mqtt_password_hash', sa.String(length=200), nullable=True))
    with op.batch_alter_table('assessment_signoffs') as batch:
        batch.add_column(sa.Column('signature', sa.String(length=64), nullable=True))
    with op.batch_alter_table('assessment_amendments') as batch:
        batch.add_column(sa.Column('signature', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assessment_amendments') as batch:
        batch.drop_column('signature')
    with op.batch_alter_table('assessment_signoffs') as batch:
        batch.drop_column('signature')
    with op.batch_alter_table('edges') as batch:
        batch.drop_column('mqtt_password_hash')
    op.drop_table('login_throttle')
    op.drop_index(op.f('ix_evidence_halls_hall_id'), table_name='evidence_halls')
    op.drop_table('evidence_halls')
