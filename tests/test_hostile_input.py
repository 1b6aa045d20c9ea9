"""Hostile input: markup and control characters in every text field, over-long values,
formula-like CSV cells, crafted tus requests. Stored as given (or refused), shown escaped,
never able to change where an email goes or which take receives bytes."""

from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview.extensions import db
from interview.media import chunks
from interview.media import services as media_services
from interview.models import (
    AssetKind,
    Criterion,
    Invitation,
    Question,
    Role,
    Screening,
    Take,
    TakeStatus,
    User,
)
from interview.recruiter import jobs as email_jobs

from .conftest import csrf_token, import_csv

SCRIPT = "<script>alert(1)</script>"
PAYLOAD = f"{SCRIPT}<img src=x onerror=alert(2)>\"'&"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TUS = {"Tus-Resumable": "1.0.0"}


def _post(client, url: str, data: dict, **kw):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/")}, **kw)


def _shown_escaped(client, url: str, marker: str) -> None:
    """The page shows the hostile text (with ``marker``), escaped, and runs none of it."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    html = page.get_data(as_text=True)
    assert SCRIPT not in html and "<img src=x" not in html, url
    assert f"{ESCAPED}&lt;img src=x onerror=alert(2)&gt;" in html, url
    assert marker in html, url


def _outbox(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def test_markup_in_every_staff_text_field_is_stored_and_shown_escaped(app, org, sign_in_as):
    """Script and markup typed into each staff form: stored as typed, shown as text on the
    staff pages, the candidate's pages and in the invitation email's HTML part."""
    admin, recruiter = sign_in_as(Role.ADMIN), sign_in_as(Role.RECRUITER)
    made = _post(
        admin, "/admin/users",
        {"name": f"User {PAYLOAD}", "email": "new.user@northwind.example", "role": "reviewer"},
    )  # fmt: skip
    assert made.status_code in (200, 302)
    user = db.session.scalar(sa.select(User).where(User.email == "new.user@northwind.example"))
    assert user.name == f"User {PAYLOAD}"
    _shown_escaped(admin, "/admin/users", "User ")
    _shown_escaped(admin, f"/admin/users/{user.id}", "User ")

    created = _post(
        recruiter, "/screenings/new",
        {"title": f"Title {PAYLOAD}", "role_description": f"Role {PAYLOAD}",
         "intro": f"Intro {PAYLOAD}", "deadline_days": "7"},
    )  # fmt: skip
    assert created.status_code == 302, created.get_data(as_text=True)[:300]
    screening = db.session.scalar(sa.select(Screening).where(Screening.title.like("Title %")))
    assert screening.title == f"Title {PAYLOAD}" and screening.intro == f"Intro {PAYLOAD}"
    base = f"/screenings/{screening.id}"
    _post(
        recruiter, f"{base}/questions",
        {"prompt": f"Prompt {PAYLOAD}", "think_seconds": "30", "answer_seconds": "60",
         "max_retakes": "1"},
    )  # fmt: skip
    level = f"Level {PAYLOAD}"
    _post(
        recruiter, f"{base}/criteria",
        {"name": f"Criterion {PAYLOAD}", "description": f"Measures {PAYLOAD}", "weight": "1",
         "level_1": level, "level_2": level, "level_3": level, "level_4": level,
         "level_5": level},
    )  # fmt: skip
    assert db.session.scalar(sa.select(Question).where(Question.screening_id == screening.id))
    criterion = db.session.scalar(sa.select(Criterion).where(Criterion.name.like("Criterion %")))
    assert criterion.level_3 == level
    for url, marker in [
        (base, "Title "), (f"{base}/edit", "Intro "), ("/screenings/", "Title "),
        (f"{base}/criteria/{criterion.id}", "Measures "),
    ]:  # fmt: skip
        _shown_escaped(recruiter, url, marker)
    assert _post(recruiter, f"{base}/open", {}).status_code == 302
    invited = _post(
        recruiter, f"{base}/invitations",
        {"name": f"Mallory {PAYLOAD}", "email": "mallory@example.com"},
    )  # fmt: skip
    assert invited.status_code == 302
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.candidate_email == "mallory@example.com")
    )
    assert invitation.candidate_name == f"Mallory {PAYLOAD}"
    _shown_escaped(recruiter, base, "Mallory ")
    _shown_escaped(recruiter, f"{base}/invitations/{invitation.id}", "Mallory ")
    email_jobs.send_invitation(invitation.id)
    [message] = _outbox(app)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert SCRIPT not in html and "<img src=x" not in html
    assert ESCAPED in html and "Mallory " in html
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"Mallory {PAYLOAD}" in text  # plain text is shown as text by every mail client
    _shown_escaped(recruiter, "/screenings/outbox", "Mallory ")
    # The candidate's own pages.
    link = next(line.strip() for line in text.splitlines() if "/i/" in line)
    landing = app.test_client().get(link[link.index("/i/") :])
    html = landing.get_data(as_text=True)
    assert landing.status_code == 200
    assert SCRIPT not in html and ESCAPED in html and "Intro " in html


@pytest.mark.parametrize(
    "name",
    [
        "Eve <eve@attacker.example>, Mallory",
        'Eve" <eve@attacker.example>, "x',
        "Eve\r\nBcc: eve@attacker.example",
        "Doe, John",
    ],
)
def test_a_candidate_name_cannot_redirect_the_invitation_email(app, org, sign_in_as, name):
    """The invitation carries the candidate's secret link: can a crafted name (commas,
    quotes, a header break) add a recipient, or make the email unsendable?"""
    recruiter = sign_in_as(Role.RECRUITER)
    response = _post(
        recruiter,
        f"/screenings/{org.screening.id}/invitations",
        {"name": name, "email": "victim@example.com"},
    )
    assert response.status_code == 302
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.candidate_email == "victim@example.com")
    )
    email_jobs.send_invitation(invitation.id)
    [message] = _outbox(app)
    recipients = [address.addr_spec for address in message["To"].addresses]
    assert recipients == ["victim@example.com"]
    assert message["Bcc"] is None and message["Cc"] is None
    assert "attacker" not in str(message["To"].addresses[0].addr_spec)


def test_a_title_with_a_line_break_cannot_add_headers(app, org, sign_in_as):
    """A screening title sent with CR LF (a crafted POST): does the email still go, with
    no header of the attacker's choosing?"""
    org.screening.title = "Support\r\nBcc: eve@attacker.example"
    db.session.commit()
    email_jobs.send_invitation(org.invitation.id)
    [message] = _outbox(app)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and "Support" in message["Subject"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/screenings/new", "title"),
        ("/screenings/new", "intro"),
        ("/admin/users", "name"),
    ],
)
def test_over_long_values_are_refused_with_a_message_not_a_500(org, sign_in_as, url, field):
    client = sign_in_as(Role.ADMIN if url.startswith("/admin") else Role.RECRUITER)
    data = {
        "title": "A title",
        "intro": "Hello",
        "deadline_days": "7",
        "name": "A name",
        "email": "long.value@northwind.example",
        "role": "reviewer",
        field: "x" * 100_000,
    }
    response = _post(client, url, data, follow_redirects=True)
    assert response.status_code in (200, 400), response.status_code
    assert "cannot be longer than" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Screening).where(Screening.title == "x" * 100_000)) is None
    assert db.session.scalar(sa.select(User).where(User.name == "x" * 100_000)) is None
    assert (
        db.session.scalar(sa.select(User).where(User.email == "long.value@northwind.example"))
        is None
    )


