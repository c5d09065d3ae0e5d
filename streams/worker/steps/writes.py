"""What the index step writes through.

The writer is :class:`streams.search.indexer.Indexer` in the worker (over a real client) and in
tests (over ``tests.fakes.search.FakeSearch``). Its methods return only once the search server has
acknowledged or rejected for good every document: transient failures (429, 5xx, an unreachable
server) are retried inside, without limit, so they never reach a step; what a method raises is a
non-transient failure of the whole request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from streams.contracts.records import ScoredMention

if TYPE_CHECKING:
    from streams.search.sink import Rejected


class SearchWriter(Protocol):
    async def mentions(self, batch: Sequence[ScoredMention]) -> list[Rejected]:
        """Index the mentions; the ones the server rejected for good (``action.id``: mention id)."""
        ...

    async def threads(self, batch: Sequence[ScoredMention]) -> list[Rejected]:
        """Merge the mentions into their threads; rejected thread documents (``action.id``: key)."""
        ...


def rejection_reason(rejected: Rejected) -> str:
    return f"rejected by Elasticsearch ({rejected.status}): {rejected.reason}"
