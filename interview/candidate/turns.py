"""The interview's heavier steps take turns in each web process, first come first served.

A candidate's steps through Flask (the landing page, consent, the interview page, the state the
recorder reads, a reveal, an upload's creation, keeping a take, submitting) each read the
interview through the ORM and most write it: about 5 ms of CPU each. When many candidates start
at once, each web process would run dozens of them side by side, and Python runs one thread at a
time: every step, and every upload ``PATCH`` in flight on that process (about 1.5 ms of CPU,
spread over several waits on the disk and the database), then waits its share of the
interpreter behind all the others. The steps all finish late, together; the chunks already
being uploaded wait behind them.

Here at most ``CANDIDATE_STEPS_AT_ONCE`` such steps run at once in a process (2 by default: one
computing while another waits on the database); the others wait their turn without using the
CPU, in arrival order. A step then takes about as long as its own work plus the queue ahead of
it, an upload chunk competes with at most two of them, and candidates who started together are
answered one after another rather than all at the end (so their uploads do not fall into step).
A turn that does not come within ``CANDIDATE_STEP_WAIT_SECONDS`` is answered 503 with
Retry-After: nothing was done, and the recorder tries again by itself, as after any busy answer.

Upload chunks (``PATCH``), an upload's ``HEAD``, media playback and everything staff do are
not in turn: they are light or long, and a body streaming in must never hold a turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

from flask import Flask, current_app

EXTENSION = "candidate_turns"
RETRY_AFTER_SECONDS = 2


class Busy(Exception):
    """No turn came in time: the step was not run (the caller answers 503, Retry-After)."""

    retry_after = RETRY_AFTER_SECONDS


class Turns:
    """At most ``at_once`` holders (0 or less: no limit); a waiter gives up after
    ``wait_seconds``. ``threading.Semaphore`` wakes its waiters in the order they came."""

    def __init__(self, at_once: int, wait_seconds: float) -> None:
        self.wait_seconds = max(0.0, wait_seconds)
        self._slots = threading.Semaphore(at_once) if at_once > 0 else None

    @contextmanager
    def turn(self) -> Iterator[None]:
        if self._slots is None:
            yield
            return
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise Busy
        try:
            yield
        finally:
            self._slots.release()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Turns(
        app.config["CANDIDATE_STEPS_AT_ONCE"], app.config["CANDIDATE_STEP_WAIT_SECONDS"]
    )


def turn():
    """``with turns.turn():`` runs the block in this process's turn, or raises ``Busy``."""
    return current_app.extensions[EXTENSION].turn()


def in_turn(view: Callable) -> Callable:
    """A view that runs whole in a turn (it must not read a request body that streams)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with turn():
            return view(*args, **kwargs)

    return wrapper
