"""Languages: which one a page is in, the switcher, and the recorder's message catalogue.

Candidate pages and emails are in the screening's language (chosen by the recruiter), unless
the candidate picked another one with the switcher (``?lang=xx``, remembered in the session).
Pages that know no screening (an unknown link, an error) follow the browser's languages;
staff pages stay in English unless someone chose a language. Catalogues live in
``interview/translations/<code>/LC_MESSAGES/``: ``messages.po`` for templates and Python,
``js.po`` for the ES modules, which read theirs from a JSON data block (see ``js_messages``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, Domain, get_locale, refresh

# The order is the switcher's; each name is written in its own language.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
}
DEFAULT_LANGUAGE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAINS = ("messages", "js")
# Where a visitor's browser languages decide when nothing else does.
_VISITOR_BLUEPRINTS = {"candidate"}

babel = Babel()
js_domain = Domain(translation_directories=str(TRANSLATIONS), domain="js")


def is_language(code: str | None) -> bool:
    return bool(code) and code in LANGUAGES


def use_language(code: str | None) -> None:
    """Render the rest of this request in ``code`` (a screening's language), unless the
    person chose one with the switcher."""
    if is_language(code):
        g.page_language = code
        refresh()


def select_locale() -> str:
    """Flask-Babel's locale selector: the person's choice, the page's language, a default.

    Outside a request (jobs) it is the default; emails choose theirs with ``force_locale``."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = session.get("lang")
    if is_language(chosen):
        return chosen
    page = g.get("page_language")
    if page:
        return page
    if request.blueprint in _VISITOR_BLUEPRINTS:
        return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def _remember_choice() -> None:
    """``?lang=xx`` on any page (the switcher's links, which work without script)."""
    code = request.args.get("lang")
    if is_language(code):
        session["lang"] = code


def language_url(code: str, base: str | None = None) -> str:
    """This page in ``code``: a link to the same address with ``lang=code``. Relative
    (``?lang=es``), so the page never repeats its own address (a link token) in its markup;
    ``base`` is for pages reached by a POST, whose own address cannot be opened with a link."""
    query = urlencode({**request.args.to_dict(), "lang": code})
    if base is None and request.method == "GET":
        return f"?{query}"
    return f"{base or request.path}?{query}"


def js_messages() -> dict:
    """The recorder's messages in the page's language, for a ``<script type="application/json">``
    block: {"lang": "es", "plurals": [...], "messages": {msgid: text or [forms]}}. English is
    empty (the modules fall back to their own text)."""
    catalog = getattr(js_domain.get_translations(), "_catalog", {})
    messages: dict[str, object] = {}
    for key, text in catalog.items():
        if not key or not text:
            continue  # the header
        if isinstance(key, tuple):
            msgid, index = key
            forms = messages.setdefault(msgid, [])
            assert isinstance(forms, list)
            forms.extend([""] * (index + 1 - len(forms)))
            forms[index] = text
        else:
            messages[key] = text
    return {
        "lang": current_language(),
        "plurals": plural_categories(current_language()),
        "messages": messages,
    }


def plural_categories(code: str) -> list[str]:
    """The CLDR plural categories of ``code`` in the order of its gettext plural forms
    ("one", "many", "other" for Spanish): the ES modules pick a form with Intl.PluralRules."""
    tags = Locale.parse(code).plural_form.tags | {"other"}
    return [tag for tag in ("zero", "one", "two", "few", "many", "other") if tag in tags]


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Write every ``.mo`` from its ``.po`` (``make install`` and the tests call this);
    returns the files written. Fuzzy entries are left out, as ``pybabel compile`` does."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        # Written beside it and renamed into place: a process reading the catalogue meanwhile
        # (a running server, the other test suite) sees the old file or the new, never half.
        partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
        try:
            with partial.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            os.replace(partial, mo_path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        written.append(mo_path)
    return written


def register(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    # Blocks are extracted trimmed too (babel.cfg), so line breaks never change a message.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.before_request(_remember_choice)
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        current_language=current_language,
        language_url=language_url,
        js_messages=js_messages,
    )
