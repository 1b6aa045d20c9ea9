"""Recruiters may record a question as a short video; candidates see it with the prompt."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import MediaAsset, Role, Screening

from .. import clips, factories
from ..conftest import csrf_token


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    """A 2 s H.264/AAC MP4 made with ffmpeg's test sources."""
    path = clips.h264_mp4(Path(tmp_path_factory.mktemp("clips")) / "question.mp4")
    return path.read_bytes()


@pytest.fixture
def recruiter(sign_in_as):
    return sign_in_as(Role.RECRUITER)


def _edit(client, screening, question, data: dict):
    form = {
        "prompt": question.prompt,
        "think_seconds": question.think_seconds,
        "answer_seconds": question.answer_seconds,
        "max_retakes": question.max_retakes,
        "csrf_token": csrf_token(client, "/"),
        **data,
    }
    return client.post(
        f"/screenings/{screening.id}/questions/{question.id}",
        data=form,
        content_type="multipart/form-data",
    )


def test_recruiter_attaches_a_question_video_staff_can_play(org, recruiter, clip):
    question = org.screening.scored_questions[0]
    response = _edit(
        recruiter, org.screening, question, {"prompt_video": (io.BytesIO(clip), "ask.mp4")}
    )
    assert response.status_code == 302
    db.session.refresh(question)
    asset = question.prompt_video
    assert asset.content_type == "video/mp4" and asset.video_codec == "h264"
    assert 1900 <= asset.duration_ms <= 2200
    played = recruiter.get(f"/media/assets/{asset.id}", headers={"Range": "bytes=0-99"})
    assert played.status_code == 206 and len(played.data) == 100
    assert "video" in recruiter.get(f"/screenings/{org.screening.id}").get_data(as_text=True)


def test_a_file_that_is_not_a_video_is_refused(org, recruiter):
    question = org.screening.scored_questions[0]
    response = _edit(
        recruiter,
        org.screening,
        question,
        {"prompt_video": (io.BytesIO(b"<html>not a video</html>" * 50), "x.mp4")},
    )
    assert "That file cannot be used: not a video file." in response.get_data(as_text=True)
    db.session.refresh(question)
    assert question.prompt_video is None


def test_candidates_see_the_video_only_after_revealing_and_keep_their_version(
    client, org, recruiter, clip
):
    """A candidate who started keeps the video they were given even if it is replaced."""
    question = org.screening.scored_questions[0]
    _edit(recruiter, org.screening, question, {"prompt_video": (io.BytesIO(clip), "a.mp4")})
    db.session.refresh(question)
    first = question.prompt_video
    inv, token = factories.invitation(org.screening, email="vid@example.com")
    db.session.commit()
    client.get(f"/i/{token}")
    client.post(
        f"/i/{token}/start", data={"consent": "y", "csrf_token": csrf_token(client, f"/i/{token}")}
    )
    db.session.refresh(inv)
    assert inv.questions[1].prompt_video_id == first.id
    video_url = f"/i/{token}/api/questions/1/video"
    assert client.get(video_url).status_code == 404  # not revealed yet
    # Replace the video: the started interview keeps the first one, which is not deleted.
    _edit(recruiter, org.screening, question, {"prompt_video": (io.BytesIO(clip), "b.mp4")})
    db.session.refresh(question)
    assert question.prompt_video.id != first.id
    assert db.session.get(MediaAsset, first.id) is not None
    assert get_storage().exists(first.storage_key)
    inv.questions[1].revealed_at = inv.questions[0].revealed_at = factories.utcnow()
    db.session.commit()
    state = client.get(f"/i/{token}/api/state").json
    assert state["questions"][1]["prompt_video_url"] == video_url
    assert client.get(video_url).status_code == 200


def test_removing_an_unused_video_deletes_its_file(org, recruiter, clip):
    question = org.screening.scored_questions[0]
    _edit(recruiter, org.screening, question, {"prompt_video": (io.BytesIO(clip), "a.mp4")})
    db.session.refresh(question)
    asset_id, key = question.prompt_video.id, question.prompt_video.storage_key
    _edit(recruiter, org.screening, question, {"remove_video": "y"})
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset_id) is None
    assert not get_storage().exists(key)


