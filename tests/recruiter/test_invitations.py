"""Inviting candidates: links, CSV import, email delivery, deadlines, reminders, the funnel."""

from __future__ import annotations

import email
import email.policy
import io
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from interview import jobs, tokens
from interview.extensions import db
from interview.models import (
    EmailStatus,
    ImportStatus,
    Invitation,
    InvitationImport,
    InvitationStatus,
    JobRun,
    Review,
    ReviewStatus,
    Role,
    utcnow,
)
from interview.recruiter import imports, services
from interview.recruiter import jobs as email_jobs

from ..conftest import PROJECT_ROOT, csrf_token, free_port, import_csv, worker_env


@pytest.fixture
def recruiter(sign_in_as):
    return sign_in_as(Role.RECRUITER)


def _post(client, url, data, **kw):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/")}, **kw)


def _invitation(email_address: str) -> Invitation:
    return db.session.scalar(
        sa.select(Invitation).where(Invitation.candidate_email == email_address)
    )


def _outbox(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def _link_path(message: email.message.EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = next(line.strip() for line in text.splitlines() if "/i/" in line)
    return link[link.index("/i/") :]


def test_invite_one_candidate_stores_only_a_hash_and_queues_the_email(app, org, recruiter):
    """Does an invitation get an unguessable link whose token is not in the database?"""
    response = _post(
        recruiter,
        f"/screenings/{org.screening.id}/invitations",
        {"name": "Dana Doe", "email": "Dana@Example.com"},
    )
    assert response.status_code == 302
    inv = _invitation("dana@example.com")
    assert inv.status == InvitationStatus.INVITED
    assert inv.expires_at - utcnow() > timedelta(days=6, hours=23)
    link = services.candidate_link(inv)
    token = link.rsplit("/", 1)[1]
    assert len(token) == 43  # 256-bit HMAC, base64url
    assert tokens.token_hash(token) == inv.token_hash
    row = (
        db.session.execute(sa.text("SELECT * FROM invitations WHERE id = :id"), {"id": inv.id})
        .mappings()
        .one()
    )
    assert all(token not in str(value) for value in row.values())
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == "email.invitation"))
    assert run.args == [inv.id]
    # The worker's job renders and sends the email with a working link.
    email_jobs.send_invitation(inv.id)
    [message] = _outbox(app)
    assert message["To"] == "Dana Doe <dana@example.com>"
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert link in html and "<img" not in html  # no tracking pixels
    assert "Please complete it by" in message.get_body(preferencelist=("plain",)).get_content()
    db.session.refresh(inv)
    assert inv.email_status == EmailStatus.SENT
    page = app.test_client().get(_link_path(message))
    assert page.status_code == 200 and "Hello Dana Doe" in page.get_data(as_text=True)


def test_inviting_the_same_email_twice_is_refused(org, recruiter):
    _post(
        recruiter,
        f"/screenings/{org.screening.id}/invitations",
        {"name": "Casey", "email": org.invitation.candidate_email.upper()},
    )
    page = recruiter.get(f"/screenings/{org.screening.id}").get_data(as_text=True)
    assert "already invited" in page


def test_invitations_need_an_open_screening(org, recruiter):
    org.screening.status = "draft"
    db.session.commit()
    _post(
        recruiter,
        f"/screenings/{org.screening.id}/invitations",
        {"name": "Eve", "email": "eve@example.com"},
    )
    assert _invitation("eve@example.com") is None


CSV = (
    "name,email\n"
    "Ann Able,ann@example.com\n"
    "Bob Baker,not-an-email\n"
    ",nobody@example.com\n"
    "Ann Again,ANN@example.com\n"
    "\n"
    "Cy Cole,cy@example.com\n"
    "Casey Candidate,casey@northwind.example\n"
    "only-one-column\n"
)


def test_csv_import_invites_good_rows_and_reports_bad_ones_by_line(org, recruiter):
    """With mixed rows, are the good ones invited (in a job) and the rest reported by line?"""
    response = import_csv(recruiter, org.screening.id, ("\ufeff" + CSV).encode())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 invited · 3 rows with errors · 2 duplicates" in page
    assert "Line 3: not-an-email" in page
    assert "Line 4: the name is empty" in page
    assert "Line 5: ann@example.com" in page  # duplicate within the file
    assert "Line 8: casey@northwind.example" in page  # already invited
    assert "Line 9: expected two columns" in page
    assert "Line 2: Ann Able &lt;ann@example.com&gt;" in page
    assert _invitation("ann@example.com").candidate_name == "Ann Able"
    assert _invitation("cy@example.com") is not None
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(JobRun).where(JobRun.name == "email.invitation")
        )
        == 2
    )


