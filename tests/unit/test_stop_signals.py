"""Stop signals: SIGINT, SIGTERM and SIGHUP stop a command once, with 128 + the signal as its
exit code; the handlers before come back; an ignored signal stays ignored."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from streams.cli.stop_signals import STOP_SIGNALS, Stopped, stop_at_once, stop_between_steps


def send(sig: int) -> None:
    os.kill(os.getpid(), sig)  # CPython runs the handler before the next line


DEFAULTS = {
    signal.SIGINT: signal.default_int_handler,
    signal.SIGTERM: signal.SIG_DFL,
    signal.SIGHUP: signal.SIG_DFL,
}


@pytest.fixture(autouse=True)
def default_handlers() -> Iterator[None]:
    """Python's own handlers for the test, whatever this process inherited (a shell without job
    control starts background commands with SIGINT ignored), and the inherited ones back after."""
    before = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig, handler in DEFAULTS.items():
        signal.signal(sig, handler)
    yield
    for sig, handler in before.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_first_signal_stops_at_once_and_later_ones_do_not_interrupt_the_cleanup(
    sig: signal.Signals, code: int
) -> None:
    cleaned = False
    with pytest.raises(Stopped) as stopped, stop_at_once():
        try:
            send(sig)
            pytest.fail("not stopped")
        finally:
            send(signal.SIGTERM)
            cleaned = True
    assert cleaned
    assert (stopped.value.name, stopped.value.exit_code) == (sig.name, code)


def test_between_steps_the_first_signal_asks_and_the_second_insists() -> None:
    with stop_between_steps() as request:
        send(signal.SIGHUP)
        assert request.is_set() and request.stopped().exit_code == 129
        with pytest.raises(Stopped) as stopped:
            send(signal.SIGTERM)
    assert stopped.value.signum == signal.SIGHUP


def test_handlers_before_come_back_and_an_ignored_signal_stays_ignored() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with stop_at_once():
        send(signal.SIGHUP)  # nohup: ignored
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


def test_a_stop_request_ends_a_pause() -> None:
    with stop_between_steps() as request:
        assert request.wait(0) is False
        send(signal.SIGTERM)
        assert request.wait(3600) is True  # returns at once
