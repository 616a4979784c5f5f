"""Moderator sessions end on the server: signing out, a password change, a
revocation, a removed account or the end of the session's lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

import config
from service.extensions import db
from service.models import ModerationEvent, Moderator, ModeratorSession
from tests.access_table import is_login_redirect, sign_in
from tests.cli_support import assert_refused
from tests.moderation_helpers import PASSWORD, Session, add_comment, add_moderator

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def account(app, two_sites):
    add_moderator(app, "mod@example.org", sites=["blog"])


def browser(app):
    """A moderator's browser, signed in."""
    return Session(app.test_client()).sign_in("mod@example.org")


def signed_in(session: Session) -> bool:
    response = session.get("/moderate/")
    assert response.status_code == 200 or is_login_redirect(response), response.status_code
    return response.status_code == 200


def cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["moderators", *args], input=input)


def test_a_copied_session_cookie_is_refused_after_signing_out(app, account):
    mine = browser(app)
    copy = Session(app.test_client())
    copy.client.set_cookie("session", mine.client.get_cookie("session").value)
    assert signed_in(copy)
    mine.post("/moderate/logout")
    assert not signed_in(copy)


def test_signing_out_ends_only_that_browsers_session(app, account):
    laptop, phone = browser(app), browser(app)
    laptop.post("/moderate/logout")
    assert signed_in(phone) and not signed_in(laptop)


def test_a_session_lasts_twelve_hours_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("CAUSERIE_SESSION_LIFETIME", raising=False)
    assert config.load(tmp_path)["PERMANENT_SESSION_LIFETIME"] == 12 * 3600


def test_a_sign_in_is_recorded_on_the_server_with_the_sessions_lifetime(app, account):
    browser(app)
    with app.app_context():
        row = db.session.scalar(sa.select(ModeratorSession))
    assert row.expires_at - row.created_at == timedelta(hours=12)


def test_a_session_past_its_lifetime_is_refused_even_with_its_cookie(app, account):
    session = browser(app)
    with app.app_context():
        db.session.execute(sa.update(ModeratorSession).values(expires_at=ModeratorSession.created_at))
        db.session.commit()
    assert not signed_in(session)


# ------------------------------------------------------------------ the command line


