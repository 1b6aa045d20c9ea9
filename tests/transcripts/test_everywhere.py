"""Transcripts beyond the reviewer's page: settings, results per mode, reports, the receipt,
question videos' captions, and the recovery sweep."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import sqlalchemy as sa

from interview.extensions import db
from interview.models import (
    AssetKind,
    MediaAsset,
    ReviewMode,
    Role,
    Transcript,
    TranscriptStatus,
    utcnow,
)
from interview.reports import documents, pdf, reporting, services
from interview.transcripts import recovery
from tests import factories
from tests.conftest import csrf_token
from tests.reports.conftest import pdf_text

LINES = [(0, 2000, "Hello, I lead the support team."), (2000, 4000, "We cut escalations by half.")]


def _candidate(org, name="Robin Reviewed"):
    inv = factories.completed_candidate(org.screening, name, duration_ms=4000)
    take = inv.questions[1].response.take
    factories.transcribed(take, LINES)
    db.session.commit()
    return inv, take


def test_recruiter_sets_review_mode_and_answer_language(org, sign_in_as):
    client = sign_in_as(Role.RECRUITER)
    s = org.screening
    form = {
        "csrf_token": csrf_token(client, f"/screenings/{s.id}/edit"),
        "title": s.title,
        "deadline_days": "7",
        "blind_review": "y",
        "review_mode": "transcript",
        "answer_language": "de",
    }
    response = client.post(f"/screenings/{s.id}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert s.review_mode == ReviewMode.TRANSCRIPT and s.answer_language == "de"
    form.update(review_mode="sideways", answer_language="")
    assert client.post(f"/screenings/{s.id}/edit", data=form).status_code == 200  # refused
    db.session.expire_all()
    assert s.review_mode == ReviewMode.TRANSCRIPT


def test_results_show_agreement_per_review_mode(org, sign_in_as):
    inv, _ = _candidate(org)
    factories.scored_review(inv, org.users[Role.REVIEWER], [[4]])
    org.screening.review_mode = ReviewMode.TRANSCRIPT
    factories.scored_review(inv, org.spare, [[2]])
    db.session.commit()
    results = services.screening_results(org.screening)
    assert {(m.mode, m.reviews) for m in results.by_mode} == {("video", 1), ("transcript", 1)}
    page = sign_in_as(Role.RECRUITER).get(f"/review/screenings/{org.screening.id}/results")
    body = page.get_data(as_text=True)
    assert 'id="agreement-by-mode"' in body and "Transcript only" in body


def test_candidate_pdf_can_include_transcripts_and_the_csv_has_them(org, app, tmp_path):
    inv, _ = _candidate(org)
    db.session.commit()
    plain = pdf_text(
        pdf.render_pdf(
            documents.candidate_document(inv).html, stylesheet=documents.stylesheet_text()
        ),
        tmp_path,
    )
    assert "escalations by half" not in plain
    text = pdf_text(
        pdf.render_pdf(
            documents.candidate_document(inv, with_transcripts=True).html,
            stylesheet=documents.stylesheet_text(),
        ),
        tmp_path,
    )
    flat = " ".join(text.split())
    assert "Transcript (en, automatic)" in flat
    assert "0:02 We cut escalations by half." in flat

    archive = zipfile.ZipFile(io.BytesIO(reporting.csv_bundle(org.screening)))
    name = next(n for n in archive.namelist() if n.endswith("-answers.csv"))
    rows = archive.read(name).decode("utf-8-sig").splitlines()
    assert rows[0].endswith("transcript_language,transcript")
    assert any("Hello, I lead the support team. We cut escalations by half." in r for r in rows[1:])


def test_a_report_with_transcripts_is_its_own_report(org):
    inv, _ = _candidate(org)
    hr = org.users[Role.HR]
    kind = reporting.ReportKind.CANDIDATE_PDF
    plain, _ = reporting.request_report(org.screening, kind, hr, invitation=inv)
    full, queued = reporting.request_report(
        org.screening, kind, hr, invitation=inv, with_transcripts=True
    )
    assert queued and full.id != plain.id and full.with_transcripts


def test_the_receipt_lists_which_answers_have_a_transcript(app, org):
    from interview.models import Take, TakeStatus

    inv, token = factories.invitation(org.screening, email="pat@example.com", started=True)
    question = inv.questions[1]
    take = Take(question=question, attempt=1, status=TakeStatus.READY, duration_ms=4000)
    db.session.add(take)
    db.session.flush()
    factories.keep_as_answer(take)
    factories.transcribed(take, LINES)
    db.session.commit()
    page = app.test_client().get(f"/i/{token}/done").get_data(as_text=True)
    assert '<td class="transcript-state">yes</td>' in page


def test_question_video_captions_reach_the_candidate_once_revealed(app, org):
    """Captions of a recruiter's question video: served to the candidate at the same rule as
    the video (after the question is revealed), through the app."""
    from interview.transcripts import vtt

    inv, token = factories.invitation(org.screening, email="sam@example.com", started=True)
    question = inv.questions[1]
    video = MediaAsset(
        org_id=org.org.id,
        question_id=question.source_question_id,
        kind=AssetKind.PROMPT_VIDEO,
        storage_key="orgs/x/questions/v.mp4",
        content_type="video/mp4",
    )
    db.session.add(video)
    db.session.flush()
    question.prompt_video_id = video.id
    transcript = Transcript(org_id=org.org.id, asset_id=video.id, status=TranscriptStatus.READY)
    db.session.add(transcript)
    db.session.flush()
    from interview.media.storage import get_storage

    body = vtt.render([vtt.Cue(0, 1.5, "Tell us about yourself")]).encode()
    get_storage().save("orgs/x/questions/v.vtt", io.BytesIO(body))
    captions = MediaAsset(
        org_id=org.org.id,
        question_id=question.source_question_id,
        kind=AssetKind.CAPTIONS,
        storage_key="orgs/x/questions/v.vtt",
        content_type="text/vtt",
        size_bytes=len(body),
    )
    db.session.add(captions)
    db.session.flush()
    transcript.captions_asset_id = captions.id
    db.session.commit()
    client = app.test_client()
    url = f"/i/{token}/api/questions/{question.position}/captions"
    assert client.get(url).status_code == 404  # not revealed yet
    question.revealed_at = utcnow()
    db.session.commit()
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/vtt"
    assert b"Tell us about yourself" in response.data
    state = client.get(f"/i/{token}/api/state").json
    assert any(q.get("prompt_captions_url") == url for q in state["questions"])


def test_the_sweep_requests_missing_transcripts_and_requeues_stuck_ones(app, org):
    inv = factories.completed_candidate(org.screening, "Late Person")
    take = inv.questions[1].response.take
    take.processed_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    resent = recovery.reconcile_transcripts(timedelta(minutes=5))
    transcript = db.session.scalar(sa.select(Transcript).where(Transcript.take_id == take.id))
    assert transcript in resent and transcript.status == TranscriptStatus.QUEUED
    # Stuck in processing with no live run: given back and queued again.
    transcript.status = TranscriptStatus.PROCESSING
    transcript.updated_at = utcnow() - timedelta(hours=1)
    db.session.execute(sa.text("DELETE FROM job_runs"))
    db.session.commit()
    db.session.execute(
        sa.update(Transcript)
        .where(Transcript.id == transcript.id)
        .values(updated_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert [t.id for t in recovery.reconcile_transcripts(timedelta(minutes=5))] == [transcript.id]
    db.session.expire_all()
    assert db.session.get(Transcript, transcript.id).status == TranscriptStatus.QUEUED


def test_transcripts_and_captions_are_deleted_with_the_answer(org, app):
    """Deleting a take (as any purge does) deletes its transcript, segments, captions and
    sound-alone assets, and nothing of it can be found by search any more."""
    from interview.models import Take, TranscriptSegment
    from interview.transcripts import search

    inv, take = _candidate(org)
    kinds = {a.kind for a in take.assets}
    assert {AssetKind.CAPTIONS, AssetKind.AUDIO} <= kinds
    scope = sa.true()
    assert search.search(org.org.id, org.screening.id, "escalations", scope)
    db.session.delete(inv.questions[1].response)
    db.session.delete(db.session.get(Take, take.id))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Transcript.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(TranscriptSegment.id))) == 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count(MediaAsset.id)).where(
                MediaAsset.kind.in_([AssetKind.CAPTIONS, AssetKind.AUDIO])
            )
        )
        == 0
    )
    if db.engine.dialect.name == "sqlite":  # the FTS5 index follows (triggers)
        matches = (
            "SELECT count(*) FROM transcript_search WHERE transcript_search MATCH 'escalations'"
        )
        assert db.session.execute(sa.text(matches)).scalar() == 0


def test_a_report_printing_transcripts_goes_stale_when_one_is_ready(org):
    """A PDF asked for before the transcripts were made is marked stale once they are (and
    can be regenerated); one without transcripts is not."""
    inv = factories.completed_candidate(org.screening, "Early Asker", duration_ms=4000)
    db.session.commit()
    hr = org.users[Role.HR]
    kind = reporting.ReportKind.CANDIDATE_PDF
    full, _ = reporting.request_report(
        org.screening, kind, hr, invitation=inv, with_transcripts=True
    )
    plain, _ = reporting.request_report(org.screening, kind, hr, invitation=inv)
    assert reporting.render(full.id) == "ready" and reporting.render(plain.id) == "ready"
    db.session.expire_all()
    assert not reporting.stale_ids([full, plain])
    factories.transcribed(inv.questions[1].response.take, LINES)
    db.session.commit()
    assert reporting.stale_ids([full, plain]) == {full.id}


def test_a_purge_deletes_what_the_candidate_said_and_the_export_holds_it(app, org):
    """A transcript is the candidate's data: is it in their export, and gone (text, segments,
    search index) after a purge, while the take row stays for kept scores?"""
    from interview.models import Transcript, TranscriptSegment, TranscriptStatus
    from interview.privacy import purge
    from interview.privacy import services as privacy_services
    from interview.privacy.services import ExportOptions

    take = org.completed.questions[1].response.take
    transcript = Transcript(
        org_id=org.org.id,
        take_id=take.id,
        status=TranscriptStatus.READY,
        language="en",
        text="I escalated the ticket to Kubernetes support",
    )
    transcript.segments.append(
        TranscriptSegment(
            org_id=org.org.id,
            position=0,
            start_ms=0,
            end_ms=2000,
            text="I escalated the ticket to Kubernetes support",
        )
    )
    db.session.add(transcript)
    db.session.commit()
    part = next(p for p in privacy_services.parts() if p.name == "transcripts")
    exported = part.export(org.completed, ExportOptions(include_reviews=False))
    assert exported == [{"question_position": 1, "language": "en", "text": transcript.text}]
    purge.purge([org.completed.id], reason="test")
    assert db.session.query(Transcript).count() == 0
    assert db.session.query(TranscriptSegment).count() == 0
    assert db.session.get(type(take), take.id) is not None
