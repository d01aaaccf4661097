"""The purchase flow's models, moved here from the `loyalty` app. Their tables keep their names
(`loyalty_transaction`, ...): this migration creates them in Django's state only and writes no
table, and the content types (and so the permissions granted on them and the admin's history)
move with them. loyalty 0007 then drops them from the `loyalty` app's state."""

import django.db.models.deletion
from django.db import migrations, models


MODELS = ["transaction", "transactionline", "transactionreturn", "transactionreward"]


def move_content_types(source: str, target: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        for model in MODELS:
            if not ContentType.objects.using(db).filter(app_label=target, model=model).exists():
                ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('ledger', '0004_leaner_booking_indexes'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('loyalty', '0006_leaner_booking_indexes'),
        ('memberships', '0003_leaner_indexes'),
        ('promotions', '0003_configuration_generation'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Transaction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tx_id', models.CharField(help_text="The integrator's id: books once.", max_length=100)),
                        ('receipt_id', models.CharField(help_text='The receipt number; returns name it.', max_length=100)),
                        ('channel', models.CharField(blank=True, max_length=60)),
                        ('occurred_at', models.DateTimeField()),
                        ('total_amount', models.DecimalField(decimal_places=2, max_digits=14)),
                        ('currency', models.CharField(max_length=3)),
                        ('payment_method', models.CharField(blank=True, max_length=40)),
                        ('properties', models.JSONField(blank=True, default=dict)),
                        ('status', models.CharField(choices=[('booked', 'Booked'), ('partially_returned', 'Partially returned'), ('returned', 'Returned')], default='booked', max_length=20)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('response', models.JSONField(blank=True, help_text='The first answer, replayed for the same txId.', null=True)),
                        ('member_context', models.JSONField(default=dict, help_text='What the engine knew of the member.')),
                        ('cap_usage', models.JSONField(default=dict, help_text='Cap usage the engine saw, for recomputing returns.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('booking', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.booking')),
                        ('membership', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='memberships.membership')),
                        ('sponsor', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='loyalty.sponsor')),
                    ],
                    options={
                        'db_table': 'loyalty_transaction',
                        'ordering': ['-occurred_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='TransactionLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.PositiveIntegerField(help_text='1 for the first item of the request.')),
                        ('product_key', models.CharField(max_length=100)),
                        ('quantity', models.DecimalField(decimal_places=3, max_digits=12)),
                        ('unit_price', models.DecimalField(decimal_places=2, max_digits=14)),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=14)),
                        ('returned_quantity', models.DecimalField(decimal_places=3, default=0, max_digits=12)),
                        ('known', models.BooleanField(default=True, help_text='The catalog knew the product when it was booked.')),
                        ('facts', models.JSONField(default=dict, help_text='Categories and attributes the engine saw.')),
                        ('transaction', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='transactions.transaction')),
                    ],
                    options={
                        'db_table': 'loyalty_transactionline',
                        'ordering': ['transaction_id', 'position'],
                    },
                ),
                migrations.CreateModel(
                    name='TransactionReturn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sequence', models.PositiveIntegerField()),
                        ('items', models.JSONField(help_text='{position: quantity} returned.')),
                        ('reversed_points', models.JSONField(default=dict, help_text='{point type: minor units} taken back.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('booking', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.booking')),
                        ('transaction', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='returns', to='transactions.transaction')),
                    ],
                    options={
                        'db_table': 'loyalty_transactionreturn',
                        'ordering': ['transaction_id', 'sequence'],
                    },
                ),
                migrations.CreateModel(
                    name='TransactionReward',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('promotion_key', models.CharField(max_length=60)),
                        ('point_type', models.CharField(max_length=40)),
                        ('amount', models.BigIntegerField(help_text='Minor units of the point type.')),
                        ('lines', models.JSONField(default=dict, help_text='Minor units attributed to each line position.')),
                        ('trace', models.JSONField(default=list)),
                        ('capped', models.JSONField(blank=True, null=True)),
                        ('vouchers', models.JSONField(default=list, help_text='Tokens of vouchers this reward issued.')),
                        ('promotion_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='rewards', to='promotions.promotionversion')),
                        ('transaction', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rewards', to='transactions.transaction')),
                    ],
                    options={
                        'db_table': 'loyalty_transactionreward',
                        'ordering': ['transaction_id', 'id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='transaction',
                    index=models.Index(fields=['membership', '-occurred_at'], name='tx_member_time_idx'),
                ),
                migrations.AddIndex(
                    model_name='transaction',
                    index=models.Index(fields=['occurred_at'], name='tx_time_idx'),
                ),
                migrations.AddIndex(
                    model_name='transaction',
                    index=models.Index(fields=['receipt_id'], name='tx_receipt_idx'),
                ),
                migrations.AddConstraint(
                    model_name='transaction',
                    constraint=models.UniqueConstraint(fields=('tx_id',), name='tx_id_once'),
                ),
                migrations.AddConstraint(
                    model_name='transaction',
                    constraint=models.UniqueConstraint(fields=('sponsor', 'receipt_id'), name='tx_receipt_once_per_sponsor'),
                ),
                migrations.AddConstraint(
                    model_name='transactionline',
                    constraint=models.UniqueConstraint(fields=('transaction', 'position'), name='tx_line_position_once'),
                ),
                migrations.AddConstraint(
                    model_name='transactionreturn',
                    constraint=models.UniqueConstraint(fields=('transaction', 'sequence'), name='tx_return_once'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            move_content_types("loyalty", "transactions"),
            move_content_types("transactions", "loyalty"),
        ),
    ]
