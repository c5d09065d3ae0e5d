"""Kafka: where the brokers are, topic layout, security and client timing."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class KafkaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated host:port list."""
    topic_prefix: str = Field(default="flarewatch", pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=16)
    group_id: str = Field(default="flarewatch-worker", pattern=r"^[A-Za-z0-9._-]+$")
    """Faust application id: consumer group and internal topic names derive from it."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    session_timeout_s: float = Field(default=30.0, gt=0)
    heartbeat_interval_s: float = Field(default=3.0, gt=0)
    linger_ms: int = Field(default=10, ge=0, le=1000)
    """How long the worker's producer waits to fill a batch: fewer, larger produce requests."""
    producer_batch_bytes: int = Field(default=256 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]
