"""Keeping one bad item from taking a batch down: on failure, try each item alone."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

log = logging.getLogger("flarewatch.worker")
T = TypeVar("T")
R = TypeVar("R")


async def each_alone(
    items: Sequence[T], call: Callable[[Sequence[T]], Awaitable[R]], what: str
) -> tuple[list[R], list[tuple[T, Exception]]]:
    """``[await call(items)]``; if that raises, ``await call([item])`` for each item alone, so one
    bad item does not take the others down. Returns the results, and the items that raised even
    alone with their exception. Never raises an ``Exception`` (cancellation propagates); waits as
    long as ``call`` does."""
    try:
        return [await call(items)], []
    except Exception:
        log.exception("%s failed for a batch of %d; trying each alone", what, len(items))
    results: list[R] = []
    raised: list[tuple[T, Exception]] = []
    for item in items:
        try:
            results.append(await call([item]))
        except Exception as exc:
            raised.append((item, exc))
    return results, raised
