"""Reads that cannot change within one unit of work (a booking, a return, a dry run), made once.

A service that reads the program row, the point types or the tiers several times per call (and
the ledger and tier engine it calls read them again) wraps its entry point in `reads_once`; inside
it `memoized` loads each fact once. Outside such a call `memoized` simply loads: nothing is cached
across calls, so a change in the admin is seen by the next request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[str, Any] | None] = ContextVar("unit_of_work_memo", default=None)


def reads_once(fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if _memo.get() is not None:
            return fn(*args, **kwargs)
        token = _memo.set({})
        try:
            return fn(*args, **kwargs)
        finally:
            _memo.reset(token)

    return wrapper


def memoized(name: str, load: Callable[[], T]) -> T:
    memo = _memo.get()
    if memo is None:
        return load()
    if name not in memo:
        memo[name] = load()
    return memo[name]


def memo_dict(name: str) -> dict[Any, Any]:
    """A dict that lives as long as the unit of work (a throwaway one outside of it)."""
    memo = _memo.get()
    return {} if memo is None else memo.setdefault(name, {})
