"""Starting this app's Celery tasks by name.

imports.tasks calls the services and the export runner; they in turn start those tasks once their
transaction commits. They name the task rather than import it, so the imports go one way only (tasks
-> services, tasks -> exports). ImportsConfig.ready() imports imports.tasks, so every process
(web, worker, shell) has the tasks registered before anything starts one.
"""

from typing import Any

from celery import current_app

PROCESS_IMPORT_BATCH = "imports.process_import_batch"
RUN_EXPORT_JOB = "imports.run_export_job"


def start(task_name: str, *args: Any) -> None:
    """Queue the task (run it here and now in eager mode, without a broker)."""
    current_app.tasks[task_name].delay(*args)
