"""Causerie: a self-hosted comment service for blogs.

``create_app()`` is the application factory: it reads the settings, binds
the extensions, registers the blueprints, error handlers and CLI commands.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config

from . import errors
from .extensions import db, limiter, migrate


def create_app(overrides: dict | None = None) -> Flask:
    """Build a configured Causerie application."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.load(app.instance_path))
    if overrides:
        app.config.update(overrides)

    proxies = app.config["CAUSERIE_TRUSTED_PROXIES"]
    if proxies:
        # Only as many X-Forwarded-For hops as there are proxies we run are
        # believed; anything a client adds in front is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    limiter.init_app(app)
    errors.register(app)

    from . import api, health

    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)

    from . import feeds

    app.register_blueprint(feeds.bp)

    from . import i18n, moderation, security
    from .moderation import porting_views  # noqa: F401 - admin import/backup pages join the blueprint

    security.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(moderation.bp)

    from . import demo, widget

    app.register_blueprint(widget.bp)
    app.register_blueprint(demo.bp)

    from . import cli

    cli.register(app)
    return app


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"
