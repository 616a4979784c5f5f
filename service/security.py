"""CSRF protection and the security headers of server-rendered pages.

Every state-changing request to the moderation pages carries a CSRF token
(Flask-WTF).  The public JSON API is called cross-origin by the widget and
authenticated by origin and edit tokens instead; the health check and the
widget's script change nothing.  The check is the moderation blueprint's own
(:func:`check_csrf`) rather than app-wide, so the thread reads that make up
nearly all traffic skip it altogether; a test keeps every state-changing
route outside the API inside that blueprint.
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


SESSIONLESS_PATHS = ("/api/", "/widget.js", "/healthz", "/feeds/", "/metrics")


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


def check_csrf() -> None:
    """Refuse a state-changing request without a valid CSRF token (views
    marked ``@csrf.exempt`` check their own way); a blueprint's before_request."""
    csrf.protect(apply_exemptions=True)


def init_app(app: Flask) -> None:
    """Protect the app against CSRF and send security headers on /moderate."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 12 * 3600)
    # Checked by the moderation blueprint (check_csrf), not before every request.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.session_interface = _SessionInterface()
    csrf.init_app(app)

    @app.after_request
    def _page_headers(response):
        if request.path.startswith("/moderate"):
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
            if not request.path.startswith("/moderate/static/"):
                # Queue pages carry commenters' emails: never keep them in a shared cache.
                response.headers.setdefault("Cache-Control", "no-store")
        return response