def test_duplicating_a_screening_copies_its_videos(org, recruiter, clip):
    question = org.screening.scored_questions[0]
    _edit(recruiter, org.screening, question, {"prompt_video": (io.BytesIO(clip), "a.mp4")})
    recruiter.post(
        f"/screenings/{org.screening.id}/duplicate",
        data={"title": "Copy", "csrf_token": csrf_token(recruiter, "/")},
    )
    copy = db.session.query(Screening).filter_by(title="Copy").one()
    copied = copy.scored_questions[0].prompt_video
    assert copied is not None and copied.storage_key != question.prompt_video.storage_key
    assert get_storage().exists(copied.storage_key)


@pytest.mark.parametrize("empty_field", [True, False], ids=["empty-file-input", "no-file-field"])
def test_resaving_a_question_keeps_its_video_when_no_file_is_chosen(
    org, recruiter, clip, empty_field
):
    """Saving the form again without choosing a file (the browser sends an empty file part, or
    none) keeps the video; it used to answer 500 (the form held the stored asset)."""
    question = org.screening.scored_questions[0]
    _edit(recruiter, org.screening, question, {"prompt_video": (io.BytesIO(clip), "a.mp4")})
    db.session.refresh(question)
    asset_id = question.prompt_video.id
    extra = {"prompt_video": (io.BytesIO(b""), "")} if empty_field else {}
    response = _edit(recruiter, org.screening, question, {"prompt": "Reworded", **extra})
    assert response.status_code == 302
    db.session.expire_all()
    assert question.prompt == "Reworded"
    assert question.prompt_video is not None and question.prompt_video.id == asset_id


def test_question_videos_have_one_limit_stated_and_enforced(app, org, recruiter):
    """The question-video limit is one setting: the form states it, the route accepts bodies up
    to it although the app-wide form limit is lower (a 17 MB video used to get a bare 413
    under the "up to 100 MB" the form promised), and past it a page says the limit."""
    assert app.config["PROMPT_VIDEO_MAX_BYTES"] == 100 * 2**20
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 2**20
    # Smaller figures, same rule, so the test moves kilobytes rather than hundreds of MB.
    app.config.update(MAX_CONTENT_LENGTH=64 * 2**10, PROMPT_VIDEO_MAX_BYTES=256 * 2**10)
    question = org.screening.scored_questions[0]
    url = f"/screenings/{org.screening.id}/questions/{question.id}"
    assert "up to 5 minutes and 0.25 MB" in recruiter.get(url).get_data(as_text=True)
    within = _edit(
        recruiter,
        org.screening,
        question,
        {"prompt_video": (io.BytesIO(b"\0" * 200 * 2**10), "a.mp4")},
    )
    assert within.status_code == 200  # past the form limit, within the video's: it was read
    assert "That file cannot be used: not a video file." in within.get_data(as_text=True)
    beyond = _edit(
        recruiter,
        org.screening,
        question,
        {"prompt_video": (io.BytesIO(b"\0" * 450 * 2**10), "b.mp4")},
    )
    assert beyond.status_code == 413
    page = beyond.get_data(as_text=True)
    assert "larger than this form accepts (at most 0.25 MB)" in page and "Nothing was saved" in page
    other = recruiter.post(
        f"/screenings/{org.screening.id}/invitations",
        data={"name": "x" * 200 * 2**10, "csrf_token": csrf_token(recruiter, "/")},
    )
    assert other.status_code == 413  # every other form keeps the app-wide limit


def test_a_refused_video_changes_nothing(org, recruiter):
    """A new question whose video is refused is not created (it used to be, without its
    video); an edit whose video is refused keeps the question's text as it was."""
    screening = org.screening
    before = len(screening.questions)
    response = recruiter.post(
        f"/screenings/{screening.id}/questions",
        data={
            "prompt": "A new one",
            "think_seconds": 10,
            "answer_seconds": 30,
            "max_retakes": 0,
            "prompt_video": (io.BytesIO(b"<html>not a video</html>" * 50), "x.mp4"),
            "csrf_token": csrf_token(recruiter, "/"),
        },
        content_type="multipart/form-data",
    )
    assert "That file cannot be used: not a video file." in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(screening.questions) == before
    question = screening.scored_questions[0]
    prompt = question.prompt
    _edit(
        recruiter,
        screening,
        question,
        {"prompt": "Changed", "prompt_video": (io.BytesIO(b"not a video" * 50), "y.mp4")},
    )
    db.session.expire_all()
    assert question.prompt == prompt and question.prompt_video is None
