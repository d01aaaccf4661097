from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run one periodic job of the beat schedule now, in this process."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="A job name; leave out to list them.")

    def handle(self, *args, name, **options):
        schedule = settings.CELERY_BEAT_SCHEDULE
        if not name:
            for job, entry in sorted(schedule.items()):
                self.stdout.write(f"{job}: {entry['task']} ({entry['schedule']})")
            return
        if name not in schedule:
            raise CommandError(f"No job {name!r}; known: {', '.join(sorted(schedule))}.")
        # Task names are their import paths (a convention every app follows), so this finds them
        # without waiting for Celery's lazy autodiscovery.
        task = symbol_by_name(schedule[name]["task"])
        result = task.apply().get()
        self.stdout.write(f"{name}: {result}")
