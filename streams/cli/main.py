"""The ``flarewatch`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from models.artifact import ArtifactError
from models.e5.cache import EncoderUnavailable
from models.hf_backend import BackendConfigError
from streams.cli.context import AppContext
from streams.cli.deadletters import deadletters
from streams.cli.demo import demo, up
from streams.cli.init import init
from streams.cli.model import model
from streams.cli.replay import replay
from streams.cli.score import score
from streams.cli.search import alerts, search
from streams.cli.status import status
from streams.cli.stop_signals import Stopped
from streams.cli.worker import worker
from streams.config.settings import SettingsError

EXPECTED_ERRORS = (SettingsError, EncoderUnavailable, ArtifactError, BackendConfigError, OSError)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file (default: $FLAREWATCH_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None) -> None:
    """Flarewatch: streaming monitor for brand mentions."""
    ctx.obj = AppContext(config_file)


cli.add_command(score)
cli.add_command(model)
cli.add_command(worker)
cli.add_command(init)
cli.add_command(replay)
cli.add_command(demo)
cli.add_command(up)
cli.add_command(search)
cli.add_command(alerts)
cli.add_command(status)
cli.add_command(deadletters)


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="flarewatch", standalone_mode=False)
    except click.exceptions.Abort:
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except EXPECTED_ERRORS as exc:
        print(f"flarewatch: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    except Stopped as exc:
        print(f"flarewatch: stopped by {exc.name}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)
