"""The purchase flow's models now live in the `transactions` app (transactions 0001): drop them from
this app's state. Their tables stay as they are."""

from django.db import migrations

MODELS = ["TransactionLine", "TransactionReturn", "TransactionReward", "Transaction"]


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0006_leaner_booking_indexes"),
        ("transactions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name=name) for name in MODELS],
            database_operations=[],
        ),
    ]
