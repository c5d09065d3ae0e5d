"""No silent stall: the probes, /metrics and `flarewatch status` against a real worker (with the
fixed scorer, tests/fakes/worker.py), the real broker and the real search server."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from streams.cli.status import parse_metrics
from streams.config.settings import Settings
from streams.worker.metrics import Metric, Timing, Watch
from tests.factories import mention
from tests.integration.conftest import running, wait_for

pytestmark = pytest.mark.integration


def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        return parse_metrics(response.read().decode())


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def status(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", "status", "--data-dir", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def with_worker(settings: Settings, **worker: Any) -> Settings:
    return settings.model_copy(update={"worker": settings.worker.model_copy(update=worker)})


def test_ready_shows_as_soon_as_the_worker_is_ready_not_at_the_next_interval(
    settings: Settings, tmp_path: Path
) -> None:
    """With a 60 s health interval, /health/ready turns 200 right after the group is joined and
    the model loaded: the check runs again then, instead of a minute later."""
    import time

    with running(with_worker(settings, health_interval_s=60), tmp_path) as harness:
        port = harness.settings.worker.web_port
        started = time.monotonic()
        worker = harness.start_fake_worker()
        wait_for(lambda: get(port, "/health/ready")[0] == 200, 50, "the worker ready", worker)
        assert time.monotonic() - started < 50
        assert get(port, "/health/ready")[1]["checks"] == {"broker": True, "search": True, "model": True}


def test_probes_metrics_and_status_of_a_working_worker(settings: Settings, tmp_path: Path) -> None:
    with running(with_worker(settings, health_interval_s=1), tmp_path) as harness:
        port = harness.settings.worker.web_port
        worker = harness.start_fake_worker()
        wait_for(lambda: get(port, "/health/ready")[0] == 200, 120, "the worker ready", worker)
        assert get(port, "/health/ready")[1] == {
            "status": "ready",
            "checks": {"broker": True, "search": True, "model": True},
        }
        assert get(port, "/health/live") == (200, {"status": "ok"})
        assert get(port, "/health") == (200, {"status": "ok"})

        mentions = [mention(n, minutes=n) for n in range(40)]
        harness.produce_mentions(mentions)
        harness.produce([(b"bad", b"not json")])
        raw = harness.topics.raw

        def settled() -> bool:
            s = metrics(port)
            lags = [
                v
                for (name, labels), v in s.items()
                if name == Watch.CONSUMER_LAG and ("topic", raw) in labels
            ]
            return value(s, Metric.INDEXED) == len(mentions) and len(lags) == 3 and not any(lags)

        wait_for(settled, 120, "every mention indexed and the raw topic's lag back to 0", worker)
        s = metrics(port)
        assert value(s, Watch.AGENT_LAG, agent="score") == 0
        assert value(s, Watch.AGENT_MESSAGES, agent="score") == len(mentions) + 1
        assert value(s, Watch.AGENT_MESSAGES, agent="index") == len(mentions)
        assert value(s, Watch.AGENT_CRASHES, agent="score") is None
        for timing in Timing:
            assert (value(s, timing + "_count") or 0) >= 1, timing
        assert value(s, Timing.CREATED_TO_INDEXED + "_count") == len(mentions)
        assert value(s, Timing.PUBLISHED_TO_INDEXED + "_count") == len(mentions)
        # mentions created in 2026-11 are older than a minute; just published ones are not
        assert value(s, Timing.CREATED_TO_INDEXED + "_bucket", le="60.0") == 0
        assert value(s, Timing.PUBLISHED_TO_INDEXED + "_bucket", le="60.0") == len(mentions)
        assert (value(s, "process_resident_memory_bytes") or 0) > 0
        assert value(s, Watch.HEALTHY) == 1 and value(s, Watch.READY) == 1

        result = status(harness.folder, "--interval", "0.5")
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "health   ok" in out and "ready    yes" in out
        assert "received 41" in out and "indexed 40" in out and "dead letters 1" in out
        rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
        assert rows["score"][-3:-1] == ["41", "0.0"] and rows["score"][-1] == "0"
        assert rows[raw][-1] == "0"
        assert "dead letters: the newest 1 of 1" in out
        letter = next(line for line in out.splitlines() if "invalid JSON" in line).split()
        assert letter[2:4] == ["decode", f"{raw}:{letter[3].split(':')[1]}:0"], out

        harness.stop_all()
        result = status(harness.folder)
        assert result.returncode == 1
        assert "is not reachable" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_stalled_agent_fails_health_and_the_worker_exits_non_zero(
    settings: Settings, tmp_path: Path
) -> None:
    stalling = with_worker(settings, health_interval_s=1, stall_timeout_s=4, stall_grace_s=20, score_batch=4)
    with running(stalling, tmp_path) as harness:
        port = harness.settings.worker.web_port
        delay = tmp_path / "delay"
        worker = harness.start_fake_worker(delay)
        wait_for(lambda: get(port, "/health/ready")[0] == 200, 120, "the worker ready", worker)
        harness.produce_mentions([mention(1)])
        wait_for(lambda: value(metrics(port), Metric.INDEXED) == 1, 60, "the first mention indexed", worker)

        delay.write_text("600")  # scoring hangs: the agent stops making progress
        harness.produce_mentions([mention(n) for n in range(2, 30)])
        wait_for(lambda: get(port, "/health")[0] == 503, 60, "/health to fail", worker)
        code, body = get(port, "/health/live")
        assert code == 503, body
        assert "agent score made no progress" in body["reason"] and "messages waited" in body["reason"]
        result = status(harness.folder, "--interval", "0", "--dead-letters", "0")
        assert result.returncode == 1 and "FAILED: agent score made no progress" in result.stdout

        wait_for(lambda: not worker.alive(), 90, "the worker to exit")
        assert worker.process.returncode == 1
        assert "exiting" in worker.tail(40)
