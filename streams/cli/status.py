"""``flarewatch status``: the worker's health, lag, throughput and newest dead letters.

Reads the worker's /health, /health/ready and /metrics pages (twice, ``--interval`` apart, for
the throughput) and the dead-letter topic. Exit code 0 when the worker is healthy, 1 when it is
unhealthy or cannot be reached.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from prometheus_client.parser import text_string_to_metric_families

from streams.cli.context import AppContext, log, settings_for
from streams.config.settings import Settings
from streams.config.worker import WorkerSettings
from streams.contracts.records import DeadLetter
from streams.kafka.dead_letter_reader import DeadLetterError, Selection, position, read_dead_letters
from streams.worker.metrics import Metric, Tally, Watch

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""Metric samples by name and sorted labels."""
REASON_CHARS = 70


class Unreachable(RuntimeError):
    """The worker's web server did not answer."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the worker's pages said at one moment."""

    at: float
    live: dict[str, Any]
    ready: dict[str, Any]
    samples: Samples

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def total(self, name: str) -> float:
        """A counter summed over its labels."""
        return sum(v for (n, _), v in self.samples.items() if n == name)

    def labelled(self, name: str, label: str) -> dict[str, float]:
        return {dict(k)[label]: v for (n, k), v in self.samples.items() if n == name and label in dict(k)}


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use the worker of the `flarewatch up`/`demo` running on this folder.",
)
@click.option(
    "--dead-letters",
    "last",
    type=click.IntRange(0),
    default=5,
    show_default=True,
    help="Show the newest N dead letters (0: do not read the dead-letter topic).",
)
@click.option(
    "--interval",
    type=click.FloatRange(0),
    default=1.0,
    show_default=True,
    help="Seconds between the two samples throughput is measured over (0: one sample, no rates).",
)
@click.option(
    "--timeout", type=click.FloatRange(0.1), default=10.0, show_default=True, help="Seconds per page."
)
@click.pass_obj
def status(app: AppContext, data_dir: Path | None, last: int, interval: float, timeout: float) -> int:
    """Print the worker's health, lag per agent and partition, throughput and the newest dead
    letters. Exits 0 when the worker is healthy, 1 when it is unhealthy or not reachable."""
    settings = settings_for(app, data_dir)
    url = worker_url(settings.worker)
    try:
        first = snapshot(url, timeout)
        if interval:
            time.sleep(interval)
        second = snapshot(url, timeout) if interval else first
    except Unreachable as exc:
        hint = " (is `flarewatch up` running on that folder?)" if data_dir else ""
        raise click.ClickException(f"the worker at {url} is not reachable: {exc}{hint}") from exc
    click.echo(render(url, first, second))
    if last:
        click.echo(_dead_letters(settings, last))
    return 0 if second.live.get("status") == "ok" else 1


def worker_url(worker: WorkerSettings) -> str:
    host = worker.web_bind if worker.web_bind not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{worker.web_port}"


def snapshot(url: str, timeout: float) -> Snapshot:
    """The three pages; raises :class:`Unreachable` when one does not answer."""
    live = json.loads(_get(f"{url}/health", timeout))
    ready = json.loads(_get(f"{url}/health/ready", timeout))
    return Snapshot(time.time(), live, ready, parse_metrics(_get(f"{url}/metrics", timeout).decode()))


