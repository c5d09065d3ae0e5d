"""``flarewatch demo`` and ``flarewatch up``: everything on one machine, one command."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

from streams.cli.context import AppContext, log
from streams.cli.stop_signals import Stopped, stop_at_once
from streams.devstack.demo import SAMPLE, Demo, DemoError, DemoOptions, Status
from streams.devstack.embedded import EmbeddedError
from streams.devstack.incidents import delivery_rows, incident_rows
from streams.worker.metrics import Metric


@click.command()
@click.option(
    "--once",
    is_flag=True,
    help="Exit with a summary once the sample is indexed, its flare-ups are incidents and their "
    "deliveries are done or failed for good.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flarewatch/demo"),
    show_default=True,
    help="Where the servers keep their files and logs.",
)
@click.option(
    "--sample",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=SAMPLE,
    help="Mentions to replay (default: the bundled sample stream).",
)
@click.option("--rate", type=float, help="Replay this many mentions per second.")
@click.option(
    "--speedup",
    type=float,
    help="Replay by the original timestamps, this many times faster (the bundled sample: 7200 by default).",
)
@click.option("--fresh", is_flag=True, help="Delete earlier demo data first.")
@click.pass_obj
def demo(
    app: AppContext,
    once: bool,
    data_dir: Path,
    sample: Path,
    rate: float | None,
    speedup: float | None,
    fresh: bool,
) -> int:
    """Start broker, search server and worker, replay the sample stream, show progress and incidents."""
    if rate is not None and speedup is not None:
        raise click.UsageError("choose --rate or --speedup, not both")
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    started = time.monotonic()
    status = _run(app, DemoOptions(data_dir, sample, once, rate, speedup))
    if isinstance(status, Stopped):
        return status.exit_code
    m, outcome = status.m, status.outcome
    delivered = sum(d.status == "delivered" for d in outcome.deliveries)
    failed = sum(d.status == "failed" for d in outcome.deliveries)
    click.echo(
        f"\ndemo finished in {time.monotonic() - started:.0f}s\n"
        f"  replayed       {status.sent:>7,} lines\n"
        f"  scored         {int(m(Metric.SCORED)):>7,} (complaints {int(m(Metric.COMPLAINTS)):,})\n"
        f"  unscored       {int(m(Metric.UNSCORED)):>7,} (unsupported language or no words)\n"
        f"  indexed        {status.indexed:>7,} mentions\n"
        f"  dead-lettered  {int(m(Metric.DEAD_LETTERS)):>7,}\n"
        f"  late           {int(m(Metric.DETECTOR_LATE)):>7,} (came after their bucket closed)\n"
        f"  incidents      {len(outcome.incidents):>7,}\n"
        f"  deliveries     {len(outcome.deliveries):>7,} (delivered {delivered}, failed {failed})"
    )
    if outcome.incidents:
        click.echo("incidents (id, brand, category, severity, state, start):")
        click.echo("\n".join(incident_rows(outcome.incidents)))
    if outcome.deliveries:
        click.echo("deliveries (notifier, version, status, attempts):")
        click.echo("\n".join(delivery_rows(outcome.deliveries)))
    click.echo(
        f"search what landed: flarewatch search blik --data-dir {data_dir}   "
        f"(incidents: flarewatch incidents --data-dir {data_dir})"
    )
    return 0


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flarewatch/up"),
    show_default=True,
)
@click.option("--kafka-port", type=click.IntRange(1, 65535), default=9092, show_default=True)
@click.option("--search-port", type=click.IntRange(1, 65535), default=9200, show_default=True)
@click.pass_obj
def up(app: AppContext, data_dir: Path, kafka_port: int, search_port: int) -> int:
    """Like demo, without the sample: the pipeline waits for real collectors until Ctrl-C
    (or SIGTERM, SIGHUP); exits with 128 + the signal's number once everything has stopped."""
    options = DemoOptions(data_dir, None, False, kafka_port=kafka_port, search_port=search_port)
    status = _run(app, options)
    return status.exit_code if isinstance(status, Stopped) else 0


def _run(app: AppContext, options: DemoOptions) -> Status | Stopped:
    """Run the demo runner until it finishes or a stop signal arrives; raises ClickException
    when a server or the worker fails."""
    try:
        with stop_at_once():
            return Demo(app.settings(), options, log, click.echo).run()
    except Stopped as stopped:
        click.echo(f"\nstopped by {stopped.name}: worker, broker and search server shut down")
        return stopped
    except (EmbeddedError, DemoError) as exc:
        raise click.ClickException(str(exc)) from exc
