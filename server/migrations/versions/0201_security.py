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
    _backfill_check_pictures()
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


def _backfill_check_pictures() -> None:
    """Pictures of duty and safety checks are listed as JSON arrays of hashes: give them their hall too."""
    import json

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT c.hall_id, w.evidence FROM duty_check_windows w JOIN duty_checks c ON c.id = w.check_id "
        "UNION ALL SELECT c.hall_id, i.evidence FROM safety_check_items i JOIN safety_checks c ON c.id = i.check_id"
    )).all()
    known = {sha for (sha,) in conn.execute(sa.text("SELECT sha256 FROM evidence"))} if rows else set()
    pairs = set()
    for hall_id, evidence in rows:
        items = json.loads(evidence) if isinstance(evidence, str) else (evidence or [])
        for item in items:
            sha = item.get("sha256") if isinstance(item, dict) else item
            if isinstance(sha, str) and sha in known:
                pairs.add((sha, hall_id))
    have = set(conn.execute(sa.text("SELECT sha256, hall_id FROM evidence_halls")).all()) if pairs else set()
    for sha, hall_id in sorted(pairs - {tuple(p) for p in have}):
        conn.execute(sa.text("INSERT INTO evidence_halls (sha256, hall_id) VALUES (:s, :h)"), {"s": sha, "h": hall_id})


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
