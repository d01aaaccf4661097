"""Periodic promotion jobs (beat schedule in config/settings/tasks.py; `manage.py run_job NAME`)."""

from celery import shared_task

from loyalty.actors import Actor
from promotions.tiers import assess_all


@shared_task(name="promotions.tasks.assess_tiers")
def assess_tiers() -> dict[str, int]:
    """Nightly: upgrades missed, grace periods started, and downgrades once the grace has run out."""
    return assess_all(actor=Actor.for_system("assess_tiers"))