def test_csv_import_keeps_formula_like_names_as_text(app, org, sign_in_as):
    """Cells a spreadsheet would run (=, +, -, @): the name is stored as text and shown
    escaped; a formula in the email column is a bad row, reported by line."""
    recruiter = sign_in_as(Role.RECRUITER)
    rows = (
        "name,email\n"
        '"=HYPERLINK(""http://evil.example"",""click"")",formula@example.com\n'
        "+cmd|' /C calc'!A0,plus@example.com\n"
        "@SUM(1+1)*cmd,at@example.com\n"
        "Ann <b>Bold</b>,ann@example.com\n"
        'Bob,"=1+1"\n'
    )
    response = import_csv(recruiter, org.screening.id, rows.encode(), "candidates.csv")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<b>Bold</b>" not in page
    names = dict(
        db.session.execute(
            sa.select(Invitation.candidate_email, Invitation.candidate_name).where(
                Invitation.screening_id == org.screening.id
            )
        ).all()
    )
    assert names["formula@example.com"] == '=HYPERLINK("http://evil.example","click")'
    assert names["plus@example.com"] == "+cmd|' /C calc'!A0"
    assert names["ann@example.com"] == "Ann <b>Bold</b>"
    assert "=1+1" not in names and "line 6" in page.lower()
    overview = recruiter.get(f"/screenings/{org.screening.id}").get_data(as_text=True)
    assert "<b>Bold</b>" not in overview and "Ann &lt;b&gt;Bold&lt;/b&gt;" in overview


# --- crafted tus requests ---------------------------------------------------------------


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _create(client, token: str, position: int = 0, **headers):
    client.post(f"/i/{token}/api/questions/{position}/reveal")
    return client.post(
        f"/i/{token}/api/questions/{position}/uploads",
        headers={**TUS, "Upload-Defer-Length": "1", **headers},
    )


