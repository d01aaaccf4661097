"""The event feed's cursors become positions in the order (writing transaction, event id).

An existing cursor acknowledged every event up to an id. Its position becomes (t - 1, that id), t being the
oldest transaction that wrote an event above that id (or is still running): no unacknowledged event is
skipped, and acknowledged events of transaction t or younger ones come once more (the feed is at least once).
The ids stay real event ids, as the answers show them."""

from django.db import migrations, models

def to_positions(apps, schema_editor):
    cursor_model = apps.get_model("loyalty", "EventCursor")
    event_model = apps.get_model("loyalty", "Event")
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return  # SQLite stores no transaction ids: every position is (0, id), as the cursors already are
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        horizon = cursor.fetchone()[0]
    for row in cursor_model.objects.all():
        later = event_model.objects.filter(id__gt=row.acknowledged_id, txid__isnull=False)
        oldest = later.aggregate(models.Min("txid"))["txid__min"]
        start = min(horizon, oldest) if oldest is not None else horizon
        row.acknowledged_txid = start - 1
        delivered = event_model.objects.filter(pk=row.delivered_id).values_list("txid", flat=True).first() or 0
        row.delivered_txid, row.delivered_id = max((delivered, row.delivered_id), (start - 1, row.acknowledged_id))
        row.save(update_fields=["acknowledged_txid", "delivered_txid", "delivered_id"])


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0015_event_txid_brin")]

    operations = [
        migrations.AddField(
            model_name="eventcursor", name="acknowledged_txid", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(model_name="eventcursor", name="delivered_txid", field=models.BigIntegerField(default=0)),
        migrations.RunPython(to_positions, migrations.RunPython.noop),
    ]
