"""Candidate steps take turns in a web process (candidate/turns.py): at most N at once, the
rest wait in order, and one whose turn does not come in time is answered 503 with Retry-After,
having done nothing."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from interview.candidate import turns
from interview.extensions import db
from interview.models import InterviewQuestion, Take

from ..conftest import csrf_token
from .test_uploads import Candidate


def test_no_more_than_the_limit_run_at_once_and_every_step_gets_its_turn():
    gate = turns.Turns(2, wait_seconds=10)
    lock = threading.Lock()
    running, most, done = [0], [0], []
    release = threading.Event()

    def step(n: int) -> None:
        with gate.turn():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            release.wait(10)  # every step waits here until the test lets them all go
            with lock:
                running[0] -= 1
                done.append(n)

    threads = [threading.Thread(target=step, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while running[0] < 2:  # two got their turn; the other four wait for one
        assert time.monotonic() < deadline, "two steps never ran at once"
        time.sleep(0.001)
    assert done == []
    release.set()
    for thread in threads:
        thread.join(20)
    assert sorted(done) == list(range(6))
    assert most[0] == 2


def test_a_turn_that_does_not_come_in_time_is_busy_and_the_next_one_comes():
    gate = turns.Turns(1, wait_seconds=0.05)
    with gate.turn(), pytest.raises(turns.Busy), gate.turn():
        pytest.fail("ran without a turn")
    with gate.turn():  # released, even by a step that raised
        pass


def test_no_limit_when_set_to_zero():
    gate = turns.Turns(0, wait_seconds=0)
    with gate.turn(), gate.turn(), gate.turn():
        pass


@pytest.fixture
def one_turn(app):
    """The app's process allows one step at a time and waits 50 ms for a turn."""
    app.extensions[turns.EXTENSION] = turns.Turns(1, wait_seconds=0.05)
    return app.extensions[turns.EXTENSION]


def test_a_busy_reveal_changes_nothing_and_says_when_to_retry(client, org, one_turn):
    candidate = Candidate(client, org.token)
    with one_turn.turn():  # another candidate's step holds the only turn
        busy = candidate.reveal(0)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == str(turns.RETRY_AFTER_SECONDS)
    assert busy.headers["Cache-Control"] == "no-store"
    assert "busy" in busy.json["error"]
    revealed = db.session.scalars(sa.select(InterviewQuestion.revealed_at)).all()
    assert revealed and all(at is None for at in revealed)
    assert candidate.reveal(0).status_code == 200  # the turn is free again


def test_a_busy_upload_creation_starts_no_take_and_is_a_tus_answer(client, org, one_turn):
    candidate = Candidate(client, org.token)
    assert candidate.reveal(0).status_code == 200
    takes = sa.select(sa.func.count()).select_from(Take)
    before = db.session.scalar(takes)
    with one_turn.turn():
        busy = candidate.create(0)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == str(turns.RETRY_AFTER_SECONDS)
    assert busy.headers["Tus-Resumable"] == "1.0.0"
    assert db.session.scalar(takes) == before
    created = candidate.create(0)
    assert created.status_code == 201
    # Discovery needs no turn: it reads nothing.
    with one_turn.turn():
        options = client.options(f"/i/{org.token}/api/questions/0/uploads")
    assert options.status_code == 204 and options.headers["Tus-Version"] == "1.0.0"


def test_a_busy_page_says_so_in_the_candidates_language(client, org, one_turn):
    with one_turn.turn():
        page = client.get(f"/i/{org.token}", headers={"Accept-Language": "de"})
    assert page.status_code == 503
    assert page.headers["Retry-After"] == str(turns.RETRY_AFTER_SECONDS)
    assert "text/html" in page.content_type
    assert "Der Server ist gerade ausgelastet" in page.text
    assert f'href="/i/{org.token}"' in page.text  # "try again": the same page
    token = csrf_token(client, f"/i/{org.token}")
    with one_turn.turn():
        consent = client.post(f"/i/{org.token}/start", data={"csrf_token": token})
    assert consent.status_code == 503 and f'href="/i/{org.token}"' in consent.text
    assert client.get(f"/i/{org.token}").status_code == 200


@pytest.mark.parametrize(
    "path", ["", "/interview", "/api/state", "/review", "/done", "/api/takes/1/keep"]
)
def test_every_other_step_waits_for_its_turn(client, org, one_turn, path):
    """The pages, the state read and keeping a take are steps in turn too (a reveal, an
    upload's creation and consent: above)."""
    method = client.post if path.endswith("/keep") else client.get
    with one_turn.turn():
        busy = method(f"/i/{org.token}{path}")
    assert busy.status_code == 503, path
    assert busy.headers["Retry-After"] == str(turns.RETRY_AFTER_SECONDS)


def test_upload_chunks_and_offsets_need_no_turn(client, org, one_turn):
    """A PATCH (fast path or route) and a HEAD never wait for a turn: a recorder's chunk is
    not held up by other candidates' steps."""
    candidate = Candidate(client, org.token)
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    with one_turn.turn():
        assert candidate.patch(url, b"x" * 1000, 0).status_code == 204
        assert candidate.head(url).headers["Upload-Offset"] == "1000"
        stale = candidate.patch(url, b"y" * 10, 0)  # the route, not the fast path
        assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "1000"
