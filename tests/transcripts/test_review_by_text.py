"""Reviewing by text: the transcript on the reviewer's page, search, and review modes that
keep the candidate's picture (and sound) out of the reviewer's browser until they submit."""

from __future__ import annotations

import re

import pytest

from interview.extensions import db
from interview.media import services as media
from interview.models import AssetKind, ReviewMode, Role
from interview.reports.services import candidate_numbers
from tests import factories

LINES = [
    (0, 2400, "I have run Kubernetes clusters for five years."),
    (2400, 5200, "During an outage I open an escalation and keep a timeline."),
]
MEDIA_URL = re.compile(r"/media/assets/(\d+)")


def _answer(org, name="Robin Reviewed", lines=LINES, screening=None):
    """A completed candidate whose scored answer has an MP4, a poster and a transcript."""
    inv = factories.completed_candidate(screening or org.screening, name, duration_ms=6000)
    take = inv.questions[1].response.take
    factories.stored_asset(take, AssetKind.MP4, b"\x00\x00\x00\x18ftypmp42", "video/mp4")
    factories.stored_asset(take, AssetKind.POSTER, b"\xff\xd8 poster \xff\xd9", "image/jpeg")
    factories.transcribed(take, lines)
    db.session.commit()
    return inv, take


def _assets(take) -> dict[AssetKind, int]:
    return {a.kind: a.id for a in take.assets}


def test_reviewer_page_shows_the_transcript_captions_track_and_quote(org, sign_in_as):
    inv, take = _answer(org)
    page = sign_in_as(Role.REVIEWER).get(f"/review/candidates/{inv.id}").get_data(as_text=True)
    ids = _assets(take)
    assert f'<track kind="captions" src="/media/assets/{ids[AssetKind.CAPTIONS]}"' in page
    assert 'data-start-ms="2400"' in page and "keep a timeline." in page
    assert "quote-phrase" in page and "captions-toggle" in page


@pytest.mark.parametrize("mode", [ReviewMode.TRANSCRIPT, ReviewMode.AUDIO])
def test_masked_modes_never_send_the_picture_before_the_review_is_submitted(org, sign_in_as, mode):
    """In transcript-only mode no media URL but the captions reaches the reviewer's browser
    (HTML and JSON); in audio-only mode only the sound and captions; the media route refuses
    the rest; after submitting, the reviewer may reveal the video."""
    org.screening.review_mode = mode
    inv, take = _answer(org)
    ids = _assets(take)
    allowed = {ids[AssetKind.CAPTIONS]}
    if mode == ReviewMode.AUDIO:
        allowed.add(ids[AssetKind.AUDIO])
    reviewer = sign_in_as(Role.REVIEWER)

    html = reviewer.get(f"/review/candidates/{inv.id}").get_data(as_text=True)
    as_json = reviewer.get(f"/review/candidates/{inv.id}", headers={"Accept": "application/json"})
    revealed = reviewer.get(f"/review/candidates/{inv.id}?reveal=1").get_data(as_text=True)
    for body in (html, as_json.get_data(as_text=True), revealed):
        assert {int(i) for i in MEDIA_URL.findall(body)} <= allowed
        assert "keep a timeline." in body
    if mode == ReviewMode.AUDIO:
        audio_src = f'preload="metadata" src="/media/assets/{ids[AssetKind.AUDIO]}"'
        assert f'<audio class="answer-media w-100" controls {audio_src}' in html
    assert as_json.json["review_mode"] == mode.value
    assert as_json.json["answers"][0]["video_url"] is None
    assert as_json.json["answers"][0]["transcript"]["segments"][1]["start_ms"] == 2400
    for kind in (AssetKind.MP4, AssetKind.POSTER):
        assert reviewer.get(f"/media/assets/{ids[kind]}").status_code == 404
    assert reviewer.get(f"/media/assets/{ids[AssetKind.CAPTIONS]}").status_code == 200
    audio = reviewer.get(f"/media/assets/{ids[AssetKind.AUDIO]}").status_code
    assert audio == (200 if mode == ReviewMode.AUDIO else 404)

    factories.scored_review(inv, org.users[Role.REVIEWER], [[4]])
    db.session.commit()
    after = reviewer.get(f"/review/candidates/{inv.id}?reveal=1").get_data(as_text=True)
    assert f"/media/assets/{ids[AssetKind.MP4]}" in after
    assert reviewer.get(f"/media/assets/{ids[AssetKind.MP4]}").status_code == 200
    from interview.models import Review

    assert db.session.scalar(db.select(Review.mode)) == mode


