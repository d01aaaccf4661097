"""The Celery app. Without CELERY_BROKER_URL every task runs in-process (eager)."""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("loyalty", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def _worker_timeouts(**kwargs):
    """A worker's tasks may wait for locks and run statements longer than a request (loyalty/dbtimeouts.py)."""
    from loyalty.dbtimeouts import use_worker_timeouts

    use_worker_timeouts()
