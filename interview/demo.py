"""Demo data for a newcomer: an organisation, one account per role, a sample screening, and
three completed interviews whose answers are real short videos made locally by ffmpeg and
processed by the real media pipeline (in-process, so no worker is needed)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from .admin import services as accounts
from .candidate import services as interviewing
from .extensions import db
from .media import services as media
from .models import (
    Criterion,
    Invitation,
    InvitationStatus,
    Organization,
    Question,
    Role,
    Rubric,
    Screening,
    ScreeningStatus,
    TakeStatus,
    utcnow,
)
from .recruiter import jobs as invitation_emails
from .recruiter import services as recruiting

log = logging.getLogger(__name__)

DEMO_CANDIDATE = ("Casey Candidate", "casey@candidate.example")
# Candidates who have already answered every question: (name, email, picture hue, voice Hz).
COMPLETED_CANDIDATES = [
    ("Jordan Rivera", "jordan@candidate.example", 0, 220),
    ("Sam Okafor", "sam@candidate.example", 120, 165),
    ("Mei Tanaka", "mei@candidate.example", 240, 294),
]
# What each demo candidate says (practice, then the three questions), spoken by espeak-ng when
# it is installed, so the demo's transcripts, captions and search have words to show.
DEMO_VOICES = ("en-us", "en-gb", "en-us+f3")
DEMO_ANSWERS = [
    [
        "Toast and coffee.",
        "A client's robot stopped at launch. I opened an escalation and called her daily.",
        "I compare the fault to a traffic jam, then check that it makes sense.",
        "I love solving problems, and Acme robots are everywhere.",
    ],
    [
        "Porridge with berries.",
        "An angry client was billed twice. I refunded him and wrote a timeline for finance.",
        "I avoid jargon and ask them to repeat the next step in their own words.",
        "Support is where customers decide to trust a company.",
    ],
    [
        "Rice and green tea.",
        "A manager threatened to cancel. Their Kubernetes cluster ran out of memory; we fixed it.",
        "I draw the system on a whiteboard, one box at a time.",
        "I used to program robots; now I want to help the people using them.",
    ],
]

DEMO_ORG = "Acme Robotics (demo)"
DEMO_USERS = [
    (Role.ADMIN, "Ada Admin", "admin@demo.example"),
    (Role.RECRUITER, "Rita Recruiter", "recruiter@demo.example"),
    (Role.REVIEWER, "Rafael Reviewer", "reviewer@demo.example"),
    (Role.REVIEWER, "Rosa Reviewer", "reviewer2@demo.example"),
    (Role.HR, "Hana HR", "hr@demo.example"),
]
CREDENTIALS_FILE = "demo_accounts.json"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "org"


def _credentials_path(instance_path: str) -> Path:
    return Path(instance_path) / CREDENTIALS_FILE


def ensure_demo(instance_path: str) -> bool:
    """Create the demo data unless it exists; True when something was created."""
    org = db.session.scalar(sa.select(Organization).where(Organization.name == DEMO_ORG))
    if org is not None:
        created = ensure_completed_interviews(org) > 0
        return ensure_reviewing(org) or created
    org = Organization(name=DEMO_ORG, slug=slugify(DEMO_ORG))
    db.session.add(org)
    db.session.flush()
    credentials = []
    for role, name, email in DEMO_USERS:
        user, password = accounts.create_user(org, name=name, email=email, role=role)
        credentials.append({"role": role.value, "email": user.email, "password": password})
    screening = _sample_screening(org)
    db.session.commit()
    recruiting.invite(screening, *DEMO_CANDIDATE)
    # Passwords are stored hashed; the demo keeps a private copy so `make run` can print them.
    path = _credentials_path(instance_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle, indent=2)
    ensure_completed_interviews(org)
    ensure_reviewing(org)
    return True


def ensure_completed_interviews(org: Organization) -> int:
    """Give the demo screening its completed interviews unless they exist; returns how many
    were created. Each answer is a 5-8 s test-pattern video with a tone, recorded as a
    phone's browser would (H.264/AAC MP4) and run through ``media.services.process`` as a worker
    runs it."""
    screening = db.session.scalar(
        sa.select(Screening).where(Screening.org_id == org.id).order_by(Screening.id)
    )
    if screening is None or shutil.which("ffmpeg") is None:
        log.warning("demo: no screening or no ffmpeg, so no completed interviews")
        return 0
    created = 0
    with tempfile.TemporaryDirectory(prefix="demo-answers-") as folder:
        for number, (name, email, hue, tone) in enumerate(COMPLETED_CANDIDATES):
            exists = db.session.scalar(
                sa.select(Invitation.id).where(
                    Invitation.screening_id == screening.id, Invitation.candidate_email == email
                )
            )
            if exists is None:
                _complete_interview(screening, name, email, hue, tone, number, Path(folder))
                created += 1
    return created


# One candidate already reviewed by both reviewers, so results, agreement and reports show
# figures at once; the other two wait in the reviewers' queues. Scores: [answer][criterion].
DEMO_REVIEWS = {
    "reviewer@demo.example": ([[4, 3], [3, 4], [5, 4]], "advance", "Warm and concrete."),
    "reviewer2@demo.example": ([[4, 4], [3, 3], [4, 4]], "advance", "Good examples; a bit long."),
}


def ensure_reviewing(org: Organization) -> bool:
    """Assign every demo reviewer to the demo screening and pre-review the first completed
    candidate (once); True when something was created."""
    from .reports.services import scored_responses
    from .review import services as reviewing

    screening = db.session.scalar(
        sa.select(Screening).where(Screening.org_id == org.id).order_by(Screening.id)
    )
    if screening is None:
        return False
    changed = False
    reviewers = [u for u in org.users if u.role == Role.REVIEWER]
    for reviewer in reviewers:
        changed |= reviewing.assign(screening, reviewer)
    first = db.session.scalar(
        sa.select(Invitation).where(
            Invitation.screening_id == screening.id,
            Invitation.candidate_email == COMPLETED_CANDIDATES[0][1],
            Invitation.status == InvitationStatus.COMPLETED,
        )
    )
    if first is not None and screening.rubric is not None:
        criteria = screening.rubric.criteria
        responses = [r for r, _q in scored_responses([first.id])]
        for reviewer in reviewers:
            plan = DEMO_REVIEWS.get(reviewer.email)
            if plan is None or reviewing.own_review(reviewer, first) is not None:
                continue
            values, recommendation, note = plan
            review = reviewing.start_review(reviewer, first)
            for response, row in zip(responses, values, strict=False):
                for criterion, value in zip(criteria, row, strict=False):
                    reviewing.set_score(review, response.id, criterion.id, value)
            reviewing.set_overall(review, recommendation, note)
            reviewing.submit(review)
            changed = True
    db.session.commit()
    return changed


def _answer_clip(
    path: Path, seconds: int, hue: int, tone: int, speech: str | None = None, voice: str = "en-us"
) -> Path:
    """An MP4 like a phone's browser records (H.264 + AAC, a keyframe a second): a moving
    test pattern and, when espeak-ng is installed, ``speech`` spoken (otherwise a wavering
    tone). H.264 takes the pipeline's fast path (video copied)."""
    sound = ["-f", "lavfi", "-i", f"sine=f={tone}:r=48000:d={seconds},tremolo=f=3:d=0.6"]
    if speech and shutil.which("espeak-ng"):
        wav = path.with_suffix(".wav")
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "155", "-w", str(wav), speech],
            check=True, timeout=60, capture_output=True,
        )  # fmt: skip
        sound = ["-i", str(wav)]
        seconds = 0  # as long as the speech
    picture = f"testsrc2=s=640x360:r=24,hue=h={hue}"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", picture, *sound,
         *(["-t", str(seconds)] if seconds else ["-shortest"]),
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "24",
         "-c:a", "aac", "-ar", "48000", "-movflags", "+faststart", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


