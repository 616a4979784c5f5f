"""Unit tests for every automatic moderation rule, and for how they combine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service import hashing, rules
from service.extensions import db
from service.models import Ban, Comment, Site, Thread, utcnow
from tests.conftest import ORIGIN, Reader


@pytest.fixture
def rule_site(ctx):
    """A first-time-mode site with word lists, in an application context."""
    site = Site(key="rules", name="Rules", origins=[ORIGIN], mode="first-time", banned_words=["Connard", "spam bot"],
                suspect_words=["casino"], max_links=2, report_threshold=2)
    db.session.add(site)
    db.session.commit()
    return site


# The stored hash of the commenter key Camille's browser keeps.
CAMILLES_BROWSER = "c" * 64


def submission(site, text="Un avis réfléchi sur cet article.", email="camille@example.org", ip="198.51.100.4",
               **kw):
    """A Submission as the write path builds it."""
    kw.setdefault("seconds_since_load", 30.0)
    kw.setdefault("commenter_hash", CAMILLES_BROWSER)
    return rules.Submission(site=site, text=text, email_hash=hashing.email_hash(email), ip_hash=hashing.ip_hash(ip),
                            text_hash=hashing.text_fingerprint(text), **kw)


def stored(site, text="Un avis réfléchi sur cet article.", email="camille@example.org", ip="198.51.100.4",
           status="approved", age=timedelta(0), commenter_hash=None):
    """A comment already on the site, posted from Camille's browser unless told otherwise."""
    thread = db.session.query(Thread).filter_by(site_id=site.id).first()
    if thread is None:
        thread = Thread(site_id=site.id, url=f"{ORIGIN}/post")
        db.session.add(thread)
    comment = Comment(site_id=site.id, thread=thread, text=text, html=text, status=status,
                      email_hash=hashing.email_hash(email), ip_hash=hashing.ip_hash(ip),
                      commenter_hash=commenter_hash or CAMILLES_BROWSER,
                      text_hash=hashing.text_fingerprint(text), created_at=utcnow() - age)
    db.session.add(comment)
    db.session.commit()
    return comment


# --- banned commenter


def test_banned_email_is_refused(rule_site):
    db.session.add(Ban(site_id=rule_site.id, email_hash=hashing.email_hash("camille@example.org")))
    db.session.commit()
    verdict = rules.banned_commenter(submission(rule_site, ip="192.0.2.1"))
    assert verdict.outcome == "refuse" and verdict.reason == "banned"


def test_banned_ip_is_refused_whatever_the_email(rule_site):
    db.session.add(Ban(site_id=rule_site.id, ip_hash=hashing.ip_hash("198.51.100.4")))
    db.session.commit()
    assert rules.banned_commenter(submission(rule_site, email="new@example.org")).outcome == "refuse"


