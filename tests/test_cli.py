"""Command-line tools: demo data and the first admin."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from interview import demo
from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    EmailStatus,
    Invitation,
    InvitationStatus,
    Organization,
    Review,
    ReviewAssignment,
    Role,
    Screening,
    TakeStatus,
    User,
)
from interview.reports.services import screening_results

from .conftest import sign_in


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_demo_is_idempotent_and_its_accounts_work(app, runner):
    """Does `flask demo` create one account per role once, print working passwords, and
    change nothing when run again?"""
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data created." in first.output
    counts = (_count(Organization), _count(User), _count(Screening), _count(Invitation))
    assert counts == (1, len(demo.DEMO_USERS), 1, 1 + len(demo.COMPLETED_CANDIDATES))
    # Two reviewers assigned; the first completed candidate reviewed by both, figures agree.
    screening = db.session.scalar(sa.select(Screening))
    results = screening_results(screening)
    (reviewed,) = [c for c in results.candidates if c.reviewers]
    assert len(reviewed.reviewers) == 2 and reviewed.overall.count == 6
    assert db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) == 2
    second = runner.invoke(args=["demo"])
    assert "already present" in second.output
    assert (_count(Organization), _count(User), _count(Screening), _count(Invitation)) == counts
    assert _count(Review) == 2
    credentials = json.loads((Path(app.instance_path) / "demo_accounts.json").read_text())
    assert {c["role"] for c in credentials} == {r.value for r in Role}
    for entry in credentials:
        assert entry["password"] in second.output  # printed on every run
        client = app.test_client()
        assert sign_in(client, entry["email"], entry["password"]).status_code == 302
    assert (Path(app.instance_path) / "demo_accounts.json").stat().st_mode & 0o077 == 0
    # The demo candidate's link is printed and opens the candidate's page.
    link = next(line.strip() for line in second.output.splitlines() if "/i/" in line)
    page = app.test_client().get(link[link.index("/i/") :])
    assert page.status_code == 200 and "Hello Casey Candidate" in page.get_data(as_text=True)


def test_tick_runs_reminders_and_reconcile(runner, org):
    result = runner.invoke(args=["jobs", "tick"])
    assert result.exit_code == 0, result.output
    assert (
        "start=0 deadline=0 expired=0 requeued_jobs=0 requeued_takes=0 requeued_transcripts=0"
        in result.output
    )


def test_create_admin_makes_an_organisation_and_its_admin(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "Boss@Initech.example",
            "--org",
            "Initech",
            "--password",
            "a long enough password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@initech.example"))
    assert user.role == Role.ADMIN and user.organization.name == "Initech"
    assert (
        sign_in(app.test_client(), "boss@initech.example", "a long enough password").status_code
        == 302
    )


def test_create_admin_refuses_short_password_and_duplicates(app, runner):
    short = runner.invoke(
        args=["users", "create-admin", "--email", "a@b.example", "--password", "short"]
    )
    assert short.exit_code != 0 and "at least 10" in short.output
    generated = runner.invoke(
        args=["users", "create-admin", "--email", "a@b.example", "--password", "-"]
    )
    assert generated.exit_code == 0 and "Password: " in generated.output
    again = runner.invoke(
        args=["users", "create-admin", "--email", "a@b.example", "--password", "-"]
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_demo_has_completed_interviews_with_real_processed_videos(app, runner, sign_in_as):
    """Can a newcomer review at once? Three completed interviews, every question answered
    by a short video (a spoken answer when espeak-ng is installed, 5-8 s of tone otherwise)
    that went through the media pipeline, playable by a reviewer."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Completed interviews with answer videos: Jordan Rivera" in result.output
    completed = db.session.scalars(
        sa.select(Invitation)
        .join(Organization, Organization.id == Invitation.org_id)
        .where(Invitation.status == InvitationStatus.COMPLETED, Organization.name == demo.DEMO_ORG)
    ).all()
    assert sorted(i.candidate_name for i in completed) == sorted(
        c[0] for c in demo.COMPLETED_CANDIDATES
    )
    storage = get_storage()
    for invitation in completed:
        assert invitation.completed_at is not None
        # Invited by email (in the outbox), so the row never shows a "sending…" forever.
        assert invitation.email_status == EmailStatus.SENT
        for question in invitation.questions:
            take = question.response.take
            assert take.status == TakeStatus.READY, take.failure_reason
            assert take.flags == []  # moving picture, audible sound
            if not question.is_practice:
                assert 3000 <= take.duration_ms <= 20_000, take.duration_ms
            kinds = {a.kind: a for a in take.assets}
            assert set(kinds) == {AssetKind.ORIGINAL, AssetKind.MP4, AssetKind.POSTER}
            assert all(storage.exists(a.storage_key) for a in kinds.values())
            assert kinds[AssetKind.MP4].video_codec == "h264"
    # A reviewer of the demo organisation streams one of the answers (HTTP Range).
    reviewer = app.test_client()
    assert sign_in(reviewer, "reviewer@demo.example", _password(app, "reviewer")).status_code == 302
    mp4 = next(a for a in completed[0].questions[1].response.take.assets if a.kind == AssetKind.MP4)
    response = reviewer.get(f"/media/assets/{mp4.id}", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206 and len(response.data) == 100
    assert response.data[4:8] == b"ftyp"


def _password(app, role: str) -> str:
    credentials = json.loads((Path(app.instance_path) / "demo_accounts.json").read_text())
    return next(c["password"] for c in credentials if c["role"] == role)
