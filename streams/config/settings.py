"""The one settings object, validated at start-up and passed in. Nothing else reads the environment.

Sources, highest priority first: explicit overrides (CLI flags), ``FLAREWATCH_*`` environment
variables (nested with ``__``, e.g. ``FLAREWATCH_SCORING__THREADS=2``), a ``.env`` file, the
YAML file named by ``--config`` or ``FLAREWATCH_CONFIG``, then defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from models.language import DEFAULT_CANDIDATES
from models.quantization import Quantization
from models.runtime import Runtime
from streams.contracts.limits import MAX_MESSAGE_BYTES


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "flarewatch"


class SettingsError(ValueError):
    """Configuration is invalid; the message lists every problem, one per line."""


class ScoringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime: Runtime = Runtime.ONNX
    quantization: Quantization = Quantization.INT8_ATTENTION
    threads: int | None = Field(default=None, ge=1, le=256)
    """Inference threads; None: one per core this process may use."""
    lanes: bool = True
    """ONNX: sub-batches side by side, one thread each (False: one at a time, intra-op threads)."""
    max_length: int = Field(default=128, ge=16, le=512)
    batch_size: int = Field(default=64, ge=1, le=1024)
    cache_dir: Path = Field(default_factory=default_cache_dir)
    """Where the rebuilt encoder and its ONNX export are cached (outside git)."""
    hf_model_dir: Path | None = None
    """A local Hugging Face sequence-classification model that replaces the sentiment head."""
    hf_label_map: dict[str, str] = Field(default_factory=dict)
    """The plug-in model's label names mapped to negative/neutral/positive."""
    detection_candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    detection_high_accuracy: bool = True

    @field_validator("hf_label_map")
    @classmethod
    def _label_targets(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in ("negative", "neutral", "positive")})
        if bad:
            raise ValueError(f"targets must be negative, neutral or positive, not {', '.join(bad)}")
        return value


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


class ElasticsearchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    index_prefix: str = Field(default="flarewatch", pattern=r"^[a-z0-9._-]+$")
    shards: int = Field(default=1, ge=1, le=64)
    replicas: int = Field(default=0, ge=0, le=8)
    request_timeout_s: float = Field(default=30.0, gt=0)


class WorkerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score_batch: int = Field(default=64, ge=1, le=1024)
    score_batch_timeout_s: float = Field(default=0.5, gt=0)
    index_batch: int = Field(default=500, ge=1, le=10_000)
    index_batch_timeout_s: float = Field(default=1.0, gt=0)
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
    health_interval_s: float = Field(default=5.0, gt=0, le=60)
    """How often the watchdog samples lag, progress and readiness."""


class DetectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    baseline_windows: int = Field(default=24, ge=1, le=24 * 14)
    min_history: int = Field(default=24, ge=1)
    z: float = Field(default=3.5, gt=0)
    min_count: int = Field(default=8, ge=1)
    min_ratio: float = Field(default=2.0, ge=1)


class BrandSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    """The id mentions carry in their ``brand`` field."""
    display_name: str | None = None
    terms: tuple[str, ...] = Field(min_length=1)
    """Words, handles and hashtags that count as a mention of the brand."""

    @field_validator("terms")
    @classmethod
    def _terms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in value):
            raise ValueError("terms must not be empty strings")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FLAREWATCH_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        frozen=True,
    )

    config_file: ClassVar[Path | None] = None

    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    detector: DetectorSettings = Field(default_factory=DetectorSettings)
    brands: tuple[BrandSettings, ...] = ()
    """Monitored brands. Empty: accept mentions of any brand (development)."""

    @field_validator("brands")
    @classmethod
    def _unique_brands(cls, value: tuple[BrandSettings, ...]) -> tuple[BrandSettings, ...]:
        names = [b.name for b in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"brand names must be unique: {', '.join(duplicates)}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, _YamlSource(settings_cls)


class _YamlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path: Path | None = getattr(self.settings_cls, "config_file", None)
        if path is None:
            return {}
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise SettingsError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise SettingsError(f"config file {path} must hold a mapping at the top level")
        return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read and validate every source; raises :class:`SettingsError` with all problems listed."""
    if config_file is None and os.environ.get("FLAREWATCH_CONFIG"):
        config_file = Path(os.environ["FLAREWATCH_CONFIG"])
    cls: type[Settings] = Settings
    if config_file is not None:
        cls = type("FileSettings", (Settings,), {"config_file": config_file})
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        ]
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(problems)) from exc
