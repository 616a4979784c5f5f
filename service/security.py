"""CSRF protection and the security headers of server-rendered pages.

Every state-changing request carries a CSRF token (Flask-WTF), except the
public JSON API, which is called cross-origin by the widget and
authenticated by origin and edit tokens instead, and the health check.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# No inline script or style anywhere in the moderation pages: a strict policy
# turns an HTML injection into inert text.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


SESSIONLESS_PATHS = ("/api/", "/widget.js", "/healthz", "/feeds/")


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over HTTPS,
    even if ``CAUSERIE_SECURE_COOKIES`` was forgotten (ProxyFix tells us the
    original scheme behind a trusted proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure))

    def open_session(self, app: Flask, req):
        # The public endpoints never sign anyone in: skip reading and
        # verifying a cookie on every thread read.
        if req.path.startswith(SESSIONLESS_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, req)


def init_app(app: Flask) -> None:
    """Protect the app against CSRF and send security headers on /moderate."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 12 * 3600)
    app.session_interface = _SessionInterface()
    csrf.init_app(app)

    from . import api, health  # noqa: PLC0415 - blueprints import the app's modules

    csrf.exempt(api.bp)
    csrf.exempt(health.healthz)

    @app.after_request
    def _page_headers(response):
        if request.path.startswith("/moderate"):
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
            if not request.path.startswith("/moderate/static/"):
                # Queue pages carry commenters' emails: never keep them in a shared cache.
                response.headers.setdefault("Cache-Control", "no-store")
        return response
