"""The application factory."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from . import cli, database, errors, filters, health, languages, rate_limits, security, sqlite
from . import config as config_module
from .admin.routes import bp as admin_bp
from .api import openapi as api_docs
from .api import schemas as api_schemas
from .api.auth import rate_key, rate_limit
from .api.pages import bp as api_keys_bp
from .api.routes import bp as api_bp
from .auth.routes import bp as auth_bp
from .auth.services import load_user
from .branding.routes import bp as branding_bp
from .candidate import turns as candidate_turns
from .candidate.fast_path import UploadFastPath
from .candidate.routes import bp as candidate_bp
from .extensions import api, csrf, db, limiter, login_manager, migrate
from .media.routes import bp as media_bp
from .privacy.routes import bp as privacy_bp
from .recruiter.routes import bp as recruiter_bp
from .reports.routes import bp as reports_bp
from .review import management as review_management
from .review import routes as review_routes
from .shares.routes import bp as shares_bp
from .webhooks.routes import bp as webhooks_bp

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app: settings from the environment, then ``config`` on top."""
    app = Flask(
        __name__,
        instance_path=str((config or {}).get("INSTANCE_PATH") or PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.update(config_module.from_environ(app.instance_path))
    if config:
        app.config.update(config)
    _ensure_instance(app)
    security.install_request_rules(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_hooks(app)
    register_commands(app)
    # Every model's mapper is set up now, not inside the first requests each process serves.
    sa.orm.configure_mappers()
    # A middle PATCH of an upload is answered without Flask's dispatch (the hottest request).
    app.wsgi_app = UploadFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


def _ensure_instance(app: Flask) -> None:
    """Create instance/ and persist a generated SECRET_KEY there when none was configured."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_hex(32))
        app.config["SECRET_KEY"] = key_file.read_text().strip()


def register_extensions(app: Flask) -> None:
    """Bind db, migrations, login, CSRF and the rate limiter to the app."""
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"],
        app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {},
        app.config["DB_POOL_SIZE"],
    )
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sqlite.configure(db.engine)
        else:
            database.check_before_use(db.engine)
    api.init_app(app)
    candidate_turns.init_app(app)

    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


def register_blueprints(app: Flask) -> None:
    """Mount every area's blueprint."""
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(recruiter_bp)
    app.register_blueprint(candidate_bp)
    app.register_blueprint(media_bp)
    # The review area's pages live in two modules on one blueprint.
    assert review_management.bp is review_routes.bp
    app.register_blueprint(review_routes.bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(branding_bp)
    app.register_blueprint(shares_bp)
    app.register_blueprint(health.bp)
    register_api(app)


def register_api(app: Flask) -> None:
    """/api/v1: key-authenticated (no cookies, so no CSRF), rate limited per key, documented."""
    if "Problem" not in api.spec.components.schemas:
        api.spec.components.schema("Problem", schema=api_schemas.Problem)
    csrf.exempt(api_bp)
    limiter.limit(rate_limit, key_func=rate_key)(api_bp)
    api.register_blueprint(api_bp)
    app.register_blueprint(api_docs.bp)
    app.register_blueprint(api_keys_bp)
    app.register_blueprint(webhooks_bp)


def register_errorhandlers(app: Flask) -> None:
    """Render 400/403/404/405/413/429/500 as pages that say what happened."""
    errors.register(app)


def register_hooks(app: Flask) -> None:
    """Security and rate-limit headers, languages, template globals and filters."""
    security.register(app)
    rate_limits.register(app)
    languages.register(app)
    filters.register(app)


def register_commands(app: Flask) -> None:
    """CLI: ``flask users``, ``flask demo``, ``flask worker``, ``flask jobs``."""
    cli.register(app)
