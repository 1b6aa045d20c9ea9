"""Languages: complete catalogues, the screening's language on every candidate page and email,
the switcher, and dates in the page's language."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from interview import languages
from interview.extensions import db
from interview.filters import deadline, deadline_with_utc
from interview.media import probe
from interview.models import Role, Take, TakeStatus
from interview.recruiter import jobs as email_jobs

from . import factories
from .conftest import PROJECT_ROOT, csrf_token

TRANSLATED = [code for code in languages.LANGUAGES if code != languages.DEFAULT_LANGUAGE]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}

# Everything a candidate can see or hear, by catalogue domain (staff pages are marked too, but
# only these must be complete).
CANDIDATE_SOURCES = {
    "messages": [
        ("jinja2", "templates/base.html"),
        *(
            ("jinja2", str(p.relative_to(PROJECT_ROOT)))
            for p in sorted((PROJECT_ROOT / "templates").glob("candidate/*.html"))
        ),
        *(
            ("jinja2", str(p.relative_to(PROJECT_ROOT)))
            for p in sorted((PROJECT_ROOT / "templates").glob("errors/*.html"))
        ),
        ("jinja2", "templates/emails/invitation.html"),
        ("jinja2", "templates/emails/invitation.txt"),
        ("python", "interview/candidate/services.py"),
        ("python", "interview/candidate/links.py"),
        ("python", "interview/candidate/routes.py"),
        ("python", "interview/candidate/forms.py"),
        ("python", "interview/errors.py"),
        ("python", "interview/filters.py"),
        ("python", "interview/recruiter/jobs.py"),
        ("python", "interview/privacy/settings.py"),
        ("jinja2", "templates/privacy/_notice.html"),
    ],
    "js": [
        ("javascript", str(p.relative_to(PROJECT_ROOT)))
        for p in sorted((PROJECT_ROOT / "interview/static/js").glob("*.js"))
    ],
}


def _extracted(domain: str) -> dict[str | tuple[str, ...], str]:
    """Every message in the candidate's sources, extracted as `make translations` does."""
    found: dict[str | tuple[str, ...], str] = {}
    for method, path in CANDIDATE_SOURCES[domain]:
        options = {"trimmed": "true"} if method == "jinja2" else {}
        for lineno, message, _comments, _context in extract_from_file(
            method, str(PROJECT_ROOT / path), keywords=KEYWORDS, options=options
        ):
            key = message if isinstance(message, str) else tuple(m for m in message if m)
            found[key] = f"{path}:{lineno}"
    return found


def _catalogue(code: str, domain: str):
    path = languages.TRANSLATIONS / code / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as po_file:
        return read_po(po_file, locale=code)


@pytest.mark.parametrize("domain", ["messages", "js"])
@pytest.mark.parametrize("code", TRANSLATED)
def test_every_candidate_message_is_translated_and_the_catalogue_compiles(code, domain):
    """Is every message a candidate can meet translated (every plural form, nothing fuzzy), do
    the translations keep the placeholders, and does the catalogue compile?"""
    catalogue = _catalogue(code, domain)
    extracted = _extracted(domain)
    assert extracted, "nothing extracted: the check would pass vacuously"
    problems = []
    for msgid, where in extracted.items():
        lookup = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalogue.get(lookup)
        if message is None:
            problems.append(f"{where}: missing {lookup!r} (run `make translations`)")
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            problems.append(f"{where}: untranslated or fuzzy {lookup!r}")
        if isinstance(msgid, tuple) and len(forms) != catalogue.num_plurals:
            problems.append(f"{where}: {lookup!r} needs {catalogue.num_plurals} plural forms")
    for message, errors in catalogue.check():  # placeholders the same as in English
        problems.extend(f"{message.id!r}: {error}" for error in errors)
    assert problems == []

    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    assert len(read_mo(compiled)) >= len(extracted)


