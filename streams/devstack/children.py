"""Child processes that stop with their parent: the embedded servers and the worker.

Each child runs in its own session (so a stop reaches the whole process group, whatever the
child started itself) and, on Linux, asks the kernel for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``), so even a parent killed with SIGKILL leaves no server holding a port.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_ERROR = re.compile(r"^Traceback |\[(ERROR|CRITICAL)\]")


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def listening_on(self, port: int) -> bool:
        """Whether this child (not some other process) accepts connections on ``port``."""
        try:
            connections = psutil.Process(self.process.pid).net_connections("tcp")
        except psutil.Error:
            return False
        return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Signal the child's whole process group, wait, then kill what is left. Blocks for
        at most about ``2 * timeout`` seconds."""
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
        return "\n".join(self._lines()[-lines:])

    def why(self, lines: int = 40) -> str:
        """The log's last error before its last ``lines`` (an ERROR or CRITICAL record or a
        traceback, with what follows it), then those lines: a crash's reason comes just before
        the shutdown that fills the tail, and after any error the process lived through."""
        log = self._lines()
        tail_from = max(0, len(log) - lines)
        errors = [i for i, line in enumerate(log[:tail_from]) if _ERROR.search(line)]
        if not errors:
            return "\n".join(log[tail_from:])
        last = errors[-1]
        while last - 1 in errors:  # the record that a traceback belongs to, or one before it
            last -= 1
        cause = log[last : min(last + lines, tail_from)]
        return "\n".join([*cause, "[…]", *log[tail_from:]])

    def _lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []


def spawn(name: str, argv: list[str], log_path: Path, env: Mapping[str, str] | None = None) -> Child:
    """Start ``argv`` with its output appended to ``log_path``, in a session of its own, to get
    SIGTERM when this process dies. Start children from the main thread: Linux sends that
    signal when the *thread* that started the child ends, so a child started from another
    thread does not get it (and is only stopped by :meth:`Child.stop`)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        argv,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
        preexec_fn=_parent_death_signal(),
    )
    return Child(name, process, log_path, log_file)


def _parent_death_signal() -> Callable[[], None] | None:
    """What the child runs between fork and exec to die with its parent (Linux only)."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None).prctl  # looked up before the fork
    parent, sig = os.getpid(), int(signal.SIGTERM)

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # the parent died before prctl: nobody will signal us
            os._exit(1)

    return die_with_parent
