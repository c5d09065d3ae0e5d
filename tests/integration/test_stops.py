"""Clean stops: ``flarewatch up`` stops its worker, broker and search server on SIGINT, SIGTERM
and SIGHUP and exits 128 + the signal; its children die with it even when it is killed with
SIGKILL; a second ``up`` on the same ports is refused at once; the worker stops on SIGHUP with
exit 0 and commits nothing that was not acknowledged downstream."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams.cli.stop_signals import STOP_SIGNALS
from streams.config.settings import load_settings
from streams.devstack.demo import SAMPLE, write_config
from streams.devstack.embedded import free_port, port_taken
from streams.search.client import layout
from tests.factories import mention
from tests.integration.conftest import Harness, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Up:
    """A ``flarewatch up`` in a session of its own, its output in files."""

    process: subprocess.Popen[bytes]
    folder: Path
    kafka_port: int
    search_port: int

    @property
    def out(self) -> str:
        return (self.folder / "up.out").read_text(errors="replace")

    @property
    def err(self) -> str:
        return (self.folder / "up.err").read_text(errors="replace")

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def wait_ready(self, timeout_s: float = 120) -> list[psutil.Process]:
        """Wait for the ready line; returns every process ``up`` started by then."""
        wait_for(lambda: "ready:" in self.out or self.process.poll() is not None, timeout_s, "up ready")
        assert self.process.poll() is None, f"up exited early:\n{self.out}\n{self.err}"
        kids = self.children()
        names = sorted(" ".join(p.cmdline()) for p in kids)
        assert len(kids) == 3, names  # broker, search server, worker; nothing in between
        assert any("tansu" in n for n in names) and any("noida-db" in n for n in names)
        assert any("worker" in n for n in names), names
        return kids

    def wait_worker_ready(self, timeout_s: float = 180) -> None:
        """Wait until the worker's readiness probe passes (model loaded, servers reachable)."""
        port = load_settings(self.folder / "data" / "flarewatch.yaml").worker.web_port
        wait_for(
            lambda: http_status(f"http://127.0.0.1:{port}/health/ready") == 200, timeout_s, "worker ready"
        )


def start_up(folder: Path, kafka_port: int, search_port: int) -> Up:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "up.out").open("wb") as out, (folder / "up.err").open("wb") as err:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "streams", "up", "--data-dir", str(folder / "data")),
                *("--kafka-port", str(kafka_port), "--search-port", str(search_port)),
            ],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,
            preexec_fn=default_stop_signals,
        )
    return Up(process, folder, kafka_port, search_port)


