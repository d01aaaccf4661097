"""On PostgreSQL the database itself keeps the journal honest (LEDGER.md):
bookings, postings and lot movements reject UPDATE and DELETE, and a deferred constraint trigger
rejects, at commit, a booking whose postings do not sum to zero per point type.
TRUNCATE (the test flush) fires no row triggers. SQLite relies on the services and ledger_verify."""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_booking_append_only BEFORE UPDATE OR DELETE ON ledger_booking
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_lotmovement_append_only BEFORE UPDATE OR DELETE ON ledger_lotmovement
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE OR REPLACE FUNCTION ledger_booking_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced RECORD;
BEGIN
    SELECT a.point_type_id, SUM(p.amount) AS total INTO unbalanced
      FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
     WHERE p.booking_id = NEW.booking_id
     GROUP BY a.point_type_id
    HAVING SUM(p.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'booking % postings sum to % for point type %',
            NEW.booking_id, unbalanced.total, unbalanced.point_type_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_booking_balanced();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_booking_balanced();
DROP TRIGGER IF EXISTS ledger_booking_append_only ON ledger_booking;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_lotmovement_append_only ON ledger_lotmovement;
DROP FUNCTION IF EXISTS ledger_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
