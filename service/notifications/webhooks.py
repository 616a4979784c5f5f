"""Webhooks: a signed JSON POST to a site's receiver for new, reported and
moderated comments.

The body never carries an email or an IP hash; the signature covers a
timestamp, so a receiver can refuse replays.  The address is checked (and
private networks refused, unless allowed) at each delivery, not only when
the site's owner typed it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from flask import current_app

from .. import hashing, netguard
from ..extensions import db
from ..models import Comment, Outbox, Site
from . import emails, outbox

WEBHOOK_TIMEOUT = 10  # seconds for a whole delivery, however slowly the receiver answers
SIGNATURE_HEADER = "Causerie-Signature"


def webhook_secret(site: Site) -> str:
    """The key a site's webhook receiver verifies signatures with (derived, stable)."""
    return hashing.keyed("webhook", site.key)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=...,v1=...``: HMAC-SHA256 over ``"{timestamp}." + body``.

    The timestamp is signed too, so a receiver can refuse replays of old
    deliveries.
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_body(entry: Outbox, site: Site, comment: Comment | None) -> dict[str, Any]:
    """The JSON a webhook receives: never an email or an IP hash."""
    body: dict[str, Any] = {"id": entry.id, "event": entry.topic, "site": site.key,
                            "created_at": entry.created_at.isoformat() + "Z"}
    for key in ("action", "from_status", "to_status"):
        if key in entry.payload:
            body[key] = entry.payload[key]
    if comment is not None:
        body["comment"] = {
            "id": comment.id, "parent_id": comment.parent_id, "thread_url": comment.thread.url,
            "thread_title": comment.thread.title, "author": comment.author, "website": comment.website,
            "text": comment.text, "html": comment.html, "status": comment.status, "reasons": comment.reasons,
            "staff": comment.staff, "created_at": comment.created_at.isoformat() + "Z",
            "moderation_url": emails.queue_url(comment),
        }
    return body


def deliver(entry: Outbox) -> None:
    """Deliver a ``webhook`` row; raise to have it retried."""
    site = db.session.get(Site, entry.site_id)
    if site is None or not site.webhook_url:
        return
    try:
        target = netguard.check(site.webhook_url, allow_private=current_app.config["CAUSERIE_WEBHOOK_ALLOW_PRIVATE"])
    except netguard.RefusedURL as exc:
        raise outbox.PermanentError(f"webhook refused: {exc}") from exc
    body = json.dumps(webhook_body(entry, site, outbox.comment_of(entry)), ensure_ascii=False).encode()
    status = netguard.post(target, body, deadline=WEBHOOK_TIMEOUT, headers={
        "Content-Type": "application/json",
        "User-Agent": "Causerie-Webhook/1",
        "Causerie-Event": entry.topic,
        "Causerie-Delivery": str(entry.id),
        SIGNATURE_HEADER: sign(webhook_secret(site), int(time.time()), body),
    })
    if not 200 <= status < 300:  # a redirect too: it is not followed
        raise RuntimeError(f"webhook answered HTTP {status}")
