from celery import shared_task

from loyalty.services import purge_idempotency_records as purge


@shared_task(name="loyalty.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return purge()


@shared_task(name="loyalty.tasks.roll_up_days")
def roll_up_days() -> dict[str, int]:
    """Sum the days that ended into the dashboard's summary tables (days summed per table), and take
    the hourly snapshots of figures about now."""
    from loyalty.rollups import registered_rollups, registered_snapshots, roll_up, take_snapshot

    summed = {rollup.name: roll_up(rollup) for rollup in registered_rollups()}
    for snapshot in registered_snapshots():
        take_snapshot(snapshot)
    return summed
