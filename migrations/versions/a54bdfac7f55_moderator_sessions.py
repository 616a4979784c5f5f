"""moderator sessions kept on the server, so that signing out, a password change or a revocation ends them

Revision ID: a54bdfac7f55
Revises: afd608200c73
Create Date: 2026-11-30 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a54bdfac7f55'
down_revision = 'afd608200c73'
branch_labels = None
depends_on = None


def upgrade():
    # Sessions signed in before this existed carry no session token: they end,
    # and their moderators sign in again once.
    op.create_table(
        'moderator_session',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('moderator_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['moderator_id'], ['moderator.id'],
                                name=op.f('fk_moderator_session_moderator_id_moderator'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_moderator_session')),
    )
    with op.batch_alter_table('moderator_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderator_session_moderator_id'), ['moderator_id'], unique=False)


def downgrade():
    with op.batch_alter_table('moderator_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderator_session_moderator_id'))
    op.drop_table('moderator_session')
