"""Signing in and out: passwords, sessions, cookies and rate limits."""

from __future__ import annotations

import uuid

import pytest

from service.extensions import db
from service.models import Moderator
from service.moderation import auth
from tests.access_table import csrf_token
from tests.conftest import REDIS_URL
from tests.moderation_helpers import PASSWORD, add_moderator
from tests.test_rate_limits import REDIS_DOWN

# Limits hold in memory, on Redis, and while Redis is down (each process then counts on its own).
STORAGES = ["memory://", REDIS_DOWN] + ([REDIS_URL] if REDIS_URL else [])


def login(client, email="mod@example.org", password=PASSWORD, **extra):
    return client.post("/moderate/login", data={"email": email, "password": password,
                                                "csrf_token": csrf_token(client), **extra})


@pytest.fixture
def account(app, two_sites):
    add_moderator(app, "mod@example.org", sites=["blog"])


def test_passwords_are_stored_as_scrypt_hashes(app, account):
    # Set through the service (the fixture's hash is a cheaper one, made by the tests).
    with app.app_context():
        auth.set_password(db.session.scalar(db.select(Moderator)), PASSWORD)
        db.session.commit()
        stored = db.session.scalar(db.select(Moderator)).password_hash
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_right_password_signs_in_and_opens_the_queue(app, client, account):
    response = login(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/moderate/")
    assert client.get("/moderate/").status_code == 200


def test_sign_in_returns_to_the_page_asked_for(app, client, account):
    response = login(client, next="/moderate/audit?site=blog")
    assert response.headers["Location"].endswith("/moderate/audit?site=blog")


def test_wrong_password_is_refused_with_401_and_a_message(app, client, account):
    response = login(client, password="wrong password")
    assert response.status_code == 401 and "do not match" in response.get_data(as_text=True)
    assert client.get("/moderate/").status_code == 303


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(app, client, account):
    response = login(client, email="nobody@example.org")
    assert response.status_code == 401 and "do not match" in response.get_data(as_text=True)


def test_email_is_case_insensitive(app, client, account):
    assert login(client, email="MOD@Example.org").status_code == 303


def test_sign_in_without_csrf_token_is_refused(app, client, account):
    response = client.post("/moderate/login", data={"email": "mod@example.org", "password": PASSWORD})
    assert response.status_code == 400


def test_session_cookie_is_httponly_and_samesite_lax(app, client, account):
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_records_the_time(app, client, account):
    login(client)
    with app.app_context():
        assert db.session.scalar(db.select(Moderator)).last_login_at is not None


def test_signed_in_visitor_is_sent_from_the_login_page_to_the_queue(app, client, account):
    login(client)
    assert client.get("/moderate/login").status_code == 303


def test_authenticate_checks_the_password(app, account):
    with app.app_context():
        assert auth.authenticate("mod@example.org", PASSWORD).email == "mod@example.org"
        assert auth.authenticate("mod@example.org", "nope") is None
        assert auth.authenticate("", PASSWORD) is None


class TestRateLimits:
    @pytest.fixture(params=STORAGES)
    def app_settings(self, request):
        # A key prefix of its own for every counter: Redis counters outlive a test.
        return {"CAUSERIE_RATELIMIT_LOGIN": "3/minute", "CAUSERIE_RATELIMIT_LOGIN_ACCOUNT": "2/minute",
                "RATELIMIT_STORAGE_URI": request.param, "RATELIMIT_KEY_PREFIX": f"t{uuid.uuid4().hex}"}

    @pytest.fixture
    def at(self, app):
        """A browser at address number ``n`` (the test's key prefix keeps its counters its own)."""

        def browser(n, client=None):
            client = client or app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n}"
            return client

        return browser

    def test_failures_from_many_addresses_never_lock_the_owner_out(self, app, account, at):
        for n in range(2):
            assert login(at(n), password="bad").status_code == 401
        assert login(at(99)).status_code == 303

    def test_an_account_under_attack_gives_each_address_two_tries(self, app, account, at):
        for n in range(2):
            login(at(n), password="bad")
        client = at(50)
        assert [login(client, password="bad").status_code for _ in range(2)] == [401, 401]
        response = login(client)
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins to this account from this address" in response.get_data(as_text=True)

    def test_a_browser_that_signed_in_before_is_not_slowed_by_an_attack_on_its_account(self, app, account, at):
        owner = at(77)
        assert login(owner).status_code == 303
        owner.post("/moderate/logout", data={"csrf_token": csrf_token(owner, "/moderate/")})
        for n in range(4):
            login(at(n), password="bad")
        assert login(owner, password="typo").status_code == 401
        assert login(owner).status_code == 303

    def test_a_known_browser_is_limited_on_its_own_failures(self, app, account, at):
        owner = at(77)
        login(owner)
        owner.post("/moderate/logout", data={"csrf_token": csrf_token(owner, "/moderate/")})
        for n in range(2):
            assert login(at(n + 80, owner), password="bad").status_code == 401
        assert login(at(90, owner)).status_code == 429

    def test_failed_sign_ins_from_one_address_are_limited(self, app, account, at):
        client = at(1)
        for n in range(3):
            assert login(client, email=f"guess{n}@example.org", password="bad").status_code == 401
        response = login(client, email="mod@example.org")
        assert response.status_code == 429 and "<html" in response.get_data(as_text=True)

    def test_successful_sign_ins_do_not_use_up_the_limit(self, app, account, at):
        for _ in range(4):
            assert login(at(1)).status_code == 303


def test_session_cookie_is_secure_over_https(app, account):
    client = app.test_client()
    token = csrf_token(client)
    # Over HTTPS, Flask-WTF also checks that the Referer is our own origin.
    response = client.post("/moderate/login", base_url="https://localhost",
                           headers={"Referer": "https://localhost/moderate/login"},
                           data={"email": "mod@example.org", "password": PASSWORD, "csrf_token": token})
    assert "Secure" in response.headers["Set-Cookie"]


class TestKnownBrowsers:
    @pytest.fixture
    def app_settings(self):
        return {"CAUSERIE_RATELIMIT_LOGIN": "10/minute", "CAUSERIE_RATELIMIT_LOGIN_ACCOUNT": "3/minute"}

    def test_a_browser_known_to_one_account_is_a_stranger_to_another(self, app, account):
        add_moderator(app, "other@example.org", sites=["blog"])
        owner = app.test_client()
        assert login(owner).status_code == 303
        owner.post("/moderate/logout", data={"csrf_token": csrf_token(owner, "/moderate/")})
        for n in range(3):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n}"
            assert login(client, email="other@example.org", password="bad").status_code == 401
        # Known to mod@ only: on other@, under attack, it gets a stranger's two guesses.
        codes = [login(owner, email="other@example.org", password="bad").status_code for _ in range(2)]
        assert codes + [login(owner, email="other@example.org").status_code] == [401, 401, 429]