def _complete_interview(
    screening: Screening, name: str, email: str, hue: int, tone: int, number: int, folder: Path
) -> Invitation:
    """One candidate's whole interview through the same services the web and worker use."""
    invitation = recruiting.invite(screening, name, email, send_email=False)
    # The invitation email, as the emails worker sends it (here in-process): the outbox holds
    # it and the candidate's row reads "sent", never a "sending…" that no job will finish.
    invitation_emails.send_invitation(invitation.id)
    interviewing.start(invitation, "127.0.0.1")
    for question in invitation.questions:
        interviewing.reveal(invitation, question)
        take = interviewing.start_take(
            invitation, question, content_type="video/mp4", upload_length=None
        )
        seconds = 3 if question.is_practice else 5 + (number + question.position) % 4
        said = DEMO_ANSWERS[number % len(DEMO_ANSWERS)]
        clip = _answer_clip(
            folder / f"take-{take.id}.mp4",
            seconds,
            hue,
            tone,
            speech=said[question.position % len(said)],
            voice=DEMO_VOICES[number % len(DEMO_VOICES)],
        )
        size = clip.stat().st_size
        media.store_original(take, clip, "video/mp4")
        take.upload_length = take.bytes_received = size
        take.finished_at = utcnow()
        take.status = TakeStatus.UPLOADED
        db.session.commit()
        outcome = media.process(take.id)  # what the worker's job runs, here in-process
        if outcome.status != "ready":
            raise RuntimeError(f"demo answer {take.id} was not processed: {outcome}")
        interviewing.keep(invitation, take)
    interviewing.submit(invitation)
    return invitation