def test_hr_reads_with_the_video_whatever_the_mode(org, sign_in_as):
    org.screening.review_mode = ReviewMode.TRANSCRIPT
    inv, take = _answer(org)
    page = sign_in_as(Role.HR).get(f"/review/candidates/{inv.id}").get_data(as_text=True)
    assert f"/media/assets/{media.asset_of(take, AssetKind.MP4).id}" in page


def test_search_finds_a_phrase_and_links_to_its_moment(org, sign_in_as):
    inv, _take = _answer(org)
    page = sign_in_as(Role.REVIEWER).get(
        f"/review/screenings/{org.screening.id}?q=ESCALATION+timeline"
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    response_id = inv.questions[1].response.id
    assert f"/review/candidates/{inv.id}?answer={response_id}&amp;t=2400#answer-{response_id}" in (
        body
    )
    assert "<mark>escalation</mark>" in body and "<mark>timeline</mark>" in body
    assert "answer 1 at 0:02" in body


def test_search_never_returns_another_orgs_or_an_unassigned_candidates_answers(
    org, other_org, sign_in_as
):
    """Same words everywhere: the reviewer finds only the candidate assigned to them, with
    the name hidden when the screening hides names; practice answers are never searched."""
    org.screening.anonymize_candidates = True
    theirs, _ = _answer(other_org, "Other Org Person")
    assigned, _ = _answer(org, "Assigned Person")
    other_screening = factories.screening(org.org, "Another role")
    db.session.flush()
    unassigned, _ = _answer(org, "Unassigned Person", screening=other_screening)
    practice_take = assigned.questions[0].response.take
    assert assigned.questions[0].is_practice
    factories.transcribed(practice_take, [(0, 1000, "Kubernetes practice words")])
    db.session.commit()

    reviewer = sign_in_as(Role.REVIEWER)
    body = reviewer.get(f"/review/screenings/{org.screening.id}?q=kubernetes").get_data(
        as_text=True
    )
    hits = body[body.index('id="hits-title"') : body.index("</section>")]
    number = candidate_numbers(org.screening.id, [assigned.id])[assigned.id]
    assert "1 sentence mention" in hits
    assert f"Candidate {number} · answer 1 at 0:00" in hits  # hidden name, as on the queue
    for name in ("Assigned Person", "Other Org Person", "Unassigned Person", "practice words"):
        assert name not in body
    assert f"/review/candidates/{assigned.id}?" in hits
    assert f"/review/candidates/{theirs.id}?" not in body
    # Another organisation's screening and a screening not assigned to them: 404, no results.
    assert (
        reviewer.get(f"/review/screenings/{other_org.screening.id}?q=kubernetes").status_code == 404
    )
    assert reviewer.get(f"/review/screenings/{other_screening.id}?q=kubernetes").status_code == 404
    assert f"candidates/{unassigned.id}" not in body


def test_search_respects_a_single_candidate_assignment(org, app, sign_in_as):
    from interview.models import ReviewAssignment
    from interview.review import answers

    first, _ = _answer(org, "First Person")
    second, _ = _answer(org, "Second Person")
    spare = org.spare
    db.session.add(
        ReviewAssignment(screening_id=org.screening.id, reviewer=spare, invitation_id=second.id)
    )
    db.session.commit()
    with app.test_request_context():
        hits = answers.search_answers(spare, org.screening, "kubernetes")
    assert {h.invitation_id for h in hits} == {second.id}
    assert first.id not in {h.invitation_id for h in hits}


def test_search_input_is_never_query_syntax(org, sign_in_as):
    _answer(org)
    reviewer = sign_in_as(Role.REVIEWER)
    for text in ['"', "NEAR(", "a OR b", "*", "kuber* -x", "'; drop", "x" * 500, "  "]:
        assert (
            reviewer.get(
                f"/review/screenings/{org.screening.id}", query_string={"q": text}
            ).status_code
            == 200
        )
