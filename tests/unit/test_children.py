"""What a failed child's log shows: the crash's reason, not only the shutdown after it."""

from __future__ import annotations

import sys
from pathlib import Path

from streams.devstack.children import spawn

CRASH = """
import logging, sys
logging.basicConfig(stream=sys.stdout, format="[%(levelname)s] %(message)s", level=logging.INFO)
log = logging.getLogger("w")
log.info("started")
log.error("a commit failed; rejoining the group")
log.info("working again")
try:
    raise ValueError("commit failed for partition 2")
except ValueError:
    log.critical("agent score died", exc_info=True)
for n in range(60):
    log.info("stopping service %d", n)
sys.exit(1)
"""


def run(tmp_path: Path, code: str, exit_code: int) -> str:
    child = spawn("worker", [sys.executable, "-c", code], tmp_path / "worker.log")
    assert child.process.wait(timeout=60) == exit_code
    child.stop()
    return child.why(10)


def test_a_crash_shows_its_reason_before_the_shutdown_that_follows_it(tmp_path: Path) -> None:
    shown = run(tmp_path, CRASH, 1).splitlines()
    assert shown[0] == "[CRITICAL] agent score died"  # not the error it lived through
    assert "ValueError: commit failed for partition 2" in shown
    assert shown[-1] == "[INFO] stopping service 59"
    assert "[…]" in shown
    assert len(shown) <= 10 + 10 + 1


def test_a_log_without_errors_is_just_its_tail(tmp_path: Path) -> None:
    code = "\n".join(f"print('line {n}')" for n in range(30)) + "\nraise SystemExit(0)"
    shown = run(tmp_path, code, 0).splitlines()
    assert shown == [f"line {n}" for n in range(20, 30)]
