"""Signing in and out, passwords, throttling, CSRF and session replay."""

from __future__ import annotations

import sqlalchemy as sa

from interview.extensions import db
from interview.models import AuditEvent, Role

from ..conftest import csrf_token, sign_in
from ..factories import PASSWORD


def test_staff_member_signs_in_and_sees_their_role(client, org):
    """Does a correct password sign in and show the person's role and organisation?"""
    response = sign_in(client, "RECRUITER@northwind.example")  # email is case-insensitive
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Recruiter" in page and "Northwind" in page
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "auth.login")
        )
        == 1
    )


def test_wrong_password_is_refused_without_saying_which_part(client, org):
    """Is a wrong password refused with a message that does not reveal whether the email exists?"""
    wrong = sign_in(client, org.users[Role.HR].email, "not the password")
    unknown = sign_in(client, "nobody@northwind.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.get_data(as_text=True)
    assert "Wrong email or password." in unknown.get_data(as_text=True)
    assert client.get("/screenings/").status_code == 302


def test_disabled_account_cannot_sign_in(client, org):
    user = org.users[Role.REVIEWER]
    user.is_active_account = False
    db.session.commit()
    response = sign_in(client, user.email)
    assert response.status_code == 401
    assert "disabled" in response.get_data(as_text=True)


def test_sign_in_without_csrf_token_is_refused(client, org):
    """Is a form post without its CSRF token refused with a clear message?"""
    response = client.post("/login", data={"email": org.users[Role.HR].email, "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_sign_in_only_redirects_within_the_site(client, org):
    """Can a crafted ?next= send a person to another site after signing in?"""
    token = csrf_token(client)
    for target, expected in [
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/%09/evil.example", "/"),
        ("/screenings/", "/screenings/"),
    ]:
        c = client.application.test_client()
        token = csrf_token(c)
        response = c.post(
            f"/login?next={target}",
            data={"email": org.users[Role.HR].email, "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected, target


def test_sign_out_makes_the_old_session_cookie_useless(app, org):
    """After signing out, can a copy of the old session cookie be replayed?"""
    client = app.test_client()
    sign_in(client, org.users[Role.RECRUITER].email)
    stolen = client.get_cookie("session").value
    assert client.get("/screenings/").status_code == 200
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/screenings/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_change_password_signs_out_other_sessions(app, org):
    """Does changing a password keep this session and end every other one?"""
    email = org.users[Role.HR].email
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, email)
    sign_in(phone, email)
    token = csrf_token(laptop, "/account/password")
    response = laptop.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a much better one",
            "confirm": "a much better one",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert laptop.get("/screenings/").status_code == 200
    assert phone.get("/screenings/").status_code == 302
    assert sign_in(app.test_client(), email, "a much better one").status_code == 302
    assert sign_in(app.test_client(), email, PASSWORD).status_code == 401


def test_change_password_checks_current_and_length(sign_in_as):
    client = sign_in_as(Role.HR)
    token = csrf_token(client, "/account/password")
    wrong = client.post(
        "/account/password",
        data={
            "current_password": "nope",
            "new_password": "long enough pw",
            "confirm": "long enough pw",
            "csrf_token": token,
        },
    )
    assert "The current password is wrong." in wrong.get_data(as_text=True)
    short = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "short",
            "confirm": "short",
            "csrf_token": token,
        },
    )
    assert "Use at least 10 characters" in short.get_data(as_text=True)


def test_failed_sign_ins_are_throttled_per_account(app, org):
    """After 10 failures on one account in 15 minutes, is the 11th attempt refused (429)?"""
    email = org.users[Role.ADMIN].email
    client = app.test_client()
    for _ in range(10):
        assert sign_in(client, email, "wrong password").status_code == 401
    response = sign_in(client, email, PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    # Another account from the same address is still allowed.
    assert sign_in(app.test_client(), org.users[Role.HR].email).status_code == 302


def _from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(app, org):
    """Ten wrong passwords from an attacker's address lock out that address (for that account),
    not the owner: a sign-in from the owner's usual address still works (it used to be refused
    for 15 minutes)."""
    email = org.users[Role.ADMIN].email
    attacker = _from(app, "203.0.113.66")
    for _ in range(10):
        assert sign_in(attacker, email, "wrong password").status_code == 401
    assert sign_in(attacker, email, PASSWORD).status_code == 429
    assert sign_in(_from(app, "198.51.100.7"), email).status_code == 302


def test_guessing_from_many_addresses_slows_down_but_not_for_the_owners_browser(app, org):
    """Failures spread over many addresses hit the account-wide limit for browsers where the
    account never signed in; the owner's browser (its device cookie) is exempt."""
    email = org.users[Role.ADMIN].email
    owner = _from(app, "198.51.100.7")
    assert sign_in(owner, email).status_code == 302
    owner.post("/logout", data={"csrf_token": csrf_token(owner, "/")})
    for n in range(20):
        assert sign_in(_from(app, f"203.0.113.{n}"), email, "wrong").status_code == 401
    refused = sign_in(_from(app, "203.0.113.200"), email, PASSWORD)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert sign_in(owner, email).status_code == 302


def test_failed_sign_ins_are_throttled_per_address(app, org):
    """Does one address trying many different accounts get cut off?"""
    client = app.test_client()
    for n in range(30):
        assert sign_in(client, f"guess{n}@northwind.example", "x").status_code == 401
    assert sign_in(client, org.users[Role.HR].email).status_code == 429


def test_successful_sign_ins_do_not_count_against_the_limit(app, org):
    email = org.users[Role.HR].email
    for _ in range(12):
        client = app.test_client()
        assert sign_in(client, email).status_code == 302


def test_session_cookie_flags(app, org):
    """Is the session cookie HttpOnly and SameSite=Lax (and Secure outside development)?"""
    client = app.test_client()
    response = sign_in(client, org.users[Role.HR].email)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
