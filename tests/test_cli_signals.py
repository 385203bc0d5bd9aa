"""`leedz serve`'s signals before uvicorn handles them: the start of the embedded database."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from leedz import cli
from leedz.kit import embedded

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@pytest.mark.usefixtures("restored_handlers")
@pytest.mark.parametrize(
    ("signum", "ending"),
    [
        pytest.param(signal.SIGINT, KeyboardInterrupt, id="Ctrl-C"),
        pytest.param(signal.SIGTERM, SystemExit, id="SIGTERM"),
    ],
)
def test_a_signal_deferred_over_the_start_ends_serve_though_the_parent_ignored_it(
    signum: signal.Signals, ending: type[BaseException]
) -> None:
    # A background job of a script (`cmd &`) starts with SIGINT ignored, and Python leaves it so.
    # uvicorn honours Ctrl-C once it serves; one during initdb was dropped, and serve went on.
    signal.signal(signum, signal.SIG_IGN)
    cli._end_by_exception_on_signals()
    reached: list[str] = []

    def a_start() -> None:
        with embedded.signals_deferred():
            signal.pthread_kill(threading.get_ident(), signum)  # this (the main) thread
            reached.append("the end")  # deferred: the start runs whole

    with pytest.raises(ending):
        a_start()
    assert reached == ["the end"]


@pytest.mark.usefixtures("restored_handlers")
def test_sighup_ignored_by_the_parent_stays_ignored() -> None:
    """`nohup leedz serve`: the terminal closing must not end the server."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    cli._end_by_exception_on_signals()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


@pytest.mark.usefixtures("restored_handlers")
def test_sighup_from_a_closed_terminal_ends_serve_by_an_exception() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    cli._end_by_exception_on_signals()
    assert signal.getsignal(signal.SIGHUP) is cli._hang_up
