"""What a web node does for a finished upload after answering its last byte: assemble the
original and queue processing, on one niced thread per process (``finish_after_answering``)."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading

from flask import Flask

from ..database import loaded_objects_kept
from ..extensions import db
from ..media import chunks
from ..media import services as media
from ..models import Take, TakeStatus
from .upload_claims import TAKE_WITH_INVITATION

log = logging.getLogger(__name__)

_backlog: queue.Queue = queue.Queue()
_finisher: list[threading.Thread] = []
_finisher_lock = threading.Lock()


def finish_after_answering(app: Flask, take_id: int) -> None:
    """Run ``after_completion`` once the last byte's answer is sent. It goes to this process's
    finisher thread (started on first use, at a lower CPU priority than the threads answering
    requests, and one take at a time), so when many candidates finish in the same second their
    assemblies do not slow every other candidate's answers. UPLOAD_FINISH_IN_THREAD=0 runs it
    in the request's own thread instead. A take the process never got to (it died, or was
    stopped) stays ``uploaded`` and the reconcile sweep queues it for the media worker."""
    if not app.config["UPLOAD_FINISH_IN_THREAD"]:
        after_completion(app, take_id)
        return
    _backlog.put((app, take_id))
    with _finisher_lock:
        if not _finisher or not _finisher[0].is_alive():
            thread = threading.Thread(target=_finish_forever, name="upload-finisher", daemon=True)
            thread.start()
            _finisher[:] = [thread]


FINISHER_NICENESS = 10  # Linux schedules each thread on its own; a nicer one yields the CPU


def _finish_forever() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the same priority, still fine
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), FINISHER_NICENESS)
    while True:
        app, take_id = _backlog.get()
        try:
            after_completion(app, take_id)
        except Exception:  # the thread goes on; the reconcile sweep finishes this take
            log.exception("take %s: the finisher failed", take_id)
        finally:
            _backlog.task_done()


def finisher_idle() -> bool:
    """Nothing handed to this process's finisher is waiting or running."""
    return _backlog.unfinished_tasks == 0


def after_completion(app: Flask, take_id: int) -> None:
    """Work the candidate's "saved" need not wait for, run once the last PATCH is answered:
    assemble the original (hashing it) and queue processing, or with UPLOAD_ASSEMBLY=worker
    only queue processing (the media worker assembles first, on its own machine). If this
    node dies first, the take stays ``uploaded`` and the reconcile sweep queues it."""
    with app.app_context():
        try:
            # One read of the take with what its work needs, kept across the commits of the
            # assembly and the queueing instead of reloaded after each (9 statements, were 17).
            with loaded_objects_kept(db.session()):
                take = db.session.get(Take, take_id, options=TAKE_WITH_INVITATION)
                if take is None or take.status != TakeStatus.UPLOADED:
                    return
                if app.config["UPLOAD_ASSEMBLY"] != "worker":
                    chunks.assemble(take)
                media.enqueue_processing(take)
        except Exception:  # the sweep and the worker finish it; the candidate lost nothing
            db.session.rollback()
            log.exception("take %s: completion after the acknowledgement failed", take_id)
