"""WSGI entry point: ``gunicorn wsgi:app``."""

from service import create_app
from service.server import freeze_startup_objects

app = create_app()
# Each gunicorn worker imports this module itself: what it built stays out
# of the garbage collector's full passes (see freeze_startup_objects).
freeze_startup_objects()
