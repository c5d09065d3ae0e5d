"""``flarewatch demo`` and ``flarewatch up``: the whole pipeline on one machine.

Starts the embedded broker and search server, creates topics and indices, runs the worker as a
child process, optionally replays the bundled sample stream, and shows live progress and the
incidents it opens until the sample is indexed, every flare-up is an incident and every pending
delivery to a notifier is done or has failed for good (``--once``), or Ctrl-C.

The replay of the bundled sample (five days of mentions) follows the original timestamps sped up
:data:`SAMPLE_SPEEDUP` times unless a rate or speed-up is given: the worker runs with several
partitions, and a replay sent all at once would reach the detector hours out of event-time order.
"""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from elasticsearch import Elasticsearch
from pydantic import BaseModel, SecretStr

from streams.config.settings import Settings, load_settings
from streams.devstack.children import Child, spawn
from streams.devstack.embedded import EmbeddedServers, free_port
from streams.devstack.incidents import Outcome, announce, read_outcome
from streams.search.client import layout, sync_client
from streams.worker.metrics import Metric, Tally, Watch

if TYPE_CHECKING:
    from streams.web.app import PageServer

SAMPLE = Path(__file__).parent / "sample" / "mentions.jsonl"
DEMO_CONFIG = Path(__file__).parent / "sample" / "demo.yaml"
SAMPLE_SPEEDUP = 7200.0
"""Five days in about a minute: one second of replay is two hours of the sample's time."""
SECTIONS = ("brands", "detector", "incidents", "notify")
"""What the demo takes from the bundled demo.yaml when the user's settings name no brands."""
Log = Callable[[str], None]


class DemoError(RuntimeError):
    """The demo could not finish; the message says what failed and where its log is."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    data_dir: Path
    sample: Path | None = SAMPLE
    """None: do not replay anything (``flarewatch up``)."""
    once: bool = False
    rate: float | None = None
    speedup: float | None = None
    kafka_port: int = 0
    search_port: int = 0
    idle_timeout_s: float = 300.0


@dataclass
class Status:
    sent: int = 0
    total: int = 0
    replay_done: bool = False
    replay_error: BaseException | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    indexed: int = 0
    outcome: Outcome = field(default_factory=Outcome)
    announced: dict[str, int] = field(default_factory=dict)
    """Incident id -> the version last announced."""
    notifiers: tuple[str, ...] = ()
    settled_at: float | None = None
    """When everything up to the incidents was done (monotonic); deliveries may still be pending."""

    def m(self, metric: Metric | Tally | str) -> float:
        """A counter's value; for a labelled one, the sum over its labels."""
        name = str(metric)
        return sum(v for k, v in self.metrics.items() if k == name or k.startswith(name + "{"))

    def agent(self, agent: str) -> float:
        """Messages ``agent`` has finished."""
        return self.metrics.get(f'{Watch.AGENT_MESSAGES.value}{{agent="{agent}"}}', 0.0)

    def pending_deliveries(self) -> int:
        """Incident events some notifier's agent has not finished yet (delivered, failed for
        good, muted, or not routed to it)."""
        events = self.m(Tally.INCIDENT_EVENTS)
        return int(sum(max(0.0, events - self.agent(f"notify-{n}")) for n in self.notifiers))


def effective_settings(base: Settings, servers: EmbeddedServers, data_dir: Path, demo: bool) -> Settings:
    """The user's settings pointed at the embedded servers (and, for the demo, its brands)."""
    kafka: dict[str, Any] = {
        "bootstrap_servers": servers.bootstrap,
        "replication_factor": 1,
        "session_timeout_s": 6.0,
        "heartbeat_interval_s": 1.0,
    }
    update: dict[str, Any] = {
        "elasticsearch": base.elasticsearch.model_copy(update={"url": servers.search_url, "replicas": 0}),
        "worker": base.worker.model_copy(update={"web_port": free_port(), "data_dir": data_dir / "worker"}),
    }
    if demo and not base.brands:
        extra = yaml.safe_load(DEMO_CONFIG.read_text())
        given = {k: v for k, v in extra.items() if k in SECTIONS or k in ("notifiers", "routes")}
        sample = load_settings(None, **given)
        if {"notifiers", "routes"} & given.keys():
            given["notify"] = True
        update |= {k: getattr(sample, k) for k in SECTIONS if k in given}
    update["kafka"] = base.kafka.model_copy(update=kafka)
    return base.model_copy(update=update)


