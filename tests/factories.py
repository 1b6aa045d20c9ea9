"""Small builders for test data (plain functions; every row goes through the real models)."""

from __future__ import annotations

from dataclasses import dataclass

from interview.extensions import db
from interview.models import Criterion, Organization, Question, Role, Rubric, Screening, User

PASSWORD = "correct horse battery"


@dataclass
class OrgWithStaff:
    org: Organization
    users: dict[Role, User]
    screening: Screening
    spare: User  # an extra account that tests may change without affecting the role users


def user(org: Organization, role: Role, email: str | None = None, name: str | None = None) -> User:
    u = User(
        organization=org,
        email=email or f"{role.value}@{org.slug}.example",
        name=name or f"{role.label} of {org.name}",
        role=role,
    )
    u.set_password(PASSWORD)
    db.session.add(u)
    return u


def screening(org: Organization, title: str = "Support Engineer") -> Screening:
    s = Screening(organization=org, title=title, role_description="Helps customers.")
    s.questions = [
        Question(
            position=0,
            prompt="Practice",
            think_seconds=5,
            answer_seconds=30,
            max_retakes=3,
            is_practice=True,
        ),
        Question(
            position=1,
            prompt="Tell us about yourself",
            think_seconds=30,
            answer_seconds=60,
            max_retakes=1,
        ),
    ]
    s.rubric = Rubric(criteria=[Criterion(name="Clarity", weight=1.0)])
    db.session.add(s)
    return s


def org_with_staff(name: str) -> OrgWithStaff:
    org = Organization(name=name, slug=name.lower())
    db.session.add(org)
    users = {role: user(org, role) for role in Role}
    spare = user(org, Role.REVIEWER, email=f"spare@{org.slug}.example", name="Spare Reviewer")
    s = screening(org)
    db.session.commit()
    return OrgWithStaff(org=org, users=users, screening=s, spare=spare)
