"""readers may follow a page: its new comments by email (confirmed like replies), grouped

Revision ID: c4f1e07a9b21
Revises: b7c2e5f14a90
Create Date: 2026-11-30 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f1e07a9b21'
down_revision = 'b7c2e5f14a90'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('followed_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('followed_until')
        batch_op.drop_column('follow')
