"""The worker process's allocator: fewer glibc malloc arenas, less memory held."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8
"""``mallopt``'s parameter number for the arena cap (glibc's ``malloc.h``)."""


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for the rest of this process; True when applied.

    Nothing happens when ``arenas`` is 0, when ``MALLOC_ARENA_MAX`` is set (glibc read it at
    start-up and the operator's choice wins), or on a C library without ``mallopt`` (musl,
    macOS). Call it early, before the threads that allocate start: arenas that exist stay."""
    if arenas <= 0 or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
