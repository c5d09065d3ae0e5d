"""Length bucketing: split a batch into sub-batches of similar length to cut padding."""

from __future__ import annotations

from collections.abc import Sequence


def plan_buckets(lengths: Sequence[int], max_batch: int, overhead_tokens: int) -> list[list[int]]:
    """Group indices into sub-batches that minimise padded work.

    Texts are sorted by length; a dynamic programme then cuts the sorted run where the cost
    ``count * longest + overhead_tokens`` summed over sub-batches is smallest. Each sub-batch
    holds at most ``max_batch`` indices. Returns the original indices, grouped.
    """
    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = len(order)
    best = [0] + [0] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = lengths[order[end - 1]]
        best[end] = -1
        for start in range(max(0, end - max_batch), end):
            cost = best[start] + (end - start) * longest + overhead_tokens
            if best[end] < 0 or cost < best[end]:
                best[end], cut[end] = cost, start
    groups: list[list[int]] = []
    end = n
    while end > 0:
        groups.append(order[cut[end] : end])
        end = cut[end]
    return groups[::-1]


def spread(groups: Sequence[Sequence[int]], lengths: Sequence[int], lanes: int) -> list[list[int]]:
    """Sub-batches for ``lanes`` side-by-side calls. The costliest (rows x longest) is halved
    while it is more than one lane's fair share of the total, then all are ordered costliest
    first, so that threads that take the next as they finish end close together."""
    if lanes < 1:
        raise ValueError("lanes must be at least 1")

    def cost(group: list[int]) -> int:
        return len(group) * max(lengths[i] for i in group)

    out = [list(g) for g in groups if g]
    share = sum(cost(g) for g in out) / lanes
    while out:
        largest = max(out, key=cost)
        if len(largest) < 2 or cost(largest) <= share:
            break
        out.remove(largest)
        half = len(largest) // 2
        out += [largest[:half], largest[half:]]
    return sorted(out, key=cost, reverse=True)
