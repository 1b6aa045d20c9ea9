"""The candidate's "your data" link: download, deletion request with confirmation, status;
nobody else's data through it; the receipt page and email carry it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import sqlalchemy as sa

from interview import tokens
from interview.extensions import db
from interview.mail import OutboxBackend
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    DataRequest,
    DataRequestKind,
    Invitation,
    MediaAsset,
    Role,
    utcnow,
)
from interview.privacy import jobs, requests, retention

from .. import factories
from ..conftest import csrf_token
from .conftest import EMAIL, IP, NAME, rich_candidate


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip"
    data = response.data
    response.close()  # the app streams the ZIP from a temporary file; closing removes it
    return zipfile.ZipFile(io.BytesIO(data))


def test_export_holds_exactly_their_data(client, org, other_org):
    """Does the ZIP hold each kept answer (byte for byte), the questions, the consent record,
    every stored field and the reviewers' words, and nothing about anyone else?"""
    rich = rich_candidate(org)
    invitation = db.session.get(Invitation, rich.invitation_id)
    kept = {
        q.position: db.session.scalar(
            sa.select(MediaAsset).where(
                MediaAsset.take_id == q.response.take_id, MediaAsset.kind == AssetKind.MP4
            )
        )
        for q in invitation.questions
        if not q.is_practice
    }
    archive = _zip(client.get(f"/my-data/{rich.data_token}/export"))
    names = sorted(archive.namelist())
    assert names == sorted(
        ["README.txt", "consent.json", "data.json", "questions.txt", "answers/question-1.mp4"]
    )
    with get_storage().open(kept[1].storage_key) as stored:
        assert archive.read("answers/question-1.mp4") == stored.read()
    assert "Tell us about yourself" in archive.read("questions.txt").decode()
    assert "Practice" not in archive.read("questions.txt").decode()
    consent = json.loads(archive.read("consent.json"))
    assert consent["from_address"] == IP and consent["notice_accepted_at"]
    data = json.loads(archive.read("data.json"))
    assert data["candidate"]["candidate_email"] == EMAIL
    assert data["candidate"]["candidate_name"] == NAME
    assert "token_hash" not in data["candidate"]
    assert {a["sha256"] for a in data["answers"] if a["kept_as_answer"]} == {
        q.response.take.checksum_sha256 for q in invitation.questions
    }
    assert data["reviews"]["reviews"][0]["note"] == f"{NAME} was clear"
    assert data["reviews"]["reviews"][0]["reviewer"] == "Reviewer 1"  # staff are not named
    assert data["reviews"]["decision"]["note"] == f"Call {NAME}"
    everything = b"".join(archive.read(n) for n in names)
    for stranger in (org.completed, org.invitation, other_org.completed):
        assert stranger.candidate_name.encode() not in everything
        assert stranger.candidate_email.encode() not in everything
    assert org.users[Role.REVIEWER].email.encode() not in everything
    # The download is recorded as a data request (done at once) and audited.
    assert (
        db.session.scalar(
            sa.select(sa.func.count(DataRequest.id)).where(
                DataRequest.invitation_id == rich.invitation_id,
                DataRequest.kind == DataRequestKind.EXPORT,
            )
        )
        == 2
    )  # one by the fixture, one now


def test_export_leaves_out_reviews_when_the_setting_says_so(client, org):
    org.org.export_includes_reviews = False
    db.session.commit()
    rich = rich_candidate(org)
    archive = _zip(client.get(f"/my-data/{rich.data_token}/export"))
    data = json.loads(archive.read("data.json"))
    assert "reviews" not in data
    assert b"was clear" not in b"".join(archive.read(n) for n in archive.namelist())


