"""The webhooks' Celery tasks: the fan-out of the outbox (every few seconds, and again at once while there is a
backlog) and the sending of due deliveries (on each fan-out, on request, and every few seconds for retries)."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(name="webhooks.tasks.dispatch_events", ignore_result=True)
def dispatch_events() -> dict[str, int]:
    """Read the outbox into deliveries; while a backlog remains, queue itself again rather than hold a worker."""
    result = services.dispatch()
    if result.more:
        dispatch_events.delay()
    return {"events": result.events, "deliveries": result.deliveries, "more": int(result.more)}


@shared_task(name="webhooks.tasks.send_deliveries", ignore_result=True)
def send_deliveries() -> dict[str, int]:
    """Send what is due for up to 20 s, then queue itself again if more is due."""
    totals = services.send_due()
    if totals.get("more"):
        send_deliveries.delay()
    return totals
