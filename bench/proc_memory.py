"""A process's memory as Linux reports it in ``/proc/PID/status``, for the benchmarks.

``VmHWM`` is the peak resident set, ``VmRSS`` the resident set now. ``ru_maxrss`` would not do for
the peak: Linux carries it across ``exec``, so a freshly started child would report its parent's.
"""

from __future__ import annotations

from pathlib import Path


def memory_mib(pid: int | None = None, field: str = "VmHWM") -> float:
    """``field`` of process ``pid`` (this process when None), in MiB."""
    status = Path(f"/proc/{'self' if pid is None else pid}/status")
    for line in status.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} in {status}")
