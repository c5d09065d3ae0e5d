"""The ``flarewatch`` command."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from models.errors import ArtifactError, BackendConfigError, EncoderUnavailable
from streams.cli.context import AppContext
from streams.cli.stop_signals import Stopped
from streams.config.secrets import SecretError
from streams.config.settings import SettingsError

EXPECTED_ERRORS = (SettingsError, SecretError, EncoderUnavailable, ArtifactError, BackendConfigError, OSError)


COMMANDS = {
    "score": "streams.cli.score:score",
    "model": "streams.cli.model:model",
    "worker": "streams.cli.worker:worker",
    "init": "streams.cli.init:init",
    "replay": "streams.cli.replay:replay",
    "demo": "streams.cli.demo:demo",
    "up": "streams.cli.demo:up",
    "search": "streams.cli.search:search",
    "incidents": "streams.cli.incidents:incidents",
    "status": "streams.cli.status:status",
    "deadletters": "streams.cli.deadletters:deadletters",
    "detect": "streams.cli.detect:detect",
    "rules": "streams.cli.rules:rules",
    "collect": "streams.cli.collect:collect",
    "kibana": "streams.cli.kibana:kibana",
    "sla": "streams.cli.sla:sla",
    "threads": "streams.cli.threads:threads",
    "web": "streams.cli.web:web",
}
"""Command name -> where it lives. Imported when used: most commands never load torch, and a
command that fails at once (a taken port, a bad flag) should not wait seconds for it first."""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, name = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


SERVER_ERROR_MODULES = ("kafka", "aiokafka", "elasticsearch", "elastic_transport")
"""Where the broker's and the search server's client errors come from: a command that cannot
reach either says so in one line. Matched by module, so this file imports neither client."""


def server_error(exc: BaseException) -> bool:
    package = type(exc).__module__.partition(".")[0]
    return package in SERVER_ERROR_MODULES


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
    except Exception as exc:
        if not server_error(exc):
            raise
        print(f"flarewatch: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