def _patch(client, url: str, data: bytes, offset: int, **headers):
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **headers,
    }
    return client.patch(url, data=data, headers=headers)


@pytest.mark.parametrize(
    "filename",
    ["../../../../etc/passwd", "..\\..\\windows\\win.ini", "/tmp/owned.webm", "a\x00b.webm"],
)
def test_a_path_like_upload_filename_never_names_a_file(app, client, org, filename):
    """tus clients send the file's name in Upload-Metadata: can it steer where bytes go?"""
    metadata = _meta(filetype="video/webm", filename=filename)
    created = _create(client, org.token, **{"Upload-Metadata": metadata})
    assert created.status_code == 201
    url = created.headers["Location"]
    assert (
        _patch(client, url, b"\x1aE\xdf\xa3 data", 0, **{"Upload-Length": "9"}).status_code == 204
    )
    take = db.session.get(Take, int(url.rsplit("/", 1)[1]))
    original = media_services.asset_of(take, AssetKind.ORIGINAL)
    assert original.storage_key.startswith(f"orgs/{org.org.id}/takes/{take.id}/")
    assert ".." not in original.storage_key and "passwd" not in original.storage_key
    assert not Path("/tmp/owned.webm").exists()
    media_root = Path(app.config["MEDIA_ROOT"]).resolve()
    stored = [p.resolve() for p in media_root.rglob("*") if p.is_file()]
    assert all(media_root in p.parents for p in stored)


def test_offsets_out_of_order_are_refused_with_the_servers_offset(client, org):
    """A chunk from the future (a gap) or the past (a replay) is refused with 409 and the
    server's offset; nothing is written at the wrong place."""
    url = _create(client, org.token, **{"Upload-Metadata": _meta(filetype="video/webm")}).headers[
        "Location"
    ]
    assert _patch(client, url, b"a" * 100, 0).status_code == 204
    ahead = _patch(client, url, b"c" * 100, 200)
    assert ahead.status_code == 409 and ahead.headers["Upload-Offset"] == "100"
    behind = _patch(client, url, b"x" * 100, 50)
    assert behind.status_code == 409 and behind.headers["Upload-Offset"] == "100"
    assert _patch(client, url, b"b" * 100, 100, **{"Upload-Length": "200"}).status_code == 204
    take = db.session.get(Take, int(url.rsplit("/", 1)[1]))
    original = media_services.asset_of(take, AssetKind.ORIGINAL)
    with media_services.get_storage().open(original.storage_key) as stored:
        assert stored.read() == b"a" * 100 + b"b" * 100


def test_chunks_sent_to_another_take_of_the_same_candidate_are_refused(client, org):
    """A discarded take's URL, and a finished take's URL, take no more bytes."""
    first = _create(client, org.token, **{"Upload-Metadata": _meta(filetype="video/webm")})
    first_url = first.headers["Location"]
    _patch(client, first_url, b"abc", 0)
    assert client.delete(first_url, headers=TUS).status_code == 204
    assert _patch(client, first_url, b"def", 3).status_code == 404
    second_url = _create(
        client, org.token, **{"Upload-Metadata": _meta(filetype="video/webm")}
    ).headers["Location"]
    assert _patch(client, second_url, b"whole", 0, **{"Upload-Length": "5"}).status_code == 204
    assert _patch(client, second_url, b"more", 5).status_code == 409
    first_take = db.session.get(Take, int(first_url.rsplit("/", 1)[1]))
    assert first_take.status == TakeStatus.FAILED
    assert chunks.chunks_of(first_take.id) == []


def test_a_polyglot_with_webm_magic_but_html_inside_is_refused_and_never_served_as_html(
    app, client, org
):
    """Bytes that start like WebM and continue as an HTML page: does processing refuse it,
    and is it never served with a type a browser would render?"""
    polyglot = b"\x1aE\xdf\xa3" + b"<html><script>alert(1)</script></html>" * 50
    url = _create(client, org.token, **{"Upload-Metadata": _meta(filetype="video/webm")}).headers[
        "Location"
    ]
    assert (
        _patch(client, url, polyglot, 0, **{"Upload-Length": str(len(polyglot))}).status_code == 204
    )
    take = db.session.get(Take, int(url.rsplit("/", 1)[1]))
    outcome = media_services.process(take.id)
    assert outcome.status == "failed" and outcome.detail == "not a video file"
    media = client.get(f"/i/{org.token}/api/takes/{take.id}/media")
    if media.status_code == 200:
        assert media.mimetype.startswith(("video/", "audio/"))
        assert media.headers["X-Content-Type-Options"] == "nosniff"
