"""the database refuses a comment status, site mode or digest frequency the service does not know (CHECK)

Revision ID: a61956a41b35
Revises: c4f1e07a9b21
Create Date: 2026-11-30 08:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a61956a41b35'
down_revision = 'c4f1e07a9b21'
branch_labels = None
depends_on = None

# (table, column, allowed values): the values of service.choices written out,
# so that this migration never changes with the code.
CHECKS = (
    ('site', 'mode', ('auto', 'pre', 'first-time', 'post')),
    ('site', 'digest', ('instant', 'hourly', 'daily', 'off')),
    ('comment', 'status', ('pending', 'approved', 'rejected', 'spam', 'deleted')),
)


def _refuse_unknown_values():
    """Name the rows a constraint would refuse, before changing anything."""
    connection = op.get_bind()
    for table, column, allowed in CHECKS:
        found = connection.execute(
            sa.select(sa.column(column), sa.func.count())
            .select_from(sa.table(table, sa.column(column)))
            .where(sa.column(column).not_in(allowed))
            .group_by(sa.column(column))
        ).all()
        if found:
            counts = ', '.join(f'{value!r}: {count}' for value, count in found)
            raise RuntimeError(f'{table}.{column} holds values other than {", ".join(allowed)} ({counts}); '
                               'correct those rows, then migrate again.')


def upgrade():
    _refuse_unknown_values()
    for table in ('site', 'comment'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, allowed in CHECKS:
                if name == table:
                    batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), sa.column(column).in_(allowed))


def downgrade():
    for table in ('comment', 'site'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, _allowed in CHECKS:
                if name == table:
                    batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
