"""Periodic promotion jobs (beat schedule in config/settings/tasks.py; `manage.py run_job NAME`)."""

from celery import shared_task

from loyalty.actors import Actor
from promotions.tiers import assess_all


@shared_task(name="promotions.tasks.assess_tiers")
def assess_tiers() -> dict[str, int]:
    """Nightly: upgrades missed, grace periods started, and downgrades once the grace has run out."""
    return assess_all(actor=Actor.for_system("assess_tiers"))


@shared_task(name="promotions.tasks.run_backtest")
def run_backtest(run_id: int) -> None:
    """A backtest too long for a page request (promotions.backtest.run_backtest)."""
    from promotions.backtest import run_backtest as run

    run(run_id)
