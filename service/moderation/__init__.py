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

# Database ids are 32-bit integers on PostgreSQL: a larger number in a URL is
# simply not found (404), rather than an error from the database.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A positive database id, ``<id:name>`` in a route."""

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
