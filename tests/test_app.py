"""The app factory, configuration, security headers and error pages."""

from __future__ import annotations

from pathlib import Path

from interview import create_app
from interview.config import from_environ
from interview.models import Role
from interview.security import CONTENT_SECURITY_POLICY

from . import factories


def test_defaults_are_embedded_under_instance(tmp_path):
    """With no environment, does the app use SQLite, media and outbox under instance/?"""
    settings = from_environ(str(tmp_path), environ={})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'interview.sqlite3'}"
    assert settings["MEDIA_ROOT"] == str(tmp_path / "media")
    assert settings["MAIL_BACKEND"] == "outbox"
    assert settings["SESSION_COOKIE_SECURE"] is True  # production unless told otherwise
    dev = from_environ(str(tmp_path), environ={"INTERVIEW_ENV": "development"})
    assert dev["SESSION_COOKIE_SECURE"] is False


def test_environment_overrides(tmp_path):
    settings = from_environ(
        str(tmp_path),
        environ={
            "DATABASE_URL": "postgres://u@h/db",
            "REDIS_URL": "redis://r:1/2",
            "MAIL_BACKEND": "smtp",
            "MAIL_PORT": "2525",
            "MAIL_USE_TLS": "yes",
        },
    )
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql://u@h/db"
    assert settings["REDIS_URL"] == "redis://r:1/2"
    assert settings["MAIL_PORT"] == 2525 and settings["MAIL_USE_TLS"] is True


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    """Without SECRET_KEY, is a key generated, stored privately and reused on restart?"""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    first = create_app(config).config["SECRET_KEY"]
    second = create_app(config).config["SECRET_KEY"]
    key_file = Path(tmp_path) / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) == 64
    assert key_file.stat().st_mode & 0o077 == 0


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_carry_no_inline_script_or_style(client, sign_in_as):
    """Would the CSP block anything on our own pages (inline script, style attributes)?"""
    pages = [client.get("/login")]
    admin = sign_in_as(Role.ADMIN)
    pages += [admin.get(p) for p in ("/", "/admin/users", "/screenings/", "/account/password")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and "onclick" not in html


def test_not_found_page_says_what_happened(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)
    json = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert json.status_code == 404 and json.json["error"] == "Not found"


def test_unexpected_error_shows_a_friendly_500(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("kaput")

    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "kaput" not in body


def test_static_vendor_files_are_served_locally(client):
    """Is Bootstrap served from our own origin (no CDN)?"""
    css = client.get("/static/vendor/bootstrap/bootstrap.min.css")
    assert css.status_code == 200
    css.close()
    page = client.get("/login").get_data(as_text=True)
    assert "cdn" not in page.lower() and "https://" not in page


def test_forms_work_over_https_because_same_origin_referers_are_sent(app, org):
    """Over HTTPS Flask-WTF refuses a form post without a same-site Referer; the Referrer-Policy
    must let browsers send one to us (and only to us)."""
    client = app.test_client()
    page = client.get("/login", base_url="https://interviews.example")
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = page.get_data(as_text=True).split('name="csrf-token" content="', 1)[1].split('"')[0]
    data = {
        "email": org.users[Role.ADMIN].email,
        "password": factories.PASSWORD,
        "csrf_token": token,
    }
    refused = client.post("/login", data=data, base_url="https://interviews.example")
    assert refused.status_code == 400  # what "no-referrer" made every HTTPS form do
    signed_in = client.post(
        "/login",
        data=data,
        base_url="https://interviews.example",
        headers={"Referer": "https://interviews.example/login"},
    )
    assert signed_in.status_code == 302


def test_hsts_in_production_and_not_in_development(app_config, tmp_path):
    """Does production send Strict-Transport-Security (a setting), and development not?"""
    production = from_environ(str(tmp_path), {"INTERVIEW_ENV": "production"})
    development = from_environ(str(tmp_path), {"INTERVIEW_ENV": "development"})
    assert production["HSTS_MAX_AGE"] == 31536000 and development["HSTS_MAX_AGE"] == 0
    assert from_environ(str(tmp_path), {"HSTS_MAX_AGE": "600"})["HSTS_MAX_AGE"] == 600
    for setting, expected in ((production, "max-age=31536000"), (development, None)):
        app = create_app({**app_config, "HSTS_MAX_AGE": setting["HSTS_MAX_AGE"]})
        for path in ("/login", "/no/such/page"):
            assert app.test_client().get(path).headers.get("Strict-Transport-Security") == expected


def test_healthz_answers_from_the_process_alone(app, client):
    """Does /healthz (the load balancer's check) answer 200 without a database statement, a
    session cookie or a rate limit, so a busy node is not taken out of the rotation?"""
    from .conftest import counting_statements

    with counting_statements() as statements:
        answers = [client.get("/healthz") for _ in range(300)]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].get_data(as_text=True) == "ok\n"
    assert "Set-Cookie" not in answers[0].headers
    assert statements == []


def test_engine_pool_fits_the_database(tmp_path):
    """PostgreSQL connections are pooled per DB_POOL_SIZE (and checked before use by
    ``database.check_before_use``, not by a ping on every checkout); a SQLite file gets the
    same pool and no check; in-memory SQLite keeps its own pool."""
    from interview.database import engine_options

    pg = engine_options("postgresql://u@h/db", {}, 24)
    assert pg == {"pool_size": 24, "max_overflow": 10}
    assert engine_options(f"sqlite:///{tmp_path}/x.sqlite3", {}, 24) == {
        "pool_size": 24,
        "max_overflow": 10,
    }
    assert engine_options("sqlite://", {}, 24) == {}
    assert engine_options("postgresql://u@h/db", {"pool_size": 3}, 24)["pool_size"] == 3


def test_the_web_entry_point_keeps_its_start_up_objects_out_of_the_collector(tmp_path):
    """A full garbage collection walks every object the process tracks and pauses all its
    threads meanwhile (about 140 ms for the app's 200,000-odd objects on this machine, every
    upload in flight on that worker waiting). Does ``wsgi`` (what gunicorn loads) freeze what
    start-up made, so a collection under load walks only what requests made?"""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "SECRET_KEY": "k" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path}/app.sqlite3",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    probe = (
        "import gc; before = gc.get_freeze_count(); import wsgi; "
        "print(before, gc.get_freeze_count(), len(gc.get_objects()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    before, frozen, still_tracked = map(int, out.stdout.split()[-3:])
    assert before == 0 and frozen > 50_000  # the app, its mappers, templates and catalogues
    assert still_tracked < frozen / 10
