"""Admin pages to import comments into a site and download its backup.

``/moderate/sites/KEY/data`` shows both; the import form posts a file of
any supported format, dry run by default, and shows the same summary as
``causerie import``.  Big files are better imported from the command line
(it renders in parallel and no web timeout applies).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from ..extensions import db
from ..models import ModerationEvent, Site, utcnow
from ..porting import FORMATS
from ..porting.source import ImportFileError, Source
from ..security import csrf
from . import auth, bp, queue

DEFAULT_MAX_UPLOAD = 100 * 1024 * 1024
FORMAT_NAMES = {"disqus": _l("Disqus (XML export)"), "wordpress": _l("WordPress (WXR export)"),
                "isso": _l("Isso (SQLite database file)"), "json": _l("Causerie backup (JSON)")}


class ImportForm(FlaskForm):
    """One file to import, with the command line's options."""

    format = SelectField(_l("Format"), choices=[SelectChoice(f, FORMAT_NAMES[f]) for f in FORMATS])
    file = FileField(_l("File"), validators=[FileRequired()])
    dry_run = BooleanField(_l("Dry run: only report what would be imported"), default=True)
    rewrite_hosts = TextAreaField(_l("Moved hosts, one OLD=NEW per line (e.g. old.example=https://new.example)"),
                                  validators=[Optional(), Length(max=2000)])
    base_url = StringField(_l("Isso only: where its pages live (default: the site's only origin)"),
                           validators=[Optional(), Length(max=500)])


def _admin_site(key: str) -> Site:
    site = next((s for s in queue.visible_sites(auth.signed_in_moderator()) if s.key == key), None)
    if site is None:
        abort(404)
    return site


@bp.get("/sites/<key>/data")
@auth.admin_required
def site_data(key: str):
    """The import form and the backup download."""
    return render_template("moderation/porting.html", site=_admin_site(key), form=ImportForm(), summary=None,
                           error=None, max_upload=_max_upload())


def _max_upload() -> int:
    return current_app.config.get("CAUSERIE_MAX_IMPORT_SIZE", DEFAULT_MAX_UPLOAD)


@bp.post("/sites/<key>/import")
@csrf.exempt  # the blueprint's check would read the body under the small API limit; the form checks CSRF itself
@auth.admin_required
def site_import(key: str):
    """Import an uploaded file into the site (or only report, on a dry run)."""
    # Imported when an import is posted, not with the blueprint, so that
    # web workers do not carry the importers (about 2 MB each).
    from ..porting import importer  # noqa: PLC0415

    request.max_content_length = _max_upload()
    site = _admin_site(key)
    form = ImportForm()
    summary = error = None
    status = 200
    if form.validate_on_submit():
        try:
            rewrites = importer.parse_rewrites(line for line in (form.rewrite_hosts.data or "").splitlines()
                                               if line.strip())
            source = _read_upload(form, site)
            summary = importer.run(source, site.key, dry_run=form.dry_run.data, rewrites=rewrites,
                                   actor=auth.signed_in_moderator().email)
        except (ImportFileError, ValueError) as exc:
            db.session.rollback()
            error, status = str(exc), 400
    else:
        error, status = _("Choose a file and a format."), 400
    return render_template("moderation/porting.html", site=site, form=form, summary=summary, error=error,
                           max_upload=_max_upload()), status


def _read_upload(form: ImportForm, site: Site) -> Source:
    """The uploaded file, read by the format's reader from a private temporary copy."""
    from ..porting import backup, disqus, isso, wordpress  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="causerie-import-") as directory:
        path = Path(directory) / "upload"
        with open(path, "wb") as out:
            shutil.copyfileobj(form.file.data.stream, out)
        fmt = form.format.data
        if fmt == "isso":
            base_url = (form.base_url.data or "").strip()
            if not base_url:
                if len(site.origins or []) != 1:
                    raise ImportFileError(_("The site has several origins: say which one Isso's pages are on."))
                base_url = site.origins[0]
            return isso.read(path, base_url)
        reader = {"disqus": disqus.read, "wordpress": wordpress.read, "json": backup.read}[fmt]
        with open(path, "rb") as stream:
            return reader(stream)


@bp.get("/sites/<key>/export.json")
@auth.admin_required
def site_export(key: str):
    """Download the site's backup (what `causerie export` writes); the download is audited."""
    from ..porting import backup  # noqa: PLC0415

    site = _admin_site(key)
    out = io.StringIO()
    backup.write(site.key, out)
    db.session.add(ModerationEvent(site_id=site.id, moderator_id=auth.signed_in_moderator().id,
                                   actor=auth.signed_in_moderator().email, action="exported",
                                   detail="backup downloaded"))
    db.session.commit()
    name = f"causerie-{site.key}-{utcnow():%Y%m%d}.json"
    return Response(out.getvalue().encode("utf-8"), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
