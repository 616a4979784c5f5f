"""A site's settings are declared once (service/site_settings.py) and every copy follows it:
the settings page, ``causerie sites add`` and ``sites set``, the backup and the restore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from service import site_settings
from service.cli import sites_add, sites_set
from service.extensions import db
from service.models import Site
from service.site_settings import CHOICE, FLAG, LIST, NUMBER, SETTINGS
from tests.moderation_helpers import admin, two_sites  # noqa: F401 - fixtures

from .cli_support import assert_refused
from .porting_support import cli

BACKUP_BEFORE_THE_SCHEMA = Path(__file__).parent / "data" / "backup_before_settings_schema.json"
# Strings that one text or list setting or another accepts.
CANDIDATE_STRINGS = ("https://hooks.example/causerie", "one@example.org")


def sample(setting):
    """An input the setting accepts whose stored value is not the default: (input, stored)."""
    if setting.kind == CHOICE:
        candidates = setting.values
    elif setting.kind == FLAG:
        candidates = (not setting.default,)
    elif setting.kind == NUMBER:
        candidates = range(setting.bounds[0], setting.bounds[0] + 3)
    elif setting.kind == LIST:
        candidates = [[value] for value in CANDIDATE_STRINGS]
    else:
        candidates = CANDIDATE_STRINGS
    for candidate in candidates:
        try:
            stored = site_settings.clean(setting, candidate)
        except site_settings.InvalidSetting:
            continue
        if stored != setting.default:
            return candidate, stored
    raise AssertionError(f"no sample value for {setting.name}: add one to CANDIDATE_STRINGS")


@pytest.fixture
def samples(app):
    """Every setting's sample: name -> (input, stored)."""
    with app.app_context():
        return {setting.name: sample(setting) for setting in SETTINGS}


def stored_settings(app, key="blog") -> dict:
    with app.app_context():
        return site_settings.current(db.session.scalar(sa.select(Site).where(Site.key == key)))


def cli_args(samples) -> list[str]:
    args = []
    for setting in SETTINGS:
        value = samples[setting.name][0]
        if setting.kind == FLAG:
            args.append(setting.cli_option if value else f"--no-{setting.cli_option[2:]}")
        elif setting.kind == LIST:
            for item in value:
                args += [setting.cli_option, item]
        else:
            args += [setting.cli_option, str(value)]
    return args


def test_a_new_site_has_every_settings_default(ctx):
    site = Site(key="fresh")
    db.session.add(site)
    db.session.flush()
    assert site_settings.current(site) == {setting.name: setting.default for setting in SETTINGS}


def test_the_settings_page_shows_a_field_for_every_setting(app, admin):
    page = admin.get("/moderate/sites/blog").get_data(as_text=True)
    for setting in SETTINGS:
        assert f'name="{setting.name}"' in page, setting.name


def test_the_settings_page_saves_every_setting(app, admin, samples):
    form = {}
    for setting in SETTINGS:
        value = samples[setting.name][0]
        if setting.kind == LIST:
            form[setting.name] = "\n".join(value)
        elif setting.kind == FLAG:
            if value:
                form[setting.name] = "y"
        else:
            form[setting.name] = str(value)
    response = admin.post("/moderate/sites/blog", form)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert stored_settings(app) == {name: stored for name, (_input, stored) in samples.items()}


def test_every_setting_survives_a_backup_and_restore(app, site, samples, tmp_path):
    with app.app_context():
        site_settings.apply(db.session.scalar(sa.select(Site)), {n: stored for n, (_i, stored) in samples.items()})
        db.session.commit()
    before = stored_settings(app)
    path = tmp_path / "backup.json"
    assert cli(app, "export", "--site", site, "-o", path).exit_code == 0
    assert set(json.loads(path.read_text())["site"]) == {"key", "created_at"} | set(site_settings.BY_NAME)
    with app.app_context():
        db.drop_all()
        db.create_all()
    restored = cli(app, "import", "json", path)
    assert restored.exit_code == 0, restored.output
    assert stored_settings(app) == before


def test_sites_add_and_sites_set_have_an_option_for_every_setting():
    for command in (sites_add, sites_set):
        options = {param.name: param for param in command.params}
        for setting in SETTINGS:
            assert setting.name in options and setting.cli_option in options[setting.name].opts, setting.name


def test_sites_add_takes_every_setting(app, samples):
    result = cli(app, "sites", "add", "blog", *cli_args(samples))
    assert result.exit_code == 0, result.output
    assert stored_settings(app) == {name: stored for name, (_input, stored) in samples.items()}


def test_sites_set_changes_every_setting(app, site, samples):
    result = cli(app, "sites", "set", site, *cli_args(samples))
    assert result.exit_code == 0, result.output
    assert stored_settings(app) == {name: stored for name, (_input, stored) in samples.items()}


def test_sites_set_changes_only_the_settings_given(app, site):
    before = stored_settings(app)
    result = cli(app, "sites", "set", site, "--suspect-word", "casino", "--suspect-word", "crypto")
    assert result.exit_code == 0, result.output
    assert stored_settings(app) == {**before, "suspect_words": ["casino", "crypto"]}


def test_sites_set_refuses_a_bad_value_as_the_settings_page_does_and_changes_nothing(app, site):
    before = stored_settings(app)
    result = cli(app, "sites", "set", site, "--mode", "pre", "--notify-email", "nobody")
    assert_refused(result, "Invalid value for --notify-email: nobody is not an email address.", exit_code=2)
    assert stored_settings(app) == before


def test_sites_set_without_a_setting_is_a_usage_error(app, site):
    assert_refused(cli(app, "sites", "set", site), "Give at least one setting to change.", exit_code=2)


def test_sites_set_of_an_unknown_site_is_an_error(app):
    result = cli(app, "sites", "set", "nope", "--mode", "pre")
    assert_refused(result, "No site with the key 'nope'.")


def test_sites_add_without_an_origin_is_a_usage_error(app):
    result = cli(app, "sites", "add", "blog")
    assert_refused(result, "Missing option --origin.", exit_code=2)


def test_a_backup_written_before_the_settings_schema_restores_identically(app, tmp_path):
    restored = cli(app, "import", "json", BACKUP_BEFORE_THE_SCHEMA)
    assert restored.exit_code == 0, restored.output
    path = tmp_path / "again.json"
    assert cli(app, "export", "--site", "blog", "-o", path).exit_code == 0
    old_text, new_text = BACKUP_BEFORE_THE_SCHEMA.read_text(), path.read_text()
    # The settings the old backup lacked are the defaults; every other byte is the same.
    old_site, new_site = json.loads(old_text)["site"], json.loads(new_text)["site"]
    added = {name: new_site[name] for name in new_site.keys() - old_site.keys()}
    assert added == {name: site_settings.BY_NAME[name].default for name in added}
    assert new_site == {**old_site, **added}
    assert new_text.partition('\n"threads"')[2] == old_text.partition('\n"threads"')[2]
