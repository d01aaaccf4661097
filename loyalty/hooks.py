"""Extension points of the ground for the apps that stand on it.

Changing the program's currency, time zone or points precision once it has bookings changes how
they read. The admin asks for a confirmation that says what changes; the apps that hold the data
say it, registered from their AppConfig.ready():

    from loyalty.hooks import register_program_change_notes

    @register_program_change_notes
    def notes(program, changes):  # changes: {field: (before, after)}
        return ["1,234 transactions were booked in EUR; ..."]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SENSITIVE_PROGRAM_FIELDS = ("currency", "time_zone", "points_precision")

ProgramChangeNotes = Callable[[Any, dict[str, tuple[Any, Any]]], list[str]]
_program_change_notes: list[ProgramChangeNotes] = []


def register_program_change_notes(fn: ProgramChangeNotes) -> ProgramChangeNotes:
    if fn not in _program_change_notes:
        _program_change_notes.append(fn)
    return fn


def program_change_notes(program: Any, changes: dict[str, tuple[Any, Any]]) -> list[str]:
    """What the change of these program settings means for the data the program already has."""
    return [note for fn in _program_change_notes for note in fn(program, changes)]