def test_a_spanish_screening_speaks_spanish_to_its_candidate(client, org):
    """Landing page, consent refusal, interview page (with the recorder's catalogue) and an
    API refusal: are they all in the screening's language, with <html lang> to match?"""
    org.screening.language = "es"
    org.invitation.status = org.invitation.status.OPENED  # back before consent
    org.invitation.started_at = None
    db.session.commit()
    page = client.get(f"/i/{org.token}").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Aceptar y empezar" in page and "Agree and start" not in page
    assert f'href="/i/{org.token}?lang=fr" lang="fr" hreflang="fr">Français</a>' in page

    refused = client.post(
        f"/i/{org.token}/start", data={"csrf_token": csrf_token(client, f"/i/{org.token}")}
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Marca la casilla para dar tu consentimiento antes de empezar." in text
    # After a POST the switcher links to the landing page, which a link can open.
    assert f'href="/i/{org.token}?lang=de"' in text


def test_the_recorder_gets_its_catalogue_and_refusals_in_the_screenings_language(client, org):
    org.screening.language = "fr"
    db.session.commit()
    page = client.get(f"/i/{org.token}/interview").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="messages">(.*?)</script>', page, re.S)
    catalogue = json.loads(block.group(1))
    assert catalogue["lang"] == "fr" and catalogue["plurals"] == ["one", "many", "other"]
    assert catalogue["messages"]["Practice question"] == "Question d'entraînement"
    assert catalogue["messages"]["%(num)s second"][0] == "%(num)s seconde"
    # Question 2 is not open before the practice question: refused, in French.
    refused = client.post(f"/i/{org.token}/api/questions/1/reveal")
    assert refused.status_code == 409
    assert refused.get_json()["error"] == (
        "Les questions se répondent dans l'ordre ; celle-ci n'est pas encore ouverte."
    )


def test_the_switcher_choice_is_remembered_and_english_pages_carry_no_catalogue(client, org):
    org.screening.language = "de"
    db.session.commit()
    assert '<html lang="de">' in client.get(f"/i/{org.token}").get_data(as_text=True)
    client.get(f"/i/{org.token}?lang=en")
    page = client.get(f"/i/{org.token}/interview").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert '"messages": {}' in page
    assert client.get(f"/i/{org.token}?lang=xx").status_code == 200  # unknown: ignored


def test_unknown_links_follow_the_browsers_language(client):
    """An unknown link names no screening: does the page follow Accept-Language?"""
    page = client.get("/i/" + "A" * 43, headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"})
    assert page.status_code == 404
    assert "Ce lien n'est plus valide" in page.get_data(as_text=True)


def test_emails_are_in_the_screenings_language(app, org):
    """Invitation email: subject, both bodies and the deadline in Spanish."""
    org.screening.language = "es"
    org.org.timezone = "America/Mexico_City"
    org.invitation.expires_at = datetime(2036, 12, 2, 4, 30, tzinfo=UTC)
    db.session.commit()
    message = email_jobs.render_message(org.invitation, "invitation")
    assert message.subject == "Tu entrevista en vídeo para Support Engineer"
    expected = "lunes, 1 de diciembre de 2036, 22:30 CST (04:30 UTC del martes, 2 de diciembre)"
    assert f"Complétala antes del {expected}." in message.text
    assert "Hola, Casey Candidate:" in message.text
    assert '<html lang="es">' in message.html
    assert "<strong>Support Engineer</strong>" in message.html
    reminder = email_jobs.render_message(org.invitation, "reminder_deadline")
    assert reminder.subject == "Último día: tu entrevista en vídeo para Support Engineer"
    org.screening.language = "en"
    assert email_jobs.render_message(org.invitation, "invitation").subject == (
        "Your video interview for Support Engineer"
    )


def test_dates_are_written_in_the_pages_language(app):
    moment = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    with app.test_request_context():
        assert deadline(moment, "Europe/Berlin") == "Tuesday 1 December 2026, 18:00 CET"
        with force_locale("fr"):
            assert deadline(moment, "Europe/Paris") == "mardi 1 décembre 2026 à 18:00 CET"
        with force_locale("de"):
            assert deadline_with_utc(moment, "Asia/Tokyo") == (
                "Mittwoch, 2. Dezember 2026, 02:00 JST (17:00 UTC am Dienstag, 1. Dezember)"
            )


def test_a_recruiter_chooses_the_screenings_language(sign_in_as, org):
    recruiter = sign_in_as(Role.RECRUITER)
    form = recruiter.get(f"/screenings/{org.screening.id}/edit").get_data(as_text=True)
    assert '<option value="fr">Français</option>' in form
    response = recruiter.post(
        f"/screenings/{org.screening.id}/edit",
        data={
            "title": org.screening.title,
            "deadline_days": 7,
            "language": "fr",
            "csrf_token": csrf_token(recruiter, "/"),
        },
    )
    assert response.status_code == 302
    db.session.refresh(org.screening)
    assert org.screening.language == "fr"
    copy = factories.screening(org.org, "Another")  # default: English
    db.session.commit()
    assert copy.language == "en"
    refused = recruiter.post(
        f"/screenings/{org.screening.id}/edit",
        data={
            "title": "x",
            "deadline_days": 7,
            "language": "xx",
            "csrf_token": csrf_token(recruiter, "/"),
        },
    )
    assert refused.status_code in (200, 400)
    db.session.refresh(org.screening)
    assert org.screening.language == "fr"


def test_a_failed_takes_reason_reaches_the_candidate_in_their_language(client, org):
    """Reasons are stored in English for staff: does the candidate's state carry them in the
    screening's language too?"""
    org.screening.language = "de"
    question = org.invitation.questions[0]
    question.takes.append(Take(attempt=1, status=TakeStatus.FAILED, failure_reason=probe.TOO_LONG))
    db.session.commit()
    [take] = client.get(f"/i/{org.token}/api/state").get_json()["questions"][0]["takes"]
    assert take["failure_reason"] == "longer than the answer limit"
    assert take["failure_message"] == "länger als die erlaubte Antwortzeit"
