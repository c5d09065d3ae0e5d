"""``flarewatch deadletters``: what the worker could not handle, readably; ``deadletters replay``
re-publishes chosen originals after a fix (ids are deterministic, so a replay never duplicates)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from streams.cli.context import AppContext, log, settings_for
from streams.config.kafka import KafkaSettings
from streams.contracts.records import DeadLetter
from streams.kafka.dead_letter_reader import (
    DeadLetterError,
    ReplayPlan,
    Selection,
    original,
    parse_position,
    parse_since,
    plan_replay,
    position,
    publish,
    read_dead_letters,
)
from streams.kafka.topics import Topics

PREVIEW_CHARS = 80


def _selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--since", help="Failed at or after this time (UTC unless given) or age: 90m, 2h, 3d."),
        click.option("--reason", help="Reason contains this text (case-insensitive)."),
        click.option("--stage", help="Failed in this stage: decode, validate, score, index..."),
        click.option(
            "--offset",
            "offsets",
            multiple=True,
            help="The original's topic:partition:offset (repeatable).",
        ),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Use the broker of the `flarewatch up`/`demo` running on this folder.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(invoke_without_command=True)
@_selection_options
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Show the newest N.")
@click.pass_context
def deadletters(
    ctx: click.Context,
    since: str | None,
    reason: str | None,
    stage: str | None,
    offsets: tuple[str, ...],
    data_dir: Path | None,
    limit: int,
) -> None:
    """List dead letters, oldest first: time, stage, original position, size, reason, preview.

    `flarewatch deadletters replay --help` tells how to re-publish them after a fix."""
    if ctx.invoked_subcommand is not None:
        given = [f"--{n.replace('_', '-')}" for n in ctx.params if _given(ctx, n)]
        if given:
            raise click.ClickException(f"put {', '.join(given)} after '{ctx.invoked_subcommand}'")
        return
    chosen = _selection(since, reason, stage, offsets)
    kafka = _kafka(ctx.find_object(AppContext), data_dir)
    letters, total = _read(kafka, chosen, data_dir)
    if not letters:
        click.echo("no dead letters match" if total else "no dead letters")
        return
    shown = letters[-limit:]
    more = f"; the newest {len(shown)} (see --limit)" if len(shown) < len(letters) else ""
    click.echo(f"{len(letters)} of {total} dead letters match{more} (times in UTC):")
    for letter in shown:
        click.echo(describe(letter))


@deadletters.command()
@_selection_options
@click.option("--all", "everything", is_flag=True, help="Every dead letter (no other choice needed).")
@click.option(
    "--other-topics",
    is_flag=True,
    help="Also re-publish letters from the worker's other topics (scored, flares, incidents), "
    "to the topic they came from.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@click.pass_obj
def replay(
    app: AppContext,
    since: str | None,
    reason: str | None,
    stage: str | None,
    offsets: tuple[str, ...],
    data_dir: Path | None,
    everything: bool,
    other_topics: bool,
    dry_run: bool,
) -> None:
    """Re-publish the original bytes and key of chosen dead letters to the raw topic, after the
    cause was fixed (a brand configured, a producer corrected). Mention ids are deterministic, so a
    mention already indexed is overwritten, never duplicated; one still bad is dead-lettered again
    (many of those can trip the worker's dead-letter limit: look with --dry-run first)."""
    if not (everything or since or reason or stage or offsets):
        raise click.ClickException("choose with --since, --reason, --stage or --offset (or --all)")
    chosen = _selection(since, reason, stage, offsets)
    kafka = _kafka(app, data_dir)
    letters, _ = _read(kafka, chosen, data_dir)
    if not letters:
        click.echo("no dead letters match")
        return
    plan = plan_replay(letters, Topics(kafka.topic_prefix), other_topics)
    for letter, why in plan.refused:
        log(f"not re-publishing {_where(letter)}: {why}")
    if dry_run:
        for send in plan.sends:
            click.echo(f"would re-publish {_where(send.letter)} ({_size(len(send.value))}) to {send.topic}")
        sent = 0
    else:
        sent = _publish(kafka, plan, data_dir)
    click.echo(_summary(plan, sent, dry_run))


def describe(letter: DeadLetter) -> str:
    """Three lines: when, stage, where and size; the reason; the start of the original."""
    size = _size(letter.value_size) + (" (only the start kept)" if letter.value_truncated else "")
    return (
        f"{letter.failed_at:%Y-%m-%d %H:%M:%S}  {letter.stage:<8}  {_where(letter)}  {size}\n"
        f"    reason:  {_printable(letter.reason)}\n"
        f"    preview: {preview(letter)}"
    )


def preview(letter: DeadLetter, chars: int = PREVIEW_CHARS) -> str:
    """The original's first characters; bytes that are not UTF-8 and control characters escaped."""
    try:
        value = original(letter)[1]
    except ValueError:
        return "(not readable: value_b64 is not base64)"
    if not value:
        return "(empty)"
    text = _printable(value[: chars * 4].decode("utf-8", "backslashreplace"))
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _where(letter: DeadLetter) -> str:
    return ":".join(str(part) for part in position(letter))


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def _summary(plan: ReplayPlan, sent: int, dry_run: bool) -> str:
    targets = ", ".join(sorted({s.topic for s in plan.sends}))
    done = f"would re-publish {len(plan.sends)}" if dry_run else f"re-published {sent}"
    parts = [done + (f" to {targets}" if targets else "")]
    if plan.refused:
        parts.append(f"refused {len(plan.refused)} (reasons above)")
    if plan.other_topics:
        parts.append(f"skipped {len(plan.other_topics)} that came from other topics (see --other-topics)")
    return "; ".join(parts)


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)


def _selection(
    since: str | None, reason: str | None, stage: str | None, offsets: tuple[str, ...]
) -> Selection:
    try:
        return Selection(
            since=parse_since(since, datetime.now(UTC)) if since else None,
            reason=reason,
            stage=stage,
            positions=frozenset(parse_position(o) for o in offsets),
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _kafka(app: AppContext | None, data_dir: Path | None) -> KafkaSettings:
    return settings_for(app, data_dir).kafka


def _read(kafka: KafkaSettings, chosen: Selection, data_dir: Path | None) -> tuple[list[DeadLetter], int]:
    """The chosen letters and how many the topic holds; notes on anything odd go to stderr."""
    try:
        reading = read_dead_letters(kafka, chosen)
    except DeadLetterError as exc:
        raise _failed(exc, data_dir) from exc
    for note in reading.unreadable:
        log(f"not a dead letter, ignored: {note}")
    if not reading.complete:
        log("the dead-letter topic was not read to its end in time: the list may miss the newest")
    return reading.letters, reading.total


def _publish(kafka: KafkaSettings, plan: ReplayPlan, data_dir: Path | None) -> int:
    try:
        return publish(kafka, plan.sends) if plan.sends else 0
    except DeadLetterError as exc:
        raise _failed(exc, data_dir) from exc


def _failed(exc: DeadLetterError, data_dir: Path | None) -> click.ClickException:
    note = " (the embedded broker lives only while `flarewatch up` or `demo` runs)" if data_dir else ""
    return click.ClickException(f"{exc}{note}")
