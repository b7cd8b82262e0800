"""Matchmaker: industry–research matchmaking for Hamburg's alliance for climate-friendly production."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from matchmaker.__about__ import __version__
from matchmaker.config import Settings

if TYPE_CHECKING:  # the ranking core imports this package and must stay free of Flask
    from flask import Flask

__all__ = ["__version__", "create_app"]


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    from matchmaker.config import INSTANCE_DIR

    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(settings: Settings | None = None, *, embedder: Any = None, **config: Any) -> Flask:
    """The app factory: one Flask app per process (or per test), configured by ``settings``."""
    from flask import Flask, Response, jsonify
    from sqlalchemy.exc import OperationalError

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.extensions["matchmaker.settings"] = settings
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        MAX_CONTENT_LENGTH=settings.max_content_length,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from matchmaker import db
    from matchmaker.api import auth, problems

    db.init_app(app)
    from matchmaker import imports, jobs, observability
    from matchmaker.matching import background as matching_background
    from matchmaker.matching import engine as matching_engine

    observability.init_app(app)
    matching_engine.init_app(app, embedder=embedder)
    jobs.init_app(app)
    imports.init_app(app)
    matching_background.init_app(app)
    problems.init_app(app)
    auth.init_app(app)

    @app.errorhandler(OperationalError)
    def _database_unavailable(exc: OperationalError) -> Response:
        app.logger.warning("database unavailable: %s", exc.orig)
        return problems.problem_response(
            problems.Problem(
                503,
                "Service unavailable",
                "The database is unavailable; retry shortly.",
                code="unavailable",
                headers={"Retry-After": "2"},
            )
        )

    from matchmaker.accounts.views import bp as accounts_bp
    from matchmaker.challenges.views import bp as challenges_bp
    from matchmaker.groups.views import bp as groups_bp
    from matchmaker.matching.views import bp as matching_bp
    from matchmaker.organisations.views import bp as organisations_bp
    from matchmaker.review.views import bp as review_bp
    from matchmaker.strategy.views import bp as strategy_bp

    for bp in (
        accounts_bp,
        challenges_bp,
        groups_bp,
        organisations_bp,
        review_bp,
        strategy_bp,
        matching_bp,
    ):
        app.register_blueprint(bp)

    from matchmaker.learning.views import bp as learning_bp

    app.register_blueprint(learning_bp)
    from matchmaker.api.docs import bp as docs_bp

    app.register_blueprint(docs_bp)
    from matchmaker.imports.views import bp as jobs_bp

    app.register_blueprint(jobs_bp)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", version=__version__)

    from matchmaker.web import init_app as init_web

    init_web(app)
    from matchmaker import security

    security.init_app(app)
    return app
