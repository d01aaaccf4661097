from django.db import models


class RollupState(models.Model):
    """How far a daily summary table is filled: every day up to `through` (in `time_zone`) is summed.

    Days after it are read live from the source rows (loyalty.rollups). A change of the program's time
    zone moves every day's boundaries: the summary is then emptied and summed again.
    """

    name = models.CharField(max_length=60, primary_key=True)
    through = models.DateField(null=True, blank=True)
    time_zone = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} through {self.through} ({self.time_zone})"


class Snapshot(models.Model):
    """A figure about "now" that takes seconds to compute on a large program (points expiring in the next
    days, members per status and tier), taken by the hourly job and read by the dashboard with its time."""

    name = models.CharField(max_length=60, primary_key=True)
    taken_at = models.DateTimeField()
    value = models.JSONField()

    def __str__(self) -> str:
        return f"{self.name} at {self.taken_at:%Y-%m-%d %H:%M}"
