"""Program configuration and catalog facts cached per process, checked against the program's
generations.

Point types, tiers, sponsors, channels and the compiled promotions change a few times a day and are
read by every booking. Each process keeps them while `Program.generation` stays what it was when they
were loaded; every save or delete of a watched model sets a new generation in the same transaction,
so the first unit of work after the commit loads them again. The products' facts (catalog) work the
same way with `Program.catalog_generation`, which the catalog services move (a product import does
not make every process recompile the promotions). The program row itself is read once per unit of
work (loyalty.memo), so checking costs no extra query.

A generation is a random number, not a counter: a transaction that sets one and rolls back must not
let a later change arrive at the same number and find the rolled-back state cached under it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.db.models.signals import post_delete, post_save

from loyalty.models import Program
from loyalty.models.program import new_generation

T = TypeVar("T")

_lock = threading.Lock()
_cache: dict[str, tuple[int, Any]] = {}
CATALOG_LIMIT = 100_000  # product facts kept per process; beyond, they start again from empty


def bump_configuration(**_: Any) -> None:
    """A new generation for the program row (a signal receiver too: it takes the signal's kwargs)."""
    Program.objects.update(generation=new_generation())


def bump_catalog(**_: Any) -> None:
    """A new catalog generation (services that write products in bulk call it; a signal receiver too)."""
    Program.objects.update(catalog_generation=new_generation())


def _connect(receiver: Callable[..., None], label: str, watched: tuple[type[models.Model], ...]) -> None:
    for model in watched:
        uid = f"{label}-{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid, weak=False)
        post_delete.connect(receiver, sender=model, dispatch_uid=uid, weak=False)


def watch(*watched: type[models.Model]) -> None:
    """Every save and delete of these models moves the generation (admin, services, factories)."""
    _connect(bump_configuration, "configuration", watched)


def watch_catalog(*watched: type[models.Model]) -> None:
    """Every save and delete of these models moves the catalog generation. Bulk writes send no
    signals: the services that make them call bump_catalog."""
    _connect(bump_catalog, "catalog", watched)


def cached(name: str, load: Callable[[], T]) -> T:
    """`load()` once per process and generation. Callers must not change what it returns (see
    `copies` for model instances handed on to code that might)."""
    generation = Program.current().generation
    hit = _cache.get(name)
    if hit is not None and hit[0] == generation:
        return hit[1]
    with _lock:
        value = load()
        _cache[name] = (generation, value)
    return value


def catalog_facts() -> dict[Any, Any]:
    """A dict of product facts for the current catalog generation (empty when it moved): the
    caller fills in what it reads. Its values must not be changed."""
    generation = Program.current().catalog_generation
    hit = _cache.get("catalog")
    if hit is not None and hit[0] == generation and len(hit[1]) < CATALOG_LIMIT:
        return hit[1]
    with _lock:
        facts: dict[Any, Any] = {}
        _cache["catalog"] = (generation, facts)
    return facts


def copies(instances: dict[Any, T]) -> dict[Any, T]:
    """Fresh copies of cached model instances, so a caller that sets an attribute changes only its own."""
    return {key: copy.copy(instance) for key, instance in instances.items()}


def forget() -> None:
    """Drop everything cached (tests, after rolling the database back)."""
    with _lock:
        _cache.clear()
