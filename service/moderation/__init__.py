"""The moderation workspace, mounted at /moderate: server-rendered pages,
session sign-in, CSRF-protected forms, light progressive JavaScript.

The pages (views, porting_views for import and backup, labels for the
templates) register themselves on :data:`bp`, imported at the end of this
module.  Beside them is what moderating is: actions (a moderator's
decisions), auth (accounts, passwords, sessions; ``causerie moderators``
uses it too), login_limits, queue (what the queue shows) and stats.
"""

from flask import Blueprint
from werkzeug.routing import IntegerConverter

from ..limits import MAX_ID


class IdConverter(IntegerConverter):
    """A positive database id, ``<id:name>`` in a route: a larger number is not found (404)."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


bp = Blueprint(
    "moderation",
    __name__,
    url_prefix="/moderate",
    static_folder="../static/moderation",
    static_url_path="/static",
)


@bp.record_once
def _register_converter(state):
    state.app.url_map.converters.setdefault("id", IdConverter)


from . import labels, porting_views, views  # noqa: E402,F401 - they register themselves on bp