def write_config(settings: Settings, path: Path) -> Path:
    """``settings`` as YAML for a child process, without a secret value: the child reads each
    secret where the parent did, from the environment it inherits or the ``*_file`` named here."""
    data = settings.model_dump(mode="json", exclude_defaults=True)
    for name in type(settings).model_fields:
        section = getattr(settings, name)
        if not isinstance(section, BaseModel):
            continue
        for key in type(section).model_fields:
            if isinstance(getattr(section, key), SecretStr):
                data.get(name, {}).pop(key, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def start_worker(config: Path, data_dir: Path) -> Child:
    """``flarewatch worker`` as a child that stops with this process (call from the main thread)."""
    return spawn(
        "worker",
        [sys.executable, "-m", "streams", "--config", str(config), "worker", "--loglevel", "info"],
        data_dir / "logs" / "worker.log",
    )


def worker_metrics(port: int, timeout_s: float = 2) -> dict[str, float]:
    """The worker's counters from its /metrics page; empty when it does not answer in time."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout_s) as response:
            text = response.read().decode()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            values[name] = float(value)
    return values


class Demo:
    def __init__(self, base: Settings, options: DemoOptions, log: Log, out: Callable[[str], None]) -> None:
        self.base, self.options, self.log, self.out = base, options, log, out
        self.status = Status()
        self.servers = EmbeddedServers(options.data_dir, log, options.kafka_port, options.search_port)
        self.worker: Child | None = None
        self.replay_thread: threading.Thread | None = None
        self.stop_replay = threading.Event()
        self.settings: Settings | None = None
        self.page: PageServer | None = None
        self.live = sys.stderr.isatty()
        self.shown = 0.0
        self.waiting_shown = 0.0

    def run(self) -> Status:
        """Blocks until the sample is indexed (``once``) or an exception (Ctrl-C, a stop
        signal, a failure) ends the watch; either way everything it started is stopped."""
        try:
            self._start()
            return self._watch()
        finally:
            self._stop()

    def _start(self) -> None:
        from streams.cli.worker import prepare

        self.servers.start()
        settings = effective_settings(
            self.base, self.servers, self.options.data_dir, self.options.sample is not None
        )
        self.settings = settings
        prepare(settings)
        config = write_config(settings, self.options.data_dir / "flarewatch.yaml")
        self.worker = start_worker(config, self.options.data_dir)
        self.log(f"worker started (log: {self.worker.log_path}); settings in {config}")
        from streams.cli.web import serve_page

        self.page = serve_page(settings)
        self.out(f"crisis room: {self.page.url}")
        if self.options.sample is not None:
            self.replay_thread = threading.Thread(
                target=self._replay, args=(settings, self.options.sample), name="replay", daemon=True
            )
            self.status.notifiers = tuple(n.name for n in settings.notify.notifiers)
            self.replay_thread.start()
        else:
            self.out(
                f"ready: publish raw mentions to {settings.kafka.topic_prefix}.mentions.raw on "
                f"{settings.kafka.bootstrap_servers}; search at {settings.elasticsearch.url}. Ctrl-C stops."
            )

    def _replay(self, settings: Settings, sample: Path) -> None:
        from streams.collectors.files import count_lines
        from streams.collectors.replay import Replay
        from streams.kafka.admin import cluster_id
        from streams.kafka.clients import kafka_python_config
        from streams.kafka.topics import Topics

        try:
            self.status.total = count_lines(sample)
            replay = Replay(
                kafka_python_config(settings.kafka),
                Topics(settings.kafka.topic_prefix).raw,
                cluster_id(settings.kafka),
                self.log,
                progress=False,
                stop=self.stop_replay,
            )
            try:
                report = replay.run(
                    sample,
                    self.options.data_dir / "replay" / f"{sample.name}.json",
                    self._pace(sample),
                    on_sent=lambda n: setattr(self.status, "sent", n),
                )
            finally:
                replay.close()
            self.status.sent = report.sent + report.skipped
        except BaseException as exc:  # reported by the watch loop
            self.status.replay_error = exc
        finally:
            self.status.replay_done = True

    def _pace(self, sample: Path) -> Any:
        from streams.collectors.replay import Pace

        o = self.options
        if o.rate is None and o.speedup is None and sample == SAMPLE:
            return Pace(speedup=SAMPLE_SPEEDUP)
        return Pace(o.rate, o.speedup)

    def _watch(self) -> Status:
        assert self.settings is not None and self.worker is not None
        with sync_client(self.settings.elasticsearch) as search:
            last_change, last_key = time.monotonic(), None
            while True:
                time.sleep(1.0)
                self.servers.check()
                if not self.worker.alive():
                    raise DemoError(
                        f"the worker stopped (log: {self.worker.log_path}):\n{self.worker.why(15)}"
                    )
                if self.status.replay_error is not None:
                    raise DemoError(f"replay failed: {self.status.replay_error}")
                self._poll(search)
                self.out_status()
                key = (
                    self.status.sent,
                    tuple(sorted(self.status.metrics.items())),
                    self.status.indexed,
                )
                if key != last_key:
                    last_change, last_key = time.monotonic(), key
                if self.options.once and self._settled():
                    return self.status
                self._check_delivery_deadline()
                if self.options.once and time.monotonic() - last_change > self.options.idle_timeout_s:
                    raise DemoError(
                        f"no progress for {self.options.idle_timeout_s:.0f}s "
                        f"(worker log: {self.worker.log_path})"
                    )

    def _poll(self, search: Elasticsearch) -> None:
        assert self.settings is not None
        self.status.metrics = worker_metrics(self.settings.worker.web_port) or self.status.metrics
        names = layout(self.settings.elasticsearch)
        try:
            self.status.indexed = int(search.count(index=names.mentions)["count"])
            if self.status.m(Tally.INCIDENT_EVENTS) or self.status.outcome.incidents:
                self.status.outcome = read_outcome(self.settings)
        except Exception:  # the search server may be busy for a moment; try again next second
            return
        for incident in self.status.outcome.incidents:
            if self.status.announced.get(incident.incident_id, 0) < incident.version:
                self.status.announced[incident.incident_id] = incident.version
                self.out(announce(incident))

    def _settled(self) -> bool:
        """The sample is indexed, every mention went through the detector, every flare signal
        through the incidents agent, and every incident event through each notifier's agent."""
        s = self.status
        if not s.replay_done or not s.metrics:
            return False
        consumed = s.m(Metric.RECEIVED) >= s.sent
        indexed = s.m(Metric.INDEXED) + s.m(Metric.INDEX_REJECTED) >= s.m(Metric.SCORED) + s.m(
            Metric.UNSCORED
        )
        detector = s.m(Metric.DETECTOR_EVENTS) + s.m(Metric.DETECTOR_LATE) + s.m(Metric.DETECTOR_REDELIVERIES)
        incidents = s.agent("incidents") >= s.m(Tally.FLARE_SIGNALS)
        if not (consumed and indexed and detector >= s.m(Metric.CUSTOMER) and incidents):
            return False
        if s.settled_at is None:
            s.settled_at = time.monotonic()
        shown = {i.incident_id for i in s.outcome.incidents}
        versions = sum(i.version for i in s.outcome.incidents)
        recorded = versions >= s.m(Tally.INCIDENT_EVENTS) and shown <= s.announced.keys()
        return recorded and s.pending_deliveries() == 0

    def _check_delivery_deadline(self) -> None:
        """While deliveries are pending, say so every 10 s; past the retry policy's limit (plus a
        minute), give up with an error."""
        s, settings = self.status, self.settings
        if s.settled_at is None or settings is None:
            return
        waited = time.monotonic() - s.settled_at
        limit = settings.notify.retry.max_elapsed_s + settings.notify.retry.attempt_timeout_s + 60
        pending = s.pending_deliveries()
        if pending and waited > limit:
            raise DemoError(f"{pending} deliveries still pending after {waited:.0f}s")
        if pending and time.monotonic() - self.waiting_shown >= 10.0:
            self.waiting_shown = time.monotonic()
            attempts = int(s.m(Tally.NOTIFY_ATTEMPTS))
            self.log(
                f"waiting for {pending} pending deliveries ({attempts} attempts so far; "
                f"gives up in {limit - waited:.0f}s at most)"
            )

    def out_status(self) -> None:
        now = time.monotonic()
        if not self.live and now - self.shown < 10.0:
            return
        self.shown = now
        s = self.status
        total = f"/{s.total:,}" if s.total else ""
        scored = int(s.m(Metric.SCORED) + s.m(Metric.UNSCORED))
        dead = int(s.m(Metric.DEAD_LETTERS))
        line = (
            f"replayed {s.sent:,}{total} | scored {scored:,} | indexed {s.indexed:,} "
            f"| dead letters {dead:,} | incidents {len(s.outcome.incidents)}"
        )
        if self.live:
            sys.stderr.write("\r\x1b[K" + line)
            sys.stderr.flush()
        else:
            self.log(line)

    def _stop(self) -> None:
        """The replay flushes and saves its checkpoint, then the worker stops (finishing its
        batches and committing), then the servers."""
        self.stop_replay.set()
        if self.page is not None:
            self.page.stop()
        if self.replay_thread is not None:
            self.replay_thread.join(timeout=30)
        if self.worker is not None:
            self.worker.stop(timeout=30)
        self.servers.stop()
