"""a thread's latest published comments are read from one index (thread, status, id), without sorting them all

PostgreSQL's (thread, status) index does not hold the comment id, so the spam
filter's "last comments of this thread" read every published comment of the
thread and sorted them, on every post. (SQLite's indexes end with the row id
already; the explicit id changes nothing there.)

Revision ID: e5c8a2d7f390
Revises: d93b6e0a5c17
Create Date: 2026-11-30 12:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5c8a2d7f390'
down_revision = 'd93b6e0a5c17'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_comment_thread_status_id', 'comment', ['thread_id', 'status', 'id'])
    op.drop_index('ix_comment_thread_status', table_name='comment')


def downgrade():
    op.create_index('ix_comment_thread_status', 'comment', ['thread_id', 'status'])
    op.drop_index('ix_comment_thread_status_id', table_name='comment')
