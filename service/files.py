"""Where the widget's source files and the migrations are.

In a source tree they live beside the package (``widget/``, ``migrations/``);
an installed Causerie carries them inside the package (``_widget``,
``_migrations``, see pyproject.toml), so a wheel works from any folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Bundled name inside the installed package -> folder of the source tree.
_PLACES = {"_widget": "widget", "_migrations": "migrations"}


def _folder(bundled: str) -> Path:
    package = Path(str(resources.files(__package__)))
    inside = package / bundled
    return inside if inside.is_dir() else package.parent / _PLACES[bundled]


def widget_dir() -> Path:
    """The folder holding causerie.js, causerie.css and i18n/."""
    return _folder("_widget")


def migrations_dir() -> Path:
    """The Alembic folder (env.py, versions/)."""
    return _folder("_migrations")
