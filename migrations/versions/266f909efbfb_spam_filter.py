"""spam filter: per-site feature counts and lessons, each comment's score, verdict and reasons, and the auto mode (existing sites keep their mode)

Revision ID: 266f909efbfb
Revises: 5c2e9b7d41f3
Create Date: 2026-11-30 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '266f909efbfb'
down_revision = '5c2e9b7d41f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'spam_count',
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('feature', sa.String(length=100), nullable=False),
        sa.Column('spam', sa.Integer(), nullable=False),
        sa.Column('ham', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('site_id', 'feature'),
    )
    op.create_table(
        'spam_lesson',
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=8), nullable=False),
        sa.Column('features', sa.JSON(), nullable=False),
        sa.Column('before_status', sa.String(length=16), nullable=True),
        sa.Column('before_label', sa.String(length=8), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('comment_id'),
    )
    with op.batch_alter_table('spam_lesson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spam_lesson_site_id'), ['site_id'], unique=False)
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spam_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('spam_verdict', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('spam_reasons', sa.JSON(), nullable=True))
    # Existing sites keep the mode they chose; only new sites start in auto.
    # A plain string default: SQLite then adds the column in place, where an
    # expression would make Alembic copy the table (and the drop of the old
    # one would cascade to every thread and comment).
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spam_trust_first_time', sa.Boolean(), server_default='0',
                                      nullable=False))


def downgrade():
    site = sa.table('site', sa.column('mode', sa.String()))
    op.execute(site.update().where(site.c.mode == 'auto').values(mode='first-time'))
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('spam_trust_first_time')
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('spam_reasons')
        batch_op.drop_column('spam_verdict')
        batch_op.drop_column('spam_score')
    with op.batch_alter_table('spam_lesson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spam_lesson_site_id'))
    op.drop_table('spam_lesson')
    op.drop_table('spam_count')
