"""commenter keys: trust and reply emails follow the key a commenter's browser keeps, not a typed address

Revision ID: 5c2e9b7d41f3
Revises: a54bdfac7f55
Create Date: 2026-11-30 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c2e9b7d41f3'
down_revision = 'a54bdfac7f55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commenter_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_comment_site_commenter_hash', ['site_id', 'commenter_hash'], unique=False)


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_site_commenter_hash')
        batch_op.drop_column('commenter_hash')
