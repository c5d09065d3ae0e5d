"""``flarewatch replay FILE``: publish a JSON Lines or CSV file of mentions to the raw topic."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.context import AppContext, log
from streams.cli.stop_signals import stop_between_steps


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rate", type=float, help="Messages per second (default: as fast as possible).")
@click.option("--speedup", type=float, help="Follow the original timestamps, this many times faster.")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Checkpoint file (default: .flarewatch/replay/<file name>.json).",
)
@click.option("--restart", is_flag=True, help="Ignore the checkpoint and send everything again.")
@click.pass_obj
def replay(
    app: AppContext,
    file: Path,
    rate: float | None,
    speedup: float | None,
    checkpoint: Path | None,
    restart: bool,
) -> int:
    """Replay mentions into Kafka with progress, pacing and a checkpoint. SIGINT, SIGTERM or
    SIGHUP stop it after the line being sent, with what was sent flushed and checkpointed."""
    from streams.collectors.replay import Pace, Replay
    from streams.kafka.admin import cluster_id, ensure_topics
    from streams.kafka.clients import kafka_python_config
    from streams.kafka.topics import Topics

    try:
        pace = Pace(rate, speedup)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    settings = app.settings()
    ensure_topics(settings.kafka, log)
    checkpoint = checkpoint or Path(".flarewatch/replay") / f"{file.name}.json"
    if restart:
        checkpoint.unlink(missing_ok=True)
    with stop_between_steps() as stop:
        collector = Replay(
            kafka_python_config(settings.kafka),
            Topics(settings.kafka.topic_prefix).raw,
            cluster_id(settings.kafka),
            log,
            stop=stop,
        )
        try:
            report = collector.run(file, checkpoint, pace)
        finally:
            collector.close()
    click.echo(
        f"replayed {report.sent} of {report.lines} lines in {report.seconds:.1f}s "
        f"({report.skipped} already sent earlier, {report.too_large} too large)"
    )
    if not report.stopped:
        return 0
    stopped = stop.stopped()
    click.echo(f"stopped by {stopped.name}; checkpoint saved in {checkpoint}, run again to go on")
    return stopped.exit_code
