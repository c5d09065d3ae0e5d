"""Stop signals for the long-running commands.

SIGINT (Ctrl-C), SIGTERM (how Kubernetes, Docker and systemd stop a process) and SIGHUP (the
terminal went away) all mean "stop cleanly". A command stopped by one exits with 128 + the
signal's number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), as shells report it.

Both context managers install their handlers in the main thread (Python runs signal handlers
there only) and put the previous ones back on exit. A signal that was ignored when the command
started (``nohup``, a background job's SIGINT) stays ignored.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal arrived. A BaseException, like KeyboardInterrupt, so that ``except
    Exception`` in code it passes through does not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@dataclass
class StopRequest:
    """Set by the first stop signal; a loop checks it between steps and pauses with
    :meth:`wait`. Lock-free on purpose: a handler runs between any two bytecodes of the main
    thread, so setting a ``threading.Event`` from it deadlocks when the main thread was
    interrupted holding that event's lock (inside ``Event.wait``)."""

    signum: int = 0

    def is_set(self) -> bool:
        return self.signum != 0

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, less when a stop is requested; whether one was."""
        deadline = time.monotonic() + timeout
        while not self.is_set() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        return self.is_set()

    def stopped(self) -> Stopped:
        return Stopped(self.signum)


@contextlib.contextmanager
def stop_at_once() -> Iterator[None]:
    """The first stop signal raises :class:`Stopped` wherever the main thread is; later ones
    are ignored, so the cleanup the first one started (``finally`` blocks) runs to its end."""
    request = StopRequest()

    def handler(signum: int, frame: FrameType | None) -> None:
        if not request.is_set():
            request.signum = signum
            raise Stopped(signum)

    with _handling(handler):
        yield


@contextlib.contextmanager
def stop_between_steps() -> Iterator[StopRequest]:
    """The first stop signal only sets the request, for a loop to finish its step and stop;
    a second one raises :class:`Stopped` (give up on finishing)."""
    request = StopRequest()

    def handler(signum: int, frame: FrameType | None) -> None:
        if request.is_set():
            raise Stopped(request.signum)
        request.signum = signum

    with _handling(handler):
        yield request


def stop_signals() -> list[signal.Signals]:
    """The stop signals this process is not told to ignore."""
    return [sig for sig in STOP_SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN]


@contextlib.contextmanager
def _handling(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in stop_signals()}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)
