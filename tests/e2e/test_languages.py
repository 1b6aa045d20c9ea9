"""A Spanish-speaking candidate in another time zone takes a whole interview in Spanish."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from interview.extensions import db
from interview.filters import deadline
from interview.models import Invitation

from .candidate import Candidate
from .conftest import PHONE, Spec

pytestmark = [pytest.mark.slow, pytest.mark.browser]

FUTURE = datetime(2036, 12, 1, 17, 0, tzinfo=UTC)  # a deadline still ahead whenever this runs


def test_a_spanish_candidate_in_mexico_city_completes_an_interview_in_spanish(
    app, live_server, browser, make_interview, artifacts
):
    """A screening in Spanish from an organisation in Madrid; the candidate's browser says
    es-ES and America/Mexico_City. Is every step in Spanish, the deadline in their own time
    (11:00 there), and does the recorder's catalogue arrive without any CSP violation?"""
    invitation_id, token = make_interview(
        [Spec("Práctica", practice=True), Spec("Háblanos de ti")], started=False
    )
    invitation = db.session.get(Invitation, invitation_id)
    invitation.screening.language = "es"
    invitation.screening.organization.timezone = "Europe/Madrid"
    invitation.expires_at = FUTURE
    db.session.commit()
    with force_locale("es"):
        madrid_text = deadline(FUTURE, "Europe/Madrid")
    assert madrid_text == "lunes, 1 de diciembre de 2036, 18:00 CET"

    context = browser.new_context(
        locale="es-ES", timezone_id="America/Mexico_City", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(20_000)
    try:
        me = Candidate(context.new_page(), live_server, token, artifacts)
        page = me.page
        page.goto(f"{live_server}/i/{token}")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.locator("#agree")).to_have_text("Aceptar y empezar")
        when = page.locator("time[data-local-time]").first
        expect(when).to_contain_text("diciembre de 2036")
        expect(when).to_contain_text("11:00")  # 17:00 UTC in Mexico City
        assert when.get_attribute("title") == madrid_text  # the server's text, in Spanish
        me.shot("landing-es")

        page.locator("#agree").click()  # without consent: refused, in Spanish
        expect(page.locator("#consent-error")).to_have_text(
            "Marca la casilla para dar tu consentimiento antes de empezar."
        )
        page.locator("#consent").check()
        page.locator("#agree").click()
        page.wait_for_url(me.interview_url)
        expect(page.locator("html")).to_have_attribute("lang", "es")
        catalogue = json.loads(page.locator("#messages").text_content())
        assert catalogue["lang"] == "es" and catalogue["plurals"] == ["one", "many", "other"]

        expect(page.locator("#dc-title")).to_have_text("Comprueba la cámara y el micrófono")
        page.locator("#dc-start").click()
        expect(page.locator("#dc-live")).to_be_visible()
        expect(page.locator("#dc-continue")).to_have_text("Continuar a la pregunta de práctica")
        page.locator("#dc-continue").click()

        for heading in ("Pregunta de práctica", "Pregunta 1 de 1"):
            expect(page.locator("#q-progress")).to_have_text(heading)
            expect(page.locator("#q-attempts")).to_have_text("Te quedan 2 intentos de 2")
            expect(page.locator("#q-before-notice")).to_contain_text(
                "Puedes responder durante 15 segundos como máximo."
            )
            page.locator("#q-reveal").click()
            expect(page.locator("#q-start")).to_have_text("Empezar a grabar")
            page.locator("#q-start").click()
            expect(page.locator("#q-recording")).to_be_visible()
            expect(page.locator("#q-answer-left")).to_contain_text("Quedan 0:1")
            page.wait_for_timeout(2000)
            page.locator("#q-stop").click()
            expect(page.locator("#q-save")).to_have_attribute("data-phase", "saved")
            expect(page.locator("#q-save")).to_contain_text("Guardada: el servidor tiene")
            expect(page.locator("#q-retake")).to_have_text("Volver a grabar (te queda 1 vez)")
            if heading != "Pregunta de práctica":
                page.set_viewport_size(PHONE)
                me.shot("review-answer-es-phone")
            page.locator("#q-keep").click()

        page.wait_for_url(f"{live_server}/i/{token}/review")
        expect(page.locator("h1")).to_have_text("Revisa tus respuestas")
        expect(page.locator("#submit-answers")).to_have_text("Enviar mis respuestas")
        me.shot("review-es-phone")
        page.locator("#submit-answers").click()
        page.wait_for_url(f"{live_server}/i/{token}/done")
        expect(page.locator("h1")).to_have_text(
            "Gracias, Casey Candidate: tus respuestas se han enviado"
        )
        expect(page.locator("main")).to_contain_text("Enviadas el")
        me.shot("done-es-phone")
        assert me.page_errors() == []  # no script error and no CSP violation on any page
    finally:
        context.close()


def test_the_language_switcher_works_without_javascript(app, live_server, browser, make_interview):
    """With script turned off, does a candidate switch a Spanish screening to German with a
    link, and does the choice stay for the next page?"""
    invitation_id, token = make_interview(started=False)
    db.session.get(Invitation, invitation_id).screening.language = "es"
    db.session.commit()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/i/{token}")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        link = page.locator("#language-de")
        assert link.get_attribute("lang") == link.get_attribute("hreflang") == "de"
        link.click()
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.locator("#agree")).to_have_text("Zustimmen und starten")
        expect(page.locator('.language-switcher [aria-current="true"]')).to_have_text("Deutsch")
        page.goto(f"{live_server}/i/{token}")  # no ?lang= now: the session remembers
        expect(page.locator("html")).to_have_attribute("lang", "de")
    finally:
        context.close()