def test_links_never_reach_another_candidates_data(client, org, other_org):
    """Another candidate's or organisation's data through a link: always 404."""
    rich = rich_candidate(org)
    other = requests.data_token(other_org.completed)
    key = factories.token_key()
    mine = db.session.get(Invitation, rich.invitation_id)
    forged = [
        org.token,  # the interview link is not a data link
        tokens.data_link_token(key, org.completed.id, mine.data_token_nonce),  # my nonce, your id
        tokens.data_link_token(key, rich.invitation_id, "0" * 32),  # a guessed nonce
        tokens.link_token(key, rich.invitation_id, mine.data_token_nonce),  # other purpose
        "x" * 43,
        "short",
    ]
    for token in forged:
        for path in ("", "/export"):
            assert client.get(f"/my-data/{token}{path}").status_code == 404, (token, path)
        response = client.post(
            f"/my-data/{token}/delete", data={"confirm": "y", "csrf_token": csrf_token(client)}
        )
        assert response.status_code == 404
    assert (
        db.session.scalar(
            sa.select(sa.func.count(DataRequest.id)).where(
                DataRequest.kind == DataRequestKind.DELETION
            )
        )
        == 0
    )
    # Each link shows its own candidate only.
    page = client.get(f"/my-data/{other}").get_data(as_text=True)
    assert other_org.screening.organization.name in page and org.org.name not in page


def test_deletion_request_confirm_status_sweep(client, org, sign_in_as):
    """A candidate asks for deletion (confirmation needed), sees it pending; the admin sees it
    on Data requests; the sweep carries it out; the link then says so and exports nothing."""
    rich = rich_candidate(org)
    url = f"/my-data/{rich.data_token}"
    page = client.get(url).get_data(as_text=True)
    assert "Delete my data" in page and "Download my data" in page
    refused = client.post(f"{url}/delete", data={"csrf_token": csrf_token(client, url)})
    assert refused.status_code == 400 and "Tick the box" in refused.get_data(as_text=True)
    assert requests.pending_deletion(db.session.get(Invitation, rich.invitation_id)) is None

    asked = client.post(
        f"{url}/delete", data={"confirm": "y", "csrf_token": csrf_token(client, url)}
    )
    assert asked.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "You asked for deletion" in page
    pending = requests.pending_deletion(db.session.get(Invitation, rich.invitation_id))
    assert pending.due_at - pending.requested_at == timedelta(days=30)

    admin = sign_in_as(Role.ADMIN)
    listing = admin.get("/privacy/requests").get_data(as_text=True)
    assert NAME in listing and "pending" in listing
    assert "deletion request" in listing  # the dry run of the next sweep lists it

    summary = jobs.sweep()
    assert "purged=1" in summary
    page = client.get(url).get_data(as_text=True)
    assert "Your data was deleted" in page and NAME not in page
    assert client.get(f"{url}/export").status_code == 404
    listing = admin.get("/privacy/requests").get_data(as_text=True)
    assert NAME not in listing and "done" in listing


def test_legal_hold_blocks_request_retention_and_staff(client, org, sign_in_as):
    """A legal hold keeps the data: the sweep skips it (request and retention alike), staff
    cannot delete it, the candidate sees "on hold"; lifting it lets the sweep finish."""
    rich = rich_candidate(org)
    invitation = db.session.get(Invitation, rich.invitation_id)
    requests.request_deletion(invitation)
    invitation.completed_at = utcnow() - timedelta(days=4000)  # retention long over, too
    db.session.commit()
    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, f"/screenings/{org.screening.id}/invitations/{invitation.id}")
    admin.post(
        f"/privacy/candidates/{invitation.id}/hold",
        data={"reason": "Court order 12/34", "csrf_token": token},
    )
    assert db.session.get(Invitation, invitation.id).legal_hold_reason == "Court order 12/34"

    assert "purged=0" in jobs.sweep()
    refused = admin.post(
        f"/privacy/candidates/{invitation.id}/delete",
        data={"reason": "asked", "confirm": "y", "csrf_token": token},
    )
    assert refused.status_code == 409
    assert db.session.get(Invitation, invitation.id).deleted_at is None
    page = client.get(f"/my-data/{rich.data_token}").get_data(as_text=True)
    assert "on hold" in page
    assert "held" in admin.get("/privacy/requests").get_data(as_text=True)

    admin.post(f"/privacy/candidates/{invitation.id}/release", data={"csrf_token": token})
    assert "purged=1" in jobs.sweep()
    assert db.session.get(Invitation, invitation.id).deleted_at is not None


