"""email languages: a site's (sites already there keep English), and the one each comment's author read the widget in

Revision ID: 921f40b24982
Revises: 31851d12e07e
Create Date: 2026-11-25 21:48:55.146689

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '921f40b24982'
down_revision = '31851d12e07e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('language')
