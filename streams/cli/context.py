"""What every command gets: the config file path and, on demand, validated settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from streams.config.settings import Settings, load_settings


@dataclass
class AppContext:
    config_file: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self, **overrides: Any) -> Settings:
        """Settings with CLI overrides applied; raises SettingsError when invalid."""
        if overrides or self._settings is None:
            settings = load_settings(self.config_file, **overrides)
            if overrides:
                return settings
            self._settings = settings
        return self._settings


def settings_for(app: AppContext | None, data_dir: Path | None) -> Settings:
    """The settings of the `flarewatch up`/`demo` running on ``data_dir`` (the config file it
    wrote there), or the command's own when no folder is given."""
    if data_dir is None:
        return (app or AppContext()).settings()
    config = data_dir / "flarewatch.yaml"
    if not config.is_file():
        raise click.ClickException(f"{config} not found: start `flarewatch up --data-dir {data_dir}` first")
    return load_settings(config)


def log(message: str) -> None:
    """Progress and notes go to stderr, so stdout stays machine-readable."""
    print(f"flarewatch: {message}", file=sys.stderr, flush=True)


def scoring_overrides(**values: Any) -> dict[str, Any]:
    """``{"scoring": {...}}`` with only the options the user actually gave."""
    given = {k: v for k, v in values.items() if v is not None}
    return {"scoring": given} if given else {}
