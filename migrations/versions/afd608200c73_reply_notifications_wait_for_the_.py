"""reply notifications wait for the address to confirm: when it did (subscriptions made before this are kept, as confirmed when they were made)

Revision ID: afd608200c73
Revises: 921f40b24982
Create Date: 2026-11-26 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'afd608200c73'
down_revision = '921f40b24982'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_confirmed_at', sa.DateTime(), nullable=True))
    # Readers who asked before confirmation existed keep their emails.
    comment = sa.table('comment', sa.column('notify', sa.Boolean()), sa.column('created_at', sa.DateTime()),
                       sa.column('notify_confirmed_at', sa.DateTime()))
    op.execute(comment.update().where(comment.c.notify.is_(True)).values(notify_confirmed_at=comment.c.created_at))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('notify_confirmed_at')
