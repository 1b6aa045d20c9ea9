"""Demo data for a newcomer: an organisation, one account per role, a sample screening."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import sqlalchemy as sa

from .admin import services as accounts
from .extensions import db
from .models import (
    Criterion,
    Invitation,
    Organization,
    Question,
    Role,
    Rubric,
    Screening,
    ScreeningStatus,
)
from .recruiter import services as recruiting

DEMO_CANDIDATE = ("Casey Candidate", "casey@candidate.example")

DEMO_ORG = "Acme Robotics (demo)"
DEMO_USERS = [
    (Role.ADMIN, "Ada Admin", "admin@demo.example"),
    (Role.RECRUITER, "Rita Recruiter", "recruiter@demo.example"),
    (Role.REVIEWER, "Rafael Reviewer", "reviewer@demo.example"),
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
        return False
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
    return True


def describe(instance_path: str) -> str:
    path = _credentials_path(instance_path)
    if not path.exists():
        return "(demo credentials file missing: accounts were created elsewhere)"
    lines = ["Demo accounts (sign in at http://127.0.0.1:5000/login):"]
    for entry in json.loads(path.read_text()):
        lines.append(f"  {entry['role']:<10} {entry['email']:<26} {entry['password']}")
    candidate = db.session.scalar(
        sa.select(Invitation).where(Invitation.candidate_email == DEMO_CANDIDATE[1])
    )
    if candidate is not None:
        lines.append(f"Demo candidate ({candidate.candidate_name}), status {candidate.status}:")
        lines.append(f"  {recruiting.candidate_link(candidate)}")
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
