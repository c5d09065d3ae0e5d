"""Build-once folders: built under a lock into a staging folder, then moved into place."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Callable
from pathlib import Path

_MARKER = "BUILD_COMPLETE"


def is_built(target: Path) -> bool:
    return (target / _MARKER).is_file()


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Return ``target``, calling ``build(staging)`` first unless a finished build is there.

    Safe across processes: builders serialise on a lock file beside ``target``, and a build
    interrupted half-way leaves only a staging folder that the next attempt replaces.
    """
    if is_built(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_built(target):
            return target
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        build(staging)
        (staging / _MARKER).write_text("ok\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target
