"""The causerie command line."""

import pytest

from service.extensions import db
from service.models import Moderator, Site

from .cli_support import assert_refused


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def test_sites_add_registers_a_site_with_normalised_origins(app, cli):
    result = cli.invoke(args=["sites", "add", "myblog", "--origin", "https://Blog.Example.org/", "--mode", "pre",
                              "--language", "fr"])
    assert result.exit_code == 0, result.output
    assert 'data-site="myblog"' in result.output
    with app.app_context():
        site = db.session.query(Site).filter_by(key="myblog").one()
        assert (site.origins, site.mode, site.language) == (["https://blog.example.org"], "pre", "fr")


def test_sites_add_refuses_a_duplicate_key(cli):
    cli.invoke(args=["sites", "add", "dup", "--origin", "https://a.example"])
    result = cli.invoke(args=["sites", "add", "dup", "--origin", "https://a.example"])
    assert_refused(result, "A site with the key 'dup' already exists.")


def test_sites_add_refuses_an_origin_that_is_not_http(cli):
    result = cli.invoke(args=["sites", "add", "bad", "--origin", "ftp://a.example"])
    assert_refused(result, "Only http and https URLs are accepted.", exit_code=2)


def test_sites_add_refuses_an_unknown_mode(cli):
    result = cli.invoke(args=["sites", "add", "m", "--origin", "https://a.example", "--mode", "never"])
    assert_refused(result, "Invalid value for '--mode': 'never' is not one of", exit_code=2)


@pytest.mark.parametrize("key", ["café", "my blog", "blog!", "x" * 65])
def test_sites_add_refuses_a_key_of_other_than_ascii_letters_digits_dash_and_underscore(app, cli, key):
    result = cli.invoke(args=["sites", "add", key, "--origin", "https://a.example"])
    assert_refused(result, "Invalid value for KEY: use ASCII letters, digits, - and _", exit_code=2)
    with app.app_context():
        assert db.session.query(Site).count() == 0


def test_sites_list_shows_origins_modes_and_counts(cli, reader):
    reader.post("hello")
    result = cli.invoke(args=["sites", "list"])
    assert "blog\tpost\t1 comments\thttps://blog.example" in result.output


def test_moderators_add_hashes_the_password_from_stdin(app, cli, site):
    result = cli.invoke(args=["moderators", "add", "Mod@Example.org", "--site", site, "--password-stdin"],
                        input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        moderator = db.session.query(Moderator).one()
        assert moderator.email == "mod@example.org"
        assert moderator.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert [s.key for s in moderator.sites] == [site]


@pytest.mark.parametrize("email", ["mod@", "mod@@example.org", "mod@localhost", "a b@example.org"])
def test_moderators_add_refuses_what_the_settings_form_would_not_take_as_an_address(app, cli, email):
    result = cli.invoke(args=["moderators", "add", email, "--admin", "--password-stdin"], input="longenough\n")
    assert_refused(result, "Invalid value for EMAIL: not an email address", exit_code=2)
    with app.app_context():
        assert db.session.query(Moderator).count() == 0


def test_moderators_add_needs_a_site_or_admin(cli):
    result = cli.invoke(args=["moderators", "add", "a@example.org", "--password-stdin"], input="longenough\n")
    assert_refused(result, "Give at least one --site, or --admin.", exit_code=2)


def test_moderators_add_refuses_a_short_password(cli):
    result = cli.invoke(args=["moderators", "add", "a@example.org", "--admin", "--password-stdin"], input="short\n")
    assert_refused(result, "The password must have at least 8 characters.")


def test_moderators_add_refuses_an_unknown_site(cli):
    result = cli.invoke(args=["moderators", "add", "a@example.org", "--site", "nope", "--password-stdin"],
                        input="longenough\n")
    assert_refused(result, "No site with the key 'nope'.")
