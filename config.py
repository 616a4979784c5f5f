"""Causerie's settings, for the source tree: ``import config`` as before.

The code lives inside the package (``service/settings.py``), so that an
installed Causerie carries it; this module only re-exports it.
"""

from service.settings import PREFIX, POSTGRES_TIMEOUTS, engine_options, load

__all__ = ["PREFIX", "POSTGRES_TIMEOUTS", "engine_options", "load"]
