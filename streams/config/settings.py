"""The one settings object, validated at start-up and passed in. Nothing else reads the environment.

Sources, highest priority first: explicit overrides (CLI flags), ``FLAREWATCH_*`` environment
variables (nested with ``__``, e.g. ``FLAREWATCH_SCORING__THREADS=2``), a ``.env`` file, the
YAML file named by ``--config`` or ``FLAREWATCH_CONFIG``, then defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from models.threads.policy import SlaPolicy
from streams.config.brands import BrandSettings
from streams.config.collectors import CollectorSettings
from streams.config.detector import DetectorSettings
from streams.config.incidents import IncidentSettings
from streams.config.kafka import KafkaSettings
from streams.config.notifiers import NotifySettings
from streams.config.scoring import ScoringSettings
from streams.config.search import ElasticsearchSettings
from streams.config.sla import ThreadSettings, sla_policy
from streams.config.web import WebSettings
from streams.config.worker import WorkerSettings


class SettingsError(ValueError):
    """Configuration is invalid; the message lists every problem, one per line."""


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
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    """Notifiers and routes; no notifiers: incidents are recorded, nobody is paged."""
    collectors: CollectorSettings = Field(default_factory=CollectorSettings)
    """Platform APIs, poll interval and noise handling for ``flarewatch collect``."""
    brands: tuple[BrandSettings, ...] = ()
    """Monitored brands. Empty: accept mentions of any brand (development)."""
    threads: ThreadSettings = Field(default_factory=ThreadSettings)
    """Business hours, response targets (SLAs) and when an open thread goes stale."""
    web: WebSettings = Field(default_factory=WebSettings)
    """The crisis-room page: where it listens, its refresh and the token for its actions."""

    def sla_policy(self) -> SlaPolicy:
        return sla_policy(self.threads, {b.name: b.service for b in self.brands if b.service is not None})

    @model_validator(mode="before")
    @classmethod
    def _top_level_notifiers(cls, data: Any) -> Any:
        """``notifiers:`` and ``routes:`` may sit at the top of the YAML, as the README shows
        them; they are the ``notify`` section's."""
        if not isinstance(data, dict) or not {"notifiers", "routes"} & data.keys():
            return data
        data = dict(data)
        notify = data.get("notify") or {}
        if not isinstance(notify, dict):
            return data  # the section's own validation reports it
        notify = dict(notify)
        for key in ("notifiers", "routes"):
            if key in data:
                if key in notify:
                    raise ValueError(f"{key}: given both at the top level and under notify")
                notify[key] = data.pop(key)
        data["notify"] = notify
        return data

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
