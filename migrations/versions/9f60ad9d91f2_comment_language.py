"""comment language: the language its author read the widget in, for the emails they get

Revision ID: 9f60ad9d91f2
Revises: 921f40b24982
Create Date: 2026-11-25 21:56:38.264455

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9f60ad9d91f2'
down_revision = '921f40b24982'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('language')
