"""The stall rule, pure: given what the watchdog sampled, is the worker alive?

An agent is stalled when its input has had lag, without a break, for longer than the stall
timeout and the agent finished nothing in that time. The clock only runs while the broker and
the search server answer: an agent waiting out an outage is not stalled (the worker is not
ready, which says why, and a restart would not help). An agent still loading its model is not
judged either (not ready yet, again a different answer). An agent that died (an exception
escaped it) fails the worker at once: the messages of its unfinished batch are never
acknowledged, so the consumer cannot commit past them until the worker restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Partition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class AgentState:
    name: str
    last_progress: float
    """Unix seconds the agent last finished a batch, or since when it has been waiting to start."""
    lag: int | None
    """Messages waiting on its input topics; None while unknown (not assigned or not fetched yet)."""
    lag_since: float | None
    """Since when its lag has been above zero at every sample; None when it is not."""
    loading: bool = False
    """Still loading its model: not judged."""
    crash: str | None = None
    """Why it died, if it did."""


@dataclass(frozen=True, slots=True)
class Verdict:
    healthy: bool
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def lag(high_watermark: int, done: int) -> int:
    """Messages from ``done`` (the next offset to process) up to the high watermark."""
    return max(0, high_watermark - done)


def lag_since(previous: float | None, lag: int | None, now: float, servers_up: bool = True) -> float | None:
    """The start of the current run of samples with lag and the servers answering, given the
    start before this sample."""
    if not lag or not servers_up:
        return None
    return now if previous is None else previous


def inputs(agent: str, channel_topics: Iterable[str], assigned: Iterable[str]) -> frozenset[str]:
    """The topics an agent's loop reads. An agent that regroups its stream (Faust ``group_by``)
    reads the repartition topic Faust names ``{agent}-{source}-{name}-repartition``; its source
    topic is drained by Faust in the background."""
    regrouped = frozenset(t for t in assigned if t.startswith(f"{agent}-") and t.endswith("-repartition"))
    return regrouped or frozenset(channel_topics)


def agent_lags(
    inputs_by_agent: Mapping[str, frozenset[str]], lags: Mapping[Partition, int]
) -> dict[str, int | None]:
    """Each agent's lag summed over the partitions of its input topics; None if none is known."""
    result: dict[str, int | None] = {}
    for agent, topics in inputs_by_agent.items():
        known = [n for (topic, _), n in lags.items() if topic in topics]
        result[agent] = sum(known) if known else None
    return result


def stalled(agent: AgentState, now: float, timeout_s: float) -> str | None:
    """Why ``agent`` fails the worker, or None when it does not."""
    if agent.crash is not None:
        return f"agent {agent.name} died: {agent.crash}"
    if agent.loading or agent.lag_since is None or not agent.lag:
        return None
    idle = now - max(agent.last_progress, agent.lag_since)
    if idle <= timeout_s:
        return None
    return (
        f"agent {agent.name} made no progress for {idle:.0f}s "
        f"while {agent.lag} messages waited (stall timeout {timeout_s:g}s)"
    )


def judge(agents: Sequence[AgentState], now: float, timeout_s: float) -> Verdict:
    reasons = tuple(r for a in agents if (r := stalled(a, now, timeout_s)) is not None)
    return Verdict(not reasons, reasons)


def failing_since(previous: float | None, verdict: Verdict, now: float) -> float | None:
    """When the current run of failed verdicts began; None while healthy."""
    if verdict.healthy:
        return None
    return now if previous is None else previous


def should_exit(failing_from: float | None, now: float, grace_s: float) -> bool:
    """The worker has failed for the whole grace period: time to exit and be restarted."""
    return failing_from is not None and now - failing_from >= grace_s