def describe(instance_path: str) -> str:
    path = _credentials_path(instance_path)
    if not path.exists():
        return "(demo credentials file missing: accounts were created elsewhere)"
    base = current_app.config.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    lines = [f"Demo accounts (sign in at {base}/login):"]
    for entry in json.loads(path.read_text()):
        lines.append(f"  {entry['role']:<10} {entry['email']:<26} {entry['password']}")
    candidate = db.session.scalar(
        sa.select(Invitation).where(Invitation.candidate_email == DEMO_CANDIDATE[1])
    )
    if candidate is not None:
        lines.append(f"Demo candidate ({candidate.candidate_name}), status {candidate.status}:")
        lines.append(f"  {recruiting.candidate_link(candidate)}")
    completed = db.session.scalars(
        sa.select(Invitation.candidate_name)
        .where(
            Invitation.candidate_email.in_([c[1] for c in COMPLETED_CANDIDATES]),
            Invitation.status == InvitationStatus.COMPLETED,
        )
        .order_by(Invitation.id)
    ).all()
    if completed:
        lines.append(
            f"Completed interviews with answer videos: {', '.join(completed)} "
            "(sign in as the reviewer to watch them)."
        )
    return "\n".join(lines)


def _sample_screening(org: Organization) -> Screening:
    recruiter = next(u for u in org.users if u.role == Role.RECRUITER)
    screening = Screening(
        organization=org,
        created_by=recruiter,
        title="Customer Support Specialist",
        role_description="Help our customers get the most out of their robots, by chat and phone.",
        intro="Thanks for applying! This short video interview has three questions. "
        "Take a moment to think before each answer; there are no trick questions.",
        status=ScreeningStatus.OPEN,
        deadline_days=7,
    )
    screening.questions = [
        Question(
            position=0,
            prompt="Practice: tell us what you had for breakfast.",
            think_seconds=10,
            answer_seconds=30,
            max_retakes=5,
            is_practice=True,
        ),
        Question(
            position=1,
            prompt="Tell us about a time you turned an unhappy customer around.",
            think_seconds=30,
            answer_seconds=120,
            max_retakes=1,
        ),
        Question(
            position=2,
            prompt="How do you explain a technical problem to someone who is not technical?",
            think_seconds=30,
            answer_seconds=90,
            max_retakes=1,
        ),
        Question(
            position=3,
            prompt="Why do you want to work in customer support at Acme?",
            think_seconds=0,
            answer_seconds=60,
            max_retakes=2,
        ),
    ]
    screening.rubric = Rubric(
        name="Support rubric",
        criteria=[
            Criterion(
                position=0,
                name="Empathy",
                description="Understands and acknowledges the customer's feelings.",
                weight=2.0,
                level_1="Ignores the customer's feelings.",
                level_2="Mentions feelings only in passing.",
                level_3="Acknowledges feelings in general terms.",
                level_4="Names the customer's concern and responds to it.",
                level_5="Specific example of turning a feeling around, with the outcome.",
            ),
            Criterion(
                position=1,
                name="Clarity",
                description="Explains simply and in order.",
                weight=1.0,
                level_1="Hard to follow.",
                level_2="Some structure, much jargon.",
                level_3="Clear with occasional jargon.",
                level_4="Clear and structured.",
                level_5="Clear, structured, checks understanding.",
            ),
        ],
    )
    db.session.add(screening)
    return screening
