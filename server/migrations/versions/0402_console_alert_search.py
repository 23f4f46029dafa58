"""Console: index the alert search. Camera and sensor ids of findings get b-tree indexes; PostgreSQL also gets
pg_trgm and a trigram GIN index over the finding details as
text (``lower((details::jsonb)::text)``, the expression the search filters on); SQLite has no such index and the
search scans (the fallback).

Revision ID: 0402_console_alert_search
Revises: 0401_console_handover
Create Date: 2026-12-02
"""
from alembic import op

revision = '0402_console_alert_search'
down_revision = '0401_console_handover'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_findings_camera_id'), 'findings', ['camera_id'], unique=False)
    op.create_index(op.f('ix_findings_sensor_id'), 'findings', ['sensor_id'], unique=False)
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.execute('CREATE INDEX IF NOT EXISTS ix_findings_details_trgm ON findings '
               'USING gin (lower((details::jsonb)::text) gin_trgm_ops)')


def downgrade() -> None:
    op.drop_index(op.f('ix_findings_sensor_id'), table_name='findings')
    op.drop_index(op.f('ix_findings_camera_id'), table_name='findings')
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX IF EXISTS ix_findings_details_trgm')
