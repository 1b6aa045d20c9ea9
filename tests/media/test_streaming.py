"""Reviewers play answers through an authorised route: Range, ETag, caching, audit, isolation."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import AssetKind, AuditEvent, Role, Take, TakeStatus

from .. import factories
from ..conftest import sign_in

DATA = os.urandom(50_000)


@pytest.fixture
def answer(org):
    """A stored MP4 asset (random bytes: the route serves bytes, it does not decode them)."""
    kept = factories.keep_as_answer(factories.take(org.screening, status=TakeStatus.READY))
    asset = factories.stored_asset(kept, AssetKind.MP4, DATA, "video/mp4")
    db.session.commit()
    return asset


def _get(client, url, **headers):
    response = client.get(url, headers=headers)
    body = response.get_data()
    response.close()
    return response, body


def _events(action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize("role", list(Role))
def test_staff_of_the_organisation_can_play_an_answer(sign_in_as, answer, role):
    response, body = _get(sign_in_as(role), f"/media/assets/{answer.id}")
    assert response.status_code == 200 and body == DATA
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].strip('"') == answer.checksum_sha256
    assert "private" in response.headers["Cache-Control"]
    assert "inline" in response.headers["Content-Disposition"]


def test_range_requests_let_the_player_seek(sign_in_as, answer):
    """Does a Range request get 206 with the right bytes and Content-Range?"""
    client = sign_in_as(Role.REVIEWER)
    response, body = _get(client, f"/media/assets/{answer.id}", Range="bytes=1000-1999")
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(DATA)}"
    assert body == DATA[1000:2000]
    response, body = _get(client, f"/media/assets/{answer.id}", Range="bytes=-100")
    assert response.status_code == 206 and body == DATA[-100:]


def test_range_beyond_the_end_is_416(sign_in_as, answer):
    response, _ = _get(
        sign_in_as(Role.REVIEWER), f"/media/assets/{answer.id}", Range=f"bytes={len(DATA) + 10}-"
    )
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_unchanged_asset_answers_304(sign_in_as, answer):
    client = sign_in_as(Role.HR)
    first, _ = _get(client, f"/media/assets/{answer.id}")
    again, body = _get(
        client, f"/media/assets/{answer.id}", **{"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and body == b""


def test_another_organisation_gets_404(app, other_org, answer):
    """Can staff of another organisation open an answer by guessing its id?"""
    client = app.test_client()
    sign_in(client, other_org.users[Role.ADMIN].email)
    response, body = _get(client, f"/media/assets/{answer.id}")
    assert response.status_code == 404 and DATA[:100] not in body


def test_anonymous_is_sent_to_sign_in(client, answer):
    response, _ = _get(client, f"/media/assets/{answer.id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_each_viewing_and_download_is_audited(org, sign_in_as, answer):
    """Is a playback recorded once (not once per seek), and a download recorded as such?"""
    client = sign_in_as(Role.REVIEWER)
    _get(client, f"/media/assets/{answer.id}", Range="bytes=0-")
    _get(client, f"/media/assets/{answer.id}", Range="bytes=20000-")
    client.head(f"/media/assets/{answer.id}").close()  # a HEAD shows nothing: not logged
    response, _ = _get(client, f"/media/assets/{answer.id}?download=1")
    assert response.headers["Content-Disposition"].startswith("attachment")
    [stream] = _events("media.stream")
    [download] = _events("media.download")
    reviewer = org.users[Role.REVIEWER]
    assert stream.actor_id == reviewer.id and stream.org_id == org.org.id
    assert (stream.object_type, stream.object_id) == ("MediaAsset", answer.id)
    assert download.details["take_id"] == answer.take_id


def test_asset_whose_file_is_gone_is_404(sign_in_as, answer):
    get_storage().delete(answer.storage_key)
    response, _ = _get(sign_in_as(Role.ADMIN), f"/media/assets/{answer.id}")
    assert response.status_code == 404


def test_practice_replaced_and_unfinished_answers_are_not_shown(org, sign_in_as):
    """Candidates are told practice and retaken attempts are seen by nobody; reviewers see an
    interview only once it is submitted."""

    completed = org.completed
    practice_take = completed.questions[0].response.take
    practice = factories.stored_asset(practice_take, AssetKind.MP4, DATA, "video/mp4")
    replaced = Take(question_id=completed.questions[1].id, attempt=2, status=TakeStatus.READY)
    db.session.add(replaced)
    db.session.flush()
    retake = factories.stored_asset(replaced, AssetKind.MP4, DATA, "video/mp4")
    unfinished = factories.keep_as_answer(
        factories.take(org.screening, status=TakeStatus.READY), completed=False
    )
    in_progress = factories.stored_asset(unfinished, AssetKind.MP4, DATA, "video/mp4")
    db.session.commit()
    for role in Role:
        client = sign_in_as(role)
        assert client.get(f"/media/assets/{practice.id}").status_code == 404, role
        assert client.get(f"/media/assets/{retake.id}").status_code == 404, role
        expected = 404 if role == Role.REVIEWER else 200
        assert client.get(f"/media/assets/{in_progress.id}").status_code == expected, role
