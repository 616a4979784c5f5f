"""PostgreSQL tells every listening worker when a thread or a site changes (triggers sending NOTIFY), so reads need not ask

Revision ID: b7c2e5f14a90
Revises: 266f909efbfb
Create Date: 2026-11-30 05:45:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7c2e5f14a90'
down_revision = '266f909efbfb'
branch_labels = None
depends_on = None

# "<thread id> <version>" when only a thread's version moved, "*" for any
# other change a read could see; on a channel per schema.  The same
# statements as service.freshness.TRIGGERS, written out so that this
# migration never changes with the code.
UPGRADE = (
    """
CREATE OR REPLACE FUNCTION causerie_thread_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.site_id = OLD.site_id AND NEW.url = OLD.url AND NEW.key IS NOT DISTINCT FROM OLD.key THEN
            IF NEW.version <> OLD.version THEN
                PERFORM pg_notify('causerie:' || TG_TABLE_SCHEMA, NEW.id || ' ' || NEW.version);
            END IF;
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pg_notify('causerie:' || TG_TABLE_SCHEMA, '*');
    RETURN NULL;
END
$$""",
    """
CREATE OR REPLACE FUNCTION causerie_site_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('causerie:' || TG_TABLE_SCHEMA, '*');
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER causerie_thread_changed AFTER INSERT OR UPDATE OR DELETE ON thread"
    " FOR EACH ROW EXECUTE FUNCTION causerie_thread_changed()",
    "CREATE TRIGGER causerie_thread_truncated AFTER TRUNCATE ON thread"
    " FOR EACH STATEMENT EXECUTE FUNCTION causerie_thread_changed()",
    "CREATE TRIGGER causerie_site_changed AFTER UPDATE OF key, origins OR DELETE ON site"
    " FOR EACH ROW EXECUTE FUNCTION causerie_site_changed()",
    "CREATE TRIGGER causerie_site_truncated AFTER TRUNCATE ON site"
    " FOR EACH STATEMENT EXECUTE FUNCTION causerie_site_changed()",
)
DOWNGRADE = (
    "DROP TRIGGER IF EXISTS causerie_site_truncated ON site",
    "DROP TRIGGER IF EXISTS causerie_site_changed ON site",
    "DROP TRIGGER IF EXISTS causerie_thread_truncated ON thread",
    "DROP TRIGGER IF EXISTS causerie_thread_changed ON thread",
    "DROP FUNCTION IF EXISTS causerie_site_changed()",
    "DROP FUNCTION IF EXISTS causerie_thread_changed()",
)


def upgrade():
    # SQLite needs nothing: one machine, where readers ask PRAGMA data_version.
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
