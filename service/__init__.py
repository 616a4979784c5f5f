"""Causerie: a self-hosted comment service for blogs.

``create_app()`` is the application factory: it reads the settings, binds
the extensions, registers the blueprints, error handlers and CLI commands.

The map of the package.  Imports point down it, never up: a module uses its
own layer and the ones below.

faces     where a request or a command comes in
          api/ (the widget's JSON), moderation/ (the /moderate pages, and
          what moderating is: actions, auth, login_limits, queue, stats),
          embed, feeds, widget, demo, health; cli, and the commands it
          gathers: worker, server, doctor, porting/cli, spam/cli and
          spam/evaluate
domain    what the service does, whichever face asks
          comments (the whole write path), rules, spam/ (the filter),
          notifications/ (outbox, emails, digests, webhooks, subscriptions),
          threads (the read path, with cache, freshness and origins), privacy,
          audit, links, porting/ (the importers and the backup), metrics
models    models: the tables
ground    what every layer may use, knowing no table
          settings (config.py), extensions, errors, request, reads, sanitize,
          urls, validation, hashing, tickets, read_limits, mailer, netguard,
          i18n, strings, logs, security, files, choices (the closed sets of
          stored values: statuses, modes, digests...), limits (every fixed size)
"""

from __future__ import annotations

import click
from werkzeug.middleware.proxy_fix import ProxyFix

from . import api, cli, demo, embed, errors, feeds, health, i18n, logs, metrics, moderation, security, settings, widget
from .application import Causerie
from .extensions import (
    READS,
    bind_reads,
    db,
    generic_plans,
    init_limiter,
    init_migrations,
    limiter_settings,
    ping_when_idle,
)

BLUEPRINTS = (api.bp, health.bp, feeds.bp, moderation.bp, widget.bp, demo.bp, embed.bp)


def create_app(overrides: dict | None = None, command_line: bool | None = None) -> Causerie:
    """Build a configured Causerie application.

    ``command_line``: whether it serves a command (which may need Alembic);
    by default, whether it is built inside one.
    """
    app = Causerie(__name__, instance_relative_config=True, instance_path=settings.instance_path())
    app.config.from_mapping(settings.load(app.instance_path))
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            # The options of the environment's database would not fit another kind.
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = settings.engine_options(overrides["SQLALCHEMY_DATABASE_URI"])

    proxies = app.config["CAUSERIE_TRUSTED_PROXIES"]
    if proxies:
        # Only as many X-Forwarded-For hops as there are proxies we run are
        # believed; anything a client adds in front is ignored.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to wrap it
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    # First, so that their timing and request ids wrap every other hook.
    logs.init_app(app)
    metrics.init_app(app)
    bind_reads(app.config)
    db.init_app(app)
    with app.app_context():
        for name, engine in db.engines.items():
            if engine.dialect.name != "postgresql":
                continue
            # The read path retries a read on a dropped connection itself, so
            # its engine is not pinged; it plans its statements once instead.
            if name == READS:
                generic_plans(engine)
            else:
                ping_when_idle(engine)
    limiter_settings(app.config)
    init_limiter(app)
    if command_line is None:
        command_line = click.get_current_context(silent=True) is not None
    if command_line:
        # Built by the command line (`causerie`, `flask --app wsgi`): the
        # `db` commands need Flask-Migrate; web workers do not.
        init_migrations(app)
    errors.register(app)
    security.init_app(app)
    i18n.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    cli.register(app)
    return app
