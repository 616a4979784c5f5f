"""whether a commenter has a published comment is answered from one index (site, commenter key, status)

Without the status in the index, SQLite (which keeps no statistics unless
ANALYZE ran) preferred the (site, status, created) index and read every
published comment of the site on each post by a new commenter.

Revision ID: d93b6e0a5c17
Revises: a61956a41b35
Create Date: 2026-11-30 12:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd93b6e0a5c17'
down_revision = 'a61956a41b35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_comment_site_commenter_status', 'comment', ['site_id', 'commenter_hash', 'status'])
    op.drop_index('ix_comment_site_commenter_hash', table_name='comment')


def downgrade():
    op.create_index('ix_comment_site_commenter_hash', 'comment', ['site_id', 'commenter_hash'])
    op.drop_index('ix_comment_site_commenter_status', table_name='comment')
