"""The worker's malloc arena cap: applied, counted in a real process, and left to the operator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.config.worker import WorkerSettings
from streams.worker.memory import limit_malloc_arenas

PROBE = """
import ctypes, ctypes.util, sys, threading
from streams.worker.memory import limit_malloc_arenas
applied = limit_malloc_arenas(int(sys.argv[1]))
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(8)
def work():
    blocks = [libc.malloc(4096) for _ in range(64)]
    barrier.wait()  # all eight threads hold memory at once, so each needs an arena
    for b in blocks:
        libc.free(b)
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
out = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, out)
libc.fclose(out)
print(applied)
"""


def _arenas(tmp_path: Path, cap: int, env: dict[str, str] | None = None) -> tuple[bool, int]:
    report = tmp_path / f"malloc-{cap}.xml"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(cap), str(report)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip() == "True", report.read_text().count("<heap nr=")


def test_the_cap_bounds_the_arenas_threads_get(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    applied, capped = _arenas(tmp_path, 2, env)
    assert applied and capped <= 2
    applied, default = _arenas(tmp_path, 0, env)
    assert not applied and default > 2


def test_nothing_is_changed_when_off_or_when_the_operator_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    assert limit_malloc_arenas(0) is False
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False


def test_the_default_is_two_and_validated() -> None:
    assert WorkerSettings().malloc_arenas == 2
    with pytest.raises(ValueError):
        WorkerSettings(malloc_arenas=-1)
