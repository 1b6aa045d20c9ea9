"""Command-line tools: demo data and the first admin."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from interview.extensions import db
from interview.models import Invitation, Organization, Role, Screening, User

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
    assert counts == (1, 4, 1, 1)
    second = runner.invoke(args=["demo"])
    assert "already present" in second.output
    assert (_count(Organization), _count(User), _count(Screening), _count(Invitation)) == counts
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
    assert "start=0 deadline=0 expired=0 requeued_jobs=0 requeued_takes=0" in result.output


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
