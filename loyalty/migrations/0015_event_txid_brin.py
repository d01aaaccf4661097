"""A BRIN index on the outbox's writing transaction, for the webhook dispatcher, which reads events in the
order of the transactions that wrote them (webhooks.services.dispatch). Transaction ids grow with the table, so a
block-range index answers "transactions between a and b" from a few kilobytes and costs a booking almost nothing
to keep (a B-tree would add an entry per event). PostgreSQL only: SQLite stores no transaction id."""

from django.db import migrations

CREATE = "CREATE INDEX CONCURRENTLY IF NOT EXISTS event_txid_brin ON loyalty_event USING brin (txid)"
DROP = "DROP INDEX CONCURRENTLY IF EXISTS event_txid_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY: the outbox keeps taking events while the index is built

    dependencies = [("loyalty", "0014_api_key_rate_limits")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
