"""Celery. Without CELERY_BROKER_URL tasks run in-process, so nothing needs a broker to try it."""

from celery.schedules import crontab

from .env import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Every task of this project is safe to run twice (each claims its work or uses idempotency
# keys), so it is acknowledged after it ran: a worker that dies mid-task loses nothing.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep limits well under Redis' visibility timeout, or a long task is delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The periodic jobs. Each domain app adds its own here; `manage.py run_job NAME` runs one now.
CELERY_BEAT_SCHEDULE = {
    "purge_idempotency_records": {
        "task": "loyalty.tasks.purge_idempotency_records",
        "schedule": crontab(minute=17, hour=3),
    },
    "expire_points": {"task": "ledger.tasks.expire_points", "schedule": crontab(minute=5)},
    "notify_matured_points": {"task": "ledger.tasks.notify_matured_points", "schedule": crontab(minute="*/15")},
    "notify_expiring_points": {"task": "ledger.tasks.notify_expiring_points", "schedule": crontab(minute=35, hour=6)},
    "verify_ledger": {"task": "ledger.tasks.verify_ledger", "schedule": crontab(minute=45, hour=2)},
    "expire_vouchers": {"task": "vouchers.tasks.expire_vouchers", "schedule": crontab(minute=25)},
    "roll_up_days": {"task": "loyalty.tasks.roll_up_days", "schedule": crontab(minute=20)},
    "assess_tiers": {"task": "promotions.tasks.assess_tiers", "schedule": crontab(minute=30, hour=1)},
    # Webhooks: the outbox is read every 2 s; retries that came due are sent every 5 s (docs/webhooks.md).
    "dispatch_webhooks": {"task": "webhooks.tasks.dispatch_events", "schedule": 2.0, "options": {"expires": 2}},
    "send_webhooks": {"task": "webhooks.tasks.send_deliveries", "schedule": 5.0, "options": {"expires": 5}},
}