def _get(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: bytes = response.read()
    except urllib.error.HTTPError as exc:  # 503: the body says why
        body = exc.read()
    except (OSError, ValueError) as exc:
        raise Unreachable(str(getattr(exc, "reason", exc))) from exc
    return body


def parse_metrics(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def render(url: str, first: Snapshot, second: Snapshot) -> str:
    lines = [f"worker   {url}", f"health   {_health(second.live)}", f"ready    {_ready(second.ready)}"]
    counts: list[tuple[str, str]] = [
        ("received", Metric.RECEIVED),
        ("indexed", Metric.INDEXED),
        ("dead letters", Metric.DEAD_LETTERS),
        ("late", Metric.DETECTOR_LATE),
    ]
    lines.append("totals   " + "   ".join(f"{label} {int(second.total(m)):,}" for label, m in counts))
    flares = [
        ("flare signals", Tally.FLARE_SIGNALS),
        ("incident versions", Tally.INCIDENT_EVENTS),
        ("deliveries", Tally.DELIVERIES),
    ]
    lines.append("flares   " + "   ".join(f"{label} {int(second.total(m)):,}" for label, m in flares))
    failed = sum(
        v for (n, k), v in second.samples.items() if n == Tally.DELIVERIES and ("status", "failed") in k
    )
    if failed:
        lines.append(f"         {int(failed):,} deliveries FAILED for good (see flarewatch incidents)")
    lines += [
        "",
        *_table(["agent", "last progress", "messages", "per second", "lag"], _agents(first, second)),
    ]
    partitions = _partitions(second)
    if partitions:
        lines += ["", *_table(["topic", "partition", "lag"], partitions)]
    return "\n".join(lines)


def _health(live: dict[str, Any]) -> str:
    if live.get("status") == "ok":
        return "ok"
    exits = live.get("exits_in_s")
    return f"FAILED: {live.get('reason', '?')}" + (f" (exits in {exits:.0f}s)" if exits is not None else "")


def _ready(ready: dict[str, Any]) -> str:
    waiting = [name for name, ok in ready.get("checks", {}).items() if not ok]
    if ready.get("status") == "ready":
        return "yes"
    return "no" + (f": waiting for {', '.join(waiting)}" if waiting else "")


def _agents(first: Snapshot, second: Snapshot) -> list[list[str]]:
    progress = second.labelled(Watch.LAST_PROGRESS, "agent")
    done = second.labelled(Watch.AGENT_MESSAGES, "agent")
    before = first.labelled(Watch.AGENT_MESSAGES, "agent")
    lags = second.labelled(Watch.AGENT_LAG, "agent")
    elapsed = second.at - first.at
    rows = []
    for agent in sorted(progress.keys() | done.keys()):
        rate = f"{(done.get(agent, 0) - before.get(agent, 0)) / elapsed:,.1f}" if elapsed > 0 else "-"
        lag = lags.get(agent)
        rows.append(
            [
                agent,
                _ago(second.at - progress[agent]) if agent in progress else "never",
                f"{int(done.get(agent, 0)):,}",
                rate,
                f"{int(lag):,}" if lag is not None else "-",
            ]
        )
    return rows


def _partitions(snap: Snapshot) -> list[list[str]]:
    rows = [
        (dict(labels)["topic"], int(dict(labels)["partition"]), int(value))
        for (name, labels), value in snap.samples.items()
        if name == Watch.CONSUMER_LAG
    ]
    return [[topic, str(partition), f"{lag:,}"] for topic, partition, lag in sorted(rows)]


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    return f"{seconds / 60:.0f}m ago" if seconds < 7200 else f"{seconds / 3600:.1f}h ago"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def _dead_letters(settings: Settings, last: int) -> str:
    try:
        reading = read_dead_letters(settings.kafka, Selection(), timeout_s=30)
    except DeadLetterError as exc:
        log(f"dead letters not read: {exc}")
        return ""
    if not reading.letters:
        return "\nno dead letters"
    shown = reading.letters[-last:]
    title = f"\ndead letters: the newest {len(shown)} of {reading.total}"
    if not reading.complete:
        title += " (the topic was not read to its end in time)"
    rows = [_letter(letter) for letter in shown]
    return "\n".join([title, *_table(["failed at", "stage", "message", "reason"], rows)])


def _letter(letter: DeadLetter) -> list[str]:
    reason = " ".join("".join(c if c.isprintable() else " " for c in letter.reason).split())
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1] + "…"
    where = ":".join(str(part) for part in position(letter))
    return [f"{letter.failed_at:%Y-%m-%d %H:%M:%S}", letter.stage, where, reason]
