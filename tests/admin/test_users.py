"""Admins manage the organisation's staff accounts."""

from __future__ import annotations

import re

import sqlalchemy as sa

from interview.extensions import db
from interview.models import AuditEvent, Role, User

from ..conftest import csrf_token, sign_in


def test_admin_creates_a_reviewer_who_can_sign_in(app, org, sign_in_as):
    """Can an admin create an account whose temporary password works once shown?"""
    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, "/admin/users")
    response = admin.post(
        "/admin/users",
        data={
            "name": "Rene Reviewer",
            "email": "Rene@Northwind.example",
            "role": "reviewer",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    password = re.search(r'id="temporary-password">([^<]+)<', page).group(1)
    user = db.session.scalar(sa.select(User).where(User.email == "rene@northwind.example"))
    assert user.role == Role.REVIEWER and user.org_id == org.org.id
    assert user.password_hash.startswith("scrypt:")
    assert password not in user.password_hash
    reviewer = app.test_client()
    assert sign_in(reviewer, "rene@northwind.example", password).status_code == 302
    assert reviewer.get("/admin/users").status_code == 403


def test_duplicate_email_is_refused(org, sign_in_as):
    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, "/admin/users")
    response = admin.post(
        "/admin/users",
        data={"name": "Twin", "email": org.users[Role.HR].email, "role": "hr", "csrf_token": token},
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_role_change_takes_effect_and_is_audited(app, org, sign_in_as):
    """When a reviewer is made a recruiter, is their old session ended and the change logged?"""
    reviewer = org.users[Role.REVIEWER]
    old_session = sign_in_as(Role.REVIEWER)
    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, f"/admin/users/{reviewer.id}")
    response = admin.post(
        f"/admin/users/{reviewer.id}",
        data={"name": reviewer.name, "role": "recruiter", "active": "y", "csrf_token": token},
    )
    assert response.status_code == 302
    db.session.refresh(reviewer)
    assert reviewer.role == Role.RECRUITER
    assert old_session.get("/screenings/").status_code == 302
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event.details == {"role": ["reviewer", "recruiter"]}
    assert event.actor_id == org.users[Role.ADMIN].id


def test_last_admin_cannot_remove_their_own_admin_role(org, sign_in_as):
    """Can the only admin lock the organisation out of administration?"""
    me = org.users[Role.ADMIN]
    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, f"/admin/users/{me.id}")
    response = admin.post(
        f"/admin/users/{me.id}",
        data={"name": me.name, "role": "hr", "active": "y", "csrf_token": token},
    )
    assert "at least one active admin" in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.role == Role.ADMIN


def test_disabling_an_account_signs_it_out(org, sign_in_as):
    hr = org.users[Role.HR]
    hr_client = sign_in_as(Role.HR)
    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, f"/admin/users/{hr.id}")
    admin.post(f"/admin/users/{hr.id}", data={"name": hr.name, "role": "hr", "csrf_token": token})
    db.session.refresh(hr)
    assert hr.is_active is False
    assert hr_client.get("/screenings/").status_code == 302


def test_password_reset_replaces_the_password(app, org, sign_in_as):
    hr = org.users[Role.HR]
    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, f"/admin/users/{hr.id}")
    page = admin.post(f"/admin/users/{hr.id}/reset-password", data={"csrf_token": token})
    password = re.search(r'id="temporary-password">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert sign_in(app.test_client(), hr.email, password).status_code == 302