def test_csv_import_refuses_a_binary_file(org, recruiter):
    response = import_csv(recruiter, org.screening.id, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    assert "not UTF-8 text" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(InvitationImport.id))) == 0


def test_semicolon_csv_without_header(org, recruiter):
    response = import_csv(
        recruiter, org.screening.id, b"Zoe Zed;zoe@example.com\nYan Yu;yan@example.com\n"
    )
    assert "2 invited · 0 rows with errors · 0 duplicates" in response.get_data(as_text=True)


def test_csv_with_a_huge_cell_is_refused_with_its_line_number(org, recruiter):
    """A cell past csv's field limit (an unclosed quote swallowing the file, or a giant
    cell) is refused at once with the line where it starts; it used to answer 500."""
    data = f'name,email\nAnn Able,ann@example.com\n"{"x" * 200_000}",big@example.com\n'.encode()
    response = import_csv(recruiter, org.screening.id, data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Line 3: a cell is longer than 131,072 characters" in page
    assert "Nothing was imported" in page
    assert _invitation("ann@example.com") is None


def _many(n: int, start: int = 0) -> bytes:
    return "".join(f"Person {i},p{i}@example.com\n" for i in range(start, start + n)).encode()


def test_csv_import_runs_in_a_job_with_progress_and_is_idempotent(app, org, recruiter):
    """The request only checks and queues (the job is in Redis and in job_runs); the page and
    its status JSON show progress; the job invites in batches; running it again (a retry,
    reconcile) changes nothing."""
    response = recruiter.post(
        f"/screenings/{org.screening.id}/invitations/import",
        data={"csrf_token": csrf_token(recruiter, "/"), "file": (io.BytesIO(_many(120)), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    record = db.session.scalar(sa.select(InvitationImport))
    assert record.status == ImportStatus.QUEUED and record.rows_total == 120
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == "invitations.import"))
    assert run.queue == "imports" and run.args == [record.id]
    assert jobs.redis_connection().llen("rq:queue:imports") == 1
    assert _invitation("p0@example.com") is None  # nothing invited in the request
    page = recruiter.get(response.headers["Location"]).get_data(as_text=True)
    assert "0</span> of 120 rows" in page and "js/import.js" in page
    status_url = f"/screenings/{org.screening.id}/imports/{record.id}/status"
    assert recruiter.get(status_url).json == {
        "status": "queued", "rows_done": 0, "rows_total": 120, "finished": False
    }  # fmt: skip
    imports.run_import(record.id)
    assert recruiter.get(status_url).json["finished"] is True
    page = recruiter.get(response.headers["Location"]).get_data(as_text=True)
    assert "120 invited · 0 rows with errors · 0 duplicates" in page
    assert "js/import.js" not in page
    emails = sa.select(sa.func.count(JobRun.id)).where(JobRun.name == "email.invitation")
    assert db.session.scalar(emails) == 120
    imports.run_import(record.id)  # again: nothing changes
    assert db.session.scalar(emails) == 120
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 120 + 2


def test_an_interrupted_import_resumes_after_its_last_batch(app, org, recruiter, monkeypatch):
    """A worker that dies mid-import: the batches it committed stay (with their email jobs),
    the rest is invited when reconcile re-queues the job; nobody is invited twice."""
    record = imports.start_import(org.screening, org.users[Role.RECRUITER], _many(120), "b.csv")
    calls = {"n": 0}
    real = services.new_invitation

    def dies_on_row_70(*args):
        calls["n"] += 1
        if calls["n"] == 70:
            raise SystemExit("worker killed")
        return real(*args)

    monkeypatch.setattr(imports, "new_invitation", dies_on_row_70)
    with pytest.raises(SystemExit):
        imports.run_import(record.id)
    db.session.rollback()
    db.session.expire_all()
    assert record.rows_done == imports.BATCH_ROWS  # the first batch committed, not the second
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == imports.BATCH_ROWS + 2
    monkeypatch.setattr(imports, "new_invitation", real)
    jobs.redis_connection().flushdb()  # and Redis forgot the job
    resent = jobs.reconcile()
    assert "invitations.import" in {r.name for r in resent}
    imports.run_import(record.id)
    db.session.expire_all()
    assert record.status == ImportStatus.DONE and len(record.invited) == 120
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 120 + 2
    emails = sa.select(sa.func.count(JobRun.id)).where(JobRun.name == "email.invitation")
    assert db.session.scalar(emails) == 120


def test_extend_one_deadline_and_revoke_another(app, org, recruiter, client):
    """The issue's scenario: one candidate gets more time, the other's link stops working."""
    extended = org.invitation
    extended.expires_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    expired_page = client.get(f"/i/{org.token}")
    assert expired_page.status_code == 410
    assert "This link expired on" in expired_page.get_data(as_text=True)
    db.session.refresh(extended)
    assert extended.status == InvitationStatus.EXPIRED
    base = f"/screenings/{org.screening.id}/invitations/{extended.id}"
    assert _post(recruiter, f"{base}/extend", {"days": 3}).status_code == 302
    db.session.refresh(extended)
    assert extended.status == InvitationStatus.IN_PROGRESS  # back where the candidate was
    assert timedelta(days=2, hours=23) < extended.expires_at - utcnow() <= timedelta(days=3)
    assert client.get(f"/i/{org.token}").status_code == 200

    before = services.funnel(org.screening)
    other, other_token = _new_invitation(org, "zed@example.com")
    assert client.get(f"/i/{other_token}").status_code == 200
    assert (
        _post(
            recruiter, f"/screenings/{org.screening.id}/invitations/{other.id}/revoke", {}
        ).status_code
        == 302
    )
    revoked = client.get(f"/i/{other_token}")
    unknown = client.get("/i/" + "A" * 43)
    assert revoked.status_code == unknown.status_code == 404
    assert "This link is no longer valid" in revoked.get_data(as_text=True)
    # A revoked link and a made-up one look exactly the same.
    assert revoked.get_data(as_text=True).replace(csrf_of(revoked), "") == unknown.get_data(
        as_text=True
    ).replace(csrf_of(unknown), "")
    funnel = services.funnel(org.screening)
    assert funnel["invited"] == before["invited"] + 1
    assert funnel["opened"] == before["opened"] + 1
    assert funnel["revoked"] == 1


def csrf_of(response) -> str:
    body = response.get_data(as_text=True)
    start = body.index('name="csrf-token" content="') + len('name="csrf-token" content="')
    return body[start : body.index('"', start)]


def _new_invitation(org, address: str) -> tuple[Invitation, str]:
    inv = services.invite(org.screening, "Zed", address)
    return inv, services.candidate_link(inv).rsplit("/", 1)[1]


def test_accommodations_change_the_limits_the_candidate_sees(org, recruiter, client):
    inv = org.invitation
    _post(
        recruiter,
        f"/screenings/{org.screening.id}/invitations/{inv.id}/accommodations",
        {
            "extra_time_percent": 50,
            "extra_think_seconds": 0,
            "extra_answer_seconds": 30,
            "extra_retakes": 2,
            "audio_only_allowed": "y",
        },
    )
    db.session.refresh(inv)
    assert (inv.extra_time_percent, inv.extra_answer_seconds, inv.extra_retakes) == (50, 30, 2)
    page = client.get(f"/i/{org.token}").get_data(as_text=True)
    # 60 s answer + 50 % + 30 s = 2 min; think 30 s + 50 % = 45 s; 1 + 2 retakes.
    assert "up to 2 min" in page and "45 s" in page and "<td>3</td>" in page
    assert "microphone only" in page


def test_reset_question_lets_the_candidate_answer_again(org, recruiter):
    inv = org.invitation
    question = inv.questions[1]
    question.revealed_at = utcnow()
    inv.status, inv.completed_at = InvitationStatus.COMPLETED, utcnow()
    db.session.commit()
    _post(
        recruiter,
        f"/screenings/{org.screening.id}/invitations/{inv.id}/questions/{question.id}/reset",
        {},
    )
    db.session.refresh(inv)
    db.session.refresh(question)
    assert question.revealed_at is None
    assert inv.status == InvitationStatus.IN_PROGRESS and inv.completed_at is None


def test_recruiter_can_show_the_link_to_send_by_hand(org, recruiter):
    inv = org.invitation
    page = _post(recruiter, f"/screenings/{org.screening.id}/invitations/{inv.id}/link", {})
    assert f"/i/{org.token}" in page.get_data(as_text=True)


def test_failed_email_is_marked_after_the_last_try(app, org, recruiter):
    """When SMTP cannot be reached, is the invitation marked "email failed" for the recruiter?"""
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    inv = org.invitation
    with pytest.raises(Exception, match="ConnectionRefusedError"):
        email_jobs.send_invitation(inv.id)  # outside RQ: this is the last attempt
    db.session.refresh(inv)
    assert inv.email_status == EmailStatus.FAILED and inv.email_attempts == 1
    page = recruiter.get(f"/screenings/{org.screening.id}").get_data(as_text=True)
    assert "email failed" in page


def test_no_email_after_revocation_or_completion(app, org):
    inv = org.invitation
    inv.status = InvitationStatus.REVOKED
    db.session.commit()
    email_jobs.send_invitation(inv.id)
    email_jobs.send_deadline_reminder(inv.id)
    assert _outbox(app) == []


# --- reminders: the clock is driven by passing `now` ---------------------------------------------


def _reminder_runs(kind: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(JobRun)
        .where(JobRun.name == f"email.reminder_{kind}")
    )


def test_start_reminder_goes_out_once_after_48_hours(org):
    inv, _ = _new_invitation(org, "late@example.com")
    t0 = inv.created_at
    assert services.send_due_reminders(t0 + timedelta(hours=47))["start"] == 0
    assert services.send_due_reminders(t0 + timedelta(hours=49))["start"] == 1
    assert services.send_due_reminders(t0 + timedelta(hours=50))["start"] == 0
    assert _reminder_runs("start") == 1
    db.session.refresh(inv)
    assert inv.reminder_start_sent_at is not None


def test_deadline_reminder_once_24_hours_before_expiry_and_never_after_completion(org):
    done, _ = _new_invitation(org, "done@example.com")
    done.status, done.completed_at = InvitationStatus.COMPLETED, utcnow()
    pending = org.invitation  # in progress
    pending.expires_at = utcnow() + timedelta(days=3)  # apart from the other candidates
    revoked, _ = _new_invitation(org, "gone@example.com")
    revoked.status = InvitationStatus.REVOKED
    for inv in (done, revoked):
        inv.expires_at = pending.expires_at
    db.session.commit()
    expiry = pending.expires_at
    assert services.send_due_reminders(expiry - timedelta(hours=25))["deadline"] == 0
    assert services.send_due_reminders(expiry - timedelta(hours=23))["deadline"] == 1
    assert services.send_due_reminders(expiry - timedelta(hours=22))["deadline"] == 0
    runs = db.session.scalars(
        sa.select(JobRun).where(JobRun.name == "email.reminder_deadline")
    ).all()
    assert [r.args for r in runs] == [[pending.id]]
    # Started, completed or revoked: nobody gets a "you have not started yet" reminder.
    assert services.send_due_reminders(expiry - timedelta(hours=1))["start"] == 0


def test_reminder_sweep_expires_overdue_invitations(org):
    inv, _ = _new_invitation(org, "slow@example.com")
    result = services.send_due_reminders(inv.expires_at + timedelta(minutes=1))
    db.session.refresh(inv)
    assert inv.status == InvitationStatus.EXPIRED and result["expired"] >= 1


# --- real SMTP delivery through a real worker --------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a spare loopback port, in this process."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.mark.slow
def test_invitation_email_is_delivered_over_smtp_by_a_worker(app, org, recruiter, smtp_server):
    """Invite → RQ job → real worker process → SMTP server receives a multipart message whose
    link opens the candidate's page."""
    controller, inbox = smtp_server
    _post(
        recruiter,
        f"/screenings/{org.screening.id}/invitations",
        {"name": "Sam Smtp", "email": "sam@example.com"},
    )
    env = worker_env(
        app,
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(controller.port),
        MAIL_DEFAULT_SENDER="Hiring <jobs@northwind.example>",
    )
    worker = subprocess.run(
        [sys.executable, "-m", "flask", "worker", "--queues", "emails", "--burst"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr.decode()
    deadline = time.monotonic() + 5
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    [(sender, recipients, raw)] = inbox.messages
    assert sender == "jobs@northwind.example" and recipients == ["sam@example.com"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Your video interview for Support Engineer"
    assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
    inv = _invitation("sam@example.com")
    db.session.refresh(inv)
    assert inv.email_status == EmailStatus.SENT and inv.invite_sent_at is not None
    page = app.test_client().get(_link_path(message))
    assert page.status_code == 200 and "Hello Sam Smtp" in page.get_data(as_text=True)


def test_funnel_counts_each_stage(org):
    a, _ = _new_invitation(org, "a@example.com")
    b, _ = _new_invitation(org, "b@example.com")
    b.opened_at = utcnow()
    org.invitation.completed_at = utcnow()
    org.invitation.status = InvitationStatus.COMPLETED
    db.session.add(
        Review(
            invitation=org.invitation,
            reviewer=org.users[Role.REVIEWER],
            status=ReviewStatus.SUBMITTED,
        )
    )
    db.session.commit()
    # The factory's org also holds a candidate who completed (not reviewed): 4 invited in all.
    assert services.funnel(org.screening) == {
        "invited": 4,
        "opened": 3,
        "started": 2,
        "completed": 2,
        "reviewed": 1,
        "expired": 0,
        "revoked": 0,
    }