def test_expired_ban_no_longer_refuses(rule_site):
    db.session.add(Ban(site_id=rule_site.id, email_hash=hashing.email_hash("camille@example.org"),
                       expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert rules.banned_commenter(submission(rule_site)) is None


def test_ban_on_another_site_does_not_refuse(rule_site):
    other = Site(key="elsewhere", name="E", origins=[ORIGIN])
    db.session.add(other)
    db.session.flush()
    db.session.add(Ban(site_id=other.id, email_hash=hashing.email_hash("camille@example.org")))
    db.session.commit()
    assert rules.banned_commenter(submission(rule_site)) is None


def test_anonymous_commenter_without_ip_is_not_checked_against_bans(rule_site):
    sub = rules.Submission(site=rule_site, text="x", email_hash=None, ip_hash=None, text_hash="h")
    assert rules.banned_commenter(sub) is None


# --- honeypot


def test_filled_honeypot_is_spam(rule_site):
    verdict = rules.honeypot(submission(rule_site, honeypot="http://buy.example"))
    assert (verdict.outcome, verdict.reason) == ("spam", "honeypot")


def test_empty_honeypot_says_nothing(rule_site):
    assert rules.honeypot(submission(rule_site)) is None


# --- words


def test_banned_word_rejects_whatever_its_case(rule_site):
    verdict = rules.banned_words(submission(rule_site, text="Quel CONNARD, cet auteur."))
    assert (verdict.outcome, verdict.reason, verdict.detail["words"]) == ("rejected", "banned_word", ["connard"])


def test_banned_word_matches_whole_words_only(rule_site):
    assert rules.banned_words(submission(rule_site, text="Les connardises de la vie.")) is None


def test_banned_phrase_of_several_words_is_found(rule_site):
    assert rules.banned_words(submission(rule_site, text="I am a spam bot indeed")).outcome == "rejected"


def test_suspect_word_holds_the_comment(rule_site):
    verdict = rules.suspect_words(submission(rule_site, text="Best Casino in town"))
    assert (verdict.outcome, verdict.reason) == ("pending", "suspect_word")


def test_a_banned_word_in_the_name_rejects_the_comment(rule_site):
    assert rules.banned_words(submission(rule_site, author="Spam Bot Shop")).outcome == "rejected"


def test_a_suspect_word_in_the_website_holds_the_comment(rule_site):
    assert rules.suspect_words(submission(rule_site, website="https://casino.example")).outcome == "pending"


def test_no_word_lists_say_nothing(rule_site):
    rule_site.banned_words, rule_site.suspect_words = [], []
    sub = submission(rule_site, text="connard casino")
    assert rules.banned_words(sub) is None and rules.suspect_words(sub) is None


# --- links


def test_links_up_to_the_limit_pass(rule_site):
    assert rules.too_many_links(submission(rule_site, text="see https://a.example and http://b.example")) is None


def test_links_past_the_limit_hold_the_comment(rule_site):
    verdict = rules.too_many_links(submission(rule_site, text="https://a.example http://b.example www.c.example"))
    assert (verdict.outcome, verdict.reason, verdict.detail["links"]) == ("pending", "too_many_links", 3)


def test_a_link_in_the_name_counts(rule_site):
    verdict = rules.too_many_links(submission(rule_site, text="https://a.example http://b.example",
                                              author="www.c.example"))
    assert verdict.detail["links"] == 3


def test_a_www_url_with_its_scheme_counts_as_one_link(rule_site):
    text = "https://www.a.example https://www.b.example"
    assert len(rules.LINK_PATTERN.findall(text)) == 2
    assert rules.too_many_links(submission(rule_site, text=text)) is None


# --- too fast


def test_post_without_ticket_is_held(rule_site):
    verdict = rules.too_fast(submission(rule_site, seconds_since_load=None))
    assert (verdict.outcome, verdict.reason) == ("pending", "no_ticket")


def test_post_sooner_than_a_human_could_is_held(rule_site):
    verdict = rules.too_fast(submission(rule_site, seconds_since_load=0.4, min_seconds=3))
    assert (verdict.outcome, verdict.reason) == ("pending", "too_fast")


def test_post_after_the_minimum_delay_passes(rule_site):
    assert rules.too_fast(submission(rule_site, seconds_since_load=3.5, min_seconds=3)) is None


# --- duplicates


def test_same_text_again_from_the_same_person_is_spam(rule_site):
    stored(rule_site, text="Merci !")
    verdict = rules.duplicate_text(submission(rule_site, text="merci!!"))
    assert (verdict.outcome, verdict.reason) == ("spam", "duplicate")


def test_long_text_copied_by_many_people_is_spam(rule_site):
    text = "Visit my wonderful website for cheap watches today"
    stored(rule_site, text=text, email="a@example.org", ip="192.0.2.1")
    stored(rule_site, text=text, email="b@example.org", ip="192.0.2.2")
    verdict = rules.duplicate_text(submission(rule_site, text=text, email="c@example.org", ip="192.0.2.3"))
    assert verdict.outcome == "spam"


def test_short_common_text_from_different_people_is_not_spam(rule_site):
    stored(rule_site, text="Merci !", email="a@example.org", ip="192.0.2.1")
    stored(rule_site, text="Merci !", email="b@example.org", ip="192.0.2.2")
    assert rules.duplicate_text(submission(rule_site, text="Merci !", email="c@example.org", ip="192.0.2.3")) is None


def test_copy_older_than_a_day_is_not_a_duplicate(rule_site):
    stored(rule_site, text="Merci !", age=timedelta(days=2))
    assert rules.duplicate_text(submission(rule_site, text="Merci !")) is None


def test_deleted_copy_does_not_count(rule_site):
    stored(rule_site, text="Merci !", status="deleted")
    assert rules.duplicate_text(submission(rule_site, text="Merci !")) is None


# --- site mode


def test_post_mode_publishes(rule_site):
    rule_site.mode = "post"
    assert rules.site_mode(submission(rule_site)).outcome == "approved"


def test_pre_mode_holds_everyone(rule_site):
    rule_site.mode = "pre"
    stored(rule_site)
    verdict = rules.site_mode(submission(rule_site, text="Something new"))
    assert (verdict.outcome, verdict.reason) == ("pending", "mode_pre")


def test_first_time_mode_holds_an_unknown_commenter(rule_site):
    verdict = rules.site_mode(submission(rule_site))
    assert (verdict.outcome, verdict.reason) == ("pending", "first_time")


def test_first_time_mode_approves_a_commenter_with_an_approved_comment(rule_site):
    stored(rule_site, text="An earlier, approved comment")
    verdict = rules.site_mode(submission(rule_site))
    assert (verdict.outcome, verdict.reason) == ("approved", "trusted_commenter")


def test_first_time_mode_does_not_trust_a_rejected_history(rule_site):
    stored(rule_site, text="An earlier, rejected comment", status="rejected")
    assert rules.site_mode(submission(rule_site)).outcome == "pending"


def test_first_time_mode_holds_commenters_without_a_commenter_key(rule_site):
    stored(rule_site, text="An earlier, approved comment")
    assert rules.site_mode(submission(rule_site, commenter_hash=None)).outcome == "pending"


def test_first_time_mode_holds_a_stranger_typing_a_trusted_address(rule_site):
    stored(rule_site, text="An earlier, approved comment")
    verdict = rules.site_mode(submission(rule_site, commenter_hash="s" * 64))
    assert (verdict.outcome, verdict.reason) == ("pending", "first_time")


# --- judge


def test_judge_lets_the_strongest_verdict_decide(rule_site):
    rule_site.mode = "post"
    status, verdicts = rules.judge(submission(rule_site, text="connard casino", honeypot="x"))
    assert status == "spam"
    assert rules.reasons(verdicts) == ["honeypot", "banned_word", "suspect_word"]


def test_judge_stops_at_a_refusal(rule_site):
    db.session.add(Ban(site_id=rule_site.id, email_hash=hashing.email_hash("camille@example.org")))
    db.session.commit()
    status, verdicts = rules.judge(submission(rule_site, honeypot="x"))
    assert status == "refuse" and [v.reason for v in verdicts] == ["banned"]


def test_judge_publishes_a_clean_comment_in_post_mode_with_no_reason(rule_site):
    rule_site.mode = "post"
    status, verdicts = rules.judge(submission(rule_site))
    assert status == "approved" and rules.reasons(verdicts) == []


def test_judge_keeps_the_mode_as_a_reason_when_it_holds(rule_site):
    status, verdicts = rules.judge(submission(rule_site))
    assert status == "pending" and rules.reasons(verdicts) == ["first_time"]


def test_judge_holds_a_suspect_comment_even_from_a_trusted_commenter(rule_site):
    stored(rule_site, text="An earlier, approved comment")
    status, verdicts = rules.judge(submission(rule_site, text="Try the casino"))
    assert status == "pending" and "suspect_word" in rules.reasons(verdicts)


# --- in the write path


def test_reasons_are_stored_with_the_held_comment(app, client):
    from tests.conftest import add_site

    add_site(app, "words", mode="post", suspect_words=["casino"])
    response = Reader(client, "words").post(text="Le casino du coin")
    assert response.status_code == 201 and response.json["status"] == "pending"
    with app.app_context():
        assert db.session.get(Comment, response.json["comment"]["id"]).reasons == ["suspect_word"]


def test_reports_past_the_threshold_send_an_approved_comment_back_to_the_queue(app, client):
    from tests.conftest import add_site

    add_site(app, "reports", mode="post", report_threshold=2)
    comment_id = Reader(client, "reports").post(text="A strong opinion").json["comment"]["id"]
    Reader(client, "reports", ip="192.0.2.10").report(comment_id)
    with app.app_context():
        assert db.session.get(Comment, comment_id).status == "approved"
    Reader(client, "reports", ip="192.0.2.11").report(comment_id)
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        assert comment.status == "pending" and "reported" in comment.reasons


def test_banned_commenter_gets_403_from_the_api(app, client):
    from tests.conftest import add_site

    add_site(app, "banned", mode="post")
    with app.app_context():
        site_id = db.session.query(Site.id).filter_by(key="banned").scalar()
        db.session.add(Ban(site_id=site_id, email_hash=hashing.email_hash("troll@example.org")))
        db.session.commit()
    response = Reader(client, "banned").post(email="troll@example.org")
    assert response.status_code == 403 and response.json["error"]["code"] == "banned"