def test_passwd_changes_the_password_and_signs_the_account_out(app, account):
    session = browser(app)
    result = cli(app, "passwd", "Mod@example.org", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.output == "Password of mod@example.org changed; 1 session signed out.\n"
    assert not signed_in(session)
    assert sign_in(app.test_client(), "mod@example.org", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "mod@example.org", NEW_PASSWORD).status_code == 303


def test_passwd_prompts_twice_for_the_new_password(app, account):
    result = cli(app, "passwd", "mod@example.org", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert sign_in(app.test_client(), "mod@example.org", NEW_PASSWORD).status_code == 303


def test_passwd_for_an_unknown_email_says_so(app, account):
    result = cli(app, "passwd", "nobody@example.org", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert_refused(result, "No moderator has the email nobody@example.org.")


def test_passwd_refuses_a_short_password_and_keeps_the_old_one(app, account):
    result = cli(app, "passwd", "mod@example.org", "--password-stdin", input="short\n")
    assert_refused(result, "The password must have at least 8 characters.")
    assert sign_in(app.test_client(), "mod@example.org", PASSWORD).status_code == 303


def test_revoke_signs_the_account_out_everywhere_and_keeps_the_password(app, account):
    laptop, phone = browser(app), browser(app)
    result = cli(app, "revoke", "mod@example.org")
    assert result.output == "mod@example.org is signed out everywhere (2 sessions ended).\n"
    assert not signed_in(laptop) and not signed_in(phone)
    assert sign_in(app.test_client(), "mod@example.org", PASSWORD).status_code == 303


def test_revoke_for_an_unknown_email_says_so(app, account):
    result = cli(app, "revoke", "nobody@example.org")
    assert_refused(result, "No moderator has the email nobody@example.org.")


def test_remove_deletes_the_account_and_ends_its_sessions_but_keeps_the_audit_log(app, account):
    session = browser(app)
    comment = add_comment(app, "blog")
    session.post(f"/moderate/comments/{comment}/approve")
    result = cli(app, "remove", "mod@example.org", "--yes")
    assert result.exit_code == 0, result.output
    assert "Moderator mod@example.org removed" in result.output
    assert not signed_in(session)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Moderator.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(ModeratorSession.id))) == 0
        assert [e.actor for e in db.session.scalars(sa.select(ModerationEvent))] == ["mod@example.org"]


def test_remove_asks_first_and_a_no_keeps_the_account(app, account):
    result = cli(app, "remove", "mod@example.org", input="n\n")
    assert "Remove the moderator mod@example.org?" in result.stdout
    assert_refused(result, "Aborted!")
    assert sign_in(app.test_client(), "mod@example.org", PASSWORD).status_code == 303


def test_remove_for_an_unknown_email_says_so(app, account):
    result = cli(app, "remove", "nobody@example.org", "--yes")
    assert_refused(result, "No moderator has the email nobody@example.org.")


# ------------------------------------------------------------------ the account page


def change(session: Session, current=PASSWORD, new=NEW_PASSWORD, confirm=None, **kw):
    return session.post("/moderate/account", {"current": current, "new": new,
                                              "confirm": new if confirm is None else confirm}, **kw)


def test_changing_ones_password_signs_out_the_other_sessions_only(app, account):
    here, elsewhere = browser(app), browser(app)
    response = change(here, follow_redirects=True)
    assert "Your password is changed. Your other sessions are signed out." in response.get_data(as_text=True)
    assert signed_in(here) and not signed_in(elsewhere)
    assert sign_in(app.test_client(), "mod@example.org", NEW_PASSWORD).status_code == 303


def test_changing_ones_password_needs_the_current_one(app, account):
    here, elsewhere = browser(app), browser(app)
    response = change(here, current="a wrong guess")
    assert response.status_code == 400 and "This is not your current password." in response.get_data(as_text=True)
    assert signed_in(elsewhere)
    assert sign_in(app.test_client(), "mod@example.org", PASSWORD).status_code == 303


def test_the_new_password_must_be_typed_twice_alike(app, account):
    response = change(browser(app), confirm="something else")
    assert response.status_code == 400
    assert "The two new passwords are not the same." in response.get_data(as_text=True)


def test_the_new_password_must_be_long_enough(app, account):
    response = change(browser(app), new="short")
    assert response.status_code == 400
    assert "The password must have at least 8 characters." in response.get_data(as_text=True)


def test_the_account_page_speaks_french(app, account):
    page = browser(app).get("/moderate/account", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Changer votre mot de passe" in page and "Mot de passe actuel" in page


def test_the_account_page_needs_a_signed_in_moderator(app, account):
    assert is_login_redirect(app.test_client().get("/moderate/account"))


def test_a_password_change_without_csrf_token_is_refused(app, account):
    session = browser(app)
    response = session.client.post("/moderate/account", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                                              "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert sign_in(app.test_client(), "mod@example.org", PASSWORD).status_code == 303


def test_the_account_page_counts_the_other_sessions(app, account):
    here = browser(app)
    browser(app), browser(app)
    assert "You are also signed in on 2 other browsers or devices." in here.get("/moderate/account").get_data(True)


def test_signing_out_everywhere_else_keeps_this_session_only(app, account):
    here, phone, laptop = browser(app), browser(app), browser(app)
    response = here.post("/moderate/account/sessions", follow_redirects=True)
    assert "2 other sessions signed out." in response.get_data(as_text=True)
    assert signed_in(here) and not signed_in(phone) and not signed_in(laptop)
    assert "You are signed in on this browser only." in here.get("/moderate/account").get_data(True)
