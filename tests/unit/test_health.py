"""The stall rule (pure) and what the health pages answer from it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from streams.config.settings import load_settings
from streams.worker import stall
from streams.worker.health import Health
from streams.worker.metrics import Counters
from streams.worker.pages import liveness, readiness
from streams.worker.stall import AgentState, Verdict

T0 = 1_700_000_000.0
TIMEOUT = 120.0


def agent(**changes: Any) -> AgentState:
    values: dict[str, Any] = {"name": "score", "last_progress": T0, "lag": 50, "lag_since": T0}
    return AgentState(**(values | changes))


def test_lag_counts_from_the_next_offset_to_process_up_to_the_high_watermark() -> None:
    assert stall.lag(100, 90) == 10
    assert stall.lag(100, 100) == 0
    assert stall.lag(100, 120) == 0  # a high watermark older than the commit


def test_lag_since_starts_with_the_first_sample_with_lag_and_ends_with_one_without() -> None:
    assert stall.lag_since(None, 5, T0) == T0
    assert stall.lag_since(T0, 7, T0 + 10) == T0
    assert stall.lag_since(T0, 0, T0 + 20) is None
    assert stall.lag_since(T0, None, T0 + 20) is None


def test_the_stall_clock_stops_while_the_broker_or_search_server_is_down() -> None:
    """An index agent waiting out a search server outage is not stalled; its clock starts again
    when the server answers."""
    assert stall.lag_since(T0, 5, T0 + 10, servers_up=False) is None
    back = stall.lag_since(None, 5, T0 + 500)
    assert stall.stalled(agent(lag_since=back), T0 + 500 + TIMEOUT, TIMEOUT) is None


def test_an_agent_with_lag_and_no_progress_past_the_timeout_is_stalled() -> None:
    reason = stall.stalled(agent(), T0 + TIMEOUT + 1, TIMEOUT)
    assert reason is not None
    assert "agent score made no progress for 121s while 50 messages waited" in reason
    assert stall.stalled(agent(), T0 + TIMEOUT, TIMEOUT) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"lag": 0, "lag_since": None},  # idle: nothing to do
        {"lag": None, "lag_since": None},  # lag unknown (rebalancing, nothing fetched yet)
        {"last_progress": T0 + 100},  # busy: progress while lag stays
        {"loading": True},  # loading its model: not ready, not stalled
    ],
)
def test_not_stalled(changes: dict[str, Any]) -> None:
    assert stall.stalled(agent(**changes), T0 + TIMEOUT + 50, TIMEOUT) is None


def test_the_clock_starts_when_lag_appears_not_at_the_last_progress() -> None:
    """An agent idle for an hour is not stalled the moment a message arrives."""
    quiet = agent(last_progress=T0 - 3600, lag_since=T0)
    assert stall.stalled(quiet, T0 + 10, TIMEOUT) is None
    assert stall.stalled(quiet, T0 + TIMEOUT + 1, TIMEOUT) is not None


def test_a_dead_agent_fails_at_once_even_without_lag_or_while_loading() -> None:
    dead = agent(lag=0, lag_since=None, loading=True, crash="RecursionError: too deep")
    assert stall.stalled(dead, T0, TIMEOUT) == "agent score died: RecursionError: too deep"


def test_judge_lists_every_failing_agent() -> None:
    agents = [
        agent(),
        agent(name="index", lag=0, lag_since=None),
        agent(name="detect", crash="KeyError: 'x'"),
    ]
    verdict = stall.judge(agents, T0 + TIMEOUT + 5, TIMEOUT)
    assert not verdict.healthy
    assert [r.split()[1] for r in verdict.reasons] == ["score", "detect"]
    assert verdict.reason == "; ".join(verdict.reasons)
    assert stall.judge(agents[1:2], T0 + TIMEOUT + 5, TIMEOUT) == Verdict(True)


def test_the_worker_exits_only_after_failing_for_the_whole_grace_period() -> None:
    failed, ok = Verdict(False, ("x",)), Verdict(True)
    since = stall.failing_since(None, failed, T0)
    assert since == T0
    assert stall.failing_since(since, failed, T0 + 10) == T0
    assert not stall.should_exit(since, T0 + 29, 30)
    assert stall.should_exit(since, T0 + 30, 30)
    assert stall.failing_since(since, ok, T0 + 20) is None  # recovered within the grace period
    assert not stall.should_exit(None, T0 + 100, 30)


def test_an_agent_that_regroups_reads_its_repartition_topic() -> None:
    assigned = ["fw.scored", "detect-fw.scored-brand-repartition", "fw-detector-buckets-changelog"]
    assert stall.inputs("detect", ["fw.scored"], assigned) == {"detect-fw.scored-brand-repartition"}
    assert stall.inputs("index", ["fw.scored"], assigned) == {"fw.scored"}


def test_agent_lag_sums_its_known_partitions() -> None:
    lags = {("raw", 0): 3, ("raw", 1): 4, ("scored", 0): 0}
    inputs = {"score": frozenset({"raw"}), "index": frozenset({"scored"}), "incidents": frozenset({"flares"})}
    assert stall.agent_lags(inputs, lags) == {"score": 7, "index": 0, "incidents": None}


# -- the hooks and the pages' answers (no broker needed) ---------------------------------------


def health() -> Health:
    return Health(load_settings(None), Counters(), models={"score"})


def test_not_ready_until_the_model_is_loaded_and_the_servers_answer() -> None:
    h = health()
    h.checks.update(broker=True, search=True)
    assert readiness(h, None) == {
        "status": "not ready",
        "checks": {"broker": True, "search": True, "model": False},
    }
    assert liveness(h, None) == {"status": "ok"}
    h.model_loaded("score")
    assert readiness(h, None)["status"] == "ready"
    assert "score" in h.last


def test_a_fatal_error_fails_both_probes_with_its_reason() -> None:
    h = health()
    h.model_loaded("score")
    h.checks.update(broker=True, search=True)
    fatal = RuntimeError("too many invalid messages")
    assert liveness(h, fatal) == {"status": "failed", "reason": "too many invalid messages"}
    assert readiness(h, fatal)["reason"] == "too many invalid messages"


def test_a_failed_verdict_fails_liveness_and_tells_when_the_worker_exits() -> None:
    h = health()
    h.verdict, h.failing_from = Verdict(False, ("agent score made no progress",)), time.time()
    body = liveness(h, None)
    assert body["status"] == "failed"
    assert body["reasons"] == ["agent score made no progress"]
    assert 0 < body["exits_in_s"] <= h.settings.worker.stall_grace_s
    assert readiness(h, None)["status"] == "not ready"


def test_watch_records_an_agent_death_and_lets_the_exception_through() -> None:
    h = health()

    async def agent_body(stream: Any) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    watched = h.watch("score", agent_body)
    with pytest.raises(RecursionError):
        asyncio.run(watched(None))
    assert h.crashes == {"score": "RecursionError: maximum recursion depth exceeded"}
    assert watched.__name__ == "agent_body"
