"""The worker: batch sizes, message limits, the dead-letter limit, health and its web port."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from streams.contracts.limits import MAX_MESSAGE_BYTES


class WorkerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score_batch: int = Field(default=64, ge=1, le=1024)
    """The most mentions scored at once."""
    score_batch_timeout_s: float = Field(default=0.02, gt=0, le=5)
    """How long a mention waits for batchmates at most: every this often the scoring agent takes
    what has arrived (up to ``score_batch``). Batches adapt to the arrival rate: a lone mention is
    scored alone at once, and under load the next batch fills while the last one is scored, up to
    ``score_batch`` when mentions come faster than they are scored. Waiting longer only adds
    latency: the batch that forms while the last one is scored is already as large as the load."""
    index_batch: int = Field(default=500, ge=1, le=10_000)
    """The most mentions in one bulk request."""
    index_batch_timeout_s: float = Field(default=0.05, gt=0, le=5)
    """The same for the indexing (and removals) agents: bulk requests grow with the load while
    the last one is in flight."""
    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, ge=1024)
    dlq_max_invalid_ratio: float = Field(default=0.5, gt=0, le=1)
    dlq_window: int = Field(default=200, ge=1)
    dlq_min_messages: int = Field(default=50, ge=1)
    dlq_max_consecutive: int = Field(default=100, ge=1)
    web_bind: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    data_dir: Path = Path(".flarewatch/worker")
    stall_timeout_s: float = Field(default=120.0, gt=0)
    """An agent that finishes nothing for this long while its input has lag (and the broker and
    the search server answer) is stalled: /health, /health/live and /health/ready answer 503 with
    the reason. Loading the model, or waiting out an outage, is not a stall (only not ready).
    Keep it well above the longest batch, e.g. a slow scoring batch or an index batch's retries."""
    stall_grace_s: float = Field(default=30.0, ge=0)
    """How long the worker keeps failing its health check (a stall or a dead agent) before it exits
    non-zero for its supervisor to restart it; it exits at once if still running this long after."""
    standby_replicas: int = Field(default=1, ge=0, le=8)
    """Standby copies each worker keeps of other workers' table partitions (Faust's
    ``table_standby_replicas``): a partition that moves after a worker leaves is ready at once
    instead of being rebuilt from its changelog. 0 saves memory and lets a joining worker take
    partitions right away (with standbys the assignor keeps partitions where their copies are)."""
    malloc_arenas: int = Field(default=2, ge=0, le=64)
    """glibc's malloc arenas for the worker process (``mallopt(M_ARENA_MAX)``, as the
    ``MALLOC_ARENA_MAX`` variable sets it, which wins when set); 0 keeps glibc's default of eight
    per core. Each thread that allocates (the encoder lanes, the executors, the Kafka client)
    otherwise gets an arena of its own that keeps its freed memory. Measured with
    ``bench/bench_pipeline.py`` over 20,000 mentions: peak RSS 915 MiB against 1,028 MiB (905
    with the variable instead), no slower."""
    health_interval_s: float = Field(default=5.0, gt=0, le=60)
    """How often the watchdog samples lag, progress and readiness."""