def default_stop_signals() -> None:
    """A test run in the background ignores SIGINT, and its children would inherit that."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


@pytest.fixture()
def up(tmp_path: Path) -> Iterator[Up]:
    run = start_up(tmp_path / "up", free_port(), free_port())
    try:
        yield run
    finally:
        kids = run.children() if run.process.poll() is None else []
        run.process.kill()
        run.process.wait()
        for kid in kids:
            with contextlib.suppress(psutil.NoSuchProcess):
                kid.kill()


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_all_gone(kids: list[psutil.Process], ports: tuple[int, ...], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (
        any(running(k) for k in kids) or any(port_taken(p) for p in ports)
    ):
        time.sleep(0.1)
    left = [" ".join(k.cmdline()) for k in kids if running(k)]
    assert not left, f"still running after {timeout_s}s: {left}"
    assert not [p for p in ports if port_taken(p)], "a port is still taken"


@pytest.mark.parametrize(
    ("sig", "worker_ready"),
    [(signal.SIGTERM, True), (signal.SIGHUP, False), (signal.SIGINT, False)],
    ids=["SIGTERM-worker-running", "SIGHUP-worker-starting", "SIGINT-worker-starting"],
)
def test_up_stops_everything_on_a_stop_signal(up: Up, sig: signal.Signals, worker_ready: bool) -> None:
    kids = up.wait_ready()
    if worker_ready:
        up.wait_worker_ready()
    up.process.send_signal(sig)
    code = up.process.wait(timeout=90)
    assert code == 128 + sig, f"{up.out}\n{up.err}"
    assert f"stopped by {sig.name}" in up.out
    assert_all_gone(kids, (up.kafka_port, up.search_port), timeout_s=0)


def test_children_die_with_a_killed_up(up: Up) -> None:
    kids = up.wait_ready()
    up.wait_worker_ready()
    up.process.kill()
    up.process.wait()
    assert_all_gone(kids, (up.kafka_port, up.search_port), timeout_s=10)


def test_second_up_on_taken_ports_is_refused_at_once(up: Up, tmp_path: Path) -> None:
    kids = up.wait_ready()
    for kafka_port, search_port, taken in (
        (up.kafka_port, free_port(), up.kafka_port),
        (free_port(), up.search_port, up.search_port),
    ):
        second = start_up(tmp_path / f"second-{taken}", kafka_port, search_port)
        assert second.process.wait(timeout=60) == 1
        assert f"port {taken}" in second.err and "already in use" in second.err, second.err
        assert not (second.folder / "data" / "logs").exists(), "a server was started"
    assert all(running(k) for k in kids), "the first up was disturbed"


def test_worker_stops_on_sighup(harness: Harness) -> None:
    worker = harness.start_worker()
    harness.produce_mentions([mention(1)])
    wait_for(lambda: indexed(harness) == 1, 180, "the first mention indexed", worker)
    worker.process.send_signal(signal.SIGHUP)
    assert worker.process.wait(timeout=60) == 0, worker.why(40)


def test_stop_mid_batch_commits_only_what_was_acknowledged(harness: Harness) -> None:
    """The fixed-scorer worker is stopped while a slow scoring batch runs: it commits the raw
    offsets of exactly what reached the scored topic (the batch is finished, or abandoned whole),
    and no scored offset past what Elasticsearch holds."""
    delay = harness.folder / "scoring-delay"
    worker = harness.start_fake_worker(delay)
    harness.produce_mentions([mention(1)])
    wait_for(lambda: indexed(harness) == 1, 120, "the first mention indexed", worker)
    delay.write_text("4")
    harness.produce_mentions([mention(n) for n in range(2, 12)])
    time.sleep(2)  # the batch of ten is being scored
    worker.process.send_signal(signal.SIGHUP)
    assert worker.process.wait(timeout=60) == 0, worker.why(40)
    committed = sum(committed_offsets(harness)[harness.topics.raw].values())
    assert topic_size(harness, harness.topics.scored, at_least=committed) == committed
    assert sum(committed_offsets(harness)[harness.topics.scored].values()) <= indexed(harness)


def test_replay_stops_with_what_it_sent_checkpointed(harness: Harness, tmp_path: Path) -> None:
    source = tmp_path / "mentions.jsonl"
    source.write_bytes(b"\n".join(SAMPLE.read_bytes().splitlines()[:200]) + b"\n")
    checkpoint = tmp_path / "checkpoint.json"
    config = write_config(harness.settings, tmp_path / "flarewatch.yaml")
    argv = [sys.executable, "-m", "streams", "--config", str(config), "replay", str(source)]
    argv += ["--checkpoint", str(checkpoint), "--rate", "10"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    replay = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert replay.stdout is not None
    for line in replay.stdout:  # progress comes every 5 s: a quarter of the file is sent
        if line.startswith(b"replaying"):
            break
    replay.send_signal(signal.SIGTERM)
    out = replay.communicate(timeout=60)[0].decode()
    assert replay.returncode == 128 + signal.SIGTERM, out
    assert "stopped by SIGTERM" in out
    sent = json.loads(checkpoint.read_text())["sent"]
    assert 0 < sent < 200
    assert topic_size(harness, harness.topics.raw, sent) == sent, "the checkpoint and the topic disagree"

    again = subprocess.run(argv[:-2], env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert topic_size(harness, harness.topics.raw, 200) == 200


def indexed(h: Harness) -> int:
    names = layout(h.settings.elasticsearch)
    es = h.search()
    es.indices.refresh(index=names.mentions)
    return int(es.count(index=names.mentions)["count"])


def committed_offsets(h: Harness) -> dict[str, dict[int, int]]:
    admin = KafkaAdminClient(bootstrap_servers=h.settings.kafka.servers)
    try:
        group = h.settings.kafka.group_id
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    out: dict[str, dict[int, int]] = {h.topics.raw: {}, h.topics.scored: {}}
    for tp, meta in offsets.items():
        if tp.topic in out and meta.offset >= 0:
            out[tp.topic][tp.partition] = meta.offset
    return out


def topic_size(h: Harness, topic: str, at_least: int) -> int:
    """Records in ``topic``, read from the start (the broker's end offsets are not reliable):
    until ``at_least`` arrived (or a minute passed), then until none came for three seconds."""
    consumer = KafkaConsumer(
        bootstrap_servers=h.settings.kafka.servers, group_id=None, enable_auto_commit=False
    )
    partitions = [TopicPartition(topic, p) for p in range(h.settings.kafka.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    count, deadline, quiet_until = 0, time.monotonic() + 60, time.monotonic() + 3
    while time.monotonic() < (quiet_until if count >= at_least else deadline):
        batch = consumer.poll(timeout_ms=500)
        if batch:
            count += sum(len(records) for records in batch.values())
            quiet_until = time.monotonic() + 3
    consumer.close()
    return count
