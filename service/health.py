"""Liveness, database and rate-limit storage check for load balancers and monitors."""

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request

from . import doctor_probe
from .extensions import app_limiter, db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the process and its database answer, 503 otherwise.

    A rate-limit storage (Redis) that does not answer leaves the service
    working, each process counting limits on its own: that is 200 with
    ``"status": "degraded"``, for a monitor to raise without a load balancer
    taking the instance out.
    """
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "error", "database": "unreachable", "rate_limits": rate_limits()}), 503
    limits = rate_limits()
    body: dict[str, Any] = {"status": "degraded" if limits == "per process" else "ok", "database": "ok",
                            "rate_limits": limits}
    if doctor_probe.PROBE_HEADER in request.headers:
        seen = doctor_probe.answer(request.headers[doctor_probe.PROBE_HEADER])
        if seen is not None:
            body["doctor"] = seen
    return jsonify(body)


def rate_limits() -> str:
    """Where rate limits are counted now: "ok" (in their storage), "per
    process" (the storage does not answer), or "off"."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return "off"
    return "ok" if app_limiter().storage.check() else "per process"