def test_staff_delete_now_with_confirmation(org, sign_in_as):
    rich = rich_candidate(org)
    recruiter = sign_in_as(Role.RECRUITER)
    url = f"/privacy/candidates/{rich.invitation_id}/delete"
    form = recruiter.get(url)
    assert form.status_code == 200 and NAME in form.get_data(as_text=True)
    token = csrf_token(recruiter, url)
    assert (
        recruiter.post(url, data={"reason": "asked by phone", "csrf_token": token}).status_code
        == 400
    )
    done = recruiter.post(
        url, data={"reason": "asked by phone", "confirm": "y", "csrf_token": token}
    )
    assert done.status_code == 302
    assert db.session.get(Invitation, rich.invitation_id).deleted_at is not None


def test_receipt_page_and_email_carry_the_data_link(app, client, org):
    """After submitting, the receipt page and the receipt email show the data link."""
    invitation, token = factories.invitation(
        org.screening, "Pat Doe", "pat@example.com", started=True
    )
    factories.keep_as_answer(
        factories.take(org.screening, status=factories.TakeStatus.READY), completed=False
    )
    invitation.status = factories.InvitationStatus.COMPLETED
    invitation.completed_at = utcnow()
    db.session.commit()
    page = client.get(f"/i/{token}/done").get_data(as_text=True)
    link = re.search(r'href="(/my-data/[^"]+)"', page).group(1)
    assert client.get(link).status_code == 200
    jobs.send_receipt(invitation.id)
    outbox = OutboxBackend(app.config["MAIL_OUTBOX_DIR"], "x")
    ((_name, message),) = outbox.messages()
    assert link in message.get_body(("plain",)).get_content()
    assert message["To"].addresses[0].addr_spec == "pat@example.com"


def test_retention_dates_follow_the_settings_with_a_driven_clock(org):
    """Due dates: completion + N days; never completed: expiry (or an earlier revocation) + N."""
    org.org.retention_days = 30
    t0 = utcnow().replace(microsecond=0)
    done = factories.completed_candidate(org.screening, "A", "a@example.com", completed_at=t0)
    open_, _ = factories.invitation(
        org.screening, "B", "b@example.com", expires_in=timedelta(days=7)
    )
    revoked, _ = factories.invitation(
        org.screening, "C", "c@example.com", expires_in=timedelta(days=7)
    )
    revoked.revoked_at = utcnow() + timedelta(days=1)
    revoked.status = factories.InvitationStatus.REVOKED
    db.session.commit()
    assert retention.delete_after(done, org.org) == t0 + timedelta(days=30)
    assert retention.delete_after(open_, org.org) == open_.expires_at + timedelta(days=30)
    assert retention.delete_after(revoked, org.org) == revoked.revoked_at + timedelta(days=30)

    def due(at):
        return set(retention.due_ids(at)) & {done.id, open_.id, revoked.id}

    assert due(t0 + timedelta(days=30) - timedelta(seconds=1)) == set()
    assert due(t0 + timedelta(days=30)) == {done.id}
    assert due(revoked.revoked_at + timedelta(days=30)) == {done.id, revoked.id}
    assert due(open_.expires_at + timedelta(days=30)) == {done.id, revoked.id, open_.id}
    org.org.retention_days = 60  # the setting moves every date
    db.session.commit()
    assert due(open_.expires_at + timedelta(days=30)) == set()
    assert retention.delete_after(done, org.org) == t0 + timedelta(days=60)
